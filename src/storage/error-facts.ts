// What an error from the AWS SDK (or from the network below it) says, read the same way for S3
// and STS. radosgw sends empty <Message>s (the SDK then says "UnknownError") and its STS gateway
// names every error "Unknown", so the HTTP status often carries the meaning: every classifier
// works from these facts, never from the SDK's message alone.

export interface ErrorFacts {
  /** The service's error code (AccessDenied, NoSuchBucket, …), when it sent one. */
  code: string | undefined;
  status: number | undefined;
  /** The service's own message, when it is more than a placeholder. */
  serverMessage: string | undefined;
  /** A Node.js network error code (ECONNREFUSED, ENOTFOUND, …) or the SDK's TimeoutError. */
  networkCode: string | undefined;
  /** The region the service says the bucket is in (PermanentRedirect, AuthorizationHeaderMalformed). */
  region: string | undefined;
  /** The S3/STS operation that failed, when the client tagged the error with it. */
  operation: string | undefined;
  attempts: number | undefined;
  /** The error's class name (CredentialsProviderError, AbortError, …). */
  name: string | undefined;
}

/** The property under which the S3 client records the failing command on an error. */
export const OPERATION_TAG = '$destinationS3Operation';

const PLACEHOLDER_MESSAGES = new Set(['', 'UnknownError', 'Unknown', 'null', 'undefined']);
const PLACEHOLDER_CODES = new Set(['Unknown', 'UnknownError', 'Error']);

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EADDRNOTAVAIL',
  'ERR_SOCKET_CONNECTION_TIMEOUT',
  'UND_ERR_CONNECT_TIMEOUT',
]);
export const TLS_CODES = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'EPROTO',
  'ERR_SSL_WRONG_VERSION_NUMBER',
]);

type Bag = Record<string, unknown>;
const isBag = (v: unknown): v is Bag => v !== null && typeof v === 'object';
const str = (v: unknown): string | undefined => (typeof v === 'string' && v.length > 0 ? v : undefined);

function networkCodeOf(err: Bag): string | undefined {
  for (let e: unknown = err, depth = 0; isBag(e) && depth < 4; e = e.cause, depth++) {
    const code = str(e.code);
    if (code && (NETWORK_CODES.has(code) || TLS_CODES.has(code))) return code;
    if (e.name === 'TimeoutError') return 'TimeoutError';
  }
  return undefined;
}

export function errorFacts(err: unknown): ErrorFacts {
  if (!isBag(err)) {
    return {
      code: undefined,
      status: undefined,
      serverMessage: str(String(err)),
      networkCode: undefined,
      region: undefined,
      operation: undefined,
      attempts: undefined,
      name: undefined,
    };
  }
  const metadata = isBag(err.$metadata) ? err.$metadata : {};
  const name = str(err.name);
  const rawCode = str(err.Code) ?? (isBag(err.Error) ? str(err.Error.Code) : undefined) ?? name;
  const code = rawCode && !PLACEHOLDER_CODES.has(rawCode) ? rawCode : undefined;
  const message = str(err.message);
  const serverMessage = message && !PLACEHOLDER_MESSAGES.has(message) && message !== code ? message : undefined;
  const headers = isBag(err.$response) && isBag(err.$response.headers) ? err.$response.headers : {};
  return {
    code,
    status: typeof metadata.httpStatusCode === 'number' ? metadata.httpStatusCode : undefined,
    serverMessage,
    networkCode: networkCodeOf(err),
    region: str(err.Region) ?? str(headers['x-amz-bucket-region']),
    operation: str(err[OPERATION_TAG]),
    attempts: typeof metadata.attempts === 'number' ? metadata.attempts : undefined,
    name,
  };
}

/** "(AccessDenied, HTTP 403, after 3 attempts: the store's message)": the technical tail of a message. */
export function technicalDetail(f: ErrorFacts): string {
  const parts = [
    f.code ?? f.networkCode,
    f.status ? `HTTP ${f.status}` : undefined,
    f.attempts && f.attempts > 1 ? `after ${f.attempts} attempts` : undefined,
  ].filter(Boolean);
  const head = parts.join(', ');
  if (f.serverMessage) return head ? ` (${head}: ${f.serverMessage})` : ` (${f.serverMessage})`;
  return head ? ` (${head})` : '';
}

export const THROTTLING_CODES: ReadonlySet<string> = new Set([
  'SlowDown',
  'Throttling',
  'ThrottlingException',
  'ThrottledException',
  'RequestThrottled',
  'RequestThrottledException',
  'RequestLimitExceeded',
  'TooManyRequestsException',
  'ProvisionedThroughputExceededException',
  'BandwidthLimitExceeded',
  'PriorRequestNotComplete',
  'EC2ThrottledException',
  'KMS.ThrottlingException',
]);

export function isThrottling(f: ErrorFacts): boolean {
  return (f.code !== undefined && THROTTLING_CODES.has(f.code)) || f.status === 429;
}

/** The codes of a server fault whatever the status (any 5xx but NotImplemented is one too). */
export const SERVER_FAULT_CODES: ReadonlySet<string> = new Set(['InternalError', 'ServiceUnavailable']);

export function isServerFault(f: ErrorFacts): boolean {
  return (f.status !== undefined && f.status >= 500 && f.code !== 'NotImplemented') || (f.code !== undefined && SERVER_FAULT_CODES.has(f.code));
}

/** The codes of a request that timed out at the service (the network's timeouts have no code). */
export const TIMEOUT_CODES: ReadonlySet<string> = new Set(['RequestTimeout', 'RequestTimeoutException']);

/** A request that timed out (socket, connect or S3's own RequestTimeout). */
export function isTimeout(f: ErrorFacts): boolean {
  return (
    f.networkCode === 'TimeoutError' ||
    f.networkCode === 'ETIMEDOUT' ||
    f.networkCode === 'ERR_SOCKET_CONNECTION_TIMEOUT' ||
    f.networkCode === 'UND_ERR_CONNECT_TIMEOUT' ||
    (f.code !== undefined && TIMEOUT_CODES.has(f.code))
  );
}

/** The host and port of an endpoint URL, for messages. */
export function hostOf(endpoint: string): string {
  try {
    return new URL(endpoint).host;
  } catch {
    return endpoint;
  }
}
