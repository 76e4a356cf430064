// Runs the built connector (dist/main.js) as an orchestrator would: a child process with
// files for config and catalog, input on stdin, and every stdout line parsed. Every run's stdout
// and stderr are scanned for the secrets it could know (support/secrets.ts): a leak fails the run.

import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { FaultProxy } from './fault-proxy.js';
import { assertNoSecretLeak, secretsOfRun } from './secrets.js';
import { s3Server } from './server.js';

export const MAIN = resolve(import.meta.dirname, '../../dist/main.js');

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Raw stdout lines (every one must be an Airbyte message). */
  lines: string[];
  messages: Record<string, any>[];
  stderr: string;
}

export interface CliOptions {
  stdin?: string | Buffer;
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
  /** More values no output may contain. */
  secrets?: Iterable<string>;
  /** A killed run may end stdout in the middle of a line: drop that piece instead of failing. */
  allowPartialLastLine?: boolean;
}

/** Writes a JSON value to a temp file and returns its path. */
export function tempJson(name: string, value: unknown): string {
  const dir = mkdtempSync(join(tmpdir(), 'dse-test-'));
  const path = join(dir, name);
  writeFileSync(path, typeof value === 'string' ? value : JSON.stringify(value));
  return path;
}

/** A running connector: feed stdin as you like, watch stdout as it comes, then await `done`. */
export interface LiveCli {
  child: ChildProcessWithoutNullStreams;
  /** Complete stdout lines so far. */
  readonly lines: string[];
  /** Resolves with the first stdout message (parsed) that matches, or rejects after timeoutMs. */
  waitFor(match: (message: Record<string, any>) => boolean, timeoutMs?: number): Promise<Record<string, any>>;
  /** Writes to stdin, honouring backpressure; resolves false when stdin was closed. */
  write(chunk: string | Buffer): Promise<boolean>;
  done: Promise<CliResult>;
}

function testServerSecret(): string[] {
  try {
    return [s3Server().secretKey];
  } catch {
    return [];
  }
}

/**
 * The test server's STS behind a proxy without faults, which remembers every secret key and
 * session token STS issues (support/fault-proxy.ts): a run whose AWS_ENDPOINT_URL_STS is the
 * test server's STS goes through it, so that the credentials the connector received are among the
 * secrets its output is scanned for. (A run pointed at a test's own fault proxy is recorded there.)
 * Started for every test file that imports this module.
 */
let stsRecorder: FaultProxy | undefined;
beforeAll(async () => {
  stsRecorder = await new FaultProxy(s3Server().stsEndpoint).start();
});
afterAll(async () => {
  await stsRecorder?.stop();
  stsRecorder = undefined;
});

const sameEndpoint = (a: string, b: string): boolean => a.replace(/\/+$/, '') === b.replace(/\/+$/, '');

/** The run's environment with the test server's STS replaced by the recording proxy. */
function viaStsRecorder(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const sts = env.AWS_ENDPOINT_URL_STS;
  if (!stsRecorder || !sts || !sameEndpoint(sts, s3Server().stsEndpoint)) return env;
  return { ...env, AWS_ENDPOINT_URL_STS: stsRecorder.endpoint };
}

export function startCli(args: string[], options: CliOptions = {}): LiveCli {
  const env = viaStsRecorder({ ...process.env, AWS_EC2_METADATA_DISABLED: 'true', ...options.env });
  const child = spawn(process.execPath, [MAIN, ...args], { env, stdio: ['pipe', 'pipe', 'pipe'] });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  const lines: string[] = [];
  let pending = '';
  const watchers = new Set<(m: Record<string, any>) => void>();
  child.stdout.on('data', (d: Buffer) => {
    out.push(d);
    pending += d.toString('utf8');
    let nl: number;
    while ((nl = pending.indexOf('\n')) >= 0) {
      const line = pending.slice(0, nl);
      pending = pending.slice(nl + 1);
      if (!line) continue;
      lines.push(line);
      let message: Record<string, any> | undefined;
      try {
        message = JSON.parse(line) as Record<string, any>;
      } catch {
        message = undefined;
      }
      if (message) for (const w of watchers) w(message);
    }
  });
  child.stderr.on('data', (d: Buffer) => err.push(d));
  child.stdin.on('error', () => undefined); // the connector may exit before reading all input
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 110_000);
  const done = new Promise<CliResult>((resolvePromise, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      for (const w of watchers) w({ type: '__exit__' });
      const text = Buffer.concat(out).toString('utf8');
      const stderr = Buffer.concat(err).toString('utf8');
      try {
        assertNoSecretLeak({ stdout: text, stderr }, secretsOfRun(args, env, [...testServerSecret(), ...(options.secrets ?? [])]));
        let all = text.split('\n');
        const tail = all.pop() ?? '';
        if (tail && !options.allowPartialLastLine) all.push(tail);
        all = all.filter((l) => l.length > 0);
        resolvePromise({ code, signal, lines: all, messages: all.map((l) => JSON.parse(l) as Record<string, any>), stderr });
      } catch (e) {
        reject(e instanceof Error ? e : new Error(String(e)));
      }
    });
  });
  return {
    child,
    lines,
    waitFor(match, timeoutMs = 60_000) {
      return new Promise((res, rej) => {
        for (const line of lines) {
          try {
            const m = JSON.parse(line) as Record<string, any>;
            if (match(m)) return res(m);
          } catch {
            // not a message
          }
        }
        const t = setTimeout(() => {
          watchers.delete(w);
          rej(new Error(`no matching stdout message within ${timeoutMs} ms`));
        }, timeoutMs);
        const w = (m: Record<string, any>): void => {
          if (m.type === '__exit__') {
            clearTimeout(t);
            watchers.delete(w);
            rej(new Error('the connector exited before printing the awaited message'));
          } else if (match(m)) {
            clearTimeout(t);
            watchers.delete(w);
            res(m);
          }
        };
        watchers.add(w);
      });
    },
    write(chunk) {
      if (child.stdin.destroyed || child.stdin.writableEnded) return Promise.resolve(false);
      return new Promise((res) => {
        const ok = child.stdin.write(chunk, (e) => {
          if (e) res(false);
          else if (ok) res(true);
        });
        if (!ok) child.stdin.once('drain', () => res(true));
      });
    },
    done,
  };
}

export function runCli(args: string[], options: CliOptions = {}): Promise<CliResult> {
  const live = startCli(args, options);
  live.child.stdin.end(options.stdin ?? '');
  return live.done;
}
