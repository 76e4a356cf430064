import { describe, expect, it } from 'vitest';
import { STSServiceException, type Credentials as StsCredentials } from '@aws-sdk/client-sts';
import { ConfigError } from '../../../src/errors.js';
import { Redactor } from '../../../src/redact.js';
import {
  credentialProviderFor,
  stsEndpointFrom,
  nextAction,
  refreshAt,
  refreshingProvider,
  REFRESH_POLICY,
  stillUsable,
  type HeldCredentials,
  type StsApi,
  type TemporaryCredentials,
} from '../../../src/storage/credentials.js';

const MIN = 60_000;
const T0 = Date.parse('2026-01-01T00:00:00Z');

function held(obtainedAt: number, lifetimeMs: number): HeldCredentials {
  return { obtainedAt, identity: { accessKeyId: 'ASIA', secretAccessKey: 's', sessionToken: 't', expiration: new Date(obtainedAt + lifetimeMs) } };
}

describe('refresh timing', () => {
  it('renews a one-hour session 15 minutes before it expires', () => {
    expect(refreshAt(held(T0, 60 * MIN))).toBe(T0 + 45 * MIN);
  });

  it('renews a 15-minute session when a quarter of it is left', () => {
    expect(refreshAt(held(T0, 15 * MIN))).toBe(T0 + 15 * MIN - 3.75 * MIN);
  });

  it('renews a twelve-hour session no earlier than 15 minutes before expiry, and a very short one at least a minute before', () => {
    expect(refreshAt(held(T0, 12 * 60 * MIN))).toBe(T0 + 12 * 60 * MIN - 15 * MIN);
    expect(refreshAt(held(T0, 2 * MIN))).toBe(T0 + MIN);
  });

  it('uses held credentials before the renewal time and renews after it', () => {
    const h = held(T0, 60 * MIN);
    expect(nextAction(T0 + 44 * MIN, h, undefined)).toEqual({ kind: 'use' });
    expect(nextAction(T0 + 45 * MIN, h, undefined)).toEqual({ kind: 'refresh', fallBack: true });
  });

  it('fetches when nothing is held, without a fallback', () => {
    expect(nextAction(T0, undefined, undefined)).toEqual({ kind: 'refresh', fallBack: false });
  });

  it('waits after a failed renewal while the held credentials are still good, then tries again', () => {
    const h = held(T0, 60 * MIN);
    const failedAt = T0 + 46 * MIN;
    expect(nextAction(failedAt + REFRESH_POLICY.retryAfterFailureMs - 1, h, failedAt)).toEqual({ kind: 'use' });
    expect(nextAction(failedAt + REFRESH_POLICY.retryAfterFailureMs, h, failedAt)).toEqual({ kind: 'refresh', fallBack: true });
  });

  it('never hands out credentials within 30 s of their expiry', () => {
    const h = held(T0, 60 * MIN);
    expect(stillUsable(T0 + 60 * MIN - 31_000, h)).toBe(true);
    expect(stillUsable(T0 + 60 * MIN - 30_000, h)).toBe(false);
    expect(nextAction(T0 + 60 * MIN - 10_000, h, T0 + 60 * MIN - 20_000)).toEqual({ kind: 'refresh', fallBack: false });
  });
});

/** A clock the test moves by hand. */
function clock(start = T0): { now: () => number; advance: (ms: number) => void } {
  let t = start;
  return { now: () => t, advance: (ms) => (t += ms) };
}

function temporary(n: number, expiresAt: number): TemporaryCredentials {
  return { accessKeyId: `ASIA${n}`, secretAccessKey: `secret-${n}`, sessionToken: `token-${n}`, expiration: new Date(expiresAt) };
}

describe('refreshingProvider', () => {
  it('keeps a sync of many hours supplied with unexpired credentials', async () => {
    const c = clock();
    let fetches = 0;
    const provider = refreshingProvider(async () => temporary(++fetches, c.now() + 60 * MIN), { now: c.now });
    // A request every 5 minutes for 10 hours.
    for (let i = 0; i < 120; i++) {
      const id = await provider();
      expect(id.expiration!.getTime() - c.now()).toBeGreaterThan(REFRESH_POLICY.usableMarginMs);
      c.advance(5 * MIN);
    }
    // One session per 45 minutes of a 1 h lifetime: 10 h / 45 min → 14 sessions.
    expect(fetches).toBe(14);
  });

  it('asks STS once for concurrent requests', async () => {
    const c = clock();
    let fetches = 0;
    const provider = refreshingProvider(
      async () => {
        fetches++;
        await new Promise((r) => setTimeout(r, 5));
        return temporary(fetches, c.now() + 60 * MIN);
      },
      { now: c.now },
    );
    const ids = await Promise.all([provider(), provider(), provider()]);
    expect(fetches).toBe(1);
    expect(new Set(ids.map((i) => i.accessKeyId))).toEqual(new Set(['ASIA1']));
  });

  it('goes on with the held credentials when a renewal fails before they expire, and fails once they would', async () => {
    const c = clock();
    let fail = false;
    const failures: unknown[] = [];
    const provider = refreshingProvider(
      async () => {
        if (fail) throw new ConfigError('STS is down');
        return temporary(1, c.now() + 60 * MIN);
      },
      { now: c.now, onRefreshFailure: (e) => failures.push(e) },
    );
    await provider();
    fail = true;
    c.advance(50 * MIN);
    expect((await provider()).accessKeyId).toBe('ASIA1');
    expect(failures).toHaveLength(1);
    c.advance(10 * MIN - 20_000);
    await expect(provider()).rejects.toThrow('STS is down');
  });
});

function stsCredentials(n: number, expiration: Date): StsCredentials {
  return { AccessKeyId: `ASIA${n}`, SecretAccessKey: `temporary-secret-${n}`, SessionToken: `temporary-session-token-${n}`, Expiration: expiration };
}

describe('credentialProviderFor', () => {
  const region = 'us-east-1';

  it('assumes the role with the configured session name and external id, and registers the secrets it gets', async () => {
    const calls: unknown[] = [];
    const sts: StsApi = {
      assumeRole: async (input) => {
        calls.push(input);
        return { Credentials: stsCredentials(1, new Date(Date.now() + 3600_000)) };
      },
      assumeRoleWithWebIdentity: async () => ({}),
    };
    const redactor = new Redactor();
    const provider = credentialProviderFor(
      { region, credentials: { authType: 'iam_role', roleArn: 'arn:aws:iam::123456789012:role/t', externalId: 'ext-123', roleSessionName: 'dse' } },
      { sts, redactor, env: {} },
    );
    const id = await provider();
    expect(id.sessionToken).toBe('temporary-session-token-1');
    expect(calls).toEqual([{ RoleArn: 'arn:aws:iam::123456789012:role/t', RoleSessionName: 'dse', ExternalId: 'ext-123' }]);
    expect(redactor.redact('a temporary-secret-1 b temporary-session-token-1')).not.toMatch(/temporary-/);
  });

  it('re-reads the web identity token file at each renewal and registers the token as a secret', async () => {
    const c = clock();
    const tokens: string[] = [];
    let fileContent = 'jwt-token-one\n';
    const sts: StsApi = {
      assumeRole: async () => ({}),
      assumeRoleWithWebIdentity: async (input) => {
        tokens.push(input.WebIdentityToken!);
        return { Credentials: stsCredentials(tokens.length, new Date(c.now() + 60 * MIN)) };
      },
    };
    const redactor = new Redactor();
    const provider = credentialProviderFor(
      {
        region,
        credentials: {
          authType: 'web_identity',
          roleArn: 'arn:aws:iam::123456789012:role/fed',
          webIdentityTokenFile: '/tokens/aws',
          roleSessionName: 'dse',
        },
      },
      { sts, redactor, env: {}, now: c.now, readTextFile: async () => fileContent },
    );
    await provider();
    fileContent = 'jwt-token-two\n';
    c.advance(30 * MIN);
    await provider();
    expect(tokens).toEqual(['jwt-token-one']);
    c.advance(16 * MIN);
    await provider();
    expect(tokens).toEqual(['jwt-token-one', 'jwt-token-two']);
    expect(redactor.redact('jwt-token-two')).not.toContain('jwt-token-two');
  });

  it('reports an unreadable token file as a config error naming the file', async () => {
    const sts: StsApi = { assumeRole: async () => ({}), assumeRoleWithWebIdentity: async () => ({}) };
    const provider = credentialProviderFor(
      {
        region,
        credentials: { authType: 'web_identity', roleArn: 'arn:aws:iam::1:role/f', webIdentityTokenFile: '/nope/token', roleSessionName: 'dse' },
      },
      { sts, env: {}, redactor: new Redactor(), readTextFile: async () => Promise.reject(Object.assign(new Error('no'), { code: 'ENOENT' })) },
    );
    await expect(provider()).rejects.toThrow(/Cannot read the web identity token file \/nope\/token .*ENOENT/);
  });

  it('turns an STS refusal into a config error about the role', async () => {
    const sts: StsApi = {
      assumeRole: async () => {
        throw new STSServiceException({ name: 'Unknown', $fault: 'client', $metadata: { httpStatusCode: 404 }, message: 'UnknownError' });
      },
      assumeRoleWithWebIdentity: async () => ({}),
    };
    const provider = credentialProviderFor(
      { region, credentials: { authType: 'iam_role', roleArn: 'arn:aws:iam:::role/Nope', roleSessionName: 'dse' } },
      { sts, env: {}, redactor: new Redactor() },
    );
    const err = await provider().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toContain('the role arn:aws:iam:::role/Nope does not exist');
  });

  it('hands out configured access keys as they are, registered as secrets', async () => {
    const redactor = new Redactor();
    const provider = credentialProviderFor(
      {
        region,
        credentials: { authType: 'access_key', accessKeyId: 'AKIAEXAMPLE', secretAccessKey: 'configured-secret', sessionToken: 'configured-token' },
      },
      { redactor, env: {} },
    );
    expect(await provider()).toEqual({ accessKeyId: 'AKIAEXAMPLE', secretAccessKey: 'configured-secret', sessionToken: 'configured-token' });
    expect(redactor.redact('configured-secret configured-token')).not.toMatch(/configured-/);
  });
});

describe('stsEndpointFrom', () => {
  it('refuses an AWS_ENDPOINT_URL_STS with user:password@ without quoting it', () => {
    expect(stsEndpointFrom({ AWS_ENDPOINT_URL_STS: ' http://127.0.0.1:7480 ' })).toBe('http://127.0.0.1:7480');
    expect(stsEndpointFrom({})).toBeUndefined();
    for (const url of ['http://user:pa/ss@127.0.0.1:7480', 'https://u:p@sts.example.com']) {
      let thrown: unknown;
      try {
        stsEndpointFrom({ AWS_ENDPOINT_URL_STS: url });
      } catch (err) {
        thrown = err;
      }
      expect(thrown).toBeInstanceOf(ConfigError);
      expect((thrown as Error).message).not.toContain('pa/ss');
      expect((thrown as Error).message).not.toContain('u:p');
    }
  });
});
