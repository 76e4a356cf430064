import { describe, expect, it } from 'vitest';
import { SystemError } from '../../src/errors.js';
import { newTransfer, transferDateOf, transferTimestampOf, UUIDV7_PATTERN, uuidv7, uuidv7Millis } from '../../src/layout/transfer.js';

const at = (iso: string) => () => Date.parse(iso);
const bytes = (fill: number) => () => new Uint8Array(10).fill(fill);

describe('newTransfer', () => {
  it.each([
    ['2024-05-01T23:59:59.999Z', '2024-05-01', '20240501T235959999Z'],
    ['2024-05-02T00:00:00.000Z', '2024-05-02', '20240502T000000000Z'],
    ['2023-12-31T23:59:59.999Z', '2023-12-31', '20231231T235959999Z'],
    ['2024-01-01T00:00:00.000Z', '2024-01-01', '20240101T000000000Z'],
    ['2024-02-29T12:34:56.007Z', '2024-02-29', '20240229T123456007Z'],
    ['1970-01-01T00:00:00.000Z', '1970-01-01', '19700101T000000000Z'],
  ])('at %s the transfer date is %s and the timestamp %s', (iso, date, timestamp) => {
    const t = newTransfer(at(iso));
    expect(t.transferDate).toBe(date);
    expect(t.transferTimestamp).toBe(timestamp);
    expect(t.startedAt).toBe(iso);
    expect(t.startedAtMs).toBe(Date.parse(iso));
    expect(uuidv7Millis(t.transferId)).toBe(Date.parse(iso));
  });

  it('uses UTC, not the local time zone: late evening in New York is the next day', () => {
    // 2024-05-01 22:30 in New York (UTC-4) is 02:30 UTC on May 2nd.
    const t = newTransfer(at('2024-05-01T22:30:00.000-04:00'));
    expect(t.transferDate).toBe('2024-05-02');
    expect(t.transferTimestamp).toBe('20240502T023000000Z');
  });

  it('refuses a clock that does not return whole milliseconds in years 1970-9999', () => {
    for (const bad of [Number.NaN, -1, 1.5, 253402300800000, Number.POSITIVE_INFINITY]) {
      expect(() => newTransfer(() => bad), String(bad)).toThrow(SystemError);
    }
    expect(transferDateOf(253402300799999)).toBe('9999-12-31');
  });

  it('takes its randomness from the injected source', () => {
    const t = newTransfer(at('2024-05-01T00:00:00.000Z'), bytes(0));
    // 2024-05-01T00:00:00Z is 1714521600000 ms = 0x018F31737000.
    expect(t.transferId).toBe('018f3173-7000-7000-8000-000000000000');
  });

  it('makes different ids in the same millisecond', () => {
    const clock = at('2024-05-01T00:00:00.000Z');
    const ids = new Set(Array.from({ length: 50 }, () => newTransfer(clock).transferId));
    expect(ids.size).toBe(50);
  });
});

describe('uuidv7', () => {
  it('matches the RFC 9562 example', () => {
    const random = Uint8Array.from([0x0c, 0xc3, 0x98, 0xc4, 0xdc, 0x0c, 0x0c, 0x07, 0x39, 0x8f]);
    expect(uuidv7(0x017f22e279b0, random)).toBe('017f22e2-79b0-7cc3-98c4-dc0c0c07398f');
  });

  it('sets the version and variant bits whatever the random bytes', () => {
    expect(uuidv7(0, new Uint8Array(10).fill(0xff))).toBe('00000000-0000-7fff-bfff-ffffffffffff');
    expect(uuidv7(0, new Uint8Array(10))).toBe('00000000-0000-7000-8000-000000000000');
    expect(uuidv7(Date.now(), new Uint8Array(10).fill(0xa5))).toMatch(UUIDV7_PATTERN);
  });

  it('sorts by time as text, across byte and 32-bit boundaries, whatever the random bytes', () => {
    const times = [
      0,
      1,
      255,
      256,
      65535,
      65536,
      2 ** 32 - 1,
      2 ** 32,
      2 ** 40 + 7,
      Date.parse('2024-05-01T23:59:59.999Z'),
      Date.parse('2024-05-02T00:00:00.000Z'),
      253402300799999,
    ];
    // Earlier ids get the largest random part, later ones the smallest: only time may order them.
    const ids = times.map((ms, i) => uuidv7(ms, new Uint8Array(10).fill(i % 2 ? 0x00 : 0xff)));
    expect([...ids].sort()).toEqual(ids);
    expect(ids.map(uuidv7Millis)).toEqual(times);
  });

  it('refuses fewer than 10 random bytes', () => {
    expect(() => uuidv7(0, new Uint8Array(9))).toThrow(SystemError);
  });
});

describe('date and timestamp helpers', () => {
  it('format the same instant consistently', () => {
    const ms = Date.UTC(2025, 0, 9, 8, 7, 6, 54);
    expect(transferDateOf(ms)).toBe('2025-01-09');
    expect(transferTimestampOf(ms)).toBe('20250109T080706054Z');
  });
});
