// A small fault-injecting HTTP proxy between the connector and radosgw, on loopback. It forwards
// requests unchanged (the Host header too, so SigV4 signatures still verify) and, by rule,
// answers an S3 or STS operation with 500 InternalError or 503 SlowDown, resets the connection in
// the middle of the request body, adds latency, or lets the store do the request and then drops
// its answer (the client retries a request that already took effect) — at a given rate, on the
// Nth matching request, or on every Nth.
//
// It can also shorten STS sessions (short-lived credentials): AssumeRole answers get an
// Expiration computed from a clock the test controls, and S3 requests signed with a session
// past that expiration are answered 400 ExpiredToken, as AWS does. FAULT_PROXY_TRACE=1 prints
// every request with the fault it met.

import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { seededRandom } from '../../scripts/lib/seeded-random.mjs';
import { rememberSecret } from './secrets.js';

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

/**
 * status500 / slowdown503: answered by the proxy, the store never sees the request.
 * reset: half the request body is forwarded to the store, then both connections are destroyed
 * (a request without a body is reset at once; one without a Content-Length is cut in the middle
 * of its first chunk).
 * latency: forwarded after a delay.
 * dropResponse: forwarded and done by the store, then the connection is destroyed before the
 * answer reaches the client, which retries a request that already took effect.
 * denied403: answered 403 AccessDenied (after delayMs, if given): not retried, a config_error.
 */
export type Fault = 'status500' | 'slowdown503' | 'reset' | 'latency' | 'dropResponse' | 'denied403';

/** The transient faults (the SDK retries them). */
export const ALL_FAULTS: readonly Fault[] = ['status500', 'slowdown503', 'reset', 'latency', 'dropResponse'];

/** The transient faults that fail a request (latency only delays it). */
export const FAILING_FAULTS: readonly Fault[] = ['status500', 'slowdown503', 'reset', 'dropResponse'];

export interface FaultRule {
  operation: S3Operation | '*';
  /** One fault, or several: each hit picks one at random (seeded), or in turn for an `every` rule. */
  fault: Fault | readonly Fault[];
  /** Probability per matching request (0..1), drawn from the seeded generator. */
  rate?: number;
  /** Fault only the Nth matching request (1-based), or each of several. */
  nth?: number | readonly number[];
  /**
   * Fault every Nth matching request (the Nth, 2Nth, …), the faults of the list in turn: an exact
   * share of each kind, whatever the timing.
   */
  every?: number;
  /** Only requests whose path (URL-decoded, with the bucket) matches. */
  path?: RegExp;
  /** For latency (and denied403): milliseconds added, or a [min, max] range drawn at random. */
  delayMs?: number | readonly [number, number];
}

export interface ProxyStats {
  requests: Record<string, number>;
  /** `<operation>:<fault>` → how many times it was injected. */
  faults: Record<string, number>;
}

export interface ShortSessions {
  /** Lifetime given to every AssumeRole session, by `now`. */
  lifetimeMs: number;
  /** The clock expirations are computed and enforced with (ms since epoch). */
  now(): number;
  /** Answer S3 requests signed with an expired session with 400 ExpiredToken (default true). */
  enforce?: boolean;
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

/** Mulberry32 (scripts/lib/seeded-random.mjs): seeded, so a failing run can be replayed. */
export const seeded: (seed: number) => () => number = seededRandom;

const errorXml = (code: string, message: string) =>
  `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>${message}</Message><RequestId>fault-proxy</RequestId></Error>`;

/** The access key id a SigV4 request is signed with. */
function accessKeyOf(req: http.IncomingMessage): string | undefined {
  return /Credential=([^/,\s]+)\//.exec(req.headers.authorization ?? '')?.[1];
}

const xmlField = (xml: string, name: string): string | undefined => new RegExp(`<${name}>([^<]*)</${name}>`).exec(xml)?.[1];

export class FaultProxy {
  private server: http.Server | undefined;
  private readonly random: () => number;
  private readonly counts = new Map<FaultRule, number>();
  readonly stats: ProxyStats = { requests: {}, faults: {} };
  rules: FaultRule[] = [];
  /** Called for every request before any rule (e.g. to advance a test clock). */
  onRequest: ((op: S3Operation, req: http.IncomingMessage) => void) | undefined;
  /** Shortens STS sessions; see ShortSessions. */
  sessions: ShortSessions | undefined;
  /** Access key id → expiration (by `sessions.now`) of every session issued through the proxy. */
  readonly issued = new Map<string, number>();
  /** S3 requests answered ExpiredToken. */
  expiredRequests = 0;
  /** Access key id → S3 requests signed with it. */
  readonly requestsByKey = new Map<string, number>();

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

  /** Faults injected in all. */
  get faultCount(): number {
    return Object.values(this.stats.faults).reduce((a, b) => a + b, 0);
  }

  /** Requests seen in all. */
  get requestCount(): number {
    return Object.values(this.stats.requests).reduce((a, b) => a + b, 0);
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

  private pick(op: S3Operation, path: string): { rule: FaultRule; fault: Fault } | undefined {
    // Every matching rule counts the request (so "the Nth request" means the same for all
    // rules); the first rule that fires wins.
    const matching = this.rules.filter((rule) => (rule.operation === '*' || rule.operation === op) && (!rule.path || rule.path.test(path)));
    const counted = matching.map((rule) => {
      const n = (this.counts.get(rule) ?? 0) + 1;
      this.counts.set(rule, n);
      return { rule, n };
    });
    for (const { rule, n } of counted) {
      const fires =
        rule.nth !== undefined
          ? (typeof rule.nth === 'number' ? [rule.nth] : rule.nth).includes(n)
          : rule.every !== undefined
            ? n % rule.every === 0
            : this.random() < (rule.rate ?? 0);
      if (fires) {
        const faults = typeof rule.fault === 'string' ? [rule.fault] : rule.fault;
        const at = rule.every !== undefined ? (n / rule.every - 1) % faults.length : Math.floor(this.random() * faults.length);
        return { rule, fault: faults[at]! };
      }
    }
    return undefined;
  }

  private delayOf(rule: FaultRule): number {
    const d = rule.delayMs ?? 500;
    return typeof d === 'number' ? d : d[0] + Math.floor(this.random() * (d[1] - d[0]));
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const op = operationOf(req.method ?? 'GET', req.url ?? '/');
    this.onRequest?.(op, req);
    this.stats.requests[op] = (this.stats.requests[op] ?? 0) + 1;
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    const picked = this.pick(op, path);
    if (process.env.FAULT_PROXY_TRACE) console.info(`[fault-proxy] ${new Date().toISOString()} ${op} ${path} ${picked?.fault ?? ''}`);
    if (picked) this.stats.faults[`${op}:${picked.fault}`] = (this.stats.faults[`${op}:${picked.fault}`] ?? 0) + 1;
    const fault = picked?.fault;
    if (fault === 'reset') return this.resetMidBody(req);
    const chunks: Buffer[] = [];
    try {
      for await (const c of req) chunks.push(c as Buffer);
    } catch {
      return;
    }
    if (fault === 'status500' || fault === 'slowdown503') {
      const [status, code] = fault === 'status500' ? [500, 'InternalError'] : [503, 'SlowDown'];
      return this.answer(res, status, code);
    }
    if (fault === 'denied403') {
      if (picked!.rule.delayMs !== undefined) await new Promise((r) => setTimeout(r, this.delayOf(picked!.rule)));
      return this.answer(res, 403, 'AccessDenied', 'Access Denied');
    }
    if (fault === 'latency') await new Promise((r) => setTimeout(r, this.delayOf(picked!.rule)));
    const keyId = accessKeyOf(req);
    if (keyId && op !== 'AssumeRole') this.requestsByKey.set(keyId, (this.requestsByKey.get(keyId) ?? 0) + 1);
    if (this.sessions && op !== 'AssumeRole' && (this.sessions.enforce ?? true)) {
      const expiresAt = this.issued.get(keyId ?? '');
      if (expiresAt !== undefined && this.sessions.now() >= expiresAt) {
        this.expiredRequests++;
        return this.answer(res, 400, 'ExpiredToken', 'The provided token has expired.');
      }
    }
    await this.forward(req, Buffer.concat(chunks), res, { drop: fault === 'dropResponse', assumeRole: op === 'AssumeRole' });
  }

  /**
   * Forwards the first half of the body to the store, then destroys both connections: the client
   * sees a reset in the middle of its request whatever the body's size (a small body arrives in
   * one chunk), and the store a request cut short. Without a Content-Length (chunked) the end is
   * unknown: the cut comes in the middle of the first chunk. No body: reset at once.
   */
  private resetMidBody(req: http.IncomingMessage): void {
    const declared = req.headers['content-length'];
    const chunked = declared === undefined && /chunked/i.test(String(req.headers['transfer-encoding'] ?? ''));
    const length = declared === undefined ? undefined : Number(declared);
    if (!chunked && !length) return void req.socket.destroy();
    const target = new URL(this.upstream);
    const up = http.request({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers });
    up.on('error', () => undefined);
    const kill = (): void => {
      req.socket.destroy();
      up.destroy();
    };
    const half = length === undefined ? undefined : Math.floor(length / 2);
    let sent = 0;
    let cut = false;
    req.on('data', (c: Buffer) => {
      if (cut) return;
      const room = half === undefined ? Math.floor(c.length / 2) : half - sent;
      const piece = c.subarray(0, Math.max(0, room));
      sent += piece.length;
      if (half !== undefined && sent < half) return void up.write(piece);
      cut = true;
      // the piece must reach the store before the cut
      if (piece.length > 0) up.write(piece, kill);
      else kill();
    });
    req.on('end', () => {
      if (!cut) kill();
    });
  }

  private answer(res: http.ServerResponse, status: number, code: string, message = 'injected by the test fault proxy'): void {
    const xml = errorXml(code, message);
    res.writeHead(status, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(xml) });
    res.end(xml);
  }

  /** Rewrites an AssumeRole answer's Expiration by the test clock and remembers the session. */
  private shortenSession(xml: string): string {
    const sessions = this.sessions!;
    const keyId = xmlField(xml, 'AccessKeyId');
    if (!keyId || !xml.includes('<Expiration>')) return xml;
    const expiresAt = sessions.now() + sessions.lifetimeMs;
    this.issued.set(keyId, expiresAt);
    return xml.replace(/<Expiration>[^<]*<\/Expiration>/, `<Expiration>${new Date(expiresAt).toISOString()}</Expiration>`);
  }

  private forward(req: http.IncomingMessage, body: Buffer, res: http.ServerResponse, how: { drop: boolean; assumeRole: boolean }): Promise<void> {
    const target = new URL(this.upstream);
    return new Promise((resolve) => {
      const up = http.request({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers }, (upRes) => {
        if (how.drop) {
          // The store has done the request; the client never hears of it.
          upRes.resume();
          upRes.on('end', () => {
            res.socket?.destroy();
            resolve();
          });
          return;
        }
        if (!how.assumeRole) {
          res.writeHead(upRes.statusCode ?? 502, upRes.headers);
          upRes.pipe(res);
          upRes.on('end', resolve);
        } else {
          // STS answers are buffered: the credentials they carry are secrets every output is
          // scanned for, and with short sessions their expiration is rewritten.
          const parts: Buffer[] = [];
          upRes.on('data', (c: Buffer) => parts.push(c));
          upRes.on('end', () => {
            let text = Buffer.concat(parts).toString('utf8');
            for (const field of ['SecretAccessKey', 'SessionToken']) rememberSecret(xmlField(text, field));
            if (this.sessions) text = this.shortenSession(text);
            const headers = { ...upRes.headers, 'content-length': String(Buffer.byteLength(text)) };
            delete headers['transfer-encoding'];
            res.writeHead(upRes.statusCode ?? 502, headers);
            res.end(text);
            resolve();
          });
        }
        upRes.on('error', () => {
          res.destroy();
          resolve();
        });
      });
      up.on('error', () => {
        res.destroy();
        resolve();
      });
      up.end(body);
    });
  }
}
