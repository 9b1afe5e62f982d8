import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { operationOf, startAwsCallCounter, type AwsCallCounter } from '../../bench/aws-call-counter.js';

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (closers.length > 0) await closers.pop()?.();
});

/** An upstream on 127.0.0.1 that answers with what it received (method, path, host header, body). */
async function echoServer(): Promise<string> {
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ method: req.method, url: req.url, host: req.headers.host, body: Buffer.concat(chunks).toString('utf8') }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closers.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function send(
  counter: AwsCallCounter,
  method: string,
  path: string,
  headers: Record<string, string> = {},
  body?: string,
): Promise<Record<string, string>> {
  const response = await fetch(`${counter.endpoint}${path}`, { method, headers, ...(body !== undefined ? { body } : {}) });
  return (await response.json()) as Record<string, string>;
}

describe('operationOf', () => {
  it('names DynamoDB operations by x-amz-target and S3 ones by method, query and copy header', () => {
    expect(operationOf({ method: 'POST', url: '/', headers: { 'x-amz-target': 'DynamoDB_20120810.UpdateItem' } })).toBe('UpdateItem');
    expect(operationOf({ method: 'GET', url: '/b/k?tagging&versionId=v1', headers: {} })).toBe('GetObjectTagging');
    expect(operationOf({ method: 'PUT', url: '/b/k?tagging', headers: {} })).toBe('PutObjectTagging');
    expect(operationOf({ method: 'HEAD', url: '/b/k?versionId=v1', headers: {} })).toBe('HeadObject');
    expect(operationOf({ method: 'GET', url: '/b/k?versionId=v1', headers: {} })).toBe('GetObject');
    expect(operationOf({ method: 'DELETE', url: '/b/k?versionId=v1', headers: {} })).toBe('DeleteObject');
    expect(operationOf({ method: 'PUT', url: '/b/rejected/k', headers: { 'x-amz-copy-source': 'b/k' } })).toBe('CopyObject');
    expect(operationOf({ method: 'PUT', url: '/b/k.error.json', headers: {} })).toBe('PutObject');
  });
});

describe('startAwsCallCounter', () => {
  it('forwards each request unchanged, its Host header and body included, and counts it by operation', async () => {
    const upstream = await echoServer();
    const counter = await startAwsCallCounter(upstream);
    closers.push(() => counter.stop());

    const answer = await send(counter, 'POST', '/', { 'x-amz-target': 'DynamoDB_20120810.GetItem' }, '{"Key":{}}');
    expect(answer).toEqual({ method: 'POST', url: '/', host: new URL(counter.endpoint).host, body: '{"Key":{}}' });
    await send(counter, 'GET', '/inbox/a.pdf?tagging');
    await send(counter, 'GET', '/inbox/b.pdf?tagging');
    expect(counter.counts()).toEqual({ GetItem: 1, GetObjectTagging: 2 });
    expect(counter.total()).toBe(3);

    counter.reset();
    expect(counter.total()).toBe(0);
  });
});
