// `check` (docs/check.md): validates the config, gets credentials, then writes the way `write` does,
// with the same headers: a multipart upload (create, one part, complete) of a test object under
// <folder>, a PutObject under the manifest prefix, and a DeleteObject of each. Every problem is a
// CONNECTION_STATUS FAILED that says what to fix (exit 0); nothing here throws to the CLI.

import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import type { AwsCredentialIdentityProvider } from '@smithy/types';
import type { Io } from '../cli.js';
import { buildConfig, readJsonFile, registerSecrets, type Config } from '../config/config.js';
import { asConnectorError, type ConnectorError } from '../errors.js';
import type { MessageWriter } from '../protocol/output.js';
import { globalRedactor, type Redactor } from '../redact.js';
import { credentialProviderFor, registerEnvironmentSecrets } from '../storage/credentials.js';
import { CHECK_DEADLINE_MS, CHECK_MAX_ATTEMPTS } from '../storage/http.js';
import type { ObjectStore } from '../storage/port.js';
import { capitalized, describeEncryption, describeEndpoint } from '../storage/s3-errors.js';
import { createS3Store } from '../storage/s3-store.js';
import { manifestsPrefix } from '../layout/index.js';
import { describePermission, permissionForStep, type Step } from '../storage/permissions.js';

export interface ConnectionStatus {
  status: 'SUCCEEDED' | 'FAILED';
  message: string;
}

/** What check talks to: the credential provider (called once, first) and the store. */
export interface CheckTarget {
  credentials: AwsCredentialIdentityProvider;
  store: ObjectStore;
  close(): void;
}

export interface CheckDependencies {
  redactor: Redactor;
  now: () => Date;
  randomId: () => string;
  connect(config: Config, env: NodeJS.ProcessEnv, redactor: Redactor): CheckTarget;
  /** The bound of the whole connection test (default CHECK_DEADLINE_MS). */
  deadlineMs?: number;
}

export const defaultCheckDependencies: CheckDependencies = {
  redactor: globalRedactor,
  now: () => new Date(),
  randomId: () => randomBytes(6).toString('hex'),
  connect(config, env, redactor) {
    const credentials = credentialProviderFor(config, { env, redactor });
    const store = createS3Store(config, { credentials, redactor, maxAttempts: CHECK_MAX_ATTEMPTS });
    return { credentials, store, close: () => store.close() };
  },
};

export async function runCheck(configPath: string, out: MessageWriter, io: Io, deps: Partial<CheckDependencies> = {}): Promise<void> {
  const status = await checkConfigFile(configPath, io.env, { ...defaultCheckDependencies, ...deps });
  await out.send({ type: 'CONNECTION_STATUS', connectionStatus: status });
}

function failed(message: string): ConnectionStatus {
  return { status: 'FAILED', message };
}

/** Reads and validates the config file, then checks the connection it describes. */
export async function checkConfigFile(configPath: string, env: NodeJS.ProcessEnv, deps: CheckDependencies): Promise<ConnectionStatus> {
  let config: Config;
  try {
    const raw = readJsonFile(configPath, 'config');
    // Before validation: a problem message may quote a value.
    registerSecrets(raw, deps.redactor);
    config = buildConfig(raw);
  } catch (err) {
    return failed(asConnectorError(err).message);
  }
  registerEnvironmentSecrets(env, deps.redactor);
  let target: CheckTarget;
  try {
    target = deps.connect(config, env, deps.redactor);
  } catch (err) {
    return failed(asConnectorError(err).message);
  }
  return boundedCheck(config, target, env, deps);
}

/**
 * checkConnection within deps.deadlineMs, clean-up included (docs/check.md: an answer in about
 * 30 s whatever the store or STS does). On the deadline the answer is given and the store closed,
 * which stops its requests in flight and the clean-up's.
 */
async function boundedCheck(config: Config, target: CheckTarget, env: NodeJS.ProcessEnv, deps: CheckDependencies): Promise<ConnectionStatus> {
  const deadlineMs = deps.deadlineMs ?? CHECK_DEADLINE_MS;
  let gotCredentials = false;
  const watched: CheckTarget = {
    ...target,
    credentials: async (props) => {
      const credentials = await target.credentials(props);
      gotCredentials = true;
      return credentials;
    },
  };
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<ConnectionStatus>((resolve) => {
    timer = setTimeout(() => resolve(timedOut(config, env, gotCredentials, deadlineMs)), deadlineMs);
  });
  try {
    return await Promise.race([checkConnection(config, watched, deps), deadline]);
  } finally {
    clearTimeout(timer);
    target.close();
  }
}

function timedOut(config: Config, env: NodeJS.ProcessEnv, gotCredentials: boolean, deadlineMs: number): ConnectionStatus {
  const within = `within ${Math.round(deadlineMs / 1000)} s, and the connection test was stopped`;
  if (!gotCredentials) {
    const authType = config.credentials.authType;
    const source =
      authType === 'iam_role' || authType === 'web_identity'
        ? env.AWS_ENDPOINT_URL_STS
          ? `The STS endpoint ${env.AWS_ENDPOINT_URL_STS} (AWS_ENDPOINT_URL_STS)`
          : `AWS STS in region ${config.region}`
        : "The default chain's credential sources (profile, container or instance credentials)";
    return failed(
      `Could not get credentials (${CREDENTIAL_SOURCES[authType]}): ${source} did not answer ${within}. Check the network path to it (firewall, proxy), then retry.`,
    );
  }
  return failed(
    `${capitalized(describeEndpoint(config.endpoint, config.region))} did not answer ${within}, its clean-up included. ` +
      `Check ${config.endpoint ? 's3_endpoint' : 's3_bucket_region'} and the network path to it (firewall, proxy), then retry. ` +
      'If the store acted on a request it never answered, a _connection_check_ test object or multipart upload may be left behind (delete by hand, or let a lifecycle rule do it).',
  );
}

const CREDENTIAL_SOURCES: Record<Config['credentials']['authType'], string> = {
  access_key: 'access keys',
  iam_role: 'STS AssumeRole',
  web_identity: 'STS AssumeRoleWithWebIdentity',
  default_chain: 'the default credential chain',
};

function join(...parts: string[]): string {
  return parts.filter(Boolean).join('/');
}

/** The manifest prefix of `manifest_location` (docs/layout.md), with its trailing slash. */
export function manifestPrefix(config: Pick<Config, 'folder' | 'manifestLocation'>): string {
  return manifestsPrefix(config.manifestLocation, config.folder);
}

/**
 * The test objects' keys. The leading underscore keeps them out of readers that scan <folder>
 * (Hive, Spark and Athena skip names starting with '_'), and out of any <model> directory.
 */
export function testKeys(config: Pick<Config, 'folder' | 'manifestLocation'>, now: Date, id: string): { data: string; manifest: string } {
  const stamp = now.toISOString().replace(/[-:.]/g, '');
  const name = `_connection_check_${stamp}_${id}`;
  return { data: join(config.folder, `${name}.txt`), manifest: `${manifestPrefix(config)}${name}.json` };
}

/**
 * For a denied step, what the permission table (storage/permissions.ts) says it needs: the same
 * actions, resources and statement names that `policy` prints and docs/setup.md quotes.
 */
function permissionHint(err: ConnectorError, step: Step, config: Config): string {
  if (!/ was denied/.test(err.message)) return '';
  const needs = [permissionForStep(step)];
  if (config.encryption.mode === 'sse_kms' && step !== 'check-delete-test-objects') needs.push(permissionForStep('encrypt-with-kms'));
  return ` This step of the connection test needs ${needs.map((p) => describePermission(p, config)).join(', and ')}; destination-s3-export policy --config <config.json> prints the whole policy.`;
}

/** Gets credentials, writes both test objects as `write` would, then deletes what it wrote. */
export async function checkConnection(
  config: Config,
  target: CheckTarget,
  deps: Pick<CheckDependencies, 'now' | 'randomId'>,
): Promise<ConnectionStatus> {
  try {
    await target.credentials();
  } catch (err) {
    return failed(`Could not get credentials (${CREDENTIAL_SOURCES[config.credentials.authType]}): ${asConnectorError(err).message}`);
  }
  const now = deps.now();
  const keys = testKeys(config, now, deps.randomId());
  const url = (key: string): string => `s3://${config.bucket}/${key}`;
  const body = `destination-s3-export connection check, ${now.toISOString()}. Safe to delete.\n`;

  const written: string[] = [];
  let failure: ConnectorError | undefined;
  let step: Step = 'check-upload-test-file';
  try {
    await target.store.upload(keys.data, Readable.from([Buffer.from(body)]), { contentType: 'text/plain', forceMultipart: true });
    written.push(keys.data);
    step = 'check-put-test-manifest';
    await target.store.put(keys.manifest, JSON.stringify({ connection_check: now.toISOString() }), { contentType: 'application/json' });
    written.push(keys.manifest);
  } catch (err) {
    failure = asConnectorError(err);
  }

  // Best effort: delete whatever was written, whether or not a later step failed.
  const leftBehind: string[] = [];
  let deleteFailure: ConnectorError | undefined;
  for (const key of written) {
    try {
      await target.store.delete(key);
    } catch (err) {
      leftBehind.push(url(key));
      deleteFailure ??= asConnectorError(err);
    }
  }
  const leftNote = leftBehind.length ? ` Test object${leftBehind.length > 1 ? 's' : ''} left behind (delete by hand): ${leftBehind.join(', ')}.` : '';

  if (failure) {
    const cleanup = deleteFailure ? ` Deleting the test object written before it failed too: ${deleteFailure.message}` : '';
    return failed(`${failure.message}${permissionHint(failure, step, config)}${cleanup}${leftNote}`);
  }
  if (deleteFailure) return failed(`${deleteFailure.message}${permissionHint(deleteFailure, 'check-delete-test-objects', config)}${leftNote}`);
  return {
    status: 'SUCCEEDED',
    message:
      `Credentials from ${CREDENTIAL_SOURCES[config.credentials.authType]} work: wrote ${url(keys.data)} with a multipart upload and ${url(keys.manifest)} ` +
      `with PutObject (encryption: ${describeEncryption(config.encryption)}), then deleted both.`,
  };
}
