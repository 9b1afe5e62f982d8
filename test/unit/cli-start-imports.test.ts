/**
 * Starting the CLI (every command registered, `--help` included) loads no S3 code and no Bynder
 * client: the object store, the S3 client, and the Bynder HTTP client with its Secrets Manager
 * credentials are imported by the commands that use them, when they run.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';

const WATCHED = [
  '@aws-sdk/client-s3',
  '../../functions/ingest/object-store.js',
  '../../cli/rejected-keys.js',
  '../../shared/connectors/bynder/client/client.js',
  '../../shared/connectors/bynder/client/credentials.js',
] as const;

afterEach(() => {
  for (const module of WATCHED) vi.doUnmock(module);
  vi.resetModules();
});

describe('the CLI program', () => {
  it('imports neither the S3 client, the object store nor the Bynder HTTP client when it is built', async () => {
    const loaded: string[] = [];
    vi.resetModules();
    for (const module of WATCHED) {
      vi.doMock(module, async (importOriginal) => {
        loaded.push(module);
        return importOriginal();
      });
    }

    await import('../../cli/program.js');

    expect(loaded).toEqual([]);
  });
});
