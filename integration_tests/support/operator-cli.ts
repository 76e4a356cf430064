// Runs the operator's commands (policy, verify) of the built connector: their stdout is text or
// one JSON document, not Airbyte messages, so support/cli.ts's line parser does not apply. Each
// run is killed on timeout and its outputs are scanned for secrets like every other run.

import { execFile } from 'node:child_process';
import { MAIN } from './cli.js';
import { assertNoSecretLeak, secretsOfRun } from './secrets.js';
import { s3Server } from './server.js';

export interface TextRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The environment of every run: no inherited AWS settings. */
export const OPERATOR_ENV: NodeJS.ProcessEnv = {
  AWS_ACCESS_KEY_ID: '',
  AWS_SECRET_ACCESS_KEY: '',
  AWS_SESSION_TOKEN: '',
  AWS_PROFILE: '',
  AWS_CONFIG_FILE: '/nonexistent/aws-config',
  AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/aws-credentials',
  AWS_EC2_METADATA_DISABLED: 'true',
};

export function runText(args: string[], secrets: Iterable<string> = [], timeoutMs = 100_000): Promise<TextRun> {
  const env = { ...process.env, ...OPERATOR_ENV };
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [MAIN, ...args],
      { env, timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const code = err ? ((err as { code?: unknown }).code as number | null) : 0;
        try {
          assertNoSecretLeak({ stdout, stderr }, secretsOfRun(args, env, [s3Server().secretKey, ...secrets]));
        } catch (leak) {
          reject(leak as Error);
          return;
        }
        if (err && typeof (err as { code?: unknown }).code !== 'number') reject(err);
        else resolve({ code, stdout, stderr });
      },
    );
  });
}
