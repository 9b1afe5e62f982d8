/**
 * The "source" boundary: what the nightly export needs from a document system.
 * It lists the documents of a binder page by page, lists a document's versions, describes the
 * binder's metadata schema (for labels in the sidecar) and opens one version for reading.
 *
 * iBinder is the first implementation (`ibinder-source.ts`); a second system (Bynder) plugs in
 * by implementing this interface, without touching the planner, the worker or their handlers.
 * "Binder" names the unit the export is scoped by; another system maps its own grouping
 * (a collection, a brand) onto it.
 */
import type { Readable } from 'node:stream';

/** One metadata value as the source stores it: an element id and a value id (or free value). */
export interface SourceMetadataValue {
  metadataElementId: string;
  valueId: string;
}

export interface SourceDocument {
  documentId: string;
  binderId: string;
  fileName: string;
  /** The newest version; absent when the source does not say, which forces a versions call. */
  latestVersionId?: string;
  metadata: SourceMetadataValue[];
}

export interface SourceDocumentPage {
  documents: SourceDocument[];
  /** The page that was read (1-based). */
  pageNumber: number;
  totalCount: number;
  /** True when no page after this one holds documents. */
  isLastPage: boolean;
}

export interface SourceVersion {
  versionId: string;
  documentId: string;
  binderId: string;
  fileName: string;
  /** The version label people see (e.g. "B", "2.1"). */
  versionLabel?: string;
  status?: string;
  /** ISO 8601 timestamp. */
  modifiedAt?: string;
  metadata: SourceMetadataValue[];
}

/** A metadata element of a binder's schema, reduced to what a label lookup needs. */
export interface SourceMetadataElement {
  id: string;
  label: string;
  allowedValues: { id: string; label: string }[];
}

export interface OpenedVersion {
  body: Readable;
  contentLength?: number;
  contentType?: string;
}

export interface VersionRef {
  documentId: string;
  versionId: string;
}

export interface ExportSource {
  /** Short name of the system, used in logs and manifests (e.g. "ibinder"). */
  readonly name: string;
  /** Every binder the credentials can see (used when the configuration names none). */
  listBinderIds(): Promise<string[]>;
  /** One page of a binder's documents; pageNumber is 1-based. */
  listDocuments(binderId: string, page: { pageNumber: number; pageSize: number }): Promise<SourceDocumentPage>;
  listVersions(document: SourceDocument): Promise<SourceVersion[]>;
  describeMetadata(binderId: string): Promise<SourceMetadataElement[]>;
  /**
   * Opens a version's bytes. Each call asks the source for a fresh (short-lived) link, so a
   * caller that met an expired link simply calls it again.
   */
  openVersion(ref: VersionRef): Promise<OpenedVersion>;
  /** True when `err` (from openVersion or from reading its body) means the link expired. */
  isExpiredLinkError(err: unknown): boolean;
}
