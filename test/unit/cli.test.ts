import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { parseArgs, run, USAGE, type Commands, type Io } from '../../src/cli.js';
import { ConfigError, TransientError } from '../../src/errors.js';

function io(): { io: Io; lines: () => Record<string, any>[]; stdout: PassThrough } {
  const stdout = new PassThrough();
  const chunks: Buffer[] = [];
  stdout.on('data', (c: Buffer) => chunks.push(c));
  return {
    io: { stdin: new PassThrough(), stdout, env: {} },
    stdout,
    lines: () =>
      Buffer.concat(chunks)
        .toString('utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, any>),
  };
}

/** Commands that record how they were called. */
function commands(overrides: Partial<Commands> = {}): Commands & { calls: unknown[][] } {
  const calls: unknown[][] = [];
  return {
    calls,
    spec: async () => void calls.push(['spec']),
    check: async (config) => void calls.push(['check', config]),
    write: async (config, catalog) => {
      calls.push(['write', config, catalog]);
      return 0;
    },
    ...overrides,
  };
}

describe('parseArgs', () => {
  it.each([
    [['spec'], { name: 'spec' }],
    [['check', '--config', 'c.json'], { name: 'check', configPath: 'c.json' }],
    [['check', '--config=c.json'], { name: 'check', configPath: 'c.json' }],
    [['write', '--config', 'c.json', '--catalog', 'cat.json'], { name: 'write', configPath: 'c.json', catalogPath: 'cat.json' }],
    [['write', '--catalog=cat.json', '--config', 'c.json'], { name: 'write', configPath: 'c.json', catalogPath: 'cat.json' }],
  ])('reads %j', (argv, expected) => {
    expect(parseArgs(argv)).toEqual(expected);
  });

  it.each([
    [[], 'No command given.'],
    [['read'], 'Unknown command "read".'],
    [['check'], 'The check command needs --config <file>.'],
    [['check', '--config'], 'Unexpected argument "--config".'],
    [['check', '--config='], 'The check command needs --config <file>.'],
    [['write', '--config', 'c.json'], 'The write command needs --catalog <file>.'],
    [['spec', 'extra'], 'Unexpected argument "extra".'],
    [['spec', '--config', 'c.json'], 'Unknown option --config for spec.'],
    [['check', '--config', 'c.json', '--catalog', 'x.json'], 'Unknown option --catalog for check.'],
  ])('refuses %j with a ConfigError that shows the usage', (argv, start) => {
    let error: unknown;
    try {
      parseArgs(argv);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toBe(`${start} ${USAGE}`);
  });
});

describe('run', () => {
  it('runs the command the arguments name and exits 0', async () => {
    const t = io();
    const cmds = commands();
    expect(await run(['check', '--config', 'c.json'], t.io, cmds)).toBe(0);
    expect(await run(['write', '--config', 'c.json', '--catalog', 'cat.json'], t.io, cmds)).toBe(0);
    expect(cmds.calls).toEqual([
      ['check', 'c.json'],
      ['write', 'c.json', 'cat.json'],
    ]);
    expect(t.lines()).toEqual([]);
  });

  it('returns the exit code of write (143 after SIGTERM)', async () => {
    expect(await run(['write', '--config', 'c', '--catalog', 'k'], io().io, commands({ write: async () => 143 }))).toBe(143);
  });

  it.each([[[]], [['bogus']], [['check']], [['write', '--config', 'c.json']]])(
    'answers the usage error %j with one TRACE config_error and exit 1',
    async (argv) => {
      const t = io();
      const cmds = commands();
      expect(await run(argv, t.io, cmds)).toBe(1);
      expect(cmds.calls).toEqual([]);
      const lines = t.lines();
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatchObject({ type: 'TRACE', trace: { type: 'ERROR', error: { failure_type: 'config_error' } } });
      expect(lines[0]!.trace.error.message).toContain(USAGE);
      expect(lines[0]!.trace.error.stack_trace).toBeUndefined();
    },
  );

  it('turns a failing command into a TRACE of its failure type and exit 1', async () => {
    const t = io();
    const code = await run(
      ['write', '--config', 'c', '--catalog', 'k'],
      t.io,
      commands({ write: async () => Promise.reject(new TransientError('S3 is throttling; retry later')) }),
    );
    expect(code).toBe(1);
    expect(t.lines()).toEqual([
      expect.objectContaining({
        type: 'TRACE',
        trace: expect.objectContaining({
          error: expect.objectContaining({ failure_type: 'transient_error', message: 'S3 is throttling; retry later' }),
        }),
      }),
    ]);
  });

  it('reports an unexpected exception as a system_error with its stack', async () => {
    const t = io();
    const code = await run(['spec'], t.io, commands({ spec: async () => Promise.reject(new TypeError('boom')) }));
    expect(code).toBe(1);
    const [line] = t.lines();
    expect(line!.trace.error).toMatchObject({ failure_type: 'system_error', message: 'Unexpected error: boom' });
    expect(line!.trace.error.stack_trace).toContain('boom');
  });

  it('exits 1 without a crash when the reader has closed stdout', async () => {
    const t = io();
    t.stdout.destroy();
    const code = await run(['spec'], t.io, commands({ spec: async (out) => out.send({ type: 'LOG', log: { level: 'INFO', message: 'x' } }) }));
    expect(code).toBe(1);
  });
});
