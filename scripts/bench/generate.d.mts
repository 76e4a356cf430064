// Types of generate.mjs for the TypeScript tests that use it (integration_tests/memory.test.ts).

export const BASE_MS: number;
export const SCHEMA: Record<string, unknown>;
export const DUCKDB_COLUMNS: Record<string, string>;
export function streamNames(streams: number): string[];
export function catalogFor(streams: number, namespace?: string): { streams: Record<string, unknown>[] };

export interface GenerateOptions {
  dir: string;
  streams: number;
  records?: number;
  bytes?: number;
  namespace?: string;
  stateEvery?: number;
  seed?: number;
  /** The streams one after another (records / streams each) instead of interleaved. */
  sequential?: boolean;
}

export interface Generated {
  messagesPath: string;
  dataPath: string;
  catalogPath: string;
  records: number;
  states: number;
  messageBytes: number;
  dataBytes: number;
  /** Records written per stream, in stream order. */
  perStream: number[];
}

export function generate(options: GenerateOptions): Generated;
