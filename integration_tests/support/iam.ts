// radosgw's IAM API (served on its STS gateway), signed with the test server's admin keys: what
// the fixtures use to register an OIDC issuer (oidc.ts) and to give users policies (policy.test.ts).

import { createHash, createHmac } from 'node:crypto';
import { SignatureV4 } from '@smithy/signature-v4';
import type { SourceData } from '@smithy/types';
import { s3Server } from './server.js';

function bytesOf(data: SourceData): string | Uint8Array {
  if (typeof data === 'string') return data;
  return data instanceof ArrayBuffer ? new Uint8Array(data) : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/** SHA-256 / HMAC-SHA-256 for SignatureV4, from node:crypto. */
class NodeSha256 {
  private readonly hash;
  constructor(secret?: SourceData) {
    this.hash = secret === undefined ? createHash('sha256') : createHmac('sha256', bytesOf(secret));
  }
  update(data: SourceData): void {
    this.hash.update(bytesOf(data));
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.hash.digest());
  }
  reset(): void {}
}

/** One signed call of radosgw's IAM API (served on the STS gateway). */
export async function iam(params: Record<string, string>): Promise<string> {
  const server = s3Server();
  const url = new URL(server.stsEndpoint);
  const signer = new SignatureV4({
    service: 'iam',
    region: 'us-east-1',
    credentials: { accessKeyId: server.accessKey, secretAccessKey: server.secretKey },
    sha256: NodeSha256,
  });
  const body = new URLSearchParams({ Version: '2010-05-08', ...params }).toString();
  const signed = await signer.sign({
    method: 'POST',
    protocol: url.protocol,
    hostname: url.hostname,
    port: Number(url.port),
    path: '/',
    query: {},
    headers: { host: url.host, 'content-type': 'application/x-www-form-urlencoded' },
    body,
  });
  const res = await fetch(url, { method: 'POST', headers: signed.headers, body });
  const text = await res.text();
  if (!res.ok) throw new Error(`IAM ${params.Action} failed: HTTP ${res.status} ${text}`);
  return text;
}
