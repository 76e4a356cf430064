// Runs the built connector (dist/main.js) as an orchestrator would: a child process with
// files for config and catalog, input on stdin, and every stdout line parsed.

import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

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
}

/** Writes a JSON value to a temp file and returns its path. */
export function tempJson(name: string, value: unknown): string {
  const dir = mkdtempSync(join(tmpdir(), 'dse-test-'));
  const path = join(dir, name);
  writeFileSync(path, typeof value === 'string' ? value : JSON.stringify(value));
  return path;
}

export function runCli(args: string[], options: CliOptions = {}): Promise<CliResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [MAIN, ...args], {
      env: { ...process.env, AWS_EC2_METADATA_DISABLED: 'true', ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 110_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const text = Buffer.concat(out).toString('utf8');
      const lines = text.split('\n').filter((l) => l.length > 0);
      resolvePromise({ code, signal, lines, messages: lines.map((l) => JSON.parse(l)), stderr: Buffer.concat(err).toString('utf8') });
    });
    child.stdin.on('error', () => undefined); // the connector may exit before reading all input
    child.stdin.end(options.stdin ?? '');
  });
}
