// Deterministic benchmark data: analytics-like event records (strings, integers, timestamps with
// microseconds, a date, nullable numbers, an array, a nested object) written as
//   messages.jsonl  Airbyte RECORD lines with STREAM states, as a source would send them;
//   data.jsonl      the bare `data` objects, one a line (DuckDB's standalone COPY reads these);
//   catalog.json    the configured catalog (every stream has the same schema).
// The same arguments always give the same bytes (a seeded PRNG, a fixed clock).

import { closeSync, openSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { seededRandom as prng } from '../lib/seeded-random.mjs';

const EVENT_TYPES = ['page_view', 'click', 'add_to_cart', 'purchase', 'signup', 'search', 'scroll'];
const PATHS = ['/', '/pricing', '/docs/getting-started', '/blog/2024/05/parquet-at-scale', '/products/42', '/cart', '/checkout?step=2'];
const OSES = ['iOS', 'Android', 'Windows', 'macOS', 'Linux'];
const MODELS = ['iPhone15,2', 'Pixel 8', 'SM-S918B', 'MacBookPro18,3', 'ThinkPad X1', null];
const COUNTRIES = [
  ['DE', 'Berlin'],
  ['FR', 'Paris'],
  ['US', 'New York'],
  ['JP', 'Tōkyō'],
  ['BR', 'São Paulo'],
  ['IN', 'Bengaluru'],
];
const TAGS = ['mobile', 'returning', 'campaign:spring', 'ab:variant-b', 'beta', 'vip', 'trial'];
const LOCALES = ['en-US', 'de-DE', 'fr-FR', 'ja-JP', 'pt-BR'];

export const BASE_MS = Date.UTC(2024, 4, 1, 0, 0, 0);

/** The JSON schema of every benchmark stream. */
export const SCHEMA = {
  type: 'object',
  properties: {
    event_id: { type: 'string' },
    user_id: { type: 'integer' },
    session_id: { type: ['null', 'string'] },
    event_type: { type: 'string' },
    occurred_at: { type: 'string', format: 'date-time', airbyte_type: 'timestamp_with_timezone' },
    received_at: { type: 'string', format: 'date-time', airbyte_type: 'timestamp_with_timezone' },
    event_date: { type: 'string', format: 'date' },
    revenue: { type: ['null', 'number'] },
    quantity: { type: ['null', 'integer'] },
    page_url: { type: 'string' },
    referrer: { type: ['null', 'string'] },
    is_bot: { type: 'boolean' },
    tags: { type: 'array', items: { type: 'string' } },
    context: {
      type: 'object',
      properties: {
        device: { type: 'object', properties: { os: { type: 'string' }, os_version: { type: 'string' }, model: { type: ['null', 'string'] } } },
        geo: {
          type: 'object',
          properties: { country: { type: 'string' }, city: { type: 'string' }, lat: { type: 'number' }, lon: { type: 'number' } },
        },
        screen_width: { type: 'integer' },
        locale: { type: 'string' },
      },
    },
  },
};

/** DuckDB's typed columns for the same schema (the standalone COPY's read_json columns). */
export const DUCKDB_COLUMNS = {
  event_id: 'VARCHAR',
  user_id: 'BIGINT',
  session_id: 'VARCHAR',
  event_type: 'VARCHAR',
  occurred_at: 'TIMESTAMPTZ',
  received_at: 'TIMESTAMPTZ',
  event_date: 'DATE',
  revenue: 'DOUBLE',
  quantity: 'BIGINT',
  page_url: 'VARCHAR',
  referrer: 'VARCHAR',
  is_bot: 'BOOLEAN',
  tags: 'VARCHAR[]',
  context:
    'STRUCT(device STRUCT(os VARCHAR, os_version VARCHAR, model VARCHAR), geo STRUCT(country VARCHAR, city VARCHAR, lat DOUBLE, lon DOUBLE), screen_width BIGINT, locale VARCHAR)',
};

const hex = (rand, n) => {
  let s = '';
  for (let i = 0; i < n; i++) s += ((rand() * 16) | 0).toString(16);
  return s;
};

/** ISO-8601 UTC with microseconds. */
function isoMicros(ms, micros) {
  return new Date(ms).toISOString().slice(0, -1) + String(micros).padStart(3, '0') + 'Z';
}

function record(rand, seq) {
  const occurred = BASE_MS + seq * 37 + ((rand() * 1000) | 0);
  const country = COUNTRIES[(rand() * COUNTRIES.length) | 0];
  const type = EVENT_TYPES[(rand() * EVENT_TYPES.length) | 0];
  const tagCount = (rand() * 4) | 0;
  const tags = [];
  for (let i = 0; i < tagCount; i++) tags.push(TAGS[(rand() * TAGS.length) | 0]);
  const purchase = type === 'purchase' || rand() < 0.1;
  return {
    event_id: `${hex(rand, 8)}-${hex(rand, 4)}-4${hex(rand, 3)}-a${hex(rand, 3)}-${hex(rand, 12)}`,
    user_id: 1_000_000 + ((rand() * 5_000_000) | 0),
    session_id: rand() < 0.9 ? `s_${hex(rand, 16)}` : null,
    event_type: type,
    occurred_at: isoMicros(occurred, (rand() * 1000) | 0),
    received_at: isoMicros(occurred + 150 + ((rand() * 5000) | 0), 0),
    event_date: new Date(occurred).toISOString().slice(0, 10),
    revenue: purchase ? Math.round(rand() * 50000) / 100 : null,
    quantity: purchase ? 1 + ((rand() * 5) | 0) : null,
    page_url: `https://shop.example.com${PATHS[(rand() * PATHS.length) | 0]}`,
    referrer: rand() < 0.4 ? `https://www.search.example/q?term=${hex(rand, 6)}` : null,
    is_bot: rand() < 0.02,
    tags,
    context: {
      device: {
        os: OSES[(rand() * OSES.length) | 0],
        os_version: `${1 + ((rand() * 17) | 0)}.${(rand() * 10) | 0}`,
        model: MODELS[(rand() * MODELS.length) | 0],
      },
      geo: {
        country: country[0],
        city: country[1],
        lat: Math.round((rand() * 180 - 90) * 1e4) / 1e4,
        lon: Math.round((rand() * 360 - 180) * 1e4) / 1e4,
      },
      screen_width: [375, 390, 412, 768, 1280, 1440, 1920][(rand() * 7) | 0],
      locale: LOCALES[(rand() * LOCALES.length) | 0],
    },
  };
}

export function streamNames(streams) {
  return Array.from({ length: streams }, (_, i) => (streams === 1 ? 'events' : `events_${String(i).padStart(2, '0')}`));
}

export function catalogFor(streams, namespace) {
  return {
    streams: streamNames(streams).map((name) => ({
      stream: { name, ...(namespace ? { namespace } : {}), json_schema: SCHEMA, supported_sync_modes: ['full_refresh', 'incremental'] },
      sync_mode: 'incremental',
      destination_sync_mode: 'append',
      generation_id: 1,
      minimum_generation_id: 0,
      sync_id: 7,
    })),
  };
}

/**
 * Writes the case's files into `dir`. Stops at `records` records, or once the messages reach
 * `bytes` bytes, whichever comes first. A STREAM state follows every `stateEvery` records of a
 * stream, and one for each stream at the end, then each stream's COMPLETE status. `sequential`
 * sends the streams one after another instead of interleaved (needs a finite `records`).
 */
export function generate({ dir, streams, records = Infinity, bytes = Infinity, namespace, stateEvery = 10_000, seed = 1, sequential = false }) {
  const rand = prng(seed);
  const names = streamNames(streams);
  const nsPart = namespace ? `"namespace":${JSON.stringify(namespace)},` : '';
  const descriptor = (name) => `{"name":${JSON.stringify(name)}${namespace ? `,"namespace":${JSON.stringify(namespace)}` : ''}}`;
  const messagesPath = join(dir, 'messages.jsonl');
  const dataPath = join(dir, 'data.jsonl');
  const msgFd = openSync(messagesPath, 'w');
  const dataFd = openSync(dataPath, 'w');
  const perStream = new Array(streams).fill(0);
  let msgBuf = [];
  let dataBuf = [];
  let pending = 0;
  let msgBytes = 0;
  let dataBytes = 0;
  let count = 0;
  let states = 0;
  const flush = () => {
    const m = msgBuf.join('');
    const d = dataBuf.join('');
    writeSync(msgFd, m);
    writeSync(dataFd, d);
    msgBuf = [];
    dataBuf = [];
    pending = 0;
  };
  const state = (s) => {
    const line = `{"type":"STATE","state":{"type":"STREAM","stream":{"stream_descriptor":${descriptor(names[s])},"stream_state":{"cursor":"${isoMicros(BASE_MS + count * 37, 0)}","position":${perStream[s]}}},"sourceStats":{"recordCount":${stateEvery}.0}}}\n`;
    msgBuf.push(line);
    msgBytes += Buffer.byteLength(line);
    states++;
  };
  const ended = new Array(streams).fill(false);
  const end = (s) => {
    if (perStream[s] % stateEvery !== 0) state(s);
    const line = `{"type":"TRACE","trace":{"type":"STREAM_STATUS","emitted_at":${BASE_MS},"stream_status":{"stream_descriptor":${descriptor(names[s])},"status":"COMPLETE"}}}\n`;
    msgBuf.push(line);
    msgBytes += Buffer.byteLength(line);
    ended[s] = true;
  };
  while (count < records && msgBytes < bytes) {
    // sequential: the streams one after another, `records / streams` each (a catalog of tables
    // read in turn); else they interleave in runs of a few records, as sources reading several
    // tables at once do.
    const s = streams === 1 ? 0 : sequential ? Math.min(streams - 1, Math.floor(count / (records / streams))) : (rand() * streams) | 0;
    const run = streams === 1 || sequential ? 1 : 1 + ((rand() * 8) | 0);
    for (let r = 0; r < run && count < records && msgBytes < bytes; r++) {
      const data = JSON.stringify(record(rand, count));
      const emitted = BASE_MS + 3_600_000 + count;
      const line = `{"type":"RECORD","record":{${nsPart}"stream":${JSON.stringify(names[s])},"data":${data},"emitted_at":${emitted}}}\n`;
      msgBuf.push(line);
      dataBuf.push(data + '\n');
      const size = Buffer.byteLength(line);
      msgBytes += size;
      dataBytes += Buffer.byteLength(data) + 1;
      pending += size;
      count++;
      perStream[s]++;
      if (perStream[s] % stateEvery === 0) state(s);
      // a table read in turn ends with its state and status before the next one starts
      if (sequential && perStream[s] === Math.ceil(records / streams)) end(s);
      if (pending > 4 * 1024 * 1024) flush();
    }
  }
  // The source is done: each stream's last state, then its terminal status (the connector fails
  // a sync without one).
  for (let s = 0; s < streams; s++) if (!ended[s]) end(s);
  flush();
  closeSync(msgFd);
  closeSync(dataFd);
  const catalogPath = join(dir, 'catalog.json');
  writeFileSync(catalogPath, JSON.stringify(catalogFor(streams, namespace)));
  return { messagesPath, dataPath, catalogPath, records: count, states, messageBytes: msgBytes, dataBytes, perStream };
}

// As a command: node scripts/bench/generate.mjs DIR [--streams N] [--records N] [--size-mb N]
if (import.meta.url === `file://${process.argv[1]}`) {
  const [dir, ...rest] = process.argv.slice(2);
  const arg = (name, fallback) => {
    const i = rest.indexOf(name);
    return i >= 0 ? Number(rest[i + 1]) : fallback;
  };
  const streams = arg('--streams', 1);
  const { mkdirSync } = await import('node:fs');
  mkdirSync(dir, { recursive: true });
  const result = generate({
    dir,
    streams,
    records: arg('--records', Infinity),
    bytes: arg('--size-mb', Infinity) * 1024 * 1024,
    ...(streams > 1 ? { namespace: 'analytics' } : {}),
  });
  console.log(JSON.stringify({ ...result, perStream: undefined }));
}
