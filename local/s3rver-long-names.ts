/**
 * s3rver stores each object as files named after its key: every `/`-separated segment becomes a
 * directory, and the last one a file name with a suffix (`<segment>._S3rver_metadata.json`).
 * File systems allow 255 bytes per name, S3 allows a segment of up to 1,024 bytes, so a key with
 * a long segment made s3rver's write stream fail with ENAMETOOLONG outside any handler, and that
 * killed the whole local stack. Real S3 accepts such keys, so the local S3 stores them too:
 *
 * - a segment longer than `MAX_STORED_SEGMENT_BYTES` is stored under a shorter name, its
 *   beginning then `~` and its SHA-256 (`storedNameOf`), the same name for the same segment;
 *   so are `.`, `..`, an empty segment between slashes and one holding s3rver's suffix mark,
 *   which would otherwise escape the bucket's directory or collide with another key's files;
 * - a failed write of an object's file fails its request instead of the process;
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
import { createWriteStream } from 'node:fs';
import { mkdir, readdir, rmdir, unlink, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { truncateUtf8 } from '../shared/s3/utf8.js';

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
  putObject(object: S3rverObjectToStore): Promise<{ size: number; md5: string }>;
  putMetadata(bucket: string, key: string, metadata: Record<string, unknown>, md5?: string): Promise<void>;
}

/** The object s3rver's controllers hand to the store: a buffer or the request's body stream. */
export interface S3rverObjectToStore {
  bucket: string;
  key: string;
  content: Buffer | Readable;
  metadata: Record<string, unknown>;
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

  /**
   * The file or directory name a key segment is stored under: itself, unless the file system
   * or s3rver's naming would not keep it apart from other keys — too long for a file name,
   * `.` or `..` (a path would climb out of the bucket), empty between two slashes (a path
   * would merge `a//b` into `a/b`), or holding s3rver's own suffix mark (a directory `x._S3rver_object`
   * would stand where the key `x`'s file goes, and writing it failed outside any handler).
   */
  storedNameOf(segment: string, position: 'directory' | 'last' = 'directory'): string {
    const needsOwnName =
      Buffer.byteLength(segment, 'utf8') > MAX_STORED_SEGMENT_BYTES ||
      segment === '.' ||
      segment === '..' ||
      (segment === '' && position === 'directory') ||
      segment.includes(SUFFIX_MARK);
    if (!needsOwnName) return segment;
    const readable = truncateUtf8(segment.split(SUFFIX_MARK).join('_'), READABLE_START_BYTES).replace(/^\.{1,2}$/, '');
    const stored = `${readable}~${createHash('sha256').update(segment, 'utf8').digest('hex')}`;
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
      const segments = key.split('/');
      const last = this.storedNameOf(segments.pop() ?? '', 'last');
      const directories = segments.map((segment) => this.storedNameOf(segment));
      return join(store.rootDirectory, bucket, ...directories, `${last}${SUFFIX_MARK}${resource}`);
    };
    store.putObject = (object) => this.putObject(store, object);
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

  /**
   * s3rver's putObject, with the write's failure handled: s3rver pipes the body into a file
   * stream that has no error listener, so any file-system error there ended the process.
   * Now it fails the request (500) and the server goes on.
   */
  private async putObject(store: FilesystemStoreInternals, object: S3rverObjectToStore): Promise<{ size: number; md5: string }> {
    const objectPath = store.getResourcePath(object.bucket, object.key, 'object');
    await mkdir(dirname(objectPath), { recursive: true });
    const md5 = createHash('md5');
    let size = 0;
    if (Buffer.isBuffer(object.content)) {
      md5.update(object.content);
      size = object.content.length;
      await writeFile(objectPath, object.content);
    } else {
      await pipeline(
        object.content,
        new Transform({
          transform(chunk: Buffer, _encoding, callback) {
            md5.update(chunk);
            size += chunk.length;
            callback(null, chunk);
          },
        }),
        createWriteStream(objectPath),
      );
    }
    const digest = md5.digest('hex');
    await store.putMetadata(object.bucket, object.key, object.metadata, digest);
    return { size, md5: digest };
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
    const directories = key.split('/');
    directories.pop();
    for (let i = 0; i < directories.length; i += 1) directories[i] = this.storedNameOf(directories[i] ?? '');
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
