// The model: where a stream lands below `<folder>/` (and below `_manifests/`), docs/layout.md.
// One fixed rule that looks at nothing but the stream itself (its namespace, its name or
// destination_object_name, and the config's namespace_layout), so the same stream always lands
// under the same prefix, whatever else the catalog holds. docs/layout.md has the rule with a table
// of examples.
//
// A model is one segment, `<name>`, or two, `<namespace>/<name>`: the namespace takes part when
// the stream has a non-empty namespace and namespace_layout is `by_namespace` (the default, as
// Airbyte's S3 destination starts its paths with the namespace); with `flat`, or without a
// namespace, the model is the name segment alone.
//
// Each segment is made safe by one rule, applied to the namespace, and to
// `destination_object_name` when given (non-empty), else the stream name:
//  - [A-Za-z0-9.-] and '_' are kept as they are, except:
//    - a leading '.' or '_' is escaped (no hidden names, never '.' or '..', and no segment can
//      be '_manifests' or shadow another reserved '_' name);
//    - a '.' right after a kept '.' is escaped (no '..' anywhere in a segment);
//    - a '_' followed by 'x' is escaped (so '_x' in a segment always starts an escape).
//  - every other character becomes '_x' + its UTF-8 bytes as two upper-case hex digits each
//    ('é' → '_xC3_xA9', ' ' → '_x20', '/' → '_x2F'); a lone UTF-16 surrogate is encoded like a
//    code point (WTF-8), so it never merges with U+FFFD.
//  - the empty name becomes '_empty' (no other name can: a kept name never starts with '_').
//  - a result longer than MAX_SEGMENT_LENGTH keeps its first characters (never half an escape)
//    and ends in '_x-' + 16 hex digits of the SHA-256 of the whole escaped name.
// Without truncation the rule is reversible (decodeSegment), so two distinct names never share a
// segment, and since no segment holds a '/', two distinct (namespace, name) pairs never share a
// two-segment model; only truncated names can collide, with odds of 2^-64. What the rule cannot
// rule out alone (two streams of one model, or a one-segment model that is also a namespace's
// folder) depends on the catalog: locations.ts finds it and `write` refuses such a catalog.

import { createHash } from 'node:crypto';
import type { ConfiguredAirbyteStream } from '../protocol/messages.js';

/** Longest segment (ASCII characters = bytes): keeps a segment under the 255-byte file-name
 *  limit of local file systems (`aws s3 sync`); locations.ts checks whole keys. */
export const MAX_SEGMENT_LENGTH = 200;

/** The segment of the empty name. */
export const EMPTY_NAME_SEGMENT = '_empty';

export type NamespaceLayout = 'by_namespace' | 'flat';

const TRUNCATION_MARK = '_x-';
const HASH_HEX_DIGITS = 16;
const KEPT = /^[A-Za-z0-9._-]$/;

/** What every segment looks like. */
export const SEGMENT_PATTERN = /^(?!\.)(?!.*\.\.)[A-Za-z0-9._-]{1,200}$/;

/** What every model looks like: one segment, or two joined by '/' (also in spec/manifest.schema.json). */
export const MODEL_PATTERN = /^(?!\.)(?!.*\.\.)[A-Za-z0-9._-]{1,200}(\/(?!\.)(?!.*\.\.)[A-Za-z0-9._-]{1,200})?$/;

/** UTF-8 bytes of one code point; a lone surrogate (0xD800–0xDFFF) is encoded the same way. */
function utf8Bytes(cp: number): number[] {
  if (cp < 0x80) return [cp];
  if (cp < 0x800) return [0xc0 | (cp >> 6), 0x80 | (cp & 0x3f)];
  if (cp < 0x10000) return [0xe0 | (cp >> 12), 0x80 | ((cp >> 6) & 0x3f), 0x80 | (cp & 0x3f)];
  return [0xf0 | (cp >> 18), 0x80 | ((cp >> 12) & 0x3f), 0x80 | ((cp >> 6) & 0x3f), 0x80 | (cp & 0x3f)];
}

function escapeChar(ch: string): string {
  return utf8Bytes(ch.codePointAt(0)!)
    .map((b) => `_x${b.toString(16).toUpperCase().padStart(2, '0')}`)
    .join('');
}

function escapeName(name: string): string {
  // Array.from splits by code point; a lone surrogate comes out as one element.
  const chars = Array.from(name);
  let out = '';
  let lastKeptDot = false;
  for (let i = 0; i < chars.length; i++) {
    const ch = chars[i]!;
    const keep: boolean =
      KEPT.test(ch) && !(i === 0 && (ch === '.' || ch === '_')) && !(ch === '.' && lastKeptDot) && !(ch === '_' && chars[i + 1] === 'x');
    out += keep ? ch : escapeChar(ch);
    lastKeptDot = keep && ch === '.';
  }
  return out;
}

function truncate(escaped: string): string {
  const hash = createHash('sha256').update(escaped).digest('hex').slice(0, HASH_HEX_DIGITS);
  let cut = MAX_SEGMENT_LENGTH - TRUNCATION_MARK.length - HASH_HEX_DIGITS;
  // Every '_x' starts a 4-character escape: do not cut one in half.
  const escapeStart = escaped.lastIndexOf('_x', cut - 1);
  if (escapeStart >= 0 && escapeStart + 4 > cut) cut = escapeStart;
  return escaped.slice(0, cut) + TRUNCATION_MARK + hash;
}

/** One name made safe by the rule above: a key segment of at most MAX_SEGMENT_LENGTH characters. */
export function segmentName(name: string): string {
  if (name.length === 0) return EMPTY_NAME_SEGMENT;
  const escaped = escapeName(name);
  return escaped.length > MAX_SEGMENT_LENGTH ? truncate(escaped) : escaped;
}

/** Whether a stream lands under its namespace: a non-empty namespace, and the by_namespace layout. */
export function namespaceTakesPart(namespace: string | null | undefined, layout: NamespaceLayout): namespace is string {
  return layout === 'by_namespace' && typeof namespace === 'string' && namespace.length > 0;
}

/**
 * The model of a stream: the segment of `destinationObjectName` when given and non-empty, else
 * of the stream name; preceded by the namespace's segment and '/' when the namespace takes part.
 */
export function modelName(
  streamName: string,
  namespace?: string | null,
  destinationObjectName?: string | null,
  layout: NamespaceLayout = 'by_namespace',
): string {
  const name = segmentName(destinationObjectName ? destinationObjectName : streamName);
  return namespaceTakesPart(namespace, layout) ? `${segmentName(namespace)}/${name}` : name;
}

/** The model of a configured stream of the catalog. */
export function modelForStream(configured: ConfiguredAirbyteStream, layout: NamespaceLayout = 'by_namespace'): string {
  return modelName(configured.stream.name, configured.stream.namespace, configured.destination_object_name, layout);
}

/**
 * The name a segment came from, for tools and tests. Undefined for a truncated segment (its tail
 * is a hash) or a string that the rule never produces.
 */
export function decodeSegment(segment: string): string | undefined {
  if (segment === EMPTY_NAME_SEGMENT) return '';
  if (!SEGMENT_PATTERN.test(segment) || segment.includes(TRUNCATION_MARK)) return undefined;
  const bytes: number[] = [];
  for (let i = 0; i < segment.length; ) {
    if (segment.startsWith('_x', i)) {
      const hex = segment.slice(i + 2, i + 4);
      if (!/^[0-9A-F]{2}$/.test(hex)) return undefined;
      bytes.push(parseInt(hex, 16));
      i += 4;
    } else {
      bytes.push(segment.charCodeAt(i));
      i += 1;
    }
  }
  try {
    const name = new TextDecoder('utf-8', { fatal: true }).decode(Uint8Array.from(bytes));
    // Only names the rule would give this very segment (rejects e.g. a kept leading '_').
    return segmentName(name) === segment ? name : undefined;
  } catch {
    return undefined; // a lone surrogate's bytes are not UTF-8; such names are not decoded
  }
}

/** The namespace (when the model has one) and the name a model came from; undefined as decodeSegment. */
export function decodeModel(model: string): { namespace?: string; name: string } | undefined {
  const parts = model.split('/');
  if (parts.length > 2) return undefined;
  const decoded = parts.map(decodeSegment);
  if (decoded.some((d) => d === undefined)) return undefined;
  // A namespace segment is never that of the empty namespace: an empty namespace does not take part.
  if (parts.length === 2 && decoded[0] === '') return undefined;
  return parts.length === 2 ? { namespace: decoded[0]!, name: decoded[1]! } : { name: decoded[0]! };
}
