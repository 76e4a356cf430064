// A tiny OpenID Connect issuer on loopback, registered with radosgw's IAM API, and a role that
// trusts it: the fixture for `web_identity` credentials (AssumeRoleWithWebIdentity).
//
// radosgw (Ceph 16) fetches <issuer>/.well-known/openid-configuration, then its jwks_uri, and
// verifies the token's RS256 signature with the certificate in the key's `x5c`, whose SHA-1
// thumbprint must be one registered with CreateOpenIDConnectProvider. So the issuer needs an
// X.509 certificate, made here with the openssl command line (Node cannot create one).

import { execFile } from 'node:child_process';
import { createPrivateKey, randomBytes, sign, X509Certificate, type KeyObject } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { iam } from './iam.js';
import { radosgwAdmin } from './server.js';

const execFileP = promisify(execFile);

export interface OidcFixture {
  /** The issuer URL (the token's `iss`), http://127.0.0.1:<port>. */
  issuer: string;
  clientId: string;
  providerArn: string;
  /** A role whose trust policy allows the issuer's tokens, with s3:* on every bucket. */
  roleArn: string;
  /** A signed ID token (RS256) for `sub`, valid for `lifetimeSeconds`. */
  token(sub?: string, lifetimeSeconds?: number): string;
  close(): Promise<void>;
}

async function selfSignedCertificate(): Promise<{ key: KeyObject; cert: X509Certificate }> {
  const dir = mkdtempSync(join(tmpdir(), 'oidc-'));
  try {
    await execFileP('openssl', [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      join(dir, 'key.pem'),
      '-out',
      join(dir, 'cert.pem'),
      '-subj',
      '/CN=destination-s3-export-test-oidc',
      '-days',
      '2',
    ]).catch((err: Error) => {
      throw new Error(`The OIDC fixture needs the openssl command (scripts/setup.sh installs it): ${err.message}`);
    });
    return { key: createPrivateKey(readFileSync(join(dir, 'key.pem'))), cert: new X509Certificate(readFileSync(join(dir, 'cert.pem'))) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function listen(server: Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port));
  });
}

export async function startOidcFixture(): Promise<OidcFixture> {
  const { key, cert } = await selfSignedCertificate();
  const kid = randomBytes(4).toString('hex');
  const jwk = { ...cert.publicKey.export({ format: 'jwk' }), kid, use: 'sig', alg: 'RS256', x5c: [cert.raw.toString('base64')] };
  let issuer = '';
  const server = createServer((req, res) => {
    const json = (value: unknown): void => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify(value));
    };
    if (req.url === '/.well-known/openid-configuration')
      json({ issuer, jwks_uri: `${issuer}/jwks`, id_token_signing_alg_values_supported: ['RS256'] });
    else if (req.url === '/jwks') json({ keys: [jwk] });
    else res.writeHead(404).end();
  });
  const port = await listen(server);
  issuer = `http://127.0.0.1:${port}`;
  const clientId = `dse-test-${kid}`;
  const thumbprint = cert.fingerprint.replace(/:/g, '').toLowerCase();

  const roleName = `WebIdentityWriter-${kid}`;
  let providerArn: string | undefined;
  // Undoes whatever was set up, also after a set-up that failed half-way.
  const close = async (): Promise<void> => {
    await radosgwAdmin(['role-policy', 'delete', `--role-name=${roleName}`, '--policy-name=AllowS3']).catch(() => undefined);
    await radosgwAdmin(['role', 'delete', `--role-name=${roleName}`]).catch(() => undefined);
    if (providerArn) await iam({ Action: 'DeleteOpenIDConnectProvider', OpenIDConnectProviderArn: providerArn }).catch(() => undefined);
    await new Promise((resolve) => server.close(resolve));
  };
  try {
    const created = await iam({
      Action: 'CreateOpenIDConnectProvider',
      Url: issuer,
      'ClientIDList.member.1': clientId,
      'ThumbprintList.member.1': thumbprint,
    });
    providerArn = /<OpenIDConnectProviderArn>([^<]+)</.exec(created)?.[1];
    if (!providerArn) throw new Error(`CreateOpenIDConnectProvider answered without an ARN: ${created}`);
    const trust = {
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Principal: { Federated: [providerArn] }, Action: ['sts:AssumeRoleWithWebIdentity'] }],
    };
    const permissions = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: ['s3:*'], Resource: ['arn:aws:s3:::*'] }] };
    await radosgwAdmin(['role', 'create', `--role-name=${roleName}`, '--path=/', `--assume-role-policy-doc=${JSON.stringify(trust)}`]);
    await radosgwAdmin(['role-policy', 'put', `--role-name=${roleName}`, '--policy-name=AllowS3', `--policy-doc=${JSON.stringify(permissions)}`]);
  } catch (err) {
    await close();
    throw err;
  }

  const b64 = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString('base64url');
  return {
    issuer,
    clientId,
    providerArn: providerArn!,
    roleArn: `arn:aws:iam:::role/${roleName}`,
    token(sub = 'test-workload', lifetimeSeconds = 3600) {
      const now = Math.floor(Date.now() / 1000);
      const head = b64({ alg: 'RS256', typ: 'JWT', kid });
      const claims = b64({ iss: issuer, sub, aud: clientId, azp: clientId, client_id: clientId, iat: now, nbf: now - 5, exp: now + lifetimeSeconds });
      return `${head}.${claims}.${sign('RSA-SHA256', Buffer.from(`${head}.${claims}`), key).toString('base64url')}`;
    },
    close,
  };
}
