import type { Io } from '../cli.js';
import type { MessageWriter } from '../protocol/output.js';

/** `check`: placeholder until the storage layer lands (issue 2). */
export async function runCheck(_configPath: string, out: MessageWriter, _io: Io): Promise<void> {
  await out.send({ type: 'CONNECTION_STATUS', connectionStatus: { status: 'FAILED', message: 'check is not implemented yet' } });
}
