// Where a config puts data and manifests (docs/layout.md), and the checks that no two streams of a
// catalog share a place. Pure: other commands (and tools that write bucket policies or verify a
// bucket) ask here for the prefixes instead of rebuilding them.
//
// Two streams clash when their models are equal, or when one model is the namespace folder of
// the other: a stream without namespace named `public` (model `public`) and a stream of namespace
// `public` (model `public/users`). Their keys differ, but a reader that lists `<folder>/public/`
// or `_manifests/public/` (Snowflake stages, Spark, `aws s3 sync`) would take in the other
// stream's files. Either clash is a config error that names both streams and the fix, raised
// before any input is read; the rule itself never moves a stream to avoid one.

import { ConfigError } from '../errors.js';
import type { ConfiguredAirbyteStream } from '../protocol/messages.js';
import { MANIFESTS_DIR, MAX_KEY_BYTES, type ManifestLocation } from './keys.js';
import { modelForStream, modelName, namespaceTakesPart, type NamespaceLayout } from './model-name.js';

/** The settings of a config that decide where things land (a subset of config/config.ts's Config). */
export interface LayoutSettings {
  /** Key prefix without leading or trailing '/'; '' when none. */
  folder: string;
  manifestLocation: ManifestLocation;
  namespaceLayout: NamespaceLayout;
}

export interface StreamIdentity {
  name: string;
  namespace?: string | null | undefined;
}

/** A stream as the prefixes need it: its identity and, optionally, the catalog's object name. */
export interface StreamLocator extends StreamIdentity {
  destinationObjectName?: string | null | undefined;
}

export interface Prefixes {
  /** Every data key starts with it: `<folder>/` ('' without folder), or `<folder>/<model>/` for a stream. */
  data: string;
  /** Every manifest key starts with it: `[<folder>/]_manifests/`, or that + `<model>/` for a stream. */
  manifests: string;
}

const withSlash = (prefix: string): string => (prefix ? `${prefix.replace(/\/+$/, '')}/` : '');

/**
 * The prefixes a config writes under, or those of one stream: every key `write` makes for it
 * starts with `data` (data files) or `manifests` (manifests), and no other stream's key does.
 * `<folder>/` and `_manifests/` themselves hold every stream's keys (and `check`'s probe object).
 */
export function layoutPrefixes(settings: LayoutSettings, stream?: StreamLocator): Prefixes {
  const folder = withSlash(settings.folder);
  const manifests = settings.manifestLocation === 'folder' ? `${folder}${MANIFESTS_DIR}/` : `${MANIFESTS_DIR}/`;
  if (!stream) return { data: folder, manifests };
  const model = modelName(stream.name, stream.namespace, stream.destinationObjectName, settings.namespaceLayout);
  return { data: `${folder}${model}/`, manifests: `${manifests}${model}/` };
}

export function describeStream(s: StreamIdentity): string {
  return s.namespace ? `${JSON.stringify(s.name)} (namespace ${JSON.stringify(s.namespace)})` : `${JSON.stringify(s.name)} (no namespace)`;
}

export interface LocationClash {
  /** `same`: both streams have this model. `nested`: `first`'s model is the namespace folder of `second`'s, or the reverse. */
  kind: 'same' | 'nested';
  /** The model of the stream that came first in the catalog. */
  model: string;
  first: StreamIdentity;
  /** A later stream of the catalog. */
  second: StreamIdentity;
  secondModel: string;
}

function identityOf(configured: ConfiguredAirbyteStream): StreamIdentity {
  return { name: configured.stream.name, namespace: configured.stream.namespace ?? null };
}

/**
 * The streams of a catalog that would share a place with an earlier stream, each paired with the
 * first such stream. A stream listed twice clashes with itself too.
 */
export function findLocationClashes(streams: readonly ConfiguredAirbyteStream[], layout: NamespaceLayout): LocationClash[] {
  const owners = new Map<string, { model: string; who: StreamIdentity }>();
  /** A namespace folder (first segment of a two-segment model) → the first stream under it. */
  const folders = new Map<string, { model: string; who: StreamIdentity }>();
  const clashes: LocationClash[] = [];
  for (const configured of streams) {
    const model = modelForStream(configured, layout);
    const who = identityOf(configured);
    const folder = model.includes('/') ? model.slice(0, model.indexOf('/')) : undefined;
    const earlier = owners.get(model) ?? (folder !== undefined ? owners.get(folder) : undefined) ?? folders.get(model);
    if (earlier) {
      clashes.push({ kind: earlier.model === model ? 'same' : 'nested', model: earlier.model, first: earlier.who, second: who, secondModel: model });
      continue;
    }
    owners.set(model, { model, who });
    if (folder !== undefined && !folders.has(folder)) folders.set(folder, { model, who });
  }
  return clashes;
}

function describeClash(c: LocationClash): string {
  if (c.kind === 'same') return `streams ${describeStream(c.first)} and ${describeStream(c.second)} both map to the model ${JSON.stringify(c.model)}`;
  const [flat, nested] = c.model.includes('/') ? [c.second, c.first] : [c.first, c.second];
  const [flatModel, nestedModel] = c.model.includes('/') ? [c.secondModel, c.model] : [c.model, c.secondModel];
  return `the stream ${describeStream(flat)} lands in ${JSON.stringify(`${flatModel}/`)}, which is also the namespace folder of ${describeStream(nested)} (model ${JSON.stringify(nestedModel)})`;
}

/** The longest key `write` can make for a model: a manifest key, or a data key of a 6-digit part. */
export function longestKeyBytes(settings: LayoutSettings, model: string): number {
  const { data, manifests } = layoutPrefixes(settings);
  const bytes = (s: string): number => Buffer.byteLength(s, 'utf8');
  // <model>/dt=YYYY-MM-DD/manifest_<36-character id>.json, and <model>/dt=YYYY-MM-DD/part-999999_<19>.jsonl.gz
  const manifest = bytes(manifests) + bytes(model) + '/dt=2024-05-01/manifest_'.length + 36 + '.json'.length;
  const dataKey = bytes(data) + bytes(model) + '/dt=2024-05-01/part-999999_20240501T235959999Z.jsonl.gz'.length;
  return Math.max(manifest, dataKey);
}

/**
 * Throws one ConfigError naming every clash of the catalog, with what to do; then one for a
 * stream whose keys would pass S3's 1024 bytes. Both before any input is read.
 */
export function assertDistinctLocations(streams: readonly ConfiguredAirbyteStream[], settings: LayoutSettings): void {
  const clashes = findLocationClashes(streams, settings.namespaceLayout);
  if (clashes.length > 0) {
    const fixes = ['give one stream of each pair a distinct destination_object_name (or a stream prefix in the connection settings)'];
    if (
      settings.namespaceLayout === 'flat' &&
      clashes.some((c) => namespaceTakesPart(c.first.namespace, 'by_namespace') || namespaceTakesPart(c.second.namespace, 'by_namespace'))
    ) {
      fixes.push('set namespace_layout to by_namespace (the default), which puts each namespace in a folder of its own');
    }
    if (clashes.some((c) => c.kind === 'nested')) fixes.push('set namespace_layout to flat');
    throw new ConfigError(
      `The catalog has streams that would land in the same place: ${clashes.map(describeClash).join('; ')}. ` +
        `To fix it, ${fixes.join(', or ')}, or sync them in separate connections.`,
      { stream: { name: clashes[0]!.second.name, namespace: clashes[0]!.second.namespace ?? undefined } },
    );
  }
  for (const configured of streams) {
    const model = modelForStream(configured, settings.namespaceLayout);
    const length = longestKeyBytes(settings, model);
    if (length > MAX_KEY_BYTES) {
      const who = identityOf(configured);
      throw new ConfigError(
        `The keys of the stream ${describeStream(who)} would be ${length} bytes long, longer than S3's limit of ${MAX_KEY_BYTES}: ` +
          `shorten the folder, give the stream a shorter destination_object_name${namespaceTakesPart(who.namespace, settings.namespaceLayout) ? ', or set namespace_layout to flat' : ''}.`,
        { stream: { name: who.name, namespace: who.namespace ?? undefined } },
      );
    }
  }
}
