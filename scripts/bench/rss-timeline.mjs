// The connector's resident memory over one run, against the discarding S3 stand-in: where the
// peak comes from (reading, conversions, uploads). Data from generate.mjs (a case directory).
//   node scripts/bench/rss-timeline.mjs DIR ['{"memory_budget_mb":512}'] [node options…]
// Prints the exit, the wall time, the states echoed, the peak, and every second's RSS
// (seconds:MiB:states echoed so far).

import { spawn } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { startSink } from './s3-sink.mjs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
const configPath = join(tmpdir(), `dse-rss-config-${process.pid}.json`);
const [dir, extra = '{}', ...nodeArgs] = process.argv.slice(2);
const sink = await startSink();
writeFileSync(
  configPath,
  JSON.stringify({
    s3_bucket_name: 'bench-bucket',
    s3_bucket_region: 'us-east-1',
    s3_endpoint: sink.endpoint,
    credentials: { auth_type: 'access_key', access_key_id: 'bench-key', secret_access_key: 'bench-secret' },
    ...JSON.parse(extra),
  }),
);
const cat = spawn('cat', [`${dir}/messages.jsonl`], { stdio: ['ignore', 'pipe', 'inherit'] });
const t0 = Date.now();
const child = spawn(process.execPath, [...nodeArgs, 'dist/main.js', 'write', '--config', configPath, '--catalog', `${dir}/catalog.json`], {
  stdio: [cat.stdout, 'pipe', 'inherit'],
  env: { ...process.env, AWS_EC2_METADATA_DISABLED: 'true' },
});
let states = 0;
let buf = '';
child.stdout.on('data', (d) => {
  buf += d;
  const lines = buf.split('\n');
  buf = lines.pop();
  for (const l of lines) {
    if (l.includes('"STATE"')) states++;
    else if (l.includes('TRACE')) console.log(l.slice(0, 400));
    else if (l.includes('"LOG"') && !l.includes('progress')) {
    }
  }
});
const samples = [];
const timer = setInterval(() => {
  try {
    const s = readFileSync(`/proc/${child.pid}/status`, 'utf8');
    const rss = Number(/VmRSS:\s+(\d+)/.exec(s)[1]) / 1024;
    samples.push([((Date.now() - t0) / 1000).toFixed(1), rss.toFixed(0), states]);
  } catch {}
}, 250);
child.on('close', (code) => {
  clearInterval(timer);
  cat.kill();
  console.log('exit', code, 'seconds', (Date.now() - t0) / 1000, 'states', states, 'max rss', Math.max(...samples.map((s) => Number(s[1]))));
  console.log(
    samples
      .filter((_, i) => i % 4 === 0)
      .map((s) => s.join(':'))
      .join(' '),
  );
  sink.close();
  rmSync(configPath, { force: true });
});
