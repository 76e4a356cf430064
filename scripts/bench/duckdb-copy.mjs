// DuckDB's standalone typed COPY: the bare data objects (one a line, no envelope) read with
// declared column types and written to one Parquet file (snappy), on one thread.
// Usage: node duckdb-copy.mjs DATA.jsonl OUT.parquet [THREADS]

import { DuckDBInstance } from '@duckdb/node-api';
import { DUCKDB_COLUMNS } from './generate.mjs';

const [dataPath, outPath, threads = '1'] = process.argv.slice(2);
const lit = (s) => `'${String(s).replaceAll("'", "''")}'`;
const instance = await DuckDBInstance.create(':memory:', { threads: String(threads) });
const connection = await instance.connect();
await connection.run(`SET TimeZone = 'UTC'`);
const columns = `{${Object.entries(DUCKDB_COLUMNS)
  .map(([k, v]) => `${lit(k)}: ${lit(v)}`)
  .join(', ')}}`;
await connection.run(
  `COPY (SELECT * FROM read_json(${lit(dataPath)}, format = 'newline_delimited', columns = ${columns})) TO ${lit(outPath)} (FORMAT parquet, COMPRESSION snappy)`,
);
const reader = await connection.runAndReadAll(`SELECT count(*) AS n FROM read_parquet(${lit(outPath)})`);
const n = Number(reader.getRowObjectsJS()[0].n);
connection.closeSync();
instance.closeSync();
process.stdout.write(JSON.stringify({ records: n }) + '\n');
