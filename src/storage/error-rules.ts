// Error classification as ordered rule tables (s3-errors.ts, sts-errors.ts): the first rule that
// matches an error's facts makes it a ConfigError, TransientError or SystemError with the rule's
// message. The rules every AWS call shares (the network below it, throttling, server faults) are
// written here once. docs/check.md quotes every message; test/unit/check-docs.test.ts feeds every
// rule's codes to the tables and checks that the doc quotes what they say.

import { ConfigError, TransientError, type ConnectorError, type ErrorDetails } from '../errors.js';
import { isServerFault, isThrottling, isTimeout, SERVER_FAULT_CODES, THROTTLING_CODES, TLS_CODES, type ErrorFacts } from './error-facts.js';

/** What a rule reads: the error, its facts, and the wording of the call it came from. */
export interface Situation {
  err: unknown;
  f: ErrorFacts;
  /** technicalDetail(f): " (AccessDenied, HTTP 403)", or ''. */
  detail: string;
  /** Where requests went, in the user's terms ("the S3 endpoint …", "AWS STS in region …"). */
  where: string;
  /** The setting to check when the place cannot be reached ("s3_endpoint", "AWS_ENDPOINT_URL_STS"). */
  setting: string;
  /** The TRACE's internal message (redacted when printed), when the table gives one. */
  internal: string | undefined;
}

export type ErrorClass = new (message: string, details?: ErrorDetails) => ConnectorError;

/** One entry of a classification table. */
export interface ErrorRule<S extends Situation> {
  /** What the rule recognises, in a few words (tests name rules by it). */
  readonly name: string;
  /** The error codes the rule recognises, when it reads codes: what the docs test feeds it. */
  readonly codes?: readonly string[];
  readonly matches: (s: S) => boolean;
  readonly class: ErrorClass;
  readonly message: (s: S) => string;
  /** The internal message, when not the situation's (the network rules give none). */
  readonly internal?: (s: S) => string | undefined;
}

/** The error of the first rule that matches; a table ends with a rule that always matches. */
export function applyRules<S extends Situation>(rules: readonly ErrorRule<S>[], s: S): ConnectorError {
  const rule = rules.find((r) => r.matches(s));
  if (!rule) throw new Error(`No classification rule matched ${s.f.name ?? 'an error'}: the table must end with a rule that always matches.`);
  const internal = rule.internal ? rule.internal(s) : s.internal;
  return new rule.class(rule.message(s), internal === undefined ? { cause: s.err } : { cause: s.err, internal });
}

/** Every code the rules of a table name. */
export function codesOf<S extends Situation>(rules: readonly ErrorRule<S>[]): string[] {
  return [...new Set(rules.flatMap((r) => r.codes ?? []))];
}

/** A rule matching any of `codes`. */
export function codeIs(...codes: string[]): { codes: string[]; matches: (s: Situation) => boolean } {
  const set = new Set(codes);
  return { codes, matches: (s) => s.f.code !== undefined && set.has(s.f.code) };
}

/** A message that starts with a place ("the S3 endpoint …") starts with a capital. */
export function capitalized(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

const noInternal = (): undefined => undefined;

/** The failures of the network below any AWS call (S3, STS, the default chain's sources). */
export const NETWORK_RULES: readonly ErrorRule<Situation>[] = [
  {
    name: 'host name not found',
    matches: (s) => s.f.networkCode === 'ENOTFOUND',
    class: ConfigError,
    message: (s) => `Could not resolve the host of ${s.where}${s.detail}. Check ${s.setting}.`,
    internal: noInternal,
  },
  {
    name: 'TLS failure',
    matches: (s) => s.f.networkCode !== undefined && TLS_CODES.has(s.f.networkCode),
    class: ConfigError,
    message: (s) =>
      `The TLS connection to ${s.where} failed${s.detail}: its certificate is not trusted or the URL's scheme or port is wrong. ` +
      `Check ${s.setting}; for a private CA, give its certificate to Node with NODE_EXTRA_CA_CERTS.`,
    internal: noInternal,
  },
  {
    name: 'connection refused',
    matches: (s) => s.f.networkCode === 'ECONNREFUSED',
    class: TransientError,
    message: (s) =>
      `Could not connect to ${s.where}: connection refused${s.detail}. Check ${s.setting} (scheme, host and port) and that the service is running.`,
    internal: noInternal,
  },
  {
    name: 'network timeout',
    matches: (s) => s.f.networkCode !== undefined && isTimeout(s.f),
    class: TransientError,
    message: (s) =>
      `${capitalized(s.where)} did not answer in time${s.detail}. Check the network path to it (firewall, proxy) and ${s.setting}, then retry.`,
    internal: noInternal,
  },
  {
    name: 'connection failed',
    matches: (s) => s.f.networkCode !== undefined,
    class: TransientError,
    message: (s) => `The connection to ${s.where} failed${s.detail}. Check the network path to it and ${s.setting}, then retry.`,
    internal: noInternal,
  },
];

/** Throttling after the SDK's retries (429, SlowDown, …): transient, in the call's own words (written once, worded per table). */
export function throttlingRule<S extends Situation>(message: (s: S) => string): ErrorRule<S> {
  return { name: 'throttling', codes: [...THROTTLING_CODES], matches: (s) => isThrottling(s.f), class: TransientError, message };
}

/** A 5xx (or InternalError) after the SDK's retries: transient, in the call's own words. */
export function serverFaultRule<S extends Situation>(message: (s: S) => string): ErrorRule<S> {
  return { name: 'server fault', codes: [...SERVER_FAULT_CODES], matches: (s) => isServerFault(s.f), class: TransientError, message };
}
