/**
 * s3rver stores each object as files named after its key: every `/`-separated segment becomes a
 * directory, and the last one a file name with a suffix (`<segment>._S3rver_metadata.json`).
 * File systems allow 255 bytes per name, S3 allows a segment of up to 1,024 bytes, so a key with
 * a long segment made s3rver's write stream fail with ENAMETOOLONG outside any handler, and that
 * killed the whole local stack. Real S3 accepts such keys, so the local S3 stores them too:
 *
 * - a segment longer than `MAX_STORED_SEGMENT_BYTES` is stored under a shorter name, its
 *   beginning then `~` and its SHA-256 (`storedNameOf`), the same name for the same segment;
 * - every path s3rver builds goes through that mapping (its `getResourcePath`), so put, head,
 *   get, copy, tagging, multipart and delete reach the same files;
 * - listing reads the stored names back into the keys clients wrote (`ListObjects`/`V2`), in
 *   S3's order (UTF-8 bytes), and deleting cleans up the mapped directories.
 *
 * The stored names are remembered in memory: the local S3 keeps its objects in a temporary
 * directory of its own process. POSIX file names only (s3rver's Windows escaping is not applied
 * to mapped segments).
 */
import { createHash } from 'node:crypto';
import { readdir, rmdir, unlink } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';

/** The longest file name most file systems allow (ext4, APFS, tmpfs...). */
const MAX_FILE_NAME_BYTES = 255;
/** s3rver's file-name suffix: `<segment>._S3rver_<resource>`. */
const SUFFIX_MARK = '._S3rver_';
/** The longest suffix s3rver appends (`._S3rver_metadata.json` is 22 bytes), with room to spare. */
const SUFFIX_ROOM_BYTES = 32;
/** Segments up to this many bytes are stored as they are; longer ones under a hashed name. */
export const MAX_STORED_SEGMENT_BYTES = MAX_FILE_NAME_BYTES - SUFFIX_ROOM_BYTES;
/** How much of a long segment its stored name keeps, so that a person browsing the directory recognises it. */
const READABLE_START_BYTES = 120;
const OBJECT_SUFFIX = `${SUFFIX_MARK}object`;
const UPLOADS_DIRECTORY = `${SUFFIX_MARK}uploads`;

/** The members of s3rver's FilesystemStore this module replaces or calls (s3rver ships no types). */
export interface FilesystemStoreInternals {
  rootDirectory: string;
  getResourcePath(bucket: string, key?: string, resource?: string): string;
  getMetadata(bucket: string, key: string): Promise<Record<string, unknown>>;
  listObjects(bucket: string, options: ListObjectsOptions): Promise<ListObjectsResult>;
  deleteObject(bucket: string, key: string): Promise<void>;
}

export interface ListObjectsOptions {
  delimiter?: string;
  startAfter?: string;
  prefix?: string;
  maxKeys?: number;
}

export interface ListObjectsResult {
  objects: unknown[];
  commonPrefixes: string[];
  isTruncated: boolean;
}

type S3ObjectConstructor = new (bucket: string, key: string, content: null, metadata: Record<string, unknown>) => unknown;

const require = createRequire(import.meta.url);
/** s3rver's own object model, which its list controller reads (`key`, `size`, metadata). */
const S3Object = require('s3rver/lib/models/object.js') as S3ObjectConstructor;

export class LongKeySegmentNames {
  /** Stored name -> the segment it stands for. */
  private readonly segments = new Map<string, string>();

  /** The file or directory name a key segment is stored under. */
  storedNameOf(segment: string): string {
    if (Buffer.byteLength(segment, 'utf8') <= MAX_STORED_SEGMENT_BYTES) return segment;
    const stored = `${startOfUtf8(segment, READABLE_START_BYTES)}~${createHash('sha256').update(segment, 'utf8').digest('hex')}`;
    this.segments.set(stored, segment);
    return stored;
  }

  /** The key segment a stored name stands for. */
  segmentOf(storedName: string): string {
    return this.segments.get(storedName) ?? storedName;
  }

  /** Routes s3rver's file paths, listing and deletes through the mapping. */
  install(store: FilesystemStoreInternals): void {
    store.getResourcePath = (bucket: string, key = '', resource = ''): string => {
      const parts = key.split('/').map((segment) => this.storedNameOf(segment));
      const last = parts.pop() ?? '';
      return join(store.rootDirectory, bucket, ...parts, `${last}${SUFFIX_MARK}${resource}`);
    };
    store.listObjects = (bucket, options) => this.listObjects(store, bucket, options);
    store.deleteObject = (bucket, key) => this.deleteObject(store, bucket, key);
  }

  /** s3rver's listing semantics (prefix, delimiter, start-after, max-keys) over the keys as written. */
  private async listObjects(store: FilesystemStoreInternals, bucket: string, options: ListObjectsOptions): Promise<ListObjectsResult> {
    const { delimiter = '', startAfter = '', prefix = '', maxKeys = Infinity } = options;
    const keys: string[] = [];
    await this.collectKeys(join(store.rootDirectory, bucket), '', prefix, keys);
    keys.sort(compareUtf8);

    const commonPrefixes = new Set<string>();
    const selected: string[] = [];
    let isTruncated = false;
    for (const key of keys) {
      if (compareUtf8(key, startAfter) <= 0) continue;
      if (delimiter) {
        const at = key.slice(prefix.length).indexOf(delimiter);
        if (at !== -1) {
          commonPrefixes.add(key.slice(0, prefix.length + at + delimiter.length));
          continue;
        }
      }
      if (selected.length >= maxKeys) {
        isTruncated = true;
        break;
      }
      selected.push(key);
    }

    const objects: unknown[] = [];
    for (const key of selected) {
      try {
        objects.push(new S3Object(bucket, key, null, await store.getMetadata(bucket, key)));
      } catch (err) {
        // Deleted between the directory read and now: no longer listed, as in s3rver.
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
    }
    return { objects, commonPrefixes: [...commonPrefixes].sort(compareUtf8), isTruncated };
  }

  /** Walks the bucket's directory, entering only directories that can hold keys under `prefix`. */
  private async collectKeys(directory: string, keyPrefix: string, prefix: string, keys: string[]): Promise<void> {
    let entries;
    try {
      entries = await readdir(directory, { withFileTypes: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    for (const entry of entries) {
      if (entry.isDirectory()) {
        if (keyPrefix === '' && entry.name === UPLOADS_DIRECTORY) continue;
        const childPrefix = `${keyPrefix}${this.segmentOf(entry.name)}/`;
        if (childPrefix.startsWith(prefix) || prefix.startsWith(childPrefix)) {
          await this.collectKeys(join(directory, entry.name), childPrefix, prefix, keys);
        }
      } else if (entry.name.endsWith(OBJECT_SUFFIX)) {
        const key = `${keyPrefix}${this.segmentOf(entry.name.slice(0, -OBJECT_SUFFIX.length))}`;
        if (key.startsWith(prefix)) keys.push(key);
      }
    }
  }

  /** s3rver's delete (the object's three files, then directories left empty), on the stored names. */
  private async deleteObject(store: FilesystemStoreInternals, bucket: string, key: string): Promise<void> {
    for (const resource of ['object', 'object.md5', 'metadata.json']) {
      try {
        await unlink(store.getResourcePath(bucket, key, resource));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
    }
    const directories = key.split('/').map((segment) => this.storedNameOf(segment));
    directories.pop();
    const bucketPath = join(store.rootDirectory, bucket);
    while (directories.length > 0) {
      const directory = join(bucketPath, ...directories);
      try {
        if ((await readdir(directory)).length > 0) return;
        await rmdir(directory);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        // Gone already, or filled again by a concurrent write: nothing to clean up here.
        if (code !== 'ENOENT' && code !== 'ENOTEMPTY') throw err;
        if (code === 'ENOTEMPTY') return;
      }
      directories.pop();
    }
  }
}

/** S3 lists keys in the order of their UTF-8 bytes. */
function compareUtf8(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/** The longest start of `text` of at most `maxBytes` UTF-8 bytes, never splitting a character. */
function startOfUtf8(text: string, maxBytes: number): string {
  let bytes = 0;
  let end = 0;
  for (const char of text) {
    const size = Buffer.byteLength(char, 'utf8');
    if (bytes + size > maxBytes) break;
    bytes += size;
    end += char.length;
  }
  return text.slice(0, end);
}
