/**
 * The emulator's tenant: binders, their metadata schemas and folder trees, documents and
 * versions, and pending uploads. Tests and benchmarks use it directly to arrange data and to
 * check what a client did (which versions exist, the checksum of their bytes), without going
 * through HTTP.
 */
import { randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import { MemoryBlob, SyntheticBlob, type BlobSource } from './blobs.js';
import { resolveMetadata } from './metadata-validation.js';
import type {
  BinderRecord,
  DocumentRecord,
  FolderRecord,
  MetadataElementRecord,
  MetadataValueRecord,
  UploadRecord,
  VersionRecord,
} from './types.js';

export class StateError extends Error {
  override readonly name = 'StateError';
}

export interface AddDocumentInput {
  binderId: string;
  folderId: string;
  fileName: string;
  /** The first version's bytes; or give `blob` (synthetic or file content) instead. */
  content?: string | Uint8Array;
  blob?: BlobSource;
  id?: string;
  versionId?: string;
  versionLabel?: string;
  /** Element id -> allowed value id or label, or free text. Validated like a commit. */
  metadata?: Record<string, string>;
  createdAt?: number;
  description?: string;
}

export interface AddVersionInput {
  content?: string | Uint8Array;
  /** Pre-built content (synthetic or file); wins over `content`. */
  blob?: BlobSource;
  id?: string;
  versionLabel?: string;
  metadata?: Record<string, string>;
  createdAt?: number;
  description?: string;
  uploadId?: string;
}

export class EmulatorState {
  private readonly binderMap = new Map<string, BinderRecord>();
  private readonly elementMap = new Map<string, MetadataElementRecord[]>();
  private readonly folderMap = new Map<string, FolderRecord>();
  private readonly documentMap = new Map<string, DocumentRecord>();
  private readonly documentsByBinder = new Map<string, DocumentRecord[]>();
  private readonly documentsByFolder = new Map<string, DocumentRecord[]>();
  private readonly documentsByName = new Map<string, DocumentRecord>();
  private readonly versionMap = new Map<string, VersionRecord>();
  private readonly versionsByDocument = new Map<string, VersionRecord[]>();
  private readonly uploadMap = new Map<string, UploadRecord>();
  private seq = 0;

  constructor(
    /** The only tenant this emulator serves (`x-ibinder-tenantid`). */
    readonly tenantId: string,
    private readonly now: () => number,
  ) {}

  // ---- binders and schemas -------------------------------------------------------------

  addBinder(binder: BinderRecord, metadataElements: MetadataElementRecord[] = []): BinderRecord {
    if (!/^[A-Za-z0-9_-]{9}$/.test(binder.id)) throw new StateError(`Binder id '${binder.id}' is not a 9-character NanoId`);
    if (this.binderMap.has(binder.id)) throw new StateError(`Binder ${binder.id} already exists`);
    this.binderMap.set(binder.id, { ...binder });
    this.elementMap.set(
      binder.id,
      metadataElements.map((e) => ({ ...e, allowedValues: e.allowedValues.map((v) => ({ ...v })) })),
    );
    this.documentsByBinder.set(binder.id, []);
    return binder;
  }

  listBinders(): BinderRecord[] {
    return [...this.binderMap.values()];
  }

  getBinder(binderId: string): BinderRecord | undefined {
    return this.binderMap.get(binderId);
  }

  metadataElements(binderId: string): MetadataElementRecord[] {
    return this.elementMap.get(binderId) ?? [];
  }

  // ---- folders ---------------------------------------------------------------------------

  addFolder(input: { binderId: string; name: string; parentId?: string | null; id?: string }): FolderRecord {
    if (!this.binderMap.has(input.binderId)) throw new StateError(`Binder ${input.binderId} does not exist`);
    const parent = input.parentId ? this.folderMap.get(input.parentId) : undefined;
    if (input.parentId && (!parent || parent.binderId !== input.binderId)) {
      throw new StateError(`Parent folder ${input.parentId} does not exist in binder ${input.binderId}`);
    }
    const id = input.id ?? randomUUID();
    if (this.folderMap.has(id)) throw new StateError(`Folder ${id} already exists`);
    const folder: FolderRecord = {
      id,
      binderId: input.binderId,
      name: input.name,
      type: parent ? 'Folder' : 'Tab',
      parentId: parent ? parent.id : null,
      tabId: parent ? parent.tabId : id,
    };
    this.folderMap.set(id, folder);
    this.documentsByFolder.set(id, []);
    return folder;
  }

  getFolder(folderId: string): FolderRecord | undefined {
    return this.folderMap.get(folderId);
  }

  /** Children of `parentId` (`null`: the binder's top-level folders), in creation order. */
  listFolders(binderId: string, parentId: string | null): FolderRecord[] {
    return [...this.folderMap.values()].filter((f) => f.binderId === binderId && f.parentId === parentId);
  }

  /** Every folder of a binder, parents before children. */
  allFolders(binderId: string): FolderRecord[] {
    return [...this.folderMap.values()].filter((f) => f.binderId === binderId);
  }

  /** Resolves `01 Architecture/Drawings` (names from the binder's top, case-insensitive). */
  folderByPath(binderId: string, path: string): FolderRecord | undefined {
    let parentId: string | null = null;
    let found: FolderRecord | undefined;
    for (const name of path.split('/').filter((s) => s !== '')) {
      found = this.listFolders(binderId, parentId).find((f) => f.name.toLowerCase() === name.toLowerCase());
      if (!found) return undefined;
      parentId = found.id;
    }
    return found;
  }

  // ---- documents and versions ------------------------------------------------------------

  /** Creates a document with its first version. */
  addDocument(input: AddDocumentInput): { document: DocumentRecord; version: VersionRecord } {
    const folder = this.folderMap.get(input.folderId);
    if (!folder || folder.binderId !== input.binderId)
      throw new StateError(`Folder ${input.folderId} does not exist in binder ${input.binderId}`);
    if (input.content === undefined && input.blob === undefined)
      throw new StateError(`Document '${input.fileName}' needs content or a blob`);
    if (this.findDocumentByName(input.folderId, input.fileName)) {
      throw new StateError(`Folder ${input.folderId} already holds a document named '${input.fileName}'; add a version instead`);
    }
    const metadata = this.resolveOrThrow(input.binderId, input.metadata ?? {});
    const id = input.id ?? randomUUID();
    if (this.documentMap.has(id)) throw new StateError(`Document ${id} already exists`);
    const document: DocumentRecord = {
      id,
      binderId: input.binderId,
      folderId: input.folderId,
      fileName: input.fileName,
      seq: ++this.seq,
      latestVersionId: '',
      metadata,
    };
    this.documentMap.set(id, document);
    this.documentsByBinder.get(input.binderId)?.push(document);
    this.documentsByFolder.get(input.folderId)?.push(document);
    this.documentsByName.set(nameKey(input.folderId, input.fileName), document);
    this.versionsByDocument.set(id, []);
    const version = this.appendVersion(
      document,
      {
        ...(input.content === undefined ? {} : { content: input.content }),
        ...(input.blob === undefined ? {} : { blob: input.blob }),
        ...(input.versionId === undefined ? {} : { id: input.versionId }),
        ...(input.versionLabel === undefined ? {} : { versionLabel: input.versionLabel }),
        ...(input.createdAt === undefined ? {} : { createdAt: input.createdAt }),
        ...(input.description === undefined ? {} : { description: input.description }),
      },
      metadata,
    );
    return { document, version };
  }

  /** Adds a version to an existing document; metadata defaults to the document's current one. */
  addVersion(documentId: string, input: AddVersionInput): VersionRecord {
    const document = this.requireDocument(documentId);
    const metadata = input.metadata ? this.resolveOrThrow(document.binderId, input.metadata) : document.metadata.map((m) => ({ ...m }));
    return this.appendVersion(document, input, metadata);
  }

  /** Adds a version whose bytes are generated on read: any size, no disk, no memory. */
  addSyntheticVersion(
    documentId: string,
    sizeBytes: number,
    options: Omit<AddVersionInput, 'content' | 'blob'> & { seed?: string } = {},
  ): VersionRecord {
    const { seed, ...rest } = options;
    const id = rest.id ?? randomUUID();
    return this.addVersion(documentId, { ...rest, id, blob: new SyntheticBlob(sizeBytes, seed ?? id) });
  }

  /** Used by the commit handler: metadata already validated, blob already stored. */
  commitVersion(
    target: { binderId: string; folderId: string; fileName: string },
    input: { blob: BlobSource; versionLabel?: string; metadata: MetadataValueRecord[]; uploadId: string },
  ): { document: DocumentRecord; version: VersionRecord; created: boolean } {
    let document = this.findDocumentByName(target.folderId, target.fileName);
    let created = false;
    if (!document) {
      created = true;
      document = {
        id: randomUUID(),
        binderId: target.binderId,
        folderId: target.folderId,
        fileName: target.fileName,
        seq: ++this.seq,
        latestVersionId: '',
        metadata: input.metadata,
      };
      this.documentMap.set(document.id, document);
      this.documentsByBinder.get(target.binderId)?.push(document);
      this.documentsByFolder.get(target.folderId)?.push(document);
      this.documentsByName.set(nameKey(target.folderId, target.fileName), document);
      this.versionsByDocument.set(document.id, []);
    }
    const version = this.appendVersion(
      document,
      { blob: input.blob, uploadId: input.uploadId, ...(input.versionLabel === undefined ? {} : { versionLabel: input.versionLabel }) },
      input.metadata,
    );
    return { document, version, created };
  }

  getDocument(documentId: string): DocumentRecord | undefined {
    return this.documentMap.get(documentId);
  }

  /** Every document of the tenant in creation order. */
  listDocuments(): DocumentRecord[] {
    return [...this.documentMap.values()];
  }

  documentsInBinder(binderId: string): readonly DocumentRecord[] {
    return this.documentsByBinder.get(binderId) ?? [];
  }

  /** Documents directly in a folder (not in its sub-folders). */
  documentsInFolder(folderId: string): readonly DocumentRecord[] {
    return this.documentsByFolder.get(folderId) ?? [];
  }

  findDocumentByName(folderId: string, fileName: string): DocumentRecord | undefined {
    return this.documentsByName.get(nameKey(folderId, fileName));
  }

  /** Versions of a document ordered by creation date (oldest first). */
  listVersions(documentId: string): VersionRecord[] {
    return [...(this.versionsByDocument.get(documentId) ?? [])].sort((a, b) => a.createdAt - b.createdAt || a.seq - b.seq);
  }

  getVersion(versionId: string): VersionRecord | undefined {
    return this.versionMap.get(versionId);
  }

  get documentCount(): number {
    return this.documentMap.size;
  }

  get versionCount(): number {
    return this.versionMap.size;
  }

  /** SHA-256 (hex) and size of a version's bytes; synthetic content is hashed by streaming. */
  async versionContent(versionId: string): Promise<{ sha256: string; size: number }> {
    const version = this.versionMap.get(versionId);
    if (!version) throw new StateError(`Version ${versionId} does not exist`);
    return { sha256: await version.blob.digest(), size: version.blob.size };
  }

  openVersionContent(versionId: string): Readable {
    const version = this.versionMap.get(versionId);
    if (!version) throw new StateError(`Version ${versionId} does not exist`);
    return version.blob.open();
  }

  /** GLOBAL_ entries followed by the custom ones: what the API shows as `metadata`. */
  wireMetadata(binderId: string, folderId: string, custom: readonly MetadataValueRecord[]): MetadataValueRecord[] {
    const folder = this.folderMap.get(folderId);
    return [
      { metadataElementId: 'GLOBAL_BinderId', valueId: binderId },
      { metadataElementId: 'GLOBAL_TabId', valueId: folder?.tabId ?? folderId },
      ...custom.map((m) => ({ ...m })),
    ];
  }

  // ---- uploads ---------------------------------------------------------------------------

  createUpload(ttlSeconds: number): UploadRecord {
    const issuedAt = this.now();
    const upload: UploadRecord = { id: randomUUID(), issuedAt, expiresAt: issuedAt + ttlSeconds * 1000, state: 'issued' };
    this.uploadMap.set(upload.id, upload);
    return upload;
  }

  getUpload(uploadId: string): UploadRecord | undefined {
    return this.uploadMap.get(uploadId);
  }

  // ---- internals -------------------------------------------------------------------------

  private appendVersion(document: DocumentRecord, input: AddVersionInput, metadata: MetadataValueRecord[]): VersionRecord {
    const blob = input.blob ?? (input.content !== undefined ? new MemoryBlob(input.content) : undefined);
    if (!blob) throw new StateError(`A version of document ${document.id} needs content or a blob`);
    const id = input.id ?? randomUUID();
    if (this.versionMap.has(id)) throw new StateError(`Version ${id} already exists`);
    const versions = this.versionsByDocument.get(document.id) ?? [];
    const version: VersionRecord = {
      id,
      documentId: document.id,
      version: input.versionLabel ?? String(versions.length + 1),
      status: 'Published',
      description: input.description ?? '',
      createdAt: input.createdAt ?? this.now(),
      seq: ++this.seq,
      metadata,
      blob,
      ...(input.uploadId === undefined ? {} : { uploadId: input.uploadId }),
    };
    versions.push(version);
    this.versionsByDocument.set(document.id, versions);
    this.versionMap.set(id, version);
    document.latestVersionId = this.listVersions(document.id).at(-1)?.id ?? id;
    document.metadata = this.versionMap.get(document.latestVersionId)?.metadata ?? metadata;
    return version;
  }

  private requireDocument(documentId: string): DocumentRecord {
    const document = this.documentMap.get(documentId);
    if (!document) throw new StateError(`Document ${documentId} does not exist`);
    return document;
  }

  private resolveOrThrow(binderId: string, metadata: Record<string, string>): MetadataValueRecord[] {
    const input = Object.entries(metadata).map(([metadataElementId, value]) => ({ metadataElementId, value }));
    const { values, errors } = resolveMetadata(binderId, this.metadataElements(binderId), input, 'metadata');
    const problems = Object.entries(errors).flatMap(([field, messages]) => messages.map((m) => `${field}: ${m}`));
    if (problems.length > 0) throw new StateError(`Invalid metadata for binder ${binderId}: ${problems.join(' ')}`);
    return values;
  }
}

function nameKey(folderId: string, fileName: string): string {
  return `${folderId}\n${fileName}`;
}
