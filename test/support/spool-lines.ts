// Spools for converter tests: RECORD lines encoded as the session spools them
// (src/formats/spool-line.ts). A RECORD the scanner declines (data not an object: the session
// never spools one) is encoded as doubtful all the same, so that the converter's handling of it
// stays tested; a line that is not JSON is left as it is (the converter rejects it).

import { spoolLineOf } from '../../src/formats/spool-line.js';
import { recordLineToSpool, type RecordScannerOptions } from '../../src/protocol/record-scan.js';

function spoolLine(line: string, options: RecordScannerOptions): string {
  const bytes = Buffer.from(line, 'utf8');
  const spooled = recordLineToSpool(bytes, options);
  if (spooled !== bytes) return spooled.toString('utf8');
  try {
    const msg = JSON.parse(line) as { type?: unknown; record?: { emitted_at?: unknown } };
    if (msg.type !== 'RECORD') return line;
    const at = typeof msg.record?.emitted_at === 'number' ? msg.record.emitted_at : 0;
    return spoolLineOf('doubtful', at, bytes).toString('utf8');
  } catch {
    return line;
  }
}

/** Each line of `text` (lines end with '\n') as its spool line. */
export function spoolText(text: string, options: RecordScannerOptions = {}): string {
  return text
    .split('\n')
    .map((line) => (line === '' ? line : spoolLine(line, options)))
    .join('\n');
}
