// The operator's commands in the CLI: their flags (switches without a value), their exit codes,
// and errors on stderr instead of a TRACE on stdout (their stdout is not the protocol's).

import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { parseArgs, run, type Commands, type Io } from '../../src/cli.js';
import { ConfigError } from '../../src/errors.js';
import { globalRedactor } from '../../src/redact.js';

function io(): { io: Io; stdout: () => string } {
  const stdout = new PassThrough();
  const chunks: Buffer[] = [];
  stdout.on('data', (c: Buffer) => chunks.push(c));
  return { io: { stdin: new PassThrough(), stdout, env: {} }, stdout: () => Buffer.concat(chunks).toString('utf8') };
}

const base: Commands = { spec: async () => undefined, check: async () => undefined, write: async () => 0 };

afterEach(() => vi.restoreAllMocks());

describe('policy and verify arguments', () => {
  it.each([
    [['policy', '--config', 'c.json'], { name: 'policy', configPath: 'c.json', reader: false, json: false }],
    [['policy', '--reader', '--config', 'c.json', '--json'], { name: 'policy', configPath: 'c.json', reader: true, json: true }],
    [['verify', '--config=c.json'], { name: 'verify', configPath: 'c.json', json: false }],
    [
      ['verify', '--config', 'c.json', '--model', 'users', '--since', '2026-03-01', '--json'],
      { name: 'verify', configPath: 'c.json', model: 'users', since: '2026-03-01', json: true },
    ],
  ])('reads %j', (argv, expected) => {
    expect(parseArgs(argv)).toEqual(expected);
  });

  it.each([
    [['policy'], 'The policy command needs --config <file>.'],
    [['verify', '--config', 'c.json', '--reader'], 'Unknown option --reader for verify.'],
    [['check', '--config', 'c.json', '--json'], 'Unknown option --json for check.'],
    [['policy', '--config', 'c.json', 'xxjson'], 'Unexpected argument "xxjson".'],
  ])('refuses %j', (argv, start) => {
    expect(() => parseArgs(argv)).toThrow(start);
  });
});

describe('running them', () => {
  it('passes the options and returns the exit code', async () => {
    const calls: unknown[] = [];
    const t = io();
    const commands: Commands = { ...base, verify: async (cmd) => (calls.push(cmd), 1), policy: async (cmd) => (calls.push(cmd), 0) };
    expect(await run(['verify', '--config', 'c.json', '--model', 'users'], t.io, commands)).toBe(1);
    expect(await run(['policy', '--config', 'c.json', '--reader'], t.io, commands)).toBe(0);
    expect(calls).toEqual([
      { name: 'verify', configPath: 'c.json', model: 'users', json: false },
      { name: 'policy', configPath: 'c.json', reader: true, json: false },
    ]);
  });

  it('prints an error on stderr, redacted, not as a TRACE on stdout, and exits 1', async () => {
    globalRedactor.add('operator-secret-0001');
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const t = io();
    const commands: Commands = { ...base, verify: async () => Promise.reject(new ConfigError('Listing was denied for operator-secret-0001')) };
    expect(await run(['verify', '--config', 'c.json'], t.io, commands)).toBe(1);
    expect(await run(['verify', '--bogus', 'x'], t.io, commands)).toBe(1);
    expect(t.stdout()).toBe('');
    const printed = stderr.mock.calls.map((c) => String(c[0])).join('');
    expect(printed).toContain('destination-s3-export: Listing was denied for **********');
    expect(printed).not.toContain('operator-secret-0001');
    expect(printed).toContain('Unknown option --bogus for verify.');
  });
});
