// Command-line dispatch: parses arguments, runs one command, and is the one place where an
// error becomes a TRACE and an exit code (DESIGN §1).

import type { Readable, Writable } from 'node:stream';
import { ConfigError, exitCodeOf } from './errors.js';
import { MessageWriter, StdoutClosedError } from './protocol/output.js';
import { traceFor } from './protocol/trace.js';

export const USAGE =
  'usage: destination-s3-export spec | check --config <config.json> | write --config <config.json> --catalog <configured_catalog.json>';

export type Command =
  | { name: 'spec' }
  | { name: 'check'; configPath: string }
  | { name: 'write'; configPath: string; catalogPath: string };

export function parseArgs(argv: readonly string[]): Command {
  const [name, ...rest] = argv;
  const flags = new Map<string, string>();
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i]!;
    const eq = arg.indexOf('=');
    if (arg.startsWith('--') && eq > 0) {
      flags.set(arg.slice(2, eq), arg.slice(eq + 1));
    } else if (arg.startsWith('--') && i + 1 < rest.length && !rest[i + 1]!.startsWith('--')) {
      flags.set(arg.slice(2), rest[++i]!);
    } else {
      throw new ConfigError(`Unexpected argument ${JSON.stringify(arg)}. ${USAGE}`);
    }
  }
  const need = (flag: string): string => {
    const v = flags.get(flag);
    if (!v) throw new ConfigError(`The ${name} command needs --${flag} <file>. ${USAGE}`);
    return v;
  };
  const allow = (...known: string[]): void => {
    for (const f of flags.keys()) if (!known.includes(f)) throw new ConfigError(`Unknown option --${f} for ${name}. ${USAGE}`);
  };
  switch (name) {
    case 'spec':
      allow();
      return { name: 'spec' };
    case 'check':
      allow('config');
      return { name: 'check', configPath: need('config') };
    case 'write':
      allow('config', 'catalog');
      return { name: 'write', configPath: need('config'), catalogPath: need('catalog') };
    case undefined:
      throw new ConfigError(`No command given. ${USAGE}`);
    default:
      throw new ConfigError(`Unknown command ${JSON.stringify(name)}. ${USAGE}`);
  }
}

export interface Io {
  stdin: Readable;
  stdout: Writable;
  env: NodeJS.ProcessEnv;
}

/** The commands, injected so that tests can run them without the real S3 or process. */
export interface Commands {
  spec(out: MessageWriter): Promise<void>;
  check(configPath: string, out: MessageWriter, io: Io): Promise<void>;
  /** Resolves to the exit code (0, or 143 after SIGTERM). */
  write(configPath: string, catalogPath: string, out: MessageWriter, io: Io): Promise<number>;
}

/** Runs one command line; resolves to the process exit code. */
export async function run(argv: readonly string[], io: Io, commands: Commands): Promise<number> {
  const out = new MessageWriter(io.stdout);
  try {
    const cmd = parseArgs(argv);
    switch (cmd.name) {
      case 'spec':
        await commands.spec(out);
        return 0;
      case 'check':
        await commands.check(cmd.configPath, out, io);
        return 0;
      case 'write':
        return await commands.write(cmd.configPath, cmd.catalogPath, out, io);
    }
  } catch (err) {
    if (err instanceof StdoutClosedError || out.isClosed) return 1;
    try {
      await out.send(traceFor(err));
    } catch {
      // stdout closed while reporting: nothing more can be said.
      return 1;
    }
    return exitCodeOf(err);
  }
}
