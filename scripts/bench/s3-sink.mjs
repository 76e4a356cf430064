// A local stand-in for S3 that discards what it receives: enough of the S3 REST API for the
// connector's writes (PutObject, CreateMultipartUpload, UploadPart, CompleteMultipartUpload,
// AbortMultipartUpload). It answers at once, so the connector measured against it shows the
// cost of reading and converting alone. It checks no signature and keeps nothing but counts.

import { createServer } from 'node:http';

const xml = (body) => `<?xml version="1.0" encoding="UTF-8"?>\n${body}`;

export function startSink() {
  const stats = { requests: 0, bytes: 0, objects: 0, manifests: 0 };
  let nextUpload = 1;
  const server = createServer((req, res) => {
    stats.requests++;
    const url = new URL(req.url ?? '/', 'http://sink');
    const [, bucket = '', ...rest] = url.pathname.split('/');
    const key = decodeURIComponent(rest.join('/'));
    req.on('data', (chunk) => {
      stats.bytes += chunk.length;
    });
    req.on('end', () => {
      const q = url.searchParams;
      if (req.method === 'POST' && q.has('uploads')) {
        res.writeHead(200, { 'content-type': 'application/xml' });
        res.end(
          xml(
            `<InitiateMultipartUploadResult><Bucket>${bucket}</Bucket><Key>${key}</Key><UploadId>u${nextUpload++}</UploadId></InitiateMultipartUploadResult>`,
          ),
        );
      } else if (req.method === 'POST' && q.has('uploadId')) {
        stats.objects++;
        res.writeHead(200, { 'content-type': 'application/xml' });
        res.end(xml(`<CompleteMultipartUploadResult><Bucket>${bucket}</Bucket><Key>${key}</Key><ETag>"0-1"</ETag></CompleteMultipartUploadResult>`));
      } else if (req.method === 'PUT') {
        if (!q.has('uploadId')) {
          if (key.startsWith('_manifests/') || key.includes('/_manifests/')) stats.manifests++;
          else stats.objects++;
        }
        res.writeHead(200, { etag: '"0"' });
        res.end();
      } else if (req.method === 'DELETE') {
        res.writeHead(204);
        res.end();
      } else {
        res.writeHead(200, { 'content-type': 'application/xml' });
        res.end(xml('<ListBucketResult><IsTruncated>false</IsTruncated></ListBucketResult>'));
      }
    });
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      resolve({
        endpoint: `http://127.0.0.1:${port}`,
        stats,
        reset() {
          Object.assign(stats, { requests: 0, bytes: 0, objects: 0, manifests: 0 });
        },
        close: () => new Promise((r) => server.close(() => r())),
      });
    });
  });
}
