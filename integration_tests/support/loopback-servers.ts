// Tiny servers on 127.0.0.1 for the conditions radosgw cannot produce: a web server that answers
// every request 200 with an HTML page (an s3_endpoint pointing at the wrong service), and a
// server that accepts connections and never answers (a store that hangs).

import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createTcpServer, type Server, type Socket } from 'node:net';

export interface LoopbackServer {
  /** http://127.0.0.1:<port> */
  endpoint: string;
  /** Requests (HTTP) or connections (TCP) received so far. */
  readonly received: number;
  /** Requests as "<METHOD> <path and query>", for the HTTP server. */
  readonly requests: string[];
  stop(): Promise<void>;
}

export const HTML_PAGE = '<!DOCTYPE html>\n<html><head><title>Welcome</title></head><body><h1>It works!</h1></body></html>\n';

async function listen(server: Server | ReturnType<typeof createHttpServer>): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port));
  });
}

/**
 * A web server that answers every request, whatever its method and path, 200 with an HTML page,
 * and (as a static file server would) an ETag: the adversarial case, since an ETag alone does not
 * tell it from S3.
 */
export async function startHtmlServer(): Promise<LoopbackServer> {
  const requests: string[] = [];
  const sockets = new Set<Socket>();
  const server = createHttpServer((req: IncomingMessage, res: ServerResponse) => {
    requests.push(`${req.method} ${req.url}`);
    req.resume();
    req.on('end', () => {
      res.writeHead(200, {
        'content-type': 'text/html; charset=utf-8',
        etag: '"5f1d-61a2b3c4d5e6f"',
        'content-length': Buffer.byteLength(HTML_PAGE),
      });
      res.end(HTML_PAGE);
    });
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  const port = await listen(server);
  return {
    endpoint: `http://127.0.0.1:${port}`,
    get received() {
      return requests.length;
    },
    requests,
    stop: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** A TCP server that accepts every connection, reads whatever comes, and never sends a byte. */
export async function startSilentServer(): Promise<LoopbackServer> {
  const sockets = new Set<Socket>();
  let connections = 0;
  const server = createTcpServer((s) => {
    connections++;
    sockets.add(s);
    s.on('data', () => undefined);
    s.on('error', () => undefined);
    s.on('close', () => sockets.delete(s));
  });
  const port = await listen(server);
  return {
    endpoint: `http://127.0.0.1:${port}`,
    get received() {
      return connections;
    },
    requests: [],
    stop: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
