// Retry and timeout settings of every AWS client the connector makes (S3 and STS), in one place
// so that docs/check.md can quote them.

import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { Logger } from '@smithy/types';
import { debug } from '../protocol/output.js';

/**
 * The SDK's adaptive mode: its standard strategy (exponential backoff with full jitter: a random
 * wait up to 50 ms × 2^retry, or 1 s × 2^retry after a throttling error, each wait capped at 20 s;
 * retries throttling, 5xx, timeouts and connection resets; a retry quota stops retry storms
 * against a failing service) plus a client-side token bucket that slows every request of the
 * client while the service throttles (S3 SlowDown), instead of each request failing on its own.
 * (Delays as of the pinned SDK, @smithy/core 3.41.)
 */
export const RETRY_MODE = 'adaptive';

/**
 * Attempts per S3 request during `write` (1 try + 9 retries): at worst about 25 s of waiting for
 * 5xx and about 110 s for throttling, before the error reaches the sync as transient_error.
 */
export const WRITE_MAX_ATTEMPTS = 10;

/** `check` answers the user interactively: fewer attempts, so an unreachable store fails fast. */
export const CHECK_MAX_ATTEMPTS = 3;

/**
 * The connection test (credentials, writes, clean-up) ends by then, whatever the store or STS
 * does (a request to a silent one waits 120 s per attempt): with the process's start-up, `check`
 * answers within the about 30 s that docs/check.md promises.
 */
export const CHECK_DEADLINE_MS = 25_000;

/** AssumeRole / AssumeRoleWithWebIdentity. */
export const CREDENTIALS_MAX_ATTEMPTS = 4;

export const HTTP_TIMEOUTS = {
  /** TCP (and TLS) connection set-up. */
  connectionTimeoutMs: 10_000,
  /** A socket with no byte sent or received for this long is closed and the request retried. */
  socketTimeoutMs: 120_000,
  /** A whole request (one part of at most a few tens of MB): generous, but a hung request ends. */
  requestTimeoutMs: 10 * 60_000,
} as const;

/** Sockets per client: enough for several files uploading `upload_concurrency` parts each. */
export const MAX_SOCKETS = 64;

/** The SDK's HTTP warnings (socket exhaustion, …) go to stderr, redacted; never to stdout. */
const stderrLogger: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: (...args: unknown[]) => debug(`aws-sdk: ${args.map(String).join(' ')}`),
  error: (...args: unknown[]) => debug(`aws-sdk: ${args.map(String).join(' ')}`),
};

export function awsHttpHandler(): NodeHttpHandler {
  return new NodeHttpHandler({
    connectionTimeout: HTTP_TIMEOUTS.connectionTimeoutMs,
    socketTimeout: HTTP_TIMEOUTS.socketTimeoutMs,
    requestTimeout: HTTP_TIMEOUTS.requestTimeoutMs,
    throwOnRequestTimeout: true,
    httpAgent: { keepAlive: true, maxSockets: MAX_SOCKETS },
    httpsAgent: { keepAlive: true, maxSockets: MAX_SOCKETS },
    logger: stderrLogger,
  });
}
