// How DuckDB reads a spool: one row per line, the line as JSON text (column __j).
//
// The lines were checked as strict JSON by the record scan before they were spooled, so the
// reader only has to split them. read_json_objects would parse each line once more to find its
// end and holds ~40 MiB per thread whatever the lines' length (measured); the CSV reader, told that
// the whole line is one column (a delimiter that valid JSON text cannot hold: U+0001 must be
// escaped inside strings, and no quoting), splits the same lines as fast with buffers sized to
// the longest line (one conversion on 2 threads: ~40 MiB less peak RSS, same time).

import { quoteLiteral } from './schema.js';

const MiB = 1024 * 1024;
/** Room for the line ending in the reader's line size. */
const LINE_END_SLACK_BYTES = 16;
/** The reader's buffer beyond the longest line: lines are read a buffer at a time. */
const BUFFER_SLACK_BYTES = MiB;

/**
 * A FROM item yielding `__j` (JSON), one row per line of the spool at `path`, whose longest line
 * is at most `maxLineBytes` bytes.
 */
export function spoolLinesSource(path: string, maxLineBytes: number): string {
  // DuckDB counts a line's ending into its size.
  const maxLine = Math.max(1, Math.floor(maxLineBytes)) + LINE_END_SLACK_BYTES;
  const csv =
    `read_csv(${quoteLiteral(path)}, columns = {'__t': 'VARCHAR'}, header = false, auto_detect = false, ` +
    `delim = chr(1), quote = '', escape = '', new_line = '\\n', max_line_size = ${maxLine}, buffer_size = ${maxLine + BUFFER_SLACK_BYTES})`;
  return `(SELECT CAST(__t AS JSON) AS __j FROM ${csv}) AS __lines`;
}
