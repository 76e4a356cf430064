// The phases of one `write` once its pipeline is set up (docs/write-path.md, "Failure, SIGTERM,
// end of input"), each a method with one job, in this order:
//
//   reading     the message loop takes every input line (backpressure waits inside it);
//   draining    the end of input: every open file is finished and the committer drains;
//   finalising  each stream's final manifest, then the states that became ready;
//   exiting     after a failure or SIGTERM: finish only what held states wait on, echo them,
//               write every manifest `incomplete` (within SIGTERM's grace period);
//   aborting    stop what is left (queued files dropped, uploads aborted) and give the aborts
//               a bounded time to reach S3.
//
// Everything after a SIGTERM races its grace period. The caller (writeCommand) owns the set-up,
// the summary and the exit code.

import { asConnectorError, InterruptedError, TransientError } from '../errors.js';
import type { InputLine } from '../protocol/lines.js';
import { describeStream } from '../layout/index.js';
import { boundedWait, GRACE_OVER, type Sigterm } from '../commands/sigterm.js';
import { forEachBounded, SMALL_WRITES_AT_ONCE } from './bounded.js';
import type { Committer } from './committer.js';
import type { ManifestStatus } from './manifest.js';
import type { WriteSession } from './session.js';
import type { StreamSink } from './sink.js';

export type WritePhase = 'reading' | 'draining' | 'finalising' | 'exiting' | 'aborting' | 'done';

export interface PhaseDeps {
  session: WriteSession;
  committer: Committer;
  sinks: ReadonlyMap<string, StreamSink>;
  sigterm: Sigterm;
  /** Writes a stream's final manifest with `status` (and remembers it for the summary). */
  writeFinal(sink: StreamSink, status: ManifestStatus): Promise<void>;
  /** How long uploads in flight get to be aborted once the sync stops. */
  abortWaitMs: number;
}

export function interrupted(): InterruptedError {
  return new InterruptedError('Received SIGTERM: the sync was stopped. States of durable data were echoed; the source sends the rest again.');
}

/** The end of input came before some streams' terminal STREAM_STATUS (issue 11.2; Airbyte's bulk CDK fails the sync so too). */
export function endedEarly(sinks: readonly StreamSink[]): TransientError {
  const shown = sinks.slice(0, 10).map((s) => describeStream(s.configured.stream));
  const more = sinks.length > shown.length ? ` and ${sinks.length - shown.length} more` : '';
  return new TransientError(
    `The input ended before ${sinks.length === 1 ? 'the stream' : 'the streams'} ${shown.join(', ')}${more} got a terminal STREAM_STATUS (COMPLETE or INCOMPLETE): ` +
      'the source or the platform stopped early. States of durable data were echoed; the manifests say incomplete, and the source sends the rest again.',
  );
}

export class WritePhases {
  phase: WritePhase = 'reading';
  /** The failure of an input that ended before some streams' terminal status, once thrown. */
  private earlyEnd: Error | undefined;

  constructor(private readonly d: PhaseDeps) {}

  /** Runs the phases over `input`; resolves to the failure that ended the sync, if any. */
  async run(input: AsyncIterable<InputLine | readonly InputLine[]>): Promise<unknown> {
    const { sigterm } = this.d;
    let failure: unknown;
    let graceRanOut = false;
    try {
      if ((await sigterm.within(this.toTheEnd(input))) === GRACE_OVER) {
        graceRanOut = true;
        failure = interrupted();
      }
    } catch (err) {
      failure = err;
    }
    if (failure !== undefined && !graceRanOut) await sigterm.within(this.exiting());
    // An S3 failure met while finishing (a permission revoked, a full bucket) says more than the
    // missing terminal statuses that led there: the user has that to fix first.
    if (failure === this.earlyEnd && this.d.committer.failed) failure = this.d.committer.failed;
    if (failure !== undefined) await this.aborting(failure);
    this.phase = 'done';
    return failure;
  }

  /** reading, draining, finalising: the sync as it goes when nothing stops it. */
  private async toTheEnd(input: AsyncIterable<InputLine | readonly InputLine[]>): Promise<void> {
    const { session, committer, sinks, sigterm } = this.d;
    this.phase = 'reading';
    await session.consume(input);
    // Streams without their terminal status: the exit path finishes what held states wait on,
    // echoes them and writes every manifest `incomplete` (docs/write-path.md).
    const unfinished = session.withoutTerminalStatus();
    if (unfinished.length > 0) {
      this.earlyEnd = endedEarly(unfinished);
      throw this.earlyEnd;
    }

    this.phase = 'draining';
    session.finishAll();
    await committer.idle();

    this.phase = 'finalising';
    // A SIGTERM before a stream's final manifest makes the transfer a failed one.
    const statusAtEnd = (sink: StreamSink): ManifestStatus => (sink.sawIncomplete || sigterm.received ? 'incomplete' : 'complete');
    // A bounded number at once (not a burst of one PUT per stream, which queues past the
    // client's connection timeout on a slow store), but in parallel: against a slow or failing
    // S3 each write may spend the SDK's retries.
    await forEachBounded(sinks.values(), SMALL_WRITES_AT_ONCE, (sink) => this.d.writeFinal(sink, statusAtEnd(sink)));
    session.echoReady();
  }

  /** After a failure or SIGTERM (before the grace period ran out): finish what held states wait on. */
  private async exiting(): Promise<void> {
    const { session, committer, sinks } = this.d;
    this.phase = 'exiting';
    if (!committer.failed) {
      session.finishForExit();
      await committer.idle().catch(() => undefined);
    }
    // After a failure, commits still in flight may complete and rewrite their manifests: the
    // final manifests are written after them, from the complete file lists.
    await committer.settled();
    session.echoReady();
    // In parallel, a bounded number at once: when S3 is failing, each write spends the SDK's
    // retries (up to ~25 s); one after the other they would outlast the SIGTERM grace period.
    await forEachBounded(sinks.values(), SMALL_WRITES_AT_ONCE, (sink) => this.d.writeFinal(sink, 'incomplete').catch(() => undefined));
  }

  /**
   * Stops what is left (queued files dropped, uploads aborted), and gives the aborts time to
   * reach S3: an upload cut by the process's exit would stay open until a lifecycle rule.
   */
  private async aborting(failure: unknown): Promise<void> {
    this.phase = 'aborting';
    this.d.committer.fail(asConnectorError(failure));
    await boundedWait(this.d.committer.settled(), this.d.abortWaitMs);
  }
}
