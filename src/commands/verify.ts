// `verify --config config.json [--model M] [--since YYYY-MM-DD] [--json]`: audits an export.
// Reads the manifests, checks that every object they list exists with the listed size and
// SHA-256 (streamed, a few at a time, so memory stays bounded whatever the file sizes), and
// reports per model and transfer; then lists the data objects under the export's prefixes that
// no manifest lists (left by killed syncs) and the multipart uploads left open. Deletes nothing.
// Text on stdout (not Airbyte messages), progress on stderr; exit 0 when every listed object is
// intact, 1 otherwise.

import { createHash } from 'node:crypto';
import type { Writable } from 'node:stream';
import { buildConfig, readJsonFile, registerSecrets, type Config } from '../config/config.js';
import { ConfigError, asConnectorError } from '../errors.js';
import { MODEL_PATTERN } from '../layout/index.js';
import { globalRedactor, type Redactor } from '../redact.js';
import { registerEnvironmentSecrets } from '../storage/credentials.js';
import { exportPrefixes } from '../storage/permissions.js';
import type { ObjectInfo, ObjectReader, OpenUpload } from '../storage/port.js';
import { manifestProblems, type Manifest, type ManifestStatus } from '../write/manifest.js';
import { renderVerifyText } from './verify-report.js';

export interface VerifyOptions {
  configPath: string;
  model?: string | undefined;
  since?: string | undefined;
  json: boolean;
}

export type FileProblemKind = 'missing' | 'size' | 'sha256';

export interface FileProblem {
  key: string;
  problem: FileProblemKind;
  expected_bytes: number;
  actual_bytes?: number;
  expected_sha256: string;
  actual_sha256?: string;
}

export interface TransferReport {
  transfer_id: string;
  transfer_date: string;
  status: ManifestStatus;
  manifest_key: string;
  files: number;
  bytes: number;
  problems: FileProblem[];
}

export interface UnlistedObject {
  key: string;
  bytes: number;
  /** The transfer that wrote it, when a manifest of the same model and timestamp exists. */
  transfer_id?: string;
  /** That transfer's manifest says in_progress: it may still be running and list the file later. */
  transfer_in_progress?: boolean;
}

export interface VerifyReport {
  bucket: string;
  prefixes: { data: string; manifests: string };
  model: string | null;
  since: string | null;
  /** Every listed object intact and every manifest readable. */
  ok: boolean;
  models: { model: string; transfers: TransferReport[] }[];
  unreadable_manifests: { key: string; problem: string }[];
  checked: { files: number; bytes: number };
  unlisted: { count: number; bytes: number; objects: UnlistedObject[] };
  /** Uploads left open; `error` when they could not be listed (the permission is optional). */
  open_uploads: { count: number; uploads: OpenUpload[] } | { error: string };
}

export interface VerifyTarget {
  reader: ObjectReader;
  close(): void;
}

export interface VerifyDependencies {
  connect(config: Config, env: NodeJS.ProcessEnv, redactor: Redactor): Promise<VerifyTarget>;
  /** Progress lines for long runs. */
  progress: (line: string) => void;
  progressIntervalMs: number;
  /** Objects read at once. */
  concurrency: number;
}

export const defaultVerifyDependencies: VerifyDependencies = {
  async connect(config, env, redactor) {
    // Loaded here: the SDK is needed only once there is something to read.
    const { createS3Store } = await import('../storage/s3-store.js');
    const store = createS3Store(config, { env, redactor });
    return { reader: store, close: () => store.close() };
  },
  progress: (line) => process.stderr.write(globalRedactor.redact(line) + '\n'),
  progressIntervalMs: 5000,
  concurrency: 4,
};

const DATE = /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$/;
// Keys below the export's prefixes (docs/layout.md). The part before /dt= is the model's
// directory: one segment today, more with namespaced layouts, so any number is accepted.
const MANIFEST_NAME = /^(.+?)\/dt=(\d{4}-\d{2}-\d{2})\/manifest_[^/]+\.json$/;
const DATA_NAME = /^(.+?)\/dt=(\d{4}-\d{2}-\d{2})\/part-\d{5,}_(\d{8}T\d{9}Z)\.(parquet|csv|csv\.gz|jsonl|jsonl\.gz)$/;
/** Reads of one object: a connection reset in the middle of a body is worth another try. */
const READ_ATTEMPTS = 3;

/** Runs `work` over `items`, `limit` at a time. */
async function forEachLimited<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) await work(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/** Size and SHA-256 of an object, streamed; undefined when it does not exist. */
async function measure(reader: ObjectReader, key: string): Promise<{ bytes: number; sha256: string } | undefined> {
  const body = await reader.getStream(key);
  if (!body) return undefined;
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    hash.update(chunk);
    bytes += chunk.length;
  }
  return { bytes, sha256: hash.digest('hex') };
}

async function measureWithRetries(reader: ObjectReader, key: string): Promise<{ bytes: number; sha256: string } | undefined> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await measure(reader, key);
    } catch (err) {
      // A denial or a bad setting will not pass on a retry; a body cut short may.
      if (err instanceof ConfigError || attempt >= READ_ATTEMPTS) throw err;
    }
  }
}

async function readText(reader: ObjectReader, key: string): Promise<string | undefined> {
  const body = await reader.getStream(key);
  if (!body) return undefined;
  const chunks: Buffer[] = [];
  for await (const chunk of body as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
}

interface Scope {
  model: string | undefined;
  since: string | undefined;
}

/** A model's own keys only: `--model public` must not take in the models of namespace `public`. */
function inScope(scope: Scope, model: string, date: string): boolean {
  return (scope.model === undefined || model === scope.model) && (scope.since === undefined || date >= scope.since);
}

/** Audits the export a config writes (pure of the process: the reader and progress are injected). */
export async function verifyExport(
  config: Config,
  reader: ObjectReader,
  scope: Scope,
  deps: Pick<VerifyDependencies, 'progress' | 'progressIntervalMs' | 'concurrency'>,
): Promise<VerifyReport> {
  const prefixes = exportPrefixes(config);
  const modelDir = scope.model === undefined ? '' : `${scope.model}/`;

  // 1. The manifests, read before the data is listed: a file committed meanwhile is then
  //    listed by a manifest we hold, or found by its own GetObject below, never reported missing.
  const manifestKeys = (await reader.list(prefixes.manifests + modelDir))
    .map((o) => ({ key: o.key, match: MANIFEST_NAME.exec(o.key.slice(prefixes.manifests.length)) }))
    .filter((m) => m.match && inScope(scope, m.match[1]!, m.match[2]!));
  const manifests: { key: string; manifest: Manifest }[] = [];
  const unreadable: VerifyReport['unreadable_manifests'] = [];
  await forEachLimited(manifestKeys, deps.concurrency, async ({ key }) => {
    const text = await readText(reader, key);
    if (text === undefined) return; // deleted since it was listed
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      unreadable.push({ key, problem: 'not valid JSON' });
      return;
    }
    const problems = manifestProblems(value);
    if (problems.length) unreadable.push({ key, problem: `not a manifest: ${problems.slice(0, 3).join('; ')}` });
    else manifests.push({ key, manifest: value as Manifest });
  });

  // 2. The data objects under the export's prefix (of the model, when one is asked for).
  const dataPrefix = prefixes.data + modelDir;
  const objects = new Map<string, ObjectInfo>();
  for (const o of await reader.list(dataPrefix)) objects.set(o.key, o);

  // 3. Every listed file: size from the listing, then the bytes' SHA-256.
  const transfers = new Map<string, TransferReport & { model: string }>();
  const work: { file: Manifest['files'][number]; report: TransferReport }[] = [];
  for (const { key, manifest: m } of manifests) {
    const report = {
      model: m.model,
      transfer_id: m.transfer_id,
      transfer_date: m.transfer_date,
      status: m.status,
      manifest_key: key,
      files: m.files.length,
      bytes: 0,
      problems: [],
    };
    for (const file of m.files) {
      report.bytes += file.bytes;
      work.push({ file, report });
    }
    transfers.set(key, report);
  }
  const total = { files: work.length, bytes: work.reduce((s, w) => s + w.file.bytes, 0) };
  const done = { files: 0, bytes: 0 };
  const started = Date.now();
  const timer = setInterval(() => {
    const gb = (n: number): string => (n / 1e9).toFixed(2);
    deps.progress(
      `verify: ${done.files}/${total.files} files, ${gb(done.bytes)}/${gb(total.bytes)} GB checked in ${Math.round((Date.now() - started) / 1000)} s`,
    );
  }, deps.progressIntervalMs);
  timer.unref();
  try {
    await forEachLimited(work, deps.concurrency, async ({ file, report }) => {
      const expected = { key: file.key, expected_bytes: file.bytes, expected_sha256: file.sha256 };
      const listed = objects.get(file.key);
      if (listed && listed.size !== file.bytes) {
        report.problems.push({ ...expected, problem: 'size', actual_bytes: listed.size });
      } else {
        const actual = await measureWithRetries(reader, file.key);
        if (!actual) report.problems.push({ ...expected, problem: 'missing' });
        else if (actual.bytes !== file.bytes) report.problems.push({ ...expected, problem: 'size', actual_bytes: actual.bytes });
        else if (actual.sha256 !== file.sha256) report.problems.push({ ...expected, problem: 'sha256', actual_sha256: actual.sha256 });
      }
      done.files++;
      done.bytes += file.bytes;
    });
  } finally {
    clearInterval(timer);
  }

  // 4. Data objects no manifest lists, attributed to their transfer when its manifest is known.
  const listedKeys = new Set(manifests.flatMap(({ manifest }) => manifest.files.map((f) => f.key)));
  // A transfer's data files share its timestamp; the model's directory tells its models apart.
  const modelDirOf = (key: string): string => key.slice(prefixes.data.length, key.lastIndexOf('/dt='));
  const byTimestamp = new Map(
    manifests.map(({ manifest: m }) => [`${m.files[0] ? modelDirOf(m.files[0].key) : m.model}/${m.transfer_timestamp}`, m]),
  );
  const unlisted: UnlistedObject[] = [];
  for (const o of objects.values()) {
    const match = DATA_NAME.exec(o.key.slice(prefixes.data.length));
    if (!match || listedKeys.has(o.key) || !inScope(scope, match[1]!, match[2]!)) continue;
    const owner = byTimestamp.get(`${match[1]}/${match[3]}`);
    unlisted.push({
      key: o.key,
      bytes: o.size,
      ...(owner ? { transfer_id: owner.transfer_id, transfer_in_progress: owner.status === 'in_progress' } : {}),
    });
  }
  unlisted.sort((a, b) => a.key.localeCompare(b.key));

  // 5. Multipart uploads left open (optional permission: say so when it is missing).
  let openUploads: VerifyReport['open_uploads'];
  try {
    const uploads = [...(await reader.listUploads(dataPrefix))];
    if (!dataPrefix.startsWith(prefixes.manifests) && !prefixes.manifests.startsWith(dataPrefix))
      uploads.push(...(await reader.listUploads(prefixes.manifests + modelDir)));
    openUploads = { count: uploads.length, uploads };
  } catch (err) {
    openUploads = { error: asConnectorError(err).message };
  }

  const models = new Map<string, TransferReport[]>();
  for (const { model, ...t } of [...transfers.values()].sort(
    (a, b) => a.model.localeCompare(b.model) || a.transfer_id.localeCompare(b.transfer_id),
  )) {
    models.set(model, [...(models.get(model) ?? []), t]);
  }
  const intact = [...transfers.values()].every((t) => t.problems.length === 0);
  return {
    bucket: config.bucket,
    prefixes,
    model: scope.model ?? null,
    since: scope.since ?? null,
    ok: intact && unreadable.length === 0,
    models: [...models].map(([model, list]) => ({ model, transfers: list })),
    unreadable_manifests: unreadable.sort((a, b) => a.key.localeCompare(b.key)),
    checked: total,
    unlisted: { count: unlisted.length, bytes: unlisted.reduce((s, o) => s + o.bytes, 0), objects: unlisted },
    open_uploads: openUploads,
  };
}

/** Runs the command; resolves to the exit code. Problems it cannot get past throw (the CLI prints them on stderr). */
export async function runVerify(
  options: VerifyOptions,
  stdout: Writable,
  env: NodeJS.ProcessEnv,
  deps: Partial<VerifyDependencies> = {},
  redactor: Redactor = globalRedactor,
): Promise<number> {
  const d = { ...defaultVerifyDependencies, ...deps };
  if (options.model !== undefined && !MODEL_PATTERN.test(options.model))
    throw new ConfigError(
      `--model ${JSON.stringify(options.model)} is not a model name: <name> or <namespace>/<name>, as in the keys (docs/layout.md).`,
    );
  if (options.since !== undefined && !DATE.test(options.since))
    throw new ConfigError(`--since ${JSON.stringify(options.since)} is not a date YYYY-MM-DD.`);
  const raw = readJsonFile(options.configPath, 'config');
  registerSecrets(raw, redactor);
  const config = buildConfig(raw);
  registerEnvironmentSecrets(env, redactor);
  const target = await d.connect(config, env, redactor);
  let report: VerifyReport;
  try {
    report = await verifyExport(config, target.reader, { model: options.model, since: options.since }, d);
  } finally {
    target.close();
  }
  const text = options.json ? JSON.stringify(report, null, 2) + '\n' : renderVerifyText(report);
  await new Promise<void>((resolve, reject) => stdout.write(redactor.redact(text), (err) => (err ? reject(err) : resolve())));
  return report.ok ? 0 : 1;
}
