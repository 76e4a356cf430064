// The one place that turns an error into a TRACE ERROR message.

import { asConnectorError } from '../errors.js';
import type { OutgoingMessage } from './messages.js';

export function traceFor(err: unknown, now: () => number = Date.now): OutgoingMessage {
  const e = asConnectorError(err);
  const internal = e.internal ?? (e.cause instanceof Error ? `${e.cause.name}: ${e.cause.message}` : undefined);
  return {
    type: 'TRACE',
    trace: {
      type: 'ERROR',
      emitted_at: now(),
      error: {
        message: e.message,
        ...(internal ? { internal_message: internal } : {}),
        // A stack trace helps with a bug, not with a setting the user must change.
        ...(e.failureType === 'system_error' && e.stack ? { stack_trace: e.stack } : {}),
        failure_type: e.failureType,
        ...(e.stream ? { stream_descriptor: { name: e.stream.name, ...(e.stream.namespace ? { namespace: e.stream.namespace } : {}) } } : {}),
      },
    },
  };
}
