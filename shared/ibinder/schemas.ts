/**
 * zod schemas for every iBinder API response, following the vendor's API reference pages.
 *
 * Responses cross a trust boundary, so they are validated; unknown fields are tolerated
 * (zod objects strip them) because the vendor adds optional fields without notice, and
 * optional-looking fields accept `null` as well as absence.
 */
import { z } from 'zod';

const optionalString = z.string().nullish().transform((v) => v ?? undefined);

export const BinderSchema = z.object({
  id: z.string().min(1),
  name: z.string(),
  type: optionalString,
  createdAt: optionalString,
});
export type Binder = z.infer<typeof BinderSchema>;

/** Discrepancy A: the reference returns a bare array, the quickstart reads `.items`. */
export const BinderListSchema = z.union([
  z.array(BinderSchema),
  z.object({ items: z.array(BinderSchema) }).transform((v) => v.items),
]);

export const AllowedValueSchema = z.object({ id: z.string(), label: z.string() });
export type AllowedValue = z.infer<typeof AllowedValueSchema>;

export const MetadataElementSchema = z.object({
  id: z.string().min(1),
  label: z.string(),
  dataType: optionalString,
  allowedValues: z.array(AllowedValueSchema).nullish().transform((v) => v ?? []),
  required: z.boolean().nullish().transform((v) => v ?? false),
});
export type MetadataElement = z.infer<typeof MetadataElementSchema>;
export const MetadataElementListSchema = z.array(MetadataElementSchema);

export const MetadataValueSchema = z.object({
  metadataElementId: z.string(),
  valueId: z.string().nullish().transform((v) => v ?? ''),
});
export type MetadataValue = z.infer<typeof MetadataValueSchema>;

export const DocumentSchema = z.object({
  id: z.string().min(1),
  fileName: z.string(),
  folderId: optionalString,
  binderId: optionalString,
  metadata: z.array(MetadataValueSchema).nullish().transform((v) => v ?? []),
  latestVersionId: optionalString,
});
export type IBinderDocument = z.infer<typeof DocumentSchema>;
export const DocumentListSchema = z.array(DocumentSchema);

export const DocumentPageSchema = z.object({
  items: z.array(DocumentSchema),
  totalCount: z.number().int().nonnegative(),
  pageNumber: z.number().int().nullish(),
  pageSize: z.number().int().nullish(),
});
export type DocumentPage = z.infer<typeof DocumentPageSchema>;

export const FolderSchema = z.object({
  id: z.string().min(1),
  name: z.string(),
  type: optionalString,
  parentId: optionalString,
});
export type Folder = z.infer<typeof FolderSchema>;
export const FolderListSchema = z.array(FolderSchema);

export const DocumentVersionSchema = z.object({
  id: z.string().min(1),
  documentId: z.string().min(1),
  version: optionalString,
  status: optionalString,
  modifiedAt: optionalString,
  description: optionalString,
  metadata: z.array(MetadataValueSchema).nullish().transform((v) => v ?? []),
  downloadUrl: optionalString,
  thumbnailUrl: optionalString,
});
export type DocumentVersion = z.infer<typeof DocumentVersionSchema>;
export const DocumentVersionListSchema = z.array(DocumentVersionSchema);

export const PresignedUploadSchema = z.object({
  presignedUrl: z.string().url(),
  uploadId: z.string().min(1),
});
export type PresignedUpload = z.infer<typeof PresignedUploadSchema>;

export const DownloadLinkSchema = z.object({
  url: z.string().url(),
  expiresAt: optionalString,
});
export type DownloadLink = z.infer<typeof DownloadLinkSchema>;

export const TokenResponseSchema = z.object({
  access_token: z.string().min(1),
  expires_in: z.coerce.number().positive(),
  token_type: optionalString,
});
export type TokenResponse = z.infer<typeof TokenResponseSchema>;

/** RFC 9110 problem details; auth failures may carry only type, title and status. */
export const ProblemDetailsSchema = z.object({
  type: optionalString,
  title: optionalString,
  status: z.number().int().nullish(),
  detail: optionalString,
  errors: z.record(z.string(), z.array(z.string())).nullish(),
  traceId: optionalString,
});
export type ProblemDetails = z.infer<typeof ProblemDetailsSchema>;

/** Body of the search call (POST /documents). */
export interface DocumentSearch {
  pageSize?: number;
  pageNumber?: number;
  searchTerm?: string;
  metadataFilters?: { metadataElementId: string; valueId: string }[];
  sortBy?: { metadataElementId: string; direction: 'asc' | 'desc' }[];
}

/** Body of the upload commit (step 3). */
export interface CommitUploadRequest {
  fileName: string;
  version?: string;
  uploadId: string;
  additionalMetadata: { metadataElementId: string; value: string }[];
}
