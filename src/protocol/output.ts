// The one writer of stdout. Everything printed is one Airbyte message per line, redacted.
// Backpressure is honoured (await drain), and a closed stdout (EPIPE) is remembered so the
// process can exit 1 (docs/architecture.md, "Commands and exit codes") instead of crashing on an
// unhandled 'error'.

import type { Writable } from 'node:stream';
import { globalRedactor, type Redactor } from '../redact.js';
import type { LogLevel, OutgoingMessage } from './messages.js';

export class StdoutClosedError extends Error {
  constructor() {
    super('stdout was closed by the reader');
    this.name = 'StdoutClosedError';
  }
}

export class MessageWriter {
  private closed = false;

  constructor(
    private readonly out: Writable,
    private readonly redactor: Redactor = globalRedactor,
  ) {
    out.on('error', (err: NodeJS.ErrnoException) => {
      // EPIPE / ERR_STREAM_DESTROYED: the orchestrator went away; nothing more can be said.
      this.closed = true;
      void err;
    });
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Serialises and prints one message. */
  async send(message: OutgoingMessage): Promise<void> {
    await this.sendRaw(JSON.stringify(message));
  }

  /** Prints one already-serialised message (a STATE echoed byte-for-byte). */
  async sendRaw(line: string): Promise<void> {
    if (this.closed || this.out.destroyed || this.out.writableEnded) {
      this.closed = true;
      throw new StdoutClosedError();
    }
    const ok = this.out.write(this.redactor.redact(line) + '\n');
    if (!ok) await this.drain();
    if (this.closed) throw new StdoutClosedError();
  }

  async log(level: LogLevel, message: string): Promise<void> {
    await this.send({ type: 'LOG', log: { level, message } });
  }

  private drain(): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        this.out.off('drain', done);
        this.out.off('close', done);
        this.out.off('error', done);
        resolve();
      };
      this.out.on('drain', done);
      this.out.on('close', done);
      this.out.on('error', done);
    });
  }

  /** Resolves once everything written so far has been handed to the OS. */
  async flush(): Promise<void> {
    if (this.closed || this.out.destroyed) return;
    await new Promise<void>((resolve) => {
      if (this.out.write('', () => resolve()) === false) this.out.once('drain', () => resolve());
    });
  }
}

/** Debug output for humans, on stderr, redacted. Never on stdout. */
export function debug(message: string, redactor: Redactor = globalRedactor): void {
  if (process.env.DESTINATION_S3_EXPORT_DEBUG) process.stderr.write(redactor.redact(message) + '\n');
}
