// The JSON.parse floor: readline over stdin (the Airbyte messages), JSON.parse of every line,
// nothing else. Prints what it counted, so the runner can check it read everything.

import { createInterface } from 'node:readline';

let lines = 0;
let records = 0;
const rl = createInterface({ input: process.stdin, crlfDelay: Infinity });
rl.on('line', (line) => {
  const message = JSON.parse(line);
  lines++;
  if (message.type === 'RECORD') records++;
});
rl.on('close', () => {
  process.stdout.write(JSON.stringify({ lines, records }) + '\n');
});
