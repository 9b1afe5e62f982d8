/**
 * zod schemas for every iBinder API response, following the vendor's API reference pages.
 *
 * Responses cross a trust boundary, so they are validated; unknown fields are tolerated
 * (zod objects strip them) because the vendor adds optional fields without notice, and
 * optional-looking fields accept `null` as well as absence.
 *
 * Each schema is built on its first use (`lazySchema`, shared/validation/lazy-schema.ts):
 * building a zod schema costs time, and a function uses only some of these, so the others cost
 * nothing at cold start.
 */
import * as z from '../../../validation/zod.js';
import { lazySchema } from '../../../validation/lazy-schema.js';

/** A string that may come as null or be left out (a function, so that nothing is built at import). */
const optionalString = () =>
  z.pipe(
    z.nullish(z.string()),
    z.transform((v) => v ?? undefined),
  );

/** A list that may come as null or be left out: an empty list then. */
function listOrEmpty<T extends z.core.$ZodType>(item: T) {
  return z.pipe(
    z.nullish(z.array(item)),
    z.transform((v) => v ?? []),
  );
}

const nonEmptyString = () => z.string().check(z.minLength(1));

export const BinderSchema = lazySchema(() =>
  z.object({
    id: nonEmptyString(),
    name: z.string(),
    type: optionalString(),
    createdAt: optionalString(),
  }),
);
export type Binder = z.infer<typeof BinderSchema>;

/** Discrepancy A: the reference returns a bare array, the quickstart reads `.items`. */
export const BinderListSchema = lazySchema(() =>
  z.union([
    z.array(BinderSchema),
    z.pipe(
      z.object({ items: z.array(BinderSchema) }),
      z.transform((v) => v.items),
    ),
  ]),
);

export const AllowedValueSchema = lazySchema(() => z.object({ id: z.string(), label: z.string() }));
export type AllowedValue = z.infer<typeof AllowedValueSchema>;

export const MetadataElementSchema = lazySchema(() =>
  z.object({
    id: nonEmptyString(),
    label: z.string(),
    dataType: optionalString(),
    allowedValues: listOrEmpty(AllowedValueSchema),
    required: z.pipe(
      z.nullish(z.boolean()),
      z.transform((v) => v ?? false),
    ),
  }),
);
export type MetadataElement = z.infer<typeof MetadataElementSchema>;
export const MetadataElementListSchema = lazySchema(() => z.array(MetadataElementSchema));

export const MetadataValueSchema = lazySchema(() =>
  z.object({
    metadataElementId: z.string(),
    valueId: z.pipe(
      z.nullish(z.string()),
      z.transform((v) => v ?? ''),
    ),
  }),
);
export type MetadataValue = z.infer<typeof MetadataValueSchema>;

export const DocumentSchema = lazySchema(() =>
  z.object({
    id: nonEmptyString(),
    fileName: z.string(),
    folderId: optionalString(),
    binderId: optionalString(),
    metadata: listOrEmpty(MetadataValueSchema),
    latestVersionId: optionalString(),
  }),
);
export type IBinderDocument = z.infer<typeof DocumentSchema>;
export const DocumentListSchema = lazySchema(() => z.array(DocumentSchema));

export const DocumentPageSchema = lazySchema(() =>
  z.object({
    items: z.array(DocumentSchema),
    totalCount: z.int().check(z.nonnegative()),
    pageNumber: z.nullish(z.int()),
    pageSize: z.nullish(z.int()),
  }),
);
export type DocumentPage = z.infer<typeof DocumentPageSchema>;

export const FolderSchema = lazySchema(() =>
  z.object({
    id: nonEmptyString(),
    name: z.string(),
    type: optionalString(),
    parentId: optionalString(),
  }),
);
export type Folder = z.infer<typeof FolderSchema>;
export const FolderListSchema = lazySchema(() => z.array(FolderSchema));

export const DocumentVersionSchema = lazySchema(() =>
  z.object({
    id: nonEmptyString(),
    documentId: nonEmptyString(),
    version: optionalString(),
    status: optionalString(),
    modifiedAt: optionalString(),
    description: optionalString(),
    metadata: listOrEmpty(MetadataValueSchema),
    downloadUrl: optionalString(),
    thumbnailUrl: optionalString(),
  }),
);
export type DocumentVersion = z.infer<typeof DocumentVersionSchema>;
export const DocumentVersionListSchema = lazySchema(() => z.array(DocumentVersionSchema));

export const PresignedUploadSchema = lazySchema(() =>
  z.object({
    presignedUrl: z.url(),
    uploadId: nonEmptyString(),
  }),
);
export type PresignedUpload = z.infer<typeof PresignedUploadSchema>;

export const DownloadLinkSchema = lazySchema(() =>
  z.object({
    url: z.url(),
    expiresAt: optionalString(),
  }),
);
export type DownloadLink = z.infer<typeof DownloadLinkSchema>;

export const TokenResponseSchema = lazySchema(() =>
  z.object({
    access_token: nonEmptyString(),
    expires_in: z.coerce.number().check(z.positive()),
    token_type: optionalString(),
  }),
);
export type TokenResponse = z.infer<typeof TokenResponseSchema>;

/** RFC 9110 problem details; auth failures may carry only type, title and status. */
export const ProblemDetailsSchema = lazySchema(() =>
  z.object({
    type: optionalString(),
    title: optionalString(),
    status: z.nullish(z.int()),
    detail: optionalString(),
    errors: z.nullish(z.record(z.string(), z.array(z.string()))),
    traceId: optionalString(),
  }),
);
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
