/**
 * Version ids for the local S3 server. s3rver has no versioning, but the inbox bucket is
 * versioned in AWS and the ingest keys its ledger by (bucket, key, versionId): without ids, a
 * second upload under the same key would look like a redelivery of the first, and deleting
 * "the version we ingested" could delete a newer upload. So the local server gives every write
 * to a versioned bucket a fresh version id — in the response, the event and HeadObject — and
 * refuses requests for any other id of the key. Only the current version's bytes are kept:
 * reading an overwritten version answers 404 NoSuchVersion, as if it had been deleted.
 */
import { randomBytes } from 'node:crypto';

export class CurrentObjectVersions {
  private readonly versioned: ReadonlySet<string>;
  private readonly current = new Map<string, string>();

  constructor(versionedBuckets: Iterable<string> = []) {
    this.versioned = new Set(versionedBuckets);
  }

  isVersioned(bucket: string): boolean {
    return this.versioned.has(bucket);
  }

  /** The current version id of a key in a versioned bucket. */
  currentVersion(bucket: string, key: string): string | undefined {
    return this.current.get(entryKey(bucket, key));
  }

  /** Records a new write and returns its id; undefined for an unversioned bucket. */
  recordWrite(bucket: string, key: string): string | undefined {
    if (!this.isVersioned(bucket)) return undefined;
    // S3 version ids are 32 URL-safe characters.
    const versionId = randomBytes(24).toString('base64url');
    this.current.set(entryKey(bucket, key), versionId);
    return versionId;
  }

  recordDelete(bucket: string, key: string): void {
    this.current.delete(entryKey(bucket, key));
  }

  /**
   * Whether a request for `versionId` of the key may go on: always for an unversioned bucket
   * (s3rver ignores the parameter) or when no id is given; otherwise only for the current id.
   */
  allows(bucket: string, key: string, versionId: string | undefined): boolean {
    if (versionId === undefined || !this.isVersioned(bucket)) return true;
    return this.currentVersion(bucket, key) === versionId;
  }
}

function entryKey(bucket: string, key: string): string {
  return `${bucket}\u0000${key}`;
}
