// Transfer identity: one per run of `write` (docs/layout.md, "Object keys"). The id is a UUIDv7
// (RFC 9562): its first 48 bits are the start time in milliseconds, so ids sort by time as text and
// as bytes. Written by hand from crypto.randomBytes: Node 20 has no UUIDv7 and it is a dozen lines.

import { randomBytes } from 'node:crypto';
import { SystemError } from '../errors.js';

/** Milliseconds since the Unix epoch, like Date.now. */
export type Clock = () => number;

/** Returns n random bytes, like crypto.randomBytes. */
export type RandomSource = (n: number) => Uint8Array;

export interface TransferIdentity {
  /** UUIDv7, lower-case, unique per run of `write`, sorting by start time. */
  transferId: string;
  /** Start of the transfer, ISO-8601 UTC with milliseconds: 2024-05-01T23:59:59.999Z. */
  startedAt: string;
  /** The same instant in milliseconds since the epoch. */
  startedAtMs: number;
  /** UTC date of the start, YYYY-MM-DD: the `dt=` partition. */
  transferDate: string;
  /** UTC start, YYYYMMDDTHHMMSSmmmZ: the suffix of every data file of the transfer. */
  transferTimestamp: string;
}

// 9999-12-31T23:59:59.999Z: beyond it the ISO form gains a sign and six-digit years.
const MAX_MS = 253402300799999;

function checkedInstant(ms: number): number {
  if (!Number.isInteger(ms) || ms < 0 || ms > MAX_MS) {
    throw new SystemError(`The clock returned ${String(ms)}, not a time between 1970 and 9999 in whole milliseconds.`);
  }
  return ms;
}

/** ISO-8601 UTC with milliseconds. */
export function isoUtc(ms: number): string {
  return new Date(checkedInstant(ms)).toISOString();
}

/** YYYY-MM-DD, UTC. */
export function transferDateOf(ms: number): string {
  return isoUtc(ms).slice(0, 10);
}

/** YYYYMMDDTHHMMSSmmmZ, UTC. */
export function transferTimestampOf(ms: number): string {
  return isoUtc(ms).replace(/[-:.]/g, '');
}

/** A UUIDv7 for the given millisecond and 10 random bytes (RFC 9562 §5.7). */
export function uuidv7(ms: number, random: Uint8Array): string {
  checkedInstant(ms);
  if (random.length < 10) throw new SystemError('uuidv7 needs 10 random bytes');
  const bytes = new Uint8Array(16);
  // 48-bit big-endian timestamp; split because bit operators work on 32 bits.
  const high = Math.floor(ms / 2 ** 32);
  const low = ms % 2 ** 32;
  bytes[0] = (high >>> 8) & 0xff;
  bytes[1] = high & 0xff;
  bytes[2] = (low >>> 24) & 0xff;
  bytes[3] = (low >>> 16) & 0xff;
  bytes[4] = (low >>> 8) & 0xff;
  bytes[5] = low & 0xff;
  bytes.set(random.subarray(0, 10), 6);
  bytes[6] = 0x70 | (bytes[6]! & 0x0f); // version 7
  bytes[8] = 0x80 | (bytes[8]! & 0x3f); // variant 10
  const hex = Buffer.from(bytes).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export const UUIDV7_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** The millisecond a UUIDv7 was made at. */
export function uuidv7Millis(id: string): number {
  if (!UUIDV7_PATTERN.test(id)) throw new SystemError(`${JSON.stringify(id)} is not a UUIDv7`);
  return parseInt(id.slice(0, 8) + id.slice(9, 13), 16);
}

/** A new transfer starting now. */
export function newTransfer(clock: Clock = Date.now, random: RandomSource = randomBytes): TransferIdentity {
  const ms = checkedInstant(clock());
  return {
    transferId: uuidv7(ms, random(10)),
    startedAt: isoUtc(ms),
    startedAtMs: ms,
    transferDate: transferDateOf(ms),
    transferTimestamp: transferTimestampOf(ms),
  };
}
