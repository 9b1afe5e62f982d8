/**
 * Reads and writes manifest objects in the archive bucket. Everything here stays under
 * `manifests/`, the only prefix the planner may write to (and list and read, to assemble a
 * run's manifest).
 */
import { randomBytes } from 'node:crypto';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import pLimit from 'p-limit';
import {
  manifestKeyFor,
  manifestPartKeyFor,
  manifestPartsPrefixFor,
  parsePartLines,
  toJsonLines,
  type PartLine,
  type PartLineInput,
} from './manifest.js';

export interface ManifestRun {
  runId: string;
  startedAt: string;
}

export class ManifestStore {
  constructor(
    private readonly s3: S3Client,
    readonly bucket: string,
    private readonly unique: () => string = () => randomBytes(4).toString('hex'),
  ) {}

  /** Writes one part (a no-op for no lines); returns its key. */
  async writePart(run: ManifestRun, writer: 'planner' | 'worker', lines: readonly PartLineInput[], at: Date): Promise<string | undefined> {
    if (lines.length === 0) return undefined;
    const key = manifestPartKeyFor(run.runId, run.startedAt, writer, at, this.unique());
    await this.s3.send(
      new PutObjectCommand({
        Bucket: this.bucket,
        Key: key,
        Body: toJsonLines(lines),
        ContentType: 'application/x-ndjson',
      }),
    );
    return key;
  }

  /** Every line of every part of a run, in part order. */
  async readParts(run: ManifestRun): Promise<{ lines: PartLine[]; unreadable: number; parts: number }> {
    const prefix = manifestPartsPrefixFor(run.runId, run.startedAt);
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const page = await this.s3.send(
        new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ...(token ? { ContinuationToken: token } : {}) }),
      );
      for (const object of page.Contents ?? []) if (object.Key) keys.push(object.Key);
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    keys.sort();
    const limit = pLimit(8);
    const texts = await Promise.all(
      keys.map((key) =>
        limit(async () => {
          const object = await this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
          return object.Body ? object.Body.transformToString('utf-8') : '';
        }),
      ),
    );
    const lines: PartLine[] = [];
    let unreadable = 0;
    for (const text of texts) {
      const parsed = parsePartLines(text);
      lines.push(...parsed.lines);
      unreadable += parsed.unreadable;
    }
    return { lines, unreadable, parts: keys.length };
  }

  async writeManifest(run: ManifestRun, lines: readonly object[]): Promise<string> {
    const key = manifestKeyFor(run.runId, run.startedAt);
    await this.s3.send(
      new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: toJsonLines(lines), ContentType: 'application/x-ndjson' }),
    );
    return key;
  }
}
