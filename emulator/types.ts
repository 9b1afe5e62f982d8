/**
 * Types of the iBinder API emulator: its options, its handle, the records it keeps, and the
 * seed-data format. Records are the emulator's own model; the wire shapes (reference pages)
 * are produced from them in `api-handlers.ts`.
 */
import type { BlobSource, FileBlob } from './blobs.js';
import type { CallCounter } from './call-counter.js';
import type { FaultController } from './fault-controller.js';
import type { EmulatorState } from './state.js';

export interface EmulatorOptions {
  /** Default 0: a free port. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /**
   * Origin written into presigned URLs, when clients reach the emulator by another name than
   * `http://host:port` (a container, a tunnel). Default: the listening address.
   */
  publicUrl?: string;
  /** `default`: two construction binders with folders and documents; `empty`: nothing. */
  seed?: 'default' | 'empty' | SeedData;
  tenantId?: string;
  clientId?: string;
  clientSecret?: string;
  /** Lifetime of access tokens. Default 3600. */
  tokenTtlSeconds?: number;
  /** Lifetime of presigned upload URLs. Default 900. */
  presignTtlSeconds?: number;
  /** Lifetime of download links and of versions' `downloadUrl`. Default 300. */
  downloadLinkTtlSeconds?: number;
  /** Discrepancy A: `GET /binders` answers a bare array (default) or `{items}`. */
  bindersResponse?: 'array' | 'items';
  /** Discrepancy B: which download-link paths exist. Default both. */
  downloadLinkPaths?: ('raw' | 'downloadlink')[];
  /** Discrepancy C: refuse a presign call without the tenant header. Default false. */
  requireTenantOnPresign?: boolean;
  /** Where uploaded bytes are written. Default: a fresh temporary directory removed on close. */
  blobDir?: string;
  /** Milliseconds since the epoch; injected for expiry tests. Default Date.now. */
  now?: () => number;
  /** One line per request (method, route template, status, duration). Default: silent. */
  log?: (line: string) => void;
}

export interface Emulator {
  /** `http://127.0.0.1:PORT` */
  url: string;
  /** `${url}/api` */
  apiBaseUrl: string;
  /** `${url}/connect/token` */
  tokenUrl: string;
  tenantId: string;
  clientId: string;
  clientSecret: string;
  faults: FaultController;
  calls: CallCounter;
  state: EmulatorState;
  /** Every token issued so far stops working; new ones can be fetched. */
  revokeTokens(): void;
  close(): Promise<void>;
}

export interface BinderRecord {
  id: string;
  name: string;
  type: string;
  createdAt: string;
}

export interface AllowedValueRecord {
  id: string;
  label: string;
}

export interface MetadataElementRecord {
  id: string;
  label: string;
  /** `List` elements take one of `allowedValues`; `Text` elements take free text. */
  dataType: 'List' | 'Text';
  allowedValues: AllowedValueRecord[];
  required: boolean;
}

export interface FolderRecord {
  id: string;
  binderId: string;
  name: string;
  /** Top-level folders are the binder's tabs. */
  type: 'Tab' | 'Folder';
  parentId: string | null;
  /** Id of the top-level folder this one sits under (itself for a tab): `GLOBAL_TabId`. */
  tabId: string;
}

export interface MetadataValueRecord {
  metadataElementId: string;
  valueId: string;
}

export interface DocumentRecord {
  id: string;
  binderId: string;
  folderId: string;
  fileName: string;
  /** Insertion order; the default order of search results. */
  seq: number;
  latestVersionId: string;
  /** Custom metadata of the latest version (GLOBAL_ entries are derived, not stored). */
  metadata: MetadataValueRecord[];
}

export interface VersionRecord {
  id: string;
  documentId: string;
  version: string;
  status: string;
  description: string;
  /** Milliseconds since the epoch. */
  createdAt: number;
  seq: number;
  /** Custom metadata (GLOBAL_ entries are derived, not stored). */
  metadata: MetadataValueRecord[];
  blob: BlobSource;
  /** The upload this version was committed from, if any. */
  uploadId?: string;
}

export interface UploadRecord {
  id: string;
  issuedAt: number;
  expiresAt: number;
  /** `receiving` while a PUT streams in; an interrupted PUT returns it to `issued`. */
  state: 'issued' | 'receiving' | 'stored';
  blob?: FileBlob;
  committed?: { versionId: string; binderId: string; folderId: string; fileName: string };
}

/** A whole tenant described as data; `seed: 'default'` is one of these. */
export interface SeedData {
  binders: SeedBinder[];
}

export interface SeedBinder {
  /** 9-character NanoId. */
  id: string;
  name: string;
  type?: string;
  createdAt?: string;
  metadataElements: SeedMetadataElement[];
  folders: SeedFolder[];
}

export interface SeedMetadataElement {
  id: string;
  label: string;
  dataType?: 'List' | 'Text';
  allowedValues?: AllowedValueRecord[];
  required?: boolean;
}

export interface SeedFolder {
  /** Default: a GUID derived from the binder id and the folder's path (stable across runs). */
  id?: string;
  name: string;
  folders?: SeedFolder[];
  documents?: SeedDocument[];
}

export interface SeedDocument {
  id?: string;
  fileName: string;
  versions: SeedVersion[];
}

export interface SeedVersion {
  id?: string;
  version?: string;
  /** ISO 8601; default: the emulator's clock. */
  createdAt?: string;
  description?: string;
  content: string | Uint8Array;
  /** Element id -> allowed value id or label, or free text. */
  metadata?: Record<string, string>;
}
