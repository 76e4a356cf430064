// `write` run in the test process, wired as runWrite (src/commands/write.ts) wires it — the real
// S3 store, DuckDB and the CLI's error reporting — but with what a child process cannot offer
// injected: the clock, the store's options (a test clock for credentials), SIGTERM as a function
// call, and short grace periods. Its stdout is scanned for secrets as support/cli.ts does.

import { PassThrough } from 'node:stream';
import { run } from '../../src/cli.js';
import type { Config } from '../../src/config/config.js';
import { openDuckDbFormats, writeCommand, type WriteDeps } from '../../src/commands/write.js';
import type { MessageWriter } from '../../src/protocol/output.js';
import type { ObjectStore } from '../../src/storage/port.js';
import { createS3Store } from '../../src/storage/s3-store.js';
import { assertNoSecretLeak, secretsOfRun } from '../support/secrets.js';
import { s3Server } from '../support/server.js';

export interface InProcessResult {
  code: number;
  messages: Record<string, any>[];
  stdout: string;
}

export interface InProcessOptions {
  config: string;
  catalog: string;
  /** The store (default: createS3Store with no environment: configs with access keys). */
  openStore?: (config: Config, out: MessageWriter) => Promise<ObjectStore & { close?(): void }>;
  now?: () => number;
  graceMs?: number;
  abortWaitMs?: number;
}

export interface InProcessWrite {
  /** The connector's stdin: write, then end it (or not). */
  stdin: PassThrough;
  /** Resolves with the first stdout message (so far or to come) that matches. */
  waitFor(match: (m: Record<string, any>) => boolean): Promise<Record<string, any>>;
  /** What the SIGTERM handler of runWrite would be called with. */
  sigterm(): void;
  done: Promise<InProcessResult>;
}

export function startWriteInProcess(o: InProcessOptions): InProcessWrite {
  let onSigterm: (() => void) | undefined;
  const depsFor = (out: MessageWriter): WriteDeps => ({
    openStore: (config) => (o.openStore ? o.openStore(config, out) : Promise.resolve(createS3Store(config, { env: {} }))),
    openFormats: openDuckDbFormats,
    now: o.now ?? Date.now,
    graceMs: o.graceMs ?? 10_000,
    ...(o.abortWaitMs === undefined ? {} : { abortWaitMs: o.abortWaitMs }),
    onSigterm: (handler) => {
      onSigterm = handler;
      return () => (onSigterm = undefined);
    },
  });
  const stdin = new PassThrough();
  const stdout = new PassThrough();
  const chunks: Buffer[] = [];
  const messages: Record<string, any>[] = [];
  const watchers = new Set<() => void>();
  let pending = '';
  stdout.on('data', (c: Buffer) => {
    chunks.push(c);
    pending += c.toString('utf8');
    const lines = pending.split('\n');
    pending = lines.pop()!;
    for (const l of lines.filter(Boolean)) messages.push(JSON.parse(l) as Record<string, any>);
    for (const w of watchers) w();
  });
  let finished = false;
  const argv = ['write', '--config', o.config, '--catalog', o.catalog];
  const unused = async (): Promise<never> => {
    throw new Error('not used');
  };
  const done = run(
    argv,
    { stdin, stdout, env: {} },
    {
      spec: unused,
      check: unused,
      write: (configPath, catalogPath, out, io) => writeCommand(depsFor(out), configPath, catalogPath, out, io),
    },
  ).then((code) => {
    finished = true;
    for (const w of watchers) w();
    const text = Buffer.concat(chunks).toString('utf8');
    assertNoSecretLeak({ stdout: text }, secretsOfRun(argv, {}, [s3Server().secretKey]));
    return {
      code,
      stdout: text,
      messages: text
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, any>),
    };
  });
  return {
    stdin,
    done,
    sigterm: () => onSigterm?.(),
    waitFor: (match) =>
      new Promise((resolve, reject) => {
        const check = (): void => {
          const found = messages.find(match);
          if (found) {
            watchers.delete(check);
            resolve(found);
          } else if (finished) {
            watchers.delete(check);
            reject(new Error('write ended before printing the awaited message'));
          }
        };
        watchers.add(check);
        check();
      }),
  };
}

/** Runs `write` in this process with the whole input. */
export function writeInProcess(o: InProcessOptions & { input: string }): Promise<InProcessResult> {
  const live = startWriteInProcess(o);
  live.stdin.end(o.input);
  return live.done;
}
