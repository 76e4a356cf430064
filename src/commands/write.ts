// `write`: reads the catalog and the message stream, lands every record in S3 and echoes each
// STATE once its records are durable (docs/write-path.md; docs/architecture.md,
// "Where data and manifests land"). The wiring lives here; the logic lives in
// src/write/.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Io } from '../cli.js';
import { availableMemoryBytes, buildConfig, readJsonFile, registerSecrets, type Config } from '../config/config.js';
import { TransientError, asConnectorError } from '../errors.js';
import type { StreamConverter } from '../formats/format.js';
import { readLineBatches } from '../protocol/lines.js';
import { streamKey, type ConfiguredAirbyteStream } from '../protocol/messages.js';
import type { MessageWriter } from '../protocol/output.js';
import type { ObjectStore } from '../storage/port.js';
import { createS3Store } from '../storage/s3-store.js';
import { registerEnvironmentSecrets } from '../storage/credentials.js';
import { createDuckDbEngine } from '../formats/duckdb.js';
import { createStreamConverter } from '../formats/converter.js';
import { parseCatalog } from '../write/catalog.js';
import { Committer } from '../write/committer.js';
import { resourcePlan } from '../write/resources.js';
import { WriteSession } from '../write/session.js';
import { StreamSink } from '../write/sink.js';
import { StateTracker } from '../write/states.js';
import { ManifestWriter } from '../write/manifests.js';
import { interrupted, WritePhases } from '../write/phases.js';
import type { ManifestStatus } from '../write/manifest.js';
import { finalSummary, progressReport } from '../write/progress.js';
import { Sigterm } from './sigterm.js';
import { assertDistinctLocations, dataKey, modelForStream, newTransfer } from '../layout/index.js';

/** How often a progress LOG is printed while the sync runs. */
const PROGRESS_INTERVAL_MS = 5_000;
/** How long SIGTERM waits for held states to be finished (orchestrators wait ~60-120 s before SIGKILL). */
const SIGTERM_GRACE_MS = 60_000;
/**
 * Once the sync stops (a failure, or the grace period ran out), how long uploads still in flight
 * get to abort their multipart uploads: parts already sent must finish first, then the abort goes
 * out. main.ts exits the process right after `write` returns, which would cut those requests.
 */
const ABORT_WAIT_MS = 10_000;

export interface Formats {
  converterFor(stream: ConfiguredAirbyteStream): Promise<StreamConverter>;
  close(): Promise<void>;
}

export interface WriteDeps {
  openStore(config: Config): Promise<ObjectStore & { close?(): void }>;
  openFormats(config: Config, workDir: string, engine: { memoryBytes: number; threads: number; spillBytes: number }): Promise<Formats>;
  now(): number;
  /** How long, from SIGTERM, the sync may take to finish held states (or the end of its input). */
  graceMs: number;
  /** How long uploads in flight get to be aborted once the sync stops (default ABORT_WAIT_MS). */
  abortWaitMs?: number;
  onSigterm(handler: () => void): () => void;
  /** Calls `tick` every `ms` until the returned function is called (default: an unref'd setInterval). */
  every?(ms: number, tick: () => void): () => void;
}

function realEvery(ms: number, tick: () => void): () => void {
  const timer = setInterval(tick, ms);
  timer.unref();
  return () => clearInterval(timer);
}

export async function writeCommand(deps: WriteDeps, configPath: string, catalogPath: string, out: MessageWriter, io: Io): Promise<number> {
  const rawConfig = readJsonFile(configPath, 'config');
  registerSecrets(rawConfig);
  const config = buildConfig(rawConfig);
  const catalog = parseCatalog(readJsonFile(catalogPath, 'catalog'));
  assertDistinctLocations(catalog.streams, config);

  const transfer = newTransfer(deps.now);
  const plan = resourcePlan(config, undefined, catalog.streams.length);
  const workDir = await mkdtemp(join(tmpdir(), 'destination-s3-export-'));
  const sigterm = new Sigterm(deps.graceMs);
  let formats: Formats | undefined;
  let store: (ObjectStore & { close?(): void }) | undefined;
  let stopSigterm = (): void => undefined;
  let stopTimer = (): void => undefined;
  try {
    // Parts in flight per file: upload_concurrency, as far as the memory budget allows.
    store = await deps.openStore({ ...config, uploadConcurrency: plan.uploadConcurrency });
    formats = await deps.openFormats(config, workDir, {
      memoryBytes: plan.engineMemoryBytes,
      threads: plan.engineThreads,
      spillBytes: plan.engineSpillBytes,
    });
    const sinks = new Map<string, StreamSink>();
    for (const [i, s] of catalog.streams.entries()) {
      const key = streamKey(s.stream.name, s.stream.namespace);
      sinks.set(key, new StreamSink(key, s, modelForStream(s, config.namespaceLayout), await formats.converterFor(s), workDir, i));
    }
    const tracker = new StateTracker();
    const manifests = new ManifestWriter(store, config, transfer, deps.now);
    /** The status of each stream's final manifest, once written. */
    const finalStatus = new Map<StreamSink, ManifestStatus>();
    const writeFinal = async (sink: StreamSink, status: ManifestStatus): Promise<void> => {
      await manifests.write(sink, status);
      finalStatus.set(sink, status);
    };

    let echoChain: Promise<void> = Promise.resolve();
    let echoFailure: Error | undefined;
    const echo = (lines: string[]): void => {
      for (const line of lines) {
        echoChain = echoChain
          .then(() => out.sendRaw(line))
          .catch((err: Error) => {
            // stdout is gone (the orchestrator stopped reading): stop the sync.
            echoFailure ??= err;
            committer.fail(err);
          });
      }
    };
    const log = (level: 'INFO' | 'WARN', message: string): void => {
      void out.log(level, message).catch(() => undefined);
    };

    let session: WriteSession | undefined;
    const committer = new Committer({
      store,
      outDir: workDir,
      targetFileBytes: config.fileSizeBytes,
      maxParallelUploads: plan.maxParallelUploads,
      dataKey: (sink, part) =>
        dataKey({
          folder: config.folder,
          model: sink.model,
          transferDate: transfer.transferDate,
          part,
          transferTimestamp: transfer.transferTimestamp,
          extension: sink.converter.extension,
        }),
      writeManifest: (sink) => manifests.write(sink, 'in_progress'),
      onCommitted: (sink, recordsEnd) => {
        tracker.onCommitted(sink.key, recordsEnd);
        session?.echoReady();
      },
      // The message loop notices a failure only when the next line arrives; a source may be
      // idle for hours (or, when stdout is gone, nobody may be left to close stdin): stop
      // reading at once, so that the exit path runs now.
      onFailure: (err) => io.stdin.destroy(err),
      log: (m) => log('INFO', m),
    });
    session = new WriteSession({ sinks, tracker, committer, limits: plan.sessionLimits(config), now: deps.now, echo, log });
    const live = session;
    let lastProgress = deps.now();
    stopTimer = (deps.every ?? realEvery)(Math.min(1000, config.flushIntervalMs / 10), () => {
      live.onTick();
      if (deps.now() - lastProgress >= PROGRESS_INTERVAL_MS) {
        lastProgress = deps.now();
        const report = progressReport(sinks.values(), tracker, tracker.pending.length);
        if (report) log('INFO', report);
      }
    });

    const input = readLineBatches(io.stdin);
    stopSigterm = deps.onSigterm(() => {
      sigterm.arrive();
      // Stop reading: the loop ends with an error and the exit path finishes held states. (After
      // the end of the input this does nothing: the finish below races the grace timer instead.)
      io.stdin.destroy(new TransientError('Received SIGTERM: the sync was stopped before the end of its input.'));
    });

    const phases = new WritePhases({ session: live, committer, sinks, sigterm, writeFinal, abortWaitMs: deps.abortWaitMs ?? ABORT_WAIT_MS });
    const failure = await phases.run(input);
    await echoChain;
    if (echoFailure) throw echoFailure;
    const statusOf = (sink: StreamSink): string =>
      finalStatus.get(sink) ?? (sink.files.length > 0 ? 'in_progress (its final rewrite did not happen)' : 'not written');
    for (const summary of finalSummary(sinks.values(), tracker, statusOf)) log('INFO', summary);
    if (sigterm.received) throw interrupted();
    if (failure !== undefined) throw failure;
    return 0;
  } finally {
    stopTimer();
    stopSigterm();
    sigterm.stop();
    await formats?.close().catch(() => undefined);
    store?.close?.();
    await rm(workDir, { recursive: true, force: true });
  }
}

/** The real formats: one DuckDB engine for the sync, one converter per catalog stream. */
export const openDuckDbFormats: WriteDeps['openFormats'] = async (config, workDir, { memoryBytes, threads, spillBytes }) => {
  const engine = await createDuckDbEngine({
    memoryLimitBytes: memoryBytes,
    threads,
    tempDirectory: join(workDir, 'duckdb'),
    // DuckDB rarely spills while it converts, and must not fill the disk when it does.
    maxTempDirectoryBytes: spillBytes,
    // A conversion that needs more than the planned share (a record of many MiB) may take up to
    // this much; beyond it DuckDB fails the conversion cleanly instead of the OS killing the process.
    memoryCapBytes: Math.floor(availableMemoryBytes() * 0.75),
  });
  return {
    converterFor: (stream) =>
      createStreamConverter({ stream, format: config.format, syncId: stream.sync_id ?? 0, generationId: stream.generation_id ?? 0 }, engine),
    close: async () => engine.close(),
  };
};

/** `write` with the real S3 store, DuckDB and process signals. */
export function runWrite(configPath: string, catalogPath: string, out: MessageWriter, io: Io): Promise<number> {
  return writeCommand(
    {
      openStore: async (config) => {
        registerEnvironmentSecrets(io.env);
        return createS3Store(config, {
          env: io.env,
          onRefreshFailure: (err: unknown) =>
            void out
              .log('WARN', `Credential renewal failed; retrying with the current credentials: ${asConnectorError(err).message}`)
              .catch(() => undefined),
        });
      },
      openFormats: openDuckDbFormats,
      now: Date.now,
      graceMs: SIGTERM_GRACE_MS,
      onSigterm: (handler) => {
        // `on`, not `once`: a second SIGTERM during the grace period must change nothing. With
        // `once` the handler is gone after the first, and the next SIGTERM kills the process at
        // once (Node's default action): no TRACE, multipart uploads left open. Sigterm.arrive
        // ignores the repeats.
        process.on('SIGTERM', handler);
        return () => process.off('SIGTERM', handler);
      },
    },
    configPath,
    catalogPath,
    out,
    io,
  );
}
