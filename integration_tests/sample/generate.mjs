#!/usr/bin/env node
// Generates messages.jsonl, the sample sync that the demo, the acceptance test and the Node 22
// smoke test feed to `write` with configured_catalog.json beside it. Deterministic: a seeded
// generator and a fixed clock, so the committed file is exactly what this script prints.
//
//   node integration_tests/sample/generate.mjs            # rewrites messages.jsonl beside it
//   node integration_tests/sample/generate.mjs --stdout   # prints it instead
//
// What is in it (one sync as a source would send it, the three streams interleaved):
//   users  (append_dedup, key id, cursor updated_at): 500 sign-ups, then 440 profile updates of
//          random users (some several times), 10 updates that share their user's previous cursor
//          value (a source with one-second cursors: `_airbyte_extracted_at` breaks the tie) and a
//          page of 50 rows sent twice (a source retry: same rows, later `emitted_at`).
//   orders (append, key order_id, cursor updated_at): 450 orders and their status changes, one
//          row per change, then a page of 20 of those rows sent twice; 3 rows carry the amount
//          "n/a", which the connector nulls (NULLED).
//   events (overwrite, key event_id, cursor occurred_at): 900 events with free-form properties.
// A STREAM state after every 150 records of a stream and at its end; STREAM_STATUS traces
// (STARTED, COMPLETE) around each stream. `emitted_at` grows by 37 ms per record, strictly, so
// it identifies a record of the sample.

import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { seededRandom as seeded } from '../../scripts/lib/seeded-random.mjs';

const SEED = 20240501;
const EMITTED_START = Date.UTC(2024, 4, 1, 10, 0, 0); // 2024-05-01T10:00:00Z
const EMITTED_STEP_MS = 37;
const STATE_EVERY = 150;

const random = seeded(SEED);
const int = (lo, hi) => lo + Math.floor(random() * (hi - lo + 1));
const pick = (list) => list[Math.floor(random() * list.length)];
/** ISO-8601 UTC with seconds only, as many databases print their timestamps. */
const iso = (ms) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
const day = (ms) => new Date(ms).toISOString().slice(0, 10);
const money = (n) => Math.round(n * 100) / 100;

const FIRST = [
  'Ada',
  'Grace',
  'Alan',
  'Edsger',
  'Barbara',
  'Donald',
  'Frances',
  'Ken',
  'Radia',
  'Tim',
  'Margaret',
  'Linus',
  'Sophie',
  'Dennis',
  'Hedy',
  'José',
  'Zoë',
  'Łukasz',
];
const LAST = [
  'Lovelace',
  'Hopper',
  'Turing',
  'Dijkstra',
  'Liskov',
  'Knuth',
  'Allen',
  'Thompson',
  'Perlman',
  'Berners-Lee',
  'Hamilton',
  'Torvalds',
  'Wilson',
  'Ritchie',
  'Lamarr',
  "O'Neil",
];
const CITIES = [
  ['Lisbon', 'PT'],
  ['Berlin', 'DE'],
  ['Montréal', 'CA'],
  ['Osaka', 'JP'],
  ['Austin', 'US'],
  ['Nairobi', 'KE'],
  ['São Paulo', 'BR'],
  ['Kraków', 'PL'],
];
const PLANS = ['free', 'starter', 'team', 'enterprise'];
const SKUS = ['SKU-RED-MUG', 'SKU-BLUE-PEN', 'SKU-GREEN-TEE', 'SKU-DESK-LAMP', 'SKU-NOTEBOOK', 'SKU-CABLE-USB'];
const EVENT_TYPES = ['page_view', 'click', 'search', 'add_to_cart', 'checkout', 'login'];

// ---- users: source times from 2024-04-01 on, in cursor order --------------------------------
function usersStream() {
  const rows = [];
  const latest = new Map();
  let clock = Date.UTC(2024, 3, 1, 0, 0, 0);
  for (let id = 1; id <= 500; id++) {
    clock += int(1, 3600) * 1000;
    const [city, country] = pick(CITIES);
    const row = {
      id,
      email: `user${id}@example.com`,
      name: `${pick(FIRST)} ${pick(LAST)}`,
      plan: pick(PLANS),
      is_active: true,
      signup_date: day(clock),
      address: { city, country, zip: String(int(10000, 99999)) },
      tags: random() < 0.3 ? [] : [pick(['beta', 'vip', 'newsletter', 'mobile'])],
      lifetime_value: money(random() * 500),
      updated_at: iso(clock),
    };
    rows.push(row);
    latest.set(id, row);
  }
  for (let n = 0; n < 450; n++) {
    const id = int(1, 500);
    const previous = latest.get(id);
    const sameSecond = n % 45 === 44; // 10 updates that keep the cursor value of the user's last row
    if (!sameSecond) clock += int(1, 1800) * 1000;
    const row = {
      ...previous,
      plan: pick(PLANS),
      is_active: random() < 0.9,
      lifetime_value: money(previous.lifetime_value + random() * 80),
      tags: random() < 0.5 ? [...previous.tags, pick(['beta', 'vip', 'newsletter', 'mobile'])] : previous.tags,
      updated_at: sameSecond ? previous.updated_at : iso(clock),
    };
    rows.push(row);
    latest.set(id, row);
  }
  // A retried page: the 50 rows before the last 100 are sent once more, unchanged.
  rows.push(...rows.slice(rows.length - 150, rows.length - 100).map((r) => ({ ...r })));
  return rows;
}

// ---- orders: one row per status change --------------------------------------------------------
function ordersStream() {
  const STEPS = ['placed', 'paid', 'shipped', 'delivered'];
  const open = [];
  const rows = [];
  let clock = Date.UTC(2024, 3, 15, 0, 0, 0);
  let nextId = 100001;
  let badAmounts = 0;
  while (rows.length < 1100) {
    clock += int(1, 900) * 1000;
    if (open.length === 0 || (random() < 0.45 && nextId < 100451)) {
      const items = Array.from({ length: int(1, 3) }, () => ({ sku: pick(SKUS), qty: int(1, 4), unit_price: money(2 + random() * 60) }));
      const order = {
        order_id: nextId++,
        user_id: int(1, 500),
        status: 'placed',
        amount: money(items.reduce((s, i) => s + i.qty * i.unit_price, 0)),
        currency: pick(['EUR', 'USD', 'JPY', 'BRL']),
        items,
        placed_on: day(clock),
        updated_at: iso(clock),
      };
      open.push(order);
      // Three orders arrive with an amount the source could not format: a string in a number field.
      const bad = badAmounts < 3 && order.order_id % 97 === 0;
      if (bad) badAmounts++;
      rows.push(bad ? { ...order, amount: 'n/a' } : { ...order });
    } else {
      const i = Math.floor(random() * open.length);
      const order = open[i];
      order.status = STEPS[STEPS.indexOf(order.status) + 1];
      order.updated_at = iso(clock);
      rows.push({ ...order });
      if (order.status === 'delivered') open.splice(i, 1);
    }
  }
  // A retried page: 20 rows from the middle, sent once more, unchanged.
  rows.push(...rows.slice(600, 620).map((r) => ({ ...r })));
  return rows;
}

// ---- events: free-form properties (an object the schema does not declare) ---------------------
function eventsStream() {
  const rows = [];
  let clock = Date.UTC(2024, 4, 1, 9, 0, 0);
  for (let n = 1; n <= 900; n++) {
    clock += int(0, 4000);
    const type = pick(EVENT_TYPES);
    const properties =
      type === 'search'
        ? { query: pick(['mug', 'lamp', 'usb c', 'tee "large"']), results: int(0, 40) }
        : type === 'page_view'
          ? { path: pick(['/', '/pricing', '/docs', '/cart']), referrer: null }
          : { element: `btn-${int(1, 9)}` };
    rows.push({
      event_id: `evt-${String(n).padStart(6, '0')}`,
      user_id: random() < 0.1 ? null : int(1, 500),
      type,
      occurred_at: new Date(clock).toISOString(), // milliseconds kept
      properties,
    });
  }
  return rows;
}

function stateLine(stream, cursor, count) {
  return JSON.stringify({
    type: 'STATE',
    state: { type: 'STREAM', stream: { stream_descriptor: { name: stream }, stream_state: { cursor, records_read: count } } },
  });
}

function statusLine(stream, status, emittedAt) {
  return JSON.stringify({
    type: 'TRACE',
    trace: { type: 'STREAM_STATUS', emitted_at: emittedAt, stream_status: { stream_descriptor: { name: stream }, status } },
  });
}

export function generateSampleLines() {
  const streams = [
    { name: 'users', rows: usersStream(), cursor: 'updated_at' },
    { name: 'orders', rows: ordersStream(), cursor: 'updated_at' },
    { name: 'events', rows: eventsStream(), cursor: 'occurred_at' },
  ].map((s) => ({ ...s, sent: 0, maxCursor: '' }));
  const lines = [];
  let emitted = EMITTED_START;
  for (const s of streams) lines.push(statusLine(s.name, 'STARTED', emitted));
  // Interleave: each record comes from a stream drawn in proportion to what it has left.
  for (;;) {
    const left = streams.filter((s) => s.sent < s.rows.length);
    if (left.length === 0) break;
    let draw = random() * left.reduce((n, s) => n + s.rows.length - s.sent, 0);
    const s = left.find((x) => (draw -= x.rows.length - x.sent) < 0) ?? left[left.length - 1];
    const data = s.rows[s.sent++];
    emitted += EMITTED_STEP_MS;
    lines.push(JSON.stringify({ type: 'RECORD', record: { stream: s.name, data, emitted_at: emitted } }));
    if (data[s.cursor] > s.maxCursor) s.maxCursor = data[s.cursor];
    if (s.sent % STATE_EVERY === 0 || s.sent === s.rows.length) lines.push(stateLine(s.name, s.maxCursor, s.sent));
    if (s.sent === s.rows.length) lines.push(statusLine(s.name, 'COMPLETE', emitted));
  }
  return lines;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const text = generateSampleLines().join('\n') + '\n';
  if (process.argv.includes('--stdout')) process.stdout.write(text);
  else writeFileSync(join(dirname(fileURLToPath(import.meta.url)), 'messages.jsonl'), text);
}
