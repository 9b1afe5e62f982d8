/**
 * The metadata sidecar: a JSON document beside each exported file
 * (`<archive key>.metadata.json`) that says what the file is without asking the source:
 *
 * ```json
 * {
 *   "tenantId": "acme",            "binderId": "Bx7kQ2mZp",
 *   "documentId": "<guid>",        "versionId": "<guid>",
 *   "fileName": "A-101 Plan.pdf",  "versionLabel": "B",  "status": "Published",
 *   "modifiedAt": "2026-11-21T14:03:00Z",
 *   "metadata": [{ "metadataElementId": "discipline", "label": "Discipline",
 *                  "valueId": "arch", "valueLabel": "Architecture" }],
 *   "size": 1048576,
 *   "sha256": "<64 hex digits>", "sha256Base64": "<44 characters>",
 *   "exportedAt": "2026-11-22T02:03:04.000Z",
 *   "runId": "2026-11-22T02-00-00Z-3f9a1c",
 *   "archiveKey": "acme/Bx7kQ2mZp/<documentId>/<versionId>/A-101 Plan.pdf",
 *   "source": "ibinder",
 *   "formatVersion": 1
 * }
 * ```
 *
 * `versionLabel`, `status` and `modifiedAt` are null when the source did not say. `sha256` is
 * of the whole file as it was read (S3 also verified each uploaded part with its own SHA-256).
 * It is written after the file, so a sidecar always describes a complete file.
 */
import * as z from '../validation/zod.js';
import { lazySchema } from '../validation/lazy-schema.js';
import type { LabelledMetadataValue } from './metadata-labels.js';

export const SIDECAR_FORMAT_VERSION = 1;

export const ExportSidecarSchema = lazySchema(() =>
  z.object({
    tenantId: z.string(),
    binderId: z.string(),
    documentId: z.string(),
    versionId: z.string(),
    fileName: z.string(),
    versionLabel: z.nullable(z.string()),
    status: z.nullable(z.string()),
    modifiedAt: z.nullable(z.string()),
    metadata: z.array(
      z.object({
        metadataElementId: z.string(),
        label: z.nullable(z.string()),
        valueId: z.string(),
        valueLabel: z.nullable(z.string()),
      }),
    ),
    size: z.int().check(z.nonnegative()),
    sha256: z.string().check(z.regex(/^[0-9a-f]{64}$/)),
    sha256Base64: z.string(),
    exportedAt: z.string(),
    runId: z.string(),
    archiveKey: z.string(),
    source: z.string(),
    formatVersion: z.literal(SIDECAR_FORMAT_VERSION),
  }),
);
export type ExportSidecar = z.infer<typeof ExportSidecarSchema>;

export interface SidecarInput {
  tenantId: string;
  binderId: string;
  documentId: string;
  versionId: string;
  fileName: string;
  versionLabel?: string | undefined;
  status?: string | undefined;
  modifiedAt?: string | undefined;
  metadata: LabelledMetadataValue[];
  size: number;
  sha256Hex: string;
  sha256Base64: string;
  exportedAt: Date;
  runId: string;
  archiveKey: string;
  source: string;
}

export function buildSidecar(input: SidecarInput): ExportSidecar {
  return {
    tenantId: input.tenantId,
    binderId: input.binderId,
    documentId: input.documentId,
    versionId: input.versionId,
    fileName: input.fileName,
    versionLabel: input.versionLabel ?? null,
    status: input.status ?? null,
    modifiedAt: input.modifiedAt ?? null,
    metadata: input.metadata,
    size: input.size,
    sha256: input.sha256Hex,
    sha256Base64: input.sha256Base64,
    exportedAt: input.exportedAt.toISOString(),
    runId: input.runId,
    archiveKey: input.archiveKey,
    source: input.source,
    formatVersion: SIDECAR_FORMAT_VERSION,
  };
}
