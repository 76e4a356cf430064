import { describe, expect, it } from 'vitest';
import { ConfigError, SystemError, TransientError } from '../../src/errors.js';
import { traceFor } from '../../src/protocol/trace.js';
import { protocolErrors, protocolSchemaAvailable, protocolSchemaSkipReason } from '../../integration_tests/support/protocol.js';

const now = () => 1714608000000;

describe('traceFor', () => {
  it.each([
    [new ConfigError('Grant s3:PutObject on the bucket'), 'config_error'],
    [new TransientError('S3 answered 503 Slow Down after 5 attempts'), 'transient_error'],
    [new SystemError('DuckDB failed'), 'system_error'],
  ] as const)('maps %s to %s with the message as it is', (err, failureType) => {
    const msg = traceFor(err, now);
    expect(msg).toMatchObject({
      type: 'TRACE',
      trace: { type: 'ERROR', emitted_at: 1714608000000, error: { message: err.message, failure_type: failureType } },
    });
  });

  it('adds a stack trace to system errors only: a setting to change needs none', () => {
    expect(traceFor(new SystemError('bug'), now)).toHaveProperty('trace.error.stack_trace');
    expect(traceFor(new ConfigError('fix it'), now)).not.toHaveProperty('trace.error.stack_trace');
    expect(traceFor(new TransientError('later'), now)).not.toHaveProperty('trace.error.stack_trace');
  });

  it('names the stream, with its namespace when it has one', () => {
    expect(traceFor(new ConfigError('bad', { stream: { name: 'users', namespace: 'public' } }), now)).toHaveProperty(
      'trace.error.stream_descriptor',
      { name: 'users', namespace: 'public' },
    );
    const noNamespace = traceFor(new ConfigError('bad', { stream: { name: 'users' } }), now);
    expect(noNamespace).toHaveProperty('trace.error.stream_descriptor', { name: 'users' });
    expect(traceFor(new ConfigError('bad'), now)).not.toHaveProperty('trace.error.stream_descriptor');
  });

  it('puts technical detail in internal_message: given, or from the cause', () => {
    expect(traceFor(new ConfigError('Access denied', { internal: 'AccessDenied: request id 42' }), now)).toHaveProperty(
      'trace.error.internal_message',
      'AccessDenied: request id 42',
    );
    const cause = new RangeError('offset out of range');
    expect(traceFor(new SystemError('Could not write', { cause }), now)).toHaveProperty(
      'trace.error.internal_message',
      'RangeError: offset out of range',
    );
    expect(traceFor(new ConfigError('plain'), now)).not.toHaveProperty('trace.error.internal_message');
  });

  it('wraps anything else thrown as a system error', () => {
    const fromError = traceFor(new Error('socket hang up'), now);
    expect(fromError).toMatchObject({ trace: { error: { failure_type: 'system_error', message: 'Unexpected error: socket hang up' } } });
    expect(fromError).toHaveProperty('trace.error.internal_message', expect.stringContaining('socket hang up'));
    expect(traceFor('a string', now)).toMatchObject({ trace: { error: { failure_type: 'system_error', message: 'Unexpected error: a string' } } });
    expect(traceFor(undefined, now)).toMatchObject({ trace: { error: { failure_type: 'system_error' } } });
  });

  it('stamps emitted_at from the clock', () => {
    const before = Date.now();
    const msg = traceFor(new ConfigError('x')) as { trace: { emitted_at: number } };
    expect(msg.trace.emitted_at).toBeGreaterThanOrEqual(before);
    expect(msg.trace.emitted_at).toBeLessThanOrEqual(Date.now());
  });

  it.skipIf(!protocolSchemaAvailable)('makes TRACE messages that conform to the Airbyte protocol schema', () => {
    for (const err of [
      new ConfigError('bad', { stream: { name: 'users', namespace: 'public' }, internal: 'x' }),
      new SystemError('bug'),
      new Error('raw'),
    ]) {
      expect(protocolErrors(JSON.stringify(traceFor(err, now)))).toEqual([]);
    }
  });
  if (!protocolSchemaAvailable) it.skip(protocolSchemaSkipReason, () => undefined);
});
