#!/usr/bin/env node
// Generates messages.jsonl, the sample of one stream name in two namespaces: `public.users` (a
// Postgres source's app users) and `billing.users` (its billing accounts), with the same ids 1-40
// in both, so that a reader that mixed them up would see it. With configured_catalog.json beside
// it, what the namespace integration test (integration_tests/write-namespaces.test.ts) and
// `npm run demo` feed to `write`. Deterministic: no randomness, a fixed clock.
//
//   node integration_tests/sample/namespaces/generate.mjs            # rewrites messages.jsonl
//   node integration_tests/sample/namespaces/generate.mjs --stdout   # prints it instead
//
// The two streams interleaved, a STREAM state (with its namespace) after every 10 records of a
// stream, STREAM_STATUS STARTED and COMPLETE around each; `emitted_at` grows by 1 s per record.

import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const START = Date.UTC(2024, 4, 1, 12, 0, 0); // 2024-05-01T12:00:00Z
const PER_STREAM = 40;
const STATE_EVERY = 10;
const PLANS = ['free', 'starter', 'team', 'enterprise'];

const iso = (ms) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
const descriptor = (namespace) => ({ name: 'users', namespace });
const status = (namespace, value, emittedAt) =>
  JSON.stringify({
    type: 'TRACE',
    trace: { type: 'STREAM_STATUS', emitted_at: emittedAt, stream_status: { stream_descriptor: descriptor(namespace), status: value } },
  });

const rows = {
  public: (id, at) => ({ id, email: `user${id}@example.com`, name: `User ${id}`, updated_at: iso(at) }),
  billing: (id, at) => ({ id, plan: PLANS[id % PLANS.length], balance_cents: id * 1250, currency: 'EUR', updated_at: iso(at) }),
};

const lines = [];
let clock = START;
for (const ns of Object.keys(rows)) lines.push(status(ns, 'STARTED', clock));
for (let id = 1; id <= PER_STREAM; id++) {
  for (const ns of Object.keys(rows)) {
    clock += 1000;
    lines.push(JSON.stringify({ type: 'RECORD', record: { stream: 'users', namespace: ns, data: rows[ns](id, clock), emitted_at: clock } }));
    if (id % STATE_EVERY === 0) {
      lines.push(
        JSON.stringify({
          type: 'STATE',
          state: { type: 'STREAM', stream: { stream_descriptor: descriptor(ns), stream_state: { cursor: iso(clock) } } },
        }),
      );
    }
  }
}
for (const ns of Object.keys(rows)) lines.push(status(ns, 'COMPLETE', clock));
const text = lines.join('\n') + '\n';

if (process.argv.includes('--stdout')) process.stdout.write(text);
else writeFileSync(join(dirname(fileURLToPath(import.meta.url)), 'messages.jsonl'), text);
