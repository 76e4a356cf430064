#!/usr/bin/env node
// Thin entry point: wires the real commands to the process and exits with their code. Each
// command's module is imported when it runs: `spec` then loads neither the AWS SDK nor DuckDB
// (their loading was most of its 0.7-1.0 s), and `check` does not load DuckDB.

import { run } from './cli.js';

const code = await run(
  process.argv.slice(2),
  { stdin: process.stdin, stdout: process.stdout, env: process.env },
  {
    spec: async (out) => (await import('./commands/spec.js')).runSpec(out),
    check: async (configPath, out, io) => (await import('./commands/check.js')).runCheck(configPath, out, io),
    write: async (configPath, catalogPath, out, io) => (await import('./commands/write.js')).runWrite(configPath, catalogPath, out, io),
    // The operator's commands (not the orchestrator's).
    policy: async (cmd, io) => (await import('./commands/policy.js')).runPolicy(cmd, io.stdout),
    verify: async (cmd, io) => (await import('./commands/verify.js')).runVerify(cmd, io.stdout, io.env),
  },
);
// Let stdout drain, then exit even if a library (DuckDB threads, sockets) still holds a handle.
process.stdout.write('', () => process.exit(code));
