// A small fault-injecting HTTP proxy between the connector and radosgw, on loopback. It forwards
// requests unchanged (the Host header too, so SigV4 signatures still verify) and, by rule,
// answers an S3 operation with 500 InternalError or 503 SlowDown, resets the connection in the
// middle of the request body, or adds latency — at a given rate or on the Nth matching request.

import http from 'node:http';
import type { AddressInfo } from 'node:net';

export type S3Operation =
  | 'PutObject'
  | 'CreateMultipartUpload'
  | 'UploadPart'
  | 'CompleteMultipartUpload'
  | 'AbortMultipartUpload'
  | 'DeleteObject'
  | 'GetObject'
  | 'HeadObject'
  | 'ListObjects'
  | 'AssumeRole'
  | 'Other';

export type Fault = 'status500' | 'slowdown503' | 'reset' | 'latency';

export interface FaultRule {
  operation: S3Operation | '*';
  fault: Fault;
  /** Probability per matching request (0..1), drawn from the seeded generator. */
  rate?: number;
  /** Fault only the Nth matching request (1-based). */
  nth?: number;
  /** For latency: milliseconds added. */
  delayMs?: number;
}

export interface ProxyStats {
  requests: Record<string, number>;
  faults: Record<string, number>;
}

/** Which S3/STS operation a request is, from its method, path and query. */
export function operationOf(method: string, url: string): S3Operation {
  const u = new URL(url, 'http://x');
  const q = u.searchParams;
  const hasKey = u.pathname.split('/').filter(Boolean).length >= 2;
  // STS actions are form POSTs to '/'; this connector only calls AssumeRole(WithWebIdentity).
  if (method === 'POST' && u.pathname === '/') return 'AssumeRole';
  if (method === 'POST' && q.has('uploads')) return 'CreateMultipartUpload';
  if (method === 'POST' && q.has('uploadId')) return 'CompleteMultipartUpload';
  if (method === 'PUT' && q.has('uploadId') && q.has('partNumber')) return 'UploadPart';
  if (method === 'PUT' && hasKey) return 'PutObject';
  if (method === 'DELETE' && q.has('uploadId')) return 'AbortMultipartUpload';
  if (method === 'DELETE' && hasKey) return 'DeleteObject';
  if (method === 'GET' && hasKey) return 'GetObject';
  if (method === 'HEAD' && hasKey) return 'HeadObject';
  if (method === 'GET') return 'ListObjects';
  return 'Other';
}

/** Mulberry32: a tiny seeded generator, so a failing run can be replayed. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const errorXml = (code: string, message: string) =>
  `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>${message}</Message><RequestId>fault-proxy</RequestId></Error>`;

export class FaultProxy {
  private server: http.Server | undefined;
  private readonly random: () => number;
  private readonly counts = new Map<string, number>();
  readonly stats: ProxyStats = { requests: {}, faults: {} };
  rules: FaultRule[] = [];

  constructor(
    private readonly upstream: string,
    seed = 1,
  ) {
    this.random = seeded(seed);
  }

  get endpoint(): string {
    const { port } = this.server!.address() as AddressInfo;
    return `http://127.0.0.1:${port}`;
  }

  async start(): Promise<this> {
    this.server = http.createServer((req, res) => void this.handle(req, res));
    this.server.keepAliveTimeout = 1000;
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    return this;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }

  private pick(op: S3Operation): FaultRule | undefined {
    for (const rule of this.rules) {
      if (rule.operation !== '*' && rule.operation !== op) continue;
      const id = `${rule.operation}:${rule.fault}:${rule.nth ?? ''}:${rule.rate ?? ''}`;
      const n = (this.counts.get(id) ?? 0) + 1;
      this.counts.set(id, n);
      if (rule.nth !== undefined ? n === rule.nth : this.random() < (rule.rate ?? 0)) return rule;
    }
    return undefined;
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const op = operationOf(req.method ?? 'GET', req.url ?? '/');
    this.stats.requests[op] = (this.stats.requests[op] ?? 0) + 1;
    const rule = this.pick(op);
    if (rule) this.stats.faults[`${op}:${rule.fault}`] = (this.stats.faults[`${op}:${rule.fault}`] ?? 0) + 1;
    if (rule?.fault === 'reset') {
      // Let part of the body arrive, then kill the connection: the client sees a reset mid-body.
      const length = Number(req.headers['content-length'] ?? 0);
      let seen = 0;
      const kill = (): void => void req.socket.destroy();
      if (length === 0) return kill();
      req.on('data', (c: Buffer) => {
        seen += c.length;
        if (seen >= length / 2) kill();
      });
      req.on('end', kill);
      return;
    }
    const chunks: Buffer[] = [];
    try {
      for await (const c of req) chunks.push(c as Buffer);
    } catch {
      return;
    }
    if (rule?.fault === 'status500' || rule?.fault === 'slowdown503') {
      const [status, code] = rule.fault === 'status500' ? [500, 'InternalError'] : [503, 'SlowDown'];
      const xml = errorXml(code, 'injected by the test fault proxy');
      res.writeHead(status, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(xml) });
      res.end(xml);
      return;
    }
    if (rule?.fault === 'latency') await new Promise((r) => setTimeout(r, rule.delayMs ?? 500));
    await this.forward(req, Buffer.concat(chunks), res);
  }

  private forward(req: http.IncomingMessage, body: Buffer, res: http.ServerResponse): Promise<void> {
    const target = new URL(this.upstream);
    return new Promise((resolve) => {
      const up = http.request(
        { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers },
        (upRes) => {
          res.writeHead(upRes.statusCode ?? 502, upRes.headers);
          upRes.pipe(res);
          upRes.on('end', resolve);
          upRes.on('error', () => {
            res.destroy();
            resolve();
          });
        },
      );
      up.on('error', () => {
        res.destroy();
        resolve();
      });
      up.end(body);
    });
  }
}
