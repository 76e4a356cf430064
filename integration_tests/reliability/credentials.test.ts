// Credentials that expire in the middle of a sync are renewed without failing it
// (iam_role; docs/check.md "Renewal"). `write` runs in this process (writeCommand with the real
// S3 store, DuckDB and radosgw's STS) so that the credentials' clock can be a test clock: the
// fault proxy in front of S3 and STS moves it forward 30 s with every S3 request, gives every
// AssumeRole session 15 minutes by that clock (STS's shortest), and answers any S3 request signed
// with an expired session 400 ExpiredToken, as AWS does. A sync that spans many sessions then
// succeeds only if the connector renews in time, with no request signed by an expired session.

import { afterEach, describe, expect, it } from 'vitest';
import { asConnectorError } from '../../src/errors.js';
import { type REFRESH_POLICY, stsApi } from '../../src/storage/credentials.js';
import { createS3Store } from '../../src/storage/s3-store.js';
import { tempJson } from '../support/cli.js';
import { FaultProxy } from '../support/fault-proxy.js';
import {
  cleanedBuckets,
  echoedTokens,
  expectEchoedCovered,
  expectNoDuplicateIds,
  manifestKeys,
  readListedFiles,
  readManifests,
} from '../support/invariants.js';
import { s3Server } from '../support/server.js';
import { makeWorkload, workloadCatalog } from '../support/workload.js';
import { writeInProcess, type InProcessResult } from './write-in-process.js';

const server = s3Server();
/** Buckets of this file, emptied after its tests (big test data). */
const freshBucket = cleanedBuckets();
const SESSION_MS = 15 * 60_000;
const STEP_MS = 30_000;

let proxy: FaultProxy | undefined;
afterEach(async () => {
  await proxy?.stop();
  proxy = undefined;
});

/** Runs `write` in this process with the credentials' clock and policy given. */
function writeWithClock(args: {
  config: string;
  catalog: string;
  input: string;
  now: () => number;
  policy?: typeof REFRESH_POLICY;
}): Promise<InProcessResult> {
  const stsEnv = { AWS_ENDPOINT_URL_STS: proxy!.endpoint };
  return writeInProcess({
    config: args.config,
    catalog: args.catalog,
    input: args.input,
    // the credentials get the test clock (and policy); the write's own clock stays the real one
    openStore: async (config, out) =>
      createS3Store(config, {
        env: stsEnv,
        now: args.now,
        ...(args.policy ? { policy: args.policy } : {}),
        onRefreshFailure: (err: unknown) =>
          void out.log('WARN', `Credential renewal failed; retrying with the current credentials: ${asConnectorError(err).message}`),
        // base credentials of "the environment", as the SDK's default chain would find them
        sts: stsApi(config.region, stsEnv, async () => ({ accessKeyId: server.accessKey, secretAccessKey: server.secretKey })),
      }),
  });
}

describe('credentials that expire in the middle of a sync', () => {
  // ~80 S3 requests: 40 test-clock minutes, close to three sessions of 15 minutes
  const streams = Array.from({ length: 10 }, (_, i) => `r${i}`);
  const perStream = 2200;
  const work = makeWorkload({ streams, recordsPerStream: perStream, payloadChars: 1000, stateEvery: 150, globalEvery: 2500, seed: 17 });

  async function setUp(): Promise<{ bucket: string; config: string; catalog: string; clock: { t: number } }> {
    const clock = { t: Date.now() };
    proxy = await new FaultProxy(server.stsEndpoint, 8).start();
    proxy.sessions = { lifetimeMs: SESSION_MS, now: () => clock.t };
    proxy.onRequest = (op) => {
      if (op !== 'AssumeRole') clock.t += STEP_MS;
    };
    const bucket = await freshBucket('rel-creds');
    const config = tempJson('config.json', {
      s3_bucket_name: bucket,
      s3_bucket_region: 'us-east-1',
      s3_endpoint: proxy.endpoint,
      file_size_mb: 1,
      // the smallest budget uploads one file at a time: requests in flight at once are few, so
      // the clock's steps cannot carry a request signed in time past its session's end
      memory_budget_mb: 64,
      credentials: { auth_type: 'iam_role', role_arn: server.roleArn },
    });
    return { bucket, config, catalog: tempJson('catalog.json', workloadCatalog(streams)), clock };
  }

  it('are renewed before they expire (also when a renewal fails once): the sync completes', async () => {
    const { bucket, config, catalog, clock } = await setUp();
    // the first renewal's first attempt fails (the STS client retries it); the second renewal
    // fails all its 4 attempts: the sync goes on with the held session and renews 30 s later
    proxy!.rules = [
      { operation: 'AssumeRole', fault: 'status500', nth: 2 },
      { operation: 'AssumeRole', fault: 'slowdown503', nth: [4, 5, 6, 7] },
    ];
    const started = clock.t;
    const res = await writeWithClock({ config, catalog, input: work.text(), now: () => clock.t });
    expect(res.code, res.stdout.slice(-2000)).toBe(0);

    const fakeMinutes = (clock.t - started) / 60_000;
    const sessions = proxy!.issued.size;
    const signers = [...proxy!.requestsByKey.keys()].filter((k) => proxy!.issued.has(k));
    // the sync spanned several session lifetimes, each S3 request signed by a live session
    expect(fakeMinutes).toBeGreaterThan((2 * SESSION_MS) / 60_000);
    expect(sessions).toBeGreaterThanOrEqual(3);
    expect(signers.length).toBe(sessions);
    expect(proxy!.expiredRequests).toBe(0);
    // the failed renewal was reported and survived
    expect(proxy!.stats.faults['AssumeRole:slowdown503']).toBe(4);
    expect(res.messages.some((m) => m.type === 'LOG' && m.log.level === 'WARN' && /Credential renewal failed/.test(m.log.message))).toBe(true);

    const tokens = echoedTokens(res.messages);
    expect(tokens).toEqual(work.states.map((s) => s.token));
    const manifests = await readManifests(bucket, await manifestKeys(bucket));
    const ids = await readListedFiles(bucket, manifests);
    expectNoDuplicateIds(ids);
    for (const s of streams) expect(ids.get(s)!.length).toBe(perStream);
    expectEchoedCovered(work, tokens, ids);
    const sts = proxy!.stats.requests.AssumeRole ?? 0;
    console.info(
      `[reliability] credentials: ${proxy!.requestCount - sts} S3 requests and ${sts} AssumeRole calls over ${fakeMinutes.toFixed(0)} test-clock minutes, ${sessions} STS sessions of 15 min, 0 requests with an expired session; faults ${JSON.stringify(proxy!.stats.faults)}`,
    );
  });

  it('the proxy does catch a session used past its expiry (control: without renewal margins the sync fails)', async () => {
    const { config, catalog, clock } = await setUp();
    // renew only once expired: requests signed just before expiry arrive after it
    const lastMinute = { remainingFraction: 0, minMarginMs: 0, maxMarginMs: 0, usableMarginMs: 0, retryAfterFailureMs: 30_000 } as const;
    const res = await writeWithClock({
      config,
      catalog,
      input: work.text(),
      now: () => clock.t,
      policy: lastMinute as unknown as typeof REFRESH_POLICY,
    });
    expect(res.code).toBe(1);
    expect(proxy!.expiredRequests).toBeGreaterThan(0);
    const trace = res.messages.find((m) => m.type === 'TRACE')!;
    expect(trace.trace.error.failure_type).toBe('config_error');
    expect(trace.trace.error.message).toMatch(/expired/i);
  });
});
