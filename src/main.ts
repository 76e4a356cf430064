#!/usr/bin/env node
// Thin entry point: wires the real commands to the process and exits with their code.

import { run } from './cli.js';
import { runSpec } from './commands/spec.js';
import { runCheck } from './commands/check.js';
import { runWrite } from './commands/write.js';


const code = await run(process.argv.slice(2), { stdin: process.stdin, stdout: process.stdout, env: process.env }, {
  spec: runSpec,
  check: runCheck,
  write: runWrite,
  // Loaded on use: they are not the orchestrator's commands.
  policy: async (cmd, io) => (await import('./commands/policy.js')).runPolicy(cmd, io.stdout),
  verify: async (cmd, io) => (await import('./commands/verify.js')).runVerify(cmd, io.stdout, io.env),
});
// Let stdout drain, then exit even if a library (DuckDB threads, sockets) still holds a handle.
process.stdout.write('', () => process.exit(code));
