// docs/setup.md's configuration reference is written by hand for readers, and checked here
// against spec/spec.json, the single source of config truth: one row per field (dotted for the
// fields of oneOf variants), no row for a field that does not exist, and each row's default,
// "required", bounds, allowed values and secrecy as the spec says.

import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');
const read = (file: string): string => readFileSync(resolve(ROOT, file), 'utf8');

type Json = Record<string, any>;

interface SpecField {
  name: string;
  required: boolean;
  /** undefined when the spec gives none (machine-derived or optional without default). */
  defaultValue: unknown;
  /** Values the row must name: enum members, or the variants' discriminator constants. */
  values: string[];
  minimum?: number;
  maximum?: number;
  secret: boolean;
}

/** Every configurable field of the spec, flattening each oneOf into `<group>.<field>`. */
function specFields(connectionSpecification: Json): SpecField[] {
  const fields: SpecField[] = [];
  const topRequired: string[] = connectionSpecification.required ?? [];
  for (const [name, prop] of Object.entries<Json>(connectionSpecification.properties)) {
    if (!Array.isArray(prop.oneOf)) {
      fields.push({
        name,
        required: topRequired.includes(name),
        defaultValue: prop.default,
        values: prop.enum ?? [],
        minimum: prop.minimum ?? (prop.minLength > 1 ? prop.minLength : undefined),
        maximum: prop.maximum ?? prop.maxLength,
        secret: prop.airbyte_secret === true,
      });
      continue;
    }
    const variants: Json[] = prop.oneOf;
    const discriminator = Object.keys(variants[0]!.properties).find((k) => variants.every((v) => v.properties[k]?.const !== undefined))!;
    fields.push({
      name: `${name}.${discriminator}`,
      required: false,
      defaultValue: prop.default?.[discriminator],
      values: variants.map((v) => v.properties[discriminator].const),
      secret: false,
    });
    const byField = new Map<string, { variant: Json; prop: Json }[]>();
    for (const variant of variants) {
      for (const [field, fieldProp] of Object.entries<Json>(variant.properties)) {
        if (field === discriminator) continue;
        byField.set(field, [...(byField.get(field) ?? []), { variant, prop: fieldProp }]);
      }
    }
    for (const [field, uses] of byField) {
      const defaults = new Set(uses.map((u) => JSON.stringify(u.prop.default)));
      if (defaults.size > 1) throw new Error(`${name}.${field} has different defaults in different variants: document them apart`);
      const p = uses[0]!.prop;
      fields.push({
        name: `${name}.${field}`,
        required: uses.every((u) => (u.variant.required ?? []).includes(field)),
        defaultValue: p.default,
        values: [...new Set(uses.flatMap((u) => u.prop.enum ?? []))],
        minimum: p.minimum ?? (p.minLength > 1 ? p.minLength : undefined),
        maximum: p.maximum ?? p.maxLength,
        secret: uses.some((u) => u.prop.airbyte_secret === true),
      });
    }
  }
  return fields;
}

/** The rows of the table under a `## <heading>`: field name → the row's cells. */
function referenceRows(markdown: string, heading: string): Map<string, string[]> {
  const start = markdown.indexOf(`\n## ${heading}\n`);
  if (start < 0) throw new Error(`no "## ${heading}" section`);
  const rest = markdown.slice(start + heading.length + 5);
  const section = rest.slice(0, rest.search(/\n## |$/));
  const rows = new Map<string, string[]>();
  for (const line of section.split('\n')) {
    const m = /^\|\s*`([^`]+)`\s*\|(.*)\|\s*$/.exec(line);
    if (!m) continue;
    if (rows.has(m[1]!)) throw new Error(`two rows for ${m[1]}`);
    rows.set(
      m[1]!,
      m[2]!.split('|').map((c) => c.trim()),
    );
  }
  return rows;
}

/** How the table writes a default: `256`, `snappy`, `""`. */
const shown = (value: unknown): string => (typeof value === 'string' && value !== '' ? value : JSON.stringify(value));

const spec = JSON.parse(read('spec/spec.json')) as Json;
const fields = specFields(spec.connectionSpecification);
const rows = referenceRows(read('docs/setup.md'), 'Configuration reference');

describe('docs/setup.md configuration reference', () => {
  it('has one row for every field of spec/spec.json and none for a field it does not have', () => {
    expect([...rows.keys()].sort()).toEqual(fields.map((f) => f.name).sort());
    // The flattening saw the nested fields, not only the top level.
    expect(fields.map((f) => f.name)).toEqual(expect.arrayContaining(['credentials.role_arn', 'encryption.kms_key_arn', 'format.compression_codec']));
  });

  it('gives the default of the spec, or "required", for each field', () => {
    for (const f of fields) {
      const [defaultCell] = rows.get(f.name) ?? [''];
      if (f.required) expect(defaultCell, f.name).toBe('required');
      else if (f.defaultValue !== undefined) expect(defaultCell, f.name).toBe(`\`${shown(f.defaultValue)}\``);
      else expect(defaultCell, `${f.name} has no default in the spec`).not.toMatch(/`|required/);
    }
  });

  it('names every allowed value, the bounds, and whether a field is secret', () => {
    for (const f of fields) {
      const row = (rows.get(f.name) ?? []).join(' | ');
      for (const v of f.values) expect(row, `${f.name} value ${v}`).toContain(`\`${v}\``);
      for (const bound of [f.minimum, f.maximum])
        if (bound !== undefined) expect(row, `${f.name} bound ${bound}`).toMatch(new RegExp(`\\b${bound}\\b`));
      expect(/\bSecret\b/.test(row), `${f.name} secret`).toBe(f.secret);
    }
  });

  it('reads the spec the way the checks above assume', () => {
    const byName = new Map(fields.map((f) => [f.name, f]));
    expect(byName.get('s3_bucket_name')?.required).toBe(true);
    expect(byName.get('credentials.auth_type')?.values).toEqual(['iam_role', 'web_identity', 'access_key', 'default_chain']);
    expect(byName.get('credentials.auth_type')?.defaultValue).toBe('default_chain');
    expect(byName.get('credentials.role_arn')?.required).toBe(true);
    expect(byName.get('credentials.external_id')?.required).toBe(false);
    expect(byName.get('credentials.secret_access_key')?.secret).toBe(true);
    expect(byName.get('file_size_mb')).toMatchObject({ defaultValue: 256, minimum: 1, maximum: 5000 });
    expect(byName.get('memory_budget_mb')?.defaultValue).toBeUndefined();
  });

  it('links the connection test errors page', () => {
    const md = read('docs/setup.md');
    expect(md).toMatch(/\n## Connection test errors\n[\s\S]*\]\(check\.md\)/);
  });
});
