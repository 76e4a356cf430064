// Command-line dispatch: parses arguments, runs one command, and is the one place where an
// error becomes a TRACE and an exit code (docs/architecture.md, "Commands and exit codes" and
// "Errors: three classes, one place that turns them into TRACE").

import type { Readable, Writable } from 'node:stream';
import { ConfigError, exitCodeOf } from './errors.js';
import { MessageWriter, StdoutClosedError } from './protocol/output.js';
import { globalRedactor } from './redact.js';
import { traceFor } from './protocol/trace.js';

export const USAGE =
  'usage: destination-s3-export spec | check --config <config.json> | write --config <config.json> --catalog <configured_catalog.json>' +
  ' | policy --config <config.json> [--reader] [--json] | verify --config <config.json> [--model <model>] [--since <YYYY-MM-DD>] [--json]';

/** Flags without a value. */
const SWITCHES = new Set(['json', 'reader']);
/** The operator's commands: text on stdout, not Airbyte messages; errors on stderr. */
const OPERATOR_COMMANDS = new Set(['policy', 'verify']);

export type Command =
  | { name: 'spec' }
  | { name: 'check'; configPath: string }
  | { name: 'write'; configPath: string; catalogPath: string }
  | { name: 'policy'; configPath: string; reader: boolean; json: boolean }
  | { name: 'verify'; configPath: string; model?: string; since?: string; json: boolean };

export function parseArgs(argv: readonly string[]): Command {
  const [name, ...rest] = argv;
  const flags = new Map<string, string>();
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i]!;
    const eq = arg.indexOf('=');
    if (arg.startsWith('--') && SWITCHES.has(arg.slice(2))) {
      flags.set(arg.slice(2), 'true');
    } else if (arg.startsWith('--') && eq > 0) {
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
    case 'policy':
      allow('config', 'reader', 'json');
      return { name: 'policy', configPath: need('config'), reader: flags.has('reader'), json: flags.has('json') };
    case 'verify': {
      allow('config', 'model', 'since', 'json');
      const [model, since] = [flags.get('model'), flags.get('since')];
      return { name: 'verify', configPath: need('config'), ...(model ? { model } : {}), ...(since ? { since } : {}), json: flags.has('json') };
    }
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
  /** The operator's commands (optional, so that tests of the others need not stub them); resolve to the exit code. */
  policy?(options: Extract<Command, { name: 'policy' }>, io: Io): Promise<number>;
  verify?(options: Extract<Command, { name: 'verify' }>, io: Io): Promise<number>;
}

/** An operator command's error: one redacted line on stderr, no TRACE (its stdout is not the protocol's). */
function reportOnStderr(err: unknown): number {
  const message = err instanceof Error ? err.message : String(err);
  process.stderr.write(globalRedactor.redact(`destination-s3-export: ${message}`) + '\n');
  return exitCodeOf(err);
}

/** Runs one command line; resolves to the process exit code. */
export async function run(argv: readonly string[], io: Io, commands: Commands): Promise<number> {
  if (OPERATOR_COMMANDS.has(argv[0] ?? '')) {
    try {
      const cmd = parseArgs(argv);
      if (cmd.name === 'policy' && commands.policy) return await commands.policy(cmd, io);
      if (cmd.name === 'verify' && commands.verify) return await commands.verify(cmd, io);
      throw new ConfigError(`The ${cmd.name} command is not available here. ${USAGE}`);
    } catch (err) {
      return reportOnStderr(err);
    }
  }
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
      default:
        throw new ConfigError(`Unknown command ${JSON.stringify(cmd.name)}. ${USAGE}`);
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
