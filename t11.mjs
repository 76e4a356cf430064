import { DuckDBInstance } from '@duckdb/node-api';
const db = await DuckDBInstance.create(':memory:', {threads:'1'});
const c = await db.connect();
await c.run(`CREATE TABLE t AS SELECT i::BIGINT AS x FROM range(100) r(i)`);
// child in the list literal, param used k times in the body (as convertStructPair's p)
function S(d, k, x) { if (d === 0) return `{'v': ${x}}`; const p = `p${d}`; const uses = Array.from({ length: k }, () => `${p}.v.v`).join(' + '); return `list_transform([{'v': ${S(d - 1, k, x + ' + 1')}}], lambda ${p}: {'v': ${uses}})[1]`; }
// child inside the body, over an outer param (as convertStructPair's s / parseNested)
function T(d, k, x) { if (d === 0) return `{'v': ${x}}`; const s = `s${d}`; const uses = Array.from({ length: k }, () => `${s}`).join(' + '); return `list_transform([${x} + 1], lambda ${s}: {'v': (${uses}) + ${T(d - 1, k, s)}.v})[1]`; }
for (const [name, f] of [['S', S], ['T', T]]) for (const k of [1, 3]) for (const d of [8, 10, 12]) {
  const t = performance.now();
  await c.run(`SELECT sum((${f(d, k, 'x')}).v) FROM t`);
  console.log(`${name} uses ${k} depth ${d}: ${(performance.now() - t).toFixed(0)} ms`);
}
