/**
 * Uploads in progress, for both flows. File-service uploads are keyed by `file_id` and hold
 * their chunks by number (from 0; re-sending a number replaces it). Legacy uploads are keyed
 * by `uploadid` and by `s3_filename` (the bucket POST knows only the key), and hold the parts
 * the bucket received (from 1) and the part numbers registered with the API.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { StoredFile } from './chunk-files.js';

export interface FileServiceUpload {
  fileId: string;
  dir: string;
  chunks: Map<number, StoredFile>;
  /** Set once finalised: the import id (the file id itself). */
  finalised: boolean;
}

export interface LegacyUpload {
  uploadId: string;
  targetId: string;
  /** The key prefix parts go under: `<s3_filename>/p<n>`. */
  s3Filename: string;
  /** The name given to init (path separators already folded, as Bynder does). */
  initFileName: string;
  policy: string;
  dir: string;
  parts: Map<number, StoredFile>;
  registered: Set<number>;
  importId: string | undefined;
}

export class UploadSessions {
  private readonly fileService = new Map<string, FileServiceUpload>();
  private readonly legacyById = new Map<string, LegacyUpload>();
  private readonly legacyByKey = new Map<string, LegacyUpload>();

  constructor(private readonly dataDir: string) {}

  async startFileService(fileId: string): Promise<FileServiceUpload> {
    const dir = join(this.dataDir, 'fs', fileId);
    await mkdir(dir, { recursive: true });
    const upload: FileServiceUpload = { fileId, dir, chunks: new Map(), finalised: false };
    this.fileService.set(fileId, upload);
    return upload;
  }

  fileServiceUpload(fileId: string): FileServiceUpload | undefined {
    return this.fileService.get(fileId) ?? this.fileService.get(fileId.toLowerCase());
  }

  async startLegacy(input: Omit<LegacyUpload, 'dir' | 'parts' | 'registered' | 'importId'>): Promise<LegacyUpload> {
    const dir = join(this.dataDir, 'legacy', input.uploadId);
    await mkdir(dir, { recursive: true });
    const upload: LegacyUpload = { ...input, dir, parts: new Map(), registered: new Set(), importId: undefined };
    this.legacyById.set(upload.uploadId, upload);
    this.legacyByKey.set(upload.s3Filename, upload);
    return upload;
  }

  legacyUpload(uploadId: string): LegacyUpload | undefined {
    return this.legacyById.get(uploadId);
  }

  /** The upload a bucket key `<s3_filename>/p<n>` belongs to, and n. */
  legacyPartOf(key: string): { upload: LegacyUpload; part: number } | undefined {
    const m = /^(.+)\/p(\d+)$/.exec(key);
    if (!m) return undefined;
    const upload = this.legacyByKey.get(m[1] as string);
    return upload ? { upload, part: Number(m[2]) } : undefined;
  }

  get counts(): { fileService: number; legacy: number } {
    return { fileService: this.fileService.size, legacy: this.legacyById.size };
  }
}
