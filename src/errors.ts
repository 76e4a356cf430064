// One error hierarchy for the whole connector. Every failure that reaches the user is one of
// these three classes; src/protocol/trace.ts is the one place that turns them into a TRACE.

export type FailureType = 'config_error' | 'transient_error' | 'system_error';

export interface StreamRef {
  name: string;
  namespace?: string | undefined;
}

export interface ErrorDetails {
  /** Technical detail for the TRACE's internal_message (redacted before it is printed). */
  internal?: string;
  /** The stream the error belongs to, when known. */
  stream?: StreamRef;
  cause?: unknown;
}

export abstract class ConnectorError extends Error {
  abstract readonly failureType: FailureType;
  readonly internal: string | undefined;
  readonly stream: StreamRef | undefined;

  constructor(message: string, details: ErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = new.target.name;
    this.internal = details.internal;
    this.stream = details.stream;
  }
}

/** The user must change something: config, catalog, input, permissions, credentials. */
export class ConfigError extends ConnectorError {
  readonly failureType = 'config_error' as const;
}

/** Worth retrying later as it is: throttling, 5xx, timeouts after the SDK's own retries. */
export class TransientError extends ConnectorError {
  readonly failureType = 'transient_error' as const;
}

/** SIGTERM: the orchestrator stopped the sync; exit 143 (docs/architecture.md, "Commands and exit codes"). */
export class InterruptedError extends TransientError {
  readonly exitCode = 143;
}

/**
 * Work stopped because its AbortSignal fired (the pipeline stops conversions on a failure or
 * SIGTERM): the reason is the signal's, reported by whoever aborted; this error only unwinds.
 */
export class AbortedError extends TransientError {}

/** Everything else: a bug, a full disk, an engine failure. */
export class SystemError extends ConnectorError {
  readonly failureType = 'system_error' as const;
}

/** The exit code an error ends the process with (docs/architecture.md, "Commands and exit codes"). */
export function exitCodeOf(err: unknown): number {
  return err instanceof InterruptedError ? err.exitCode : 1;
}

/** Wraps anything thrown into the hierarchy; unknown errors are system errors. */
export function asConnectorError(err: unknown): ConnectorError {
  if (err instanceof ConnectorError) return err;
  if (err instanceof Error) {
    return new SystemError(`Unexpected error: ${err.message}`, { internal: err.stack ?? err.message, cause: err });
  }
  return new SystemError(`Unexpected error: ${String(err)}`);
}
