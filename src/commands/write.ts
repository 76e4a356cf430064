import type { Io } from '../cli.js';
import { SystemError } from '../errors.js';
import type { MessageWriter } from '../protocol/output.js';

/** `write`: placeholder until the write path lands (issue 3). */
export async function runWrite(_configPath: string, _catalogPath: string, _out: MessageWriter, _io: Io): Promise<number> {
  throw new SystemError('write is not implemented yet');
}
