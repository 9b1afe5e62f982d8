/**
 * A local S3-compatible server: s3rver on 127.0.0.1 and a free port, storing objects in a fresh
 * temporary directory that is removed on stop, with the S3rverCompatibility layer in front (see
 * s3rver-compat.ts for what it fixes). The client it returns is configured for it explicitly —
 * endpoint, region, path-style, static dummy credentials — so that nothing reaches AWS whatever
 * the environment holds.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, type S3Client } from '@aws-sdk/client-s3';
import S3rver from 's3rver';
import { createS3Client } from '../shared/aws/clients.js';
import { S3rverCompatibility } from './s3rver-compat.js';
import { LongKeySegmentNames, type FilesystemStoreInternals } from './s3rver-long-names.js';
import type { S3ObjectChange } from './s3-event-notification.js';

/** s3rver's fixed access key pair; it verifies signatures made with it. */
export const LOCAL_S3_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } as const;
export const LOCAL_REGION = 'us-east-1';

export interface LocalS3Options {
  buckets?: readonly string[];
  /** Buckets that get a version id per write, like the versioned inbox in AWS (s3-versions.ts). */
  versionedBuckets?: readonly string[];
  /** Port to listen on; 0 (default) picks a free one. */
  port?: number;
}

export interface LocalS3 {
  /** e.g. http://127.0.0.1:41234 */
  endpoint: string;
  client: S3Client;
  /** Where the objects are stored (removed by stop()). */
  directory: string;
  /** Object changes S3 would send notifications for. Returns the unsubscribe function. */
  onObjectChange(listener: (change: S3ObjectChange) => void): () => void;
  /** Creates a bucket through the S3 API. */
  createBucket(name: string): Promise<void>;
  stop(): Promise<void>;
}

/** A client for the local server; every setting explicit so that AWS is never contacted. */
export function createLocalS3Client(endpoint: string): S3Client {
  return createS3Client({
    endpoint,
    region: LOCAL_REGION,
    credentials: { ...LOCAL_S3_CREDENTIALS },
    forcePathStyle: true,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    maxAttempts: 1,
  });
}

export async function startLocalS3(options: LocalS3Options = {}): Promise<LocalS3> {
  const directory = await mkdtemp(join(tmpdir(), 'local-s3-'));
  const server = new S3rver({ address: '127.0.0.1', port: options.port ?? 0, silent: true, directory });
  // s3rver's store is its FilesystemStore; keys with segments longer than a file name may have
  // are stored under hashed names instead of crashing the process (s3rver-long-names.ts).
  new LongKeySegmentNames().install(server.store as unknown as FilesystemStoreInternals);
  const compatibility = new S3rverCompatibility(server.store, { versionedBuckets: options.versionedBuckets ?? [] });
  // First in the chain: it wraps s3rver's own middleware (composed when the server starts).
  server.middleware.unshift(compatibility.middleware as (typeof server.middleware)[number]);
  server.on('event', (event) => compatibility.observe(event));

  let address;
  try {
    address = await server.run();
  } catch (err) {
    await rm(directory, { recursive: true, force: true });
    throw new Error(`the local S3 server (s3rver) could not start on 127.0.0.1: ${(err as Error).message}`, { cause: err });
  }
  const endpoint = `http://127.0.0.1:${address.port}`;
  const client = createLocalS3Client(endpoint);

  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    client.destroy();
    try {
      await server.close();
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  };

  const createBucket = async (name: string): Promise<void> => {
    await client.send(new CreateBucketCommand({ Bucket: name }));
  };

  try {
    for (const bucket of options.buckets ?? []) await createBucket(bucket);
  } catch (err) {
    await stop();
    throw err;
  }

  return {
    endpoint,
    client,
    directory,
    onObjectChange: (listener) => compatibility.onObjectChange(listener),
    createBucket,
    stop,
  };
}
