// The DuckDB recipes of docs/reading.md, taken from the page itself so that what the demo runs and
// what the acceptance test checks is exactly what users copy. A recipe is the ```sql block right
// after an HTML comment `<!-- recipe: NAME -->`; its queries read the example bucket
// s3://acme-exports/, which localRecipe points at a local copy of a bucket.

import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

export const READING_DOC = resolve(import.meta.dirname, '../../docs/reading.md');
export const DOC_BUCKET_URL = 's3://acme-exports/';

/** The SQL of the named recipe, without its trailing semicolon. */
export function recipeSql(name, markdown = readFileSync(READING_DOC, 'utf8')) {
  const marker = `<!-- recipe: ${name} -->`;
  const at = markdown.indexOf(marker);
  if (at < 0) throw new Error(`docs/reading.md has no recipe "${name}" (a ${marker} line before a sql block)`);
  const block = /^```sql\n([\s\S]*?)^```$/m.exec(markdown.slice(at + marker.length));
  if (!block || markdown.slice(at + marker.length, at + marker.length + block.index).trim() !== '') {
    throw new Error(`The recipe "${name}" in docs/reading.md must be the sql block right after ${marker}`);
  }
  return block[1].trim().replace(/;$/, '');
}

/** The recipe with the example bucket replaced by a directory holding a copy of a bucket. */
export function localRecipe(name, bucketDir, markdown) {
  return recipeSql(name, markdown).replaceAll(DOC_BUCKET_URL, bucketDir.replace(/\/*$/, '/'));
}
