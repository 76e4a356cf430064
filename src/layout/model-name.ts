// The model name: the one path segment of a stream's keys (DESIGN §3). One fixed rule that looks
// at nothing but the name itself, so the same stream always lands under the same prefix, whatever
// else the catalog holds. docs/layout.md has the rule with a table of examples.
//
// Rule, applied to `destination_object_name` when given (non-empty), else the stream name:
//  - [A-Za-z0-9.-] and '_' are kept as they are, except:
//    - a leading '.' or '_' is escaped (no hidden names, never '.' or '..', and no model can
//      be '_manifests' or shadow another reserved '_' name);
//    - a '.' right after a kept '.' is escaped (no '..' anywhere in a model);
//    - a '_' followed by 'x' is escaped (so '_x' in a model always starts an escape).
//  - every other character becomes '_x' + its UTF-8 bytes as two upper-case hex digits each
//    ('é' → '_xC3_xA9', ' ' → '_x20', '/' → '_x2F'); a lone UTF-16 surrogate is encoded like a
//    code point (WTF-8), so it never merges with U+FFFD.
//  - the empty name becomes '_empty' (no other name can: a kept name never starts with '_').
//  - a result longer than MAX_MODEL_LENGTH keeps its first characters (never half an escape)
//    and ends in '_x-' + 16 hex digits of the SHA-256 of the whole escaped name.
// Without truncation the rule is reversible (decodeModelName), so two distinct names never
// share a model; only truncated names can collide, with odds of 2^-64.
//
// The namespace takes no part: models are named by stream or object name, as in managed
// exports, and most catalogs carry one namespace. Two streams of one name in different
// namespaces map to one model; findModelCollisions finds them and `write` refuses the catalog,
// asking for a destination_object_name (or a stream prefix) that tells them apart.

import { createHash } from 'node:crypto';
import { ConfigError } from '../errors.js';
import type { ConfiguredAirbyteStream } from '../protocol/messages.js';

/** Longest model (ASCII characters = bytes): keeps every key well under S3's 1024 bytes and a
 *  model under the 255-byte file-name limit of local file systems (`aws s3 sync`). */
export const MAX_MODEL_LENGTH = 200;

/** The model of the empty name. */
export const EMPTY_NAME_MODEL = '_empty';

const TRUNCATION_MARK = '_x-';
const HASH_HEX_DIGITS = 16;
const KEPT = /^[A-Za-z0-9._-]$/;

/** What every model looks like (also in spec/manifest.schema.json). */
export const MODEL_PATTERN = /^(?!\.)(?!.*\.\.)[A-Za-z0-9._-]{1,200}$/;

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
      KEPT.test(ch) &&
      !(i === 0 && (ch === '.' || ch === '_')) &&
      !(ch === '.' && lastKeptDot) &&
      !(ch === '_' && chars[i + 1] === 'x');
    out += keep ? ch : escapeChar(ch);
    lastKeptDot = keep && ch === '.';
  }
  return out;
}

function truncate(escaped: string): string {
  const hash = createHash('sha256').update(escaped).digest('hex').slice(0, HASH_HEX_DIGITS);
  let cut = MAX_MODEL_LENGTH - TRUNCATION_MARK.length - HASH_HEX_DIGITS;
  // Every '_x' starts a 4-character escape: do not cut one in half.
  const escapeStart = escaped.lastIndexOf('_x', cut - 1);
  if (escapeStart >= 0 && escapeStart + 4 > cut) cut = escapeStart;
  return escaped.slice(0, cut) + TRUNCATION_MARK + hash;
}

/**
 * The model of a stream: `destinationObjectName` when given and non-empty, else the stream
 * name, made safe by the rule above. `namespace` is accepted so that callers can pass a stream
 * as the protocol names it, but by design it does not change the model (see the file comment).
 */
export function modelName(streamName: string, _namespace?: string | null, destinationObjectName?: string | null): string {
  const source = destinationObjectName ? destinationObjectName : streamName;
  if (source.length === 0) return EMPTY_NAME_MODEL;
  const escaped = escapeName(source);
  return escaped.length > MAX_MODEL_LENGTH ? truncate(escaped) : escaped;
}

/** The model of a configured stream of the catalog. */
export function modelForStream(configured: ConfiguredAirbyteStream): string {
  return modelName(configured.stream.name, configured.stream.namespace, configured.destination_object_name);
}

/**
 * The name a model came from, for tools and tests. Undefined for a truncated model (its tail
 * is a hash) or a string that the rule never produces.
 */
export function decodeModelName(model: string): string | undefined {
  if (model === EMPTY_NAME_MODEL) return '';
  if (!MODEL_PATTERN.test(model) || model.includes(TRUNCATION_MARK)) return undefined;
  const bytes: number[] = [];
  for (let i = 0; i < model.length; ) {
    if (model.startsWith('_x', i)) {
      const hex = model.slice(i + 2, i + 4);
      if (!/^[0-9A-F]{2}$/.test(hex)) return undefined;
      bytes.push(parseInt(hex, 16));
      i += 4;
    } else {
      bytes.push(model.charCodeAt(i));
      i += 1;
    }
  }
  try {
    const name = new TextDecoder('utf-8', { fatal: true }).decode(Uint8Array.from(bytes));
    // Only names the rule would give this very model (rejects e.g. a kept leading '_').
    return modelName(name) === model ? name : undefined;
  } catch {
    return undefined; // a lone surrogate's bytes are not UTF-8; such names are not decoded
  }
}

export interface StreamIdentity {
  name: string;
  namespace?: string | null | undefined;
}

export interface ModelCollision {
  model: string;
  /** The stream that took the model first (in catalog order). */
  first: StreamIdentity;
  /** A later stream of the catalog that maps to the same model. */
  second: StreamIdentity;
}

function identityOf(configured: ConfiguredAirbyteStream): StreamIdentity {
  return { name: configured.stream.name, namespace: configured.stream.namespace ?? null };
}

/**
 * The streams of a catalog that map to a model already taken by an earlier stream: each later
 * stream paired with the first one. A stream listed twice collides with itself too.
 */
export function findModelCollisions(streams: readonly ConfiguredAirbyteStream[]): ModelCollision[] {
  const owners = new Map<string, StreamIdentity>();
  const collisions: ModelCollision[] = [];
  for (const configured of streams) {
    const model = modelForStream(configured);
    const owner = owners.get(model);
    if (owner) collisions.push({ model, first: owner, second: identityOf(configured) });
    else owners.set(model, identityOf(configured));
  }
  return collisions;
}

export function describeStream(s: StreamIdentity): string {
  return s.namespace ? `${JSON.stringify(s.name)} (namespace ${JSON.stringify(s.namespace)})` : `${JSON.stringify(s.name)} (no namespace)`;
}

/** Throws one ConfigError naming every pair of streams that would share a model. */
export function assertNoModelCollisions(streams: readonly ConfiguredAirbyteStream[]): void {
  const collisions = findModelCollisions(streams);
  if (collisions.length === 0) return;
  const pairs = collisions.map((c) => `streams ${describeStream(c.first)} and ${describeStream(c.second)} both map to the model ${JSON.stringify(c.model)}`);
  throw new ConfigError(
    `The catalog has streams that would land in the same place: ${pairs.join('; ')}. ` +
      'Give one stream of each pair a distinct destination_object_name (or a stream prefix in the connection settings), or sync them in separate connections.',
    { stream: { name: collisions[0]!.second.name, namespace: collisions[0]!.second.namespace ?? undefined } },
  );
}
