// Credentials per `Config['credentials']` (docs/check.md, "Credentials"): static access keys, STS AssumeRole with
// base credentials from the environment, AssumeRoleWithWebIdentity with a token file re-read at
// each refresh, or the SDK's default chain. Temporary credentials are renewed before they expire
// (refresh timing below is pure, with an injected clock) so that a sync of many hours never fails
// on expired credentials; every secret obtained is registered with the redactor.

import { readFile } from 'node:fs/promises';
import {
  AssumeRoleCommand,
  AssumeRoleWithWebIdentityCommand,
  STSClient,
  type AssumeRoleCommandInput,
  type AssumeRoleWithWebIdentityCommandInput,
  type Credentials as StsCredentials,
} from '@aws-sdk/client-sts';
import { defaultProvider } from '@aws-sdk/credential-provider-node';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types';
import type { Config, Credentials } from '../config/config.js';
import { ConfigError, SystemError } from '../errors.js';
import { globalRedactor, type Redactor } from '../redact.js';
import { awsHttpHandler, CREDENTIALS_MAX_ATTEMPTS, RETRY_MODE } from './http.js';
import { classifyDefaultChainError, classifyStsError, type StsErrorContext } from './sts-errors.js';

// ---------------------------------------------------------------------------------------------
// Refresh timing (pure)

export interface TemporaryCredentials extends AwsCredentialIdentity {
  expiration: Date;
}

export interface HeldCredentials {
  identity: TemporaryCredentials;
  /** When they were obtained (ms since epoch, by the injected clock). */
  obtainedAt: number;
}

export const REFRESH_POLICY = {
  /** Renew once this share of the lifetime is left (a 1 h session renews 15 min before expiry)… */
  remainingFraction: 0.25,
  /** …but never later than 1 min before expiry (requests signed near expiry may arrive after it)… */
  minMarginMs: 60_000,
  /** …and never earlier than 15 min before it (the credentials are good until then). */
  maxMarginMs: 15 * 60_000,
  /** Credentials this close to expiry are not handed out: a request could outlive them. */
  usableMarginMs: 30_000,
  /** After a failed renewal, keep the held credentials this long before trying again. */
  retryAfterFailureMs: 30_000,
} as const;

/** When held credentials should be renewed (ms since epoch). */
export function refreshAt(held: HeldCredentials, policy = REFRESH_POLICY): number {
  const expiresAt = held.identity.expiration.getTime();
  const lifetime = Math.max(0, expiresAt - held.obtainedAt);
  const margin = Math.min(policy.maxMarginMs, Math.max(policy.minMarginMs, lifetime * policy.remainingFraction));
  return expiresAt - margin;
}

/** Whether held credentials may still sign a request at `now`. */
export function stillUsable(now: number, held: HeldCredentials, policy = REFRESH_POLICY): boolean {
  return now < held.identity.expiration.getTime() - policy.usableMarginMs;
}

export type CredentialAction =
  | { kind: 'use' }
  /** Renew; when that fails and `fallBack` is true, the held credentials are still good to use. */
  | { kind: 'refresh'; fallBack: boolean };

/** What to do when a request asks for credentials at `now`. */
export function nextAction(
  now: number,
  held: HeldCredentials | undefined,
  lastFailureAt: number | undefined,
  policy = REFRESH_POLICY,
): CredentialAction {
  if (!held) return { kind: 'refresh', fallBack: false };
  if (now < refreshAt(held, policy)) return { kind: 'use' };
  const usable = stillUsable(now, held, policy);
  if (usable && lastFailureAt !== undefined && now - lastFailureAt < policy.retryAfterFailureMs) return { kind: 'use' };
  return { kind: 'refresh', fallBack: usable };
}

// ---------------------------------------------------------------------------------------------
// Providers

/**
 * The SDK wraps credential providers in its own cache, which asks again only 5 minutes before
 * expiry; `memoized` tells it that this provider caches itself, so that our refresh policy is
 * the one in force.
 */
type SelfCachingProvider = AwsCredentialIdentityProvider & { memoized?: boolean };

function selfCaching(provider: AwsCredentialIdentityProvider): SelfCachingProvider {
  return Object.assign(provider, { memoized: true });
}

export interface RefreshingOptions {
  now?: () => number;
  policy?: typeof REFRESH_POLICY;
  /** Told when a renewal failed while the held credentials were still good (the sync goes on). */
  onRefreshFailure?: (err: unknown) => void;
}

/** A provider that fetches temporary credentials and renews them before they expire. */
export function refreshingProvider(fetch: () => Promise<TemporaryCredentials>, options: RefreshingOptions = {}): SelfCachingProvider {
  const now = options.now ?? Date.now;
  const policy = options.policy ?? REFRESH_POLICY;
  let held: HeldCredentials | undefined;
  let lastFailureAt: number | undefined;
  let inFlight: Promise<TemporaryCredentials> | undefined;

  const renew = (): Promise<TemporaryCredentials> =>
    (inFlight ??= (async () => {
      try {
        const identity = await fetch();
        held = { identity, obtainedAt: now() };
        lastFailureAt = undefined;
        return identity;
      } catch (err) {
        lastFailureAt = now();
        throw err;
      } finally {
        inFlight = undefined;
      }
    })());

  return selfCaching(async () => {
    const action = nextAction(now(), held, lastFailureAt, policy);
    if (action.kind === 'use') return held!.identity;
    try {
      return await renew();
    } catch (err) {
      if (action.fallBack && held && stillUsable(now(), held, policy)) {
        options.onRefreshFailure?.(err);
        return held.identity;
      }
      throw err;
    }
  });
}

/** The STS calls the providers make; injected in tests. */
export interface StsApi {
  assumeRole(input: AssumeRoleCommandInput): Promise<{ Credentials?: StsCredentials | undefined }>;
  assumeRoleWithWebIdentity(input: AssumeRoleWithWebIdentityCommandInput): Promise<{ Credentials?: StsCredentials | undefined }>;
}

/** The STS endpoint of an S3-compatible store comes from the standard AWS_ENDPOINT_URL_STS. */
export function stsEndpointFrom(env: NodeJS.ProcessEnv): string | undefined {
  const endpoint = env.AWS_ENDPOINT_URL_STS?.trim() || undefined;
  // As for s3_endpoint: credentials in the URL would be printed with every connection error. An
  // endpoint has no use for '@' anywhere (a password may hold an unencoded '/').
  if (endpoint?.includes('@')) {
    throw new ConfigError("AWS_ENDPOINT_URL_STS must not hold user:password@: give STS credentials through the connector's credentials instead.");
  }
  return endpoint;
}

/**
 * The real STS client. AssumeRole signs with the base credentials: by default the SDK's default
 * chain, i.e. the identity of the connector's environment.
 */
export function stsApi(region: string, env: NodeJS.ProcessEnv, baseCredentials: AwsCredentialIdentityProvider = defaultProvider()): StsApi {
  const endpoint = stsEndpointFrom(env);
  const client = new STSClient({
    region,
    ...(endpoint ? { endpoint } : {}),
    retryMode: RETRY_MODE,
    maxAttempts: CREDENTIALS_MAX_ATTEMPTS,
    requestHandler: awsHttpHandler(),
    credentials: baseCredentials,
  });
  return {
    assumeRole: (input) => client.send(new AssumeRoleCommand(input)),
    // Unsigned: the token is the proof of identity.
    assumeRoleWithWebIdentity: (input) => client.send(new AssumeRoleWithWebIdentityCommand(input)),
  };
}

export interface CredentialOptions extends RefreshingOptions {
  env?: NodeJS.ProcessEnv;
  redactor?: Redactor;
  sts?: StsApi;
  readTextFile?: (path: string) => Promise<string>;
}

function temporaryFrom(c: StsCredentials | undefined, ctx: StsErrorContext, redactor: Redactor): TemporaryCredentials {
  if (!c?.AccessKeyId || !c.SecretAccessKey || !c.SessionToken || !c.Expiration) {
    throw new SystemError(`${ctx.operation} of ${ctx.roleArn} answered without complete credentials.`);
  }
  redactor.add(c.SecretAccessKey);
  redactor.add(c.SessionToken);
  return { accessKeyId: c.AccessKeyId, secretAccessKey: c.SecretAccessKey, sessionToken: c.SessionToken, expiration: c.Expiration };
}

async function readToken(path: string, read: (path: string) => Promise<string>): Promise<string> {
  let token: string;
  try {
    token = (await read(path)).trim();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? String(err);
    throw new ConfigError(
      `Cannot read the web identity token file ${path} (web_identity_token_file): ${code}. Check the path and that the connector may read it.`,
    );
  }
  if (!token) throw new ConfigError(`The web identity token file ${path} (web_identity_token_file) is empty.`);
  return token;
}

/** The credential provider for a config; call it to get (and check) credentials. */
export function credentialProviderFor(
  config: Pick<Config, 'credentials' | 'region'>,
  options: CredentialOptions = {},
): AwsCredentialIdentityProvider {
  const env = options.env ?? process.env;
  const redactor = options.redactor ?? globalRedactor;
  const c: Credentials = config.credentials;
  switch (c.authType) {
    case 'access_key': {
      const identity: AwsCredentialIdentity = {
        accessKeyId: c.accessKeyId,
        secretAccessKey: c.secretAccessKey,
        ...(c.sessionToken ? { sessionToken: c.sessionToken } : {}),
      };
      redactor.add(c.secretAccessKey);
      redactor.add(c.sessionToken);
      return selfCaching(async () => identity);
    }
    case 'default_chain': {
      const chain = defaultProvider();
      return selfCaching(async (props) => {
        let identity: AwsCredentialIdentity;
        try {
          identity = await chain(props);
        } catch (err) {
          throw classifyDefaultChainError(err);
        }
        redactor.add(identity.secretAccessKey);
        redactor.add(identity.sessionToken);
        return identity;
      });
    }
    case 'iam_role': {
      const sts = options.sts ?? stsApi(config.region, env);
      const ctx: StsErrorContext = {
        operation: 'AssumeRole',
        roleArn: c.roleArn,
        region: config.region,
        stsEndpoint: stsEndpointFrom(env),
        hasExternalId: c.externalId !== undefined,
      };
      return refreshingProvider(async () => {
        try {
          const out = await sts.assumeRole({
            RoleArn: c.roleArn,
            RoleSessionName: c.roleSessionName,
            ...(c.externalId ? { ExternalId: c.externalId } : {}),
          });
          return temporaryFrom(out.Credentials, ctx, redactor);
        } catch (err) {
          throw classifyStsError(err, ctx);
        }
      }, options);
    }
    case 'web_identity': {
      const sts = options.sts ?? stsApi(config.region, env);
      const read = options.readTextFile ?? ((path: string) => readFile(path, 'utf8'));
      const ctx: StsErrorContext = {
        operation: 'AssumeRoleWithWebIdentity',
        roleArn: c.roleArn,
        region: config.region,
        stsEndpoint: stsEndpointFrom(env),
        tokenFile: c.webIdentityTokenFile,
      };
      return refreshingProvider(async () => {
        // Re-read at every renewal: the token's writer (e.g. a GCP metadata sidecar) rotates it.
        const token = await readToken(c.webIdentityTokenFile, read);
        redactor.add(token);
        try {
          const out = await sts.assumeRoleWithWebIdentity({ RoleArn: c.roleArn, RoleSessionName: c.roleSessionName, WebIdentityToken: token });
          return temporaryFrom(out.Credentials, ctx, redactor);
        } catch (err) {
          throw classifyStsError(err, ctx);
        }
      }, options);
    }
  }
}

/** Base credentials in the environment are secrets too (they sign AssumeRole or the default chain). */
export function registerEnvironmentSecrets(env: NodeJS.ProcessEnv, redactor: Redactor = globalRedactor): void {
  redactor.add(env.AWS_SECRET_ACCESS_KEY);
  redactor.add(env.AWS_SESSION_TOKEN);
}
