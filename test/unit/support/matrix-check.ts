// The one assertion of the type matrix, shared by the converter's unit tests and the
// connector-level integration test: every record read back exactly, metadata included.

import { expect } from 'vitest';
import type { Canon } from './formats.js';
import { BIG_STRING, MATRIX_RECORDS, expectedRow } from './matrix.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Rows keyed by id, metadata checked for shape and dropped where it is random. */
function byId(rows: Record<string, Canon>[]): Map<string, Record<string, Canon>> {
  const out = new Map<string, Record<string, Canon>>();
  for (const row of rows) {
    expect(row._airbyte_raw_id).toMatch(UUID);
    const { _airbyte_raw_id: _, ...rest } = row;
    out.set(String(row.id), rest);
  }
  return out;
}

/** Asserts that rows read back by `reader` are exactly the matrix's expected rows. */
export function expectMatrixRows(rows: Record<string, Canon>[], reader: string, syncId: number, generationId: number): void {
  expect(rows, reader).toHaveLength(MATRIX_RECORDS.length);
  expect(new Set(rows.map((r) => r._airbyte_raw_id)).size, `${reader}: one raw id per record`).toBe(rows.length);
  const got = byId(rows);
  for (const record of MATRIX_RECORDS) {
    const { _airbyte_raw_id: _, ...want } = { _airbyte_raw_id: null, ...expectedRow(record, syncId, generationId) };
    const row = got.get(String(record.id));
    if (record.id === 13) {
      // Keep the failure message readable: compare the 2 MB string apart.
      expect(row?.str === BIG_STRING, `${reader}: record 13 keeps its 2 MB string`).toBe(true);
      expect({ ...row, str: 'BIG' }, `${reader}: record 13`).toEqual({ ...want, str: 'BIG' });
      continue;
    }
    expect(row, `${reader}: record ${record.id}`).toEqual(want);
  }
}
