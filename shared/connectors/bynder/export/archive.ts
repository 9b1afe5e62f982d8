/**
 * Where a Bynder version lives in the archive bucket, and the sidecar that describes it:
 *
 * ```
 * <portal>/<brandId>/<assetId>/<version>/<fileName>                 the file's bytes
 * <portal>/<brandId>/<assetId>/<version>/<fileName>.metadata.json   its sidecar
 * ```
 *
 * The same shape and segment rules as iBinder's (shared/export/archive-key.ts: `/`, `\` and
 * control characters become `_`, `.` and `..` are prefixed), so one archive reads the same
 * whichever system a file came from. The sidecar is iBinder's sidecar (its fields keep their
 * meaning: tenant = portal, binder = brand, document = asset, version id = the ledger key), so
 * the worker's check for a completed earlier attempt reads it unchanged, plus a `bynder` block
 * with what a person needs without the portal: metaproperty names and option labels, tags,
 * brand id and name, the asset's and the version's dates.
 */
import { safeKeySegment, SIDECAR_SUFFIX } from '../../../export/archive-key.js';
import { buildSidecar, ExportSidecarSchema } from '../../../export/sidecar.js';
import * as z from '../../../validation/zod.js';
import { lazySchema } from '../../../validation/lazy-schema.js';
import type { BynderConfig } from '../config.js';
import type { BynderAsset, BynderBrand, BynderMetaproperty } from '../client/types.js';
import type { BynderVersionJob } from './job.js';

export const BYNDER_SOURCE_NAME = 'bynder';

/** The portal's folder in the archive: `archivePortalName`, else the first label of the portal's host. */
export function archivePortalNameOf(config: Pick<BynderConfig, 'portalUrl' | 'archivePortalName'>): string {
  if (config.archivePortalName !== undefined) return safeKeySegment(config.archivePortalName, '_');
  const host = new URL(config.portalUrl).hostname;
  return safeKeySegment(host.split('.')[0] ?? host, host);
}

export function bynderArchiveKey(job: Pick<BynderVersionJob, 'portal' | 'brandId' | 'assetId' | 'versionSegment' | 'fileName'>): string {
  return [
    safeKeySegment(job.portal, '_'),
    safeKeySegment(job.brandId, '_'),
    safeKeySegment(job.assetId, '_'),
    safeKeySegment(job.versionSegment, '_'),
    safeKeySegment(job.fileName, job.versionSegment),
  ].join('/');
}

export function bynderSidecarKey(archiveKey: string): string {
  return `${archiveKey}${SIDECAR_SUFFIX}`;
}

const nullableText = () => z.nullable(z.string());

/** The `bynder` block of a Bynder sidecar. */
export const BynderSidecarDetailsSchema = lazySchema(() =>
  z.object({
    portal: z.string(),
    brand: z.object({ id: z.string(), name: nullableText() }),
    asset: z.object({
      id: z.string(),
      name: z.string(),
      description: nullableText(),
      type: nullableText(),
      extension: z.array(z.string()),
      dateCreated: nullableText(),
      dateModified: nullableText(),
      archive: z.boolean(),
    }),
    version: z.object({
      number: z.int(),
      mediaItemId: nullableText(),
      active: z.boolean(),
      dateCreated: nullableText(),
    }),
    tags: z.array(z.string()),
    /** Metaproperties set on the asset: id, name, label, and the values as option ids with names and labels (free text: the text). */
    metaproperties: z.array(
      z.object({
        id: nullableText(),
        name: z.string(),
        label: nullableText(),
        values: z.array(z.object({ optionId: nullableText(), name: z.string(), label: nullableText() })),
      }),
    ),
  }),
);
export type BynderSidecarDetails = z.infer<typeof BynderSidecarDetailsSchema>;

export const BynderSidecarSchema = lazySchema(() => z.extend(ExportSidecarSchema, { bynder: BynderSidecarDetailsSchema }));
export type BynderSidecar = z.infer<typeof BynderSidecarSchema>;

export interface BynderSidecarInput {
  job: BynderVersionJob;
  /** The asset as `?versions=1` answered it when the version was planned or exported. */
  asset: BynderAsset;
  /** The portal's metaproperties (loaded once per run). */
  metaproperties: readonly BynderMetaproperty[];
  /** The asset's brand; its name is left null when the brand is not among the listed ones. */
  brand?: BynderBrand | undefined;
  size: number;
  sha256Hex: string;
  sha256Base64: string;
  exportedAt: Date;
  runId: string;
  archiveKey: string;
}

export function buildBynderSidecar(input: BynderSidecarInput): BynderSidecar {
  const { job, asset } = input;
  const metaproperties = describeMetaproperties(asset, input.metaproperties);
  const core = buildSidecar({
    tenantId: job.portal,
    binderId: job.brandId,
    documentId: job.assetId,
    versionId: job.versionKey,
    fileName: job.fileName,
    versionLabel: String(job.version),
    status: job.active ? 'active' : 'inactive',
    modifiedAt: job.versionCreatedAt ?? job.assetModifiedAt ?? asset.dateModified,
    metadata: metaproperties.flatMap((m) =>
      m.values.map((v) => ({
        metadataElementId: m.id ?? `property_${m.name}`,
        label: m.label ?? m.name,
        valueId: v.optionId ?? v.name,
        valueLabel: v.label ?? v.name,
      })),
    ),
    size: input.size,
    sha256Hex: input.sha256Hex,
    sha256Base64: input.sha256Base64,
    exportedAt: input.exportedAt,
    runId: input.runId,
    archiveKey: input.archiveKey,
    source: BYNDER_SOURCE_NAME,
  });
  return {
    ...core,
    bynder: {
      portal: job.portal,
      brand: { id: job.brandId, name: input.brand?.id === job.brandId ? input.brand.name : null },
      asset: {
        id: asset.id,
        name: asset.name,
        description: asset.description ?? null,
        type: asset.type ?? null,
        extension: asset.extension,
        dateCreated: asset.dateCreated ?? null,
        dateModified: asset.dateModified ?? null,
        archive: asset.archive,
      },
      version: {
        number: job.version,
        mediaItemId: job.mediaItemId ?? null,
        active: job.active,
        dateCreated: job.versionCreatedAt ?? null,
      },
      tags: asset.tags,
      metaproperties,
    },
  };
}

/**
 * The asset's metaproperty values with names and labels. Option ids (`propertyOptions`) are
 * looked up in every metaproperty's options; `property_<name>` values are matched to a
 * metaproperty by name and to its options by name (a select value) or kept as text (free
 * text). An option id the list no longer knows is kept, under the name `unknown`, so the
 * sidecar never drops a value the asset had.
 */
export function describeMetaproperties(
  asset: BynderAsset,
  metaproperties: readonly BynderMetaproperty[],
): BynderSidecarDetails['metaproperties'] {
  const byOption = new Map<string, { property: BynderMetaproperty; option: BynderMetaproperty['options'][number] }>();
  const byName = new Map<string, BynderMetaproperty>();
  for (const property of metaproperties) {
    byName.set(property.name, property);
    for (const option of property.options) byOption.set(option.id, { property, option });
  }
  const entries = new Map<string, BynderSidecarDetails['metaproperties'][number]>();
  const entryOf = (property: BynderMetaproperty | undefined, name: string) => {
    const key = property?.id ?? `name:${name}`;
    let entry = entries.get(key);
    if (!entry) {
      entry = { id: property?.id ?? null, name: property?.name ?? name, label: property?.label ?? null, values: [] };
      entries.set(key, entry);
    }
    return entry;
  };
  for (const optionId of asset.propertyOptions) {
    const found = byOption.get(optionId);
    const entry = entryOf(found?.property, 'unknown');
    if (!entry.values.some((v) => v.optionId === optionId)) {
      entry.values.push({ optionId, name: found?.option.name ?? optionId, label: found?.option.label ?? null });
    }
  }
  for (const [name, values] of Object.entries(asset.properties)) {
    const property = byName.get(name);
    const entry = entryOf(property, name);
    for (const value of values) {
      const option = property?.options.find((o) => o.name === value || o.id === value);
      if (option && entry.values.some((v) => v.optionId === option.id)) continue;
      if (!option && entry.values.some((v) => v.optionId === null && v.name === value)) continue;
      entry.values.push(
        option ? { optionId: option.id, name: option.name, label: option.label ?? null } : { optionId: null, name: value, label: null },
      );
    }
  }
  return [...entries.values()];
}

/** The sidecar as the archive stores it. */
export function serializeBynderSidecar(sidecar: BynderSidecar): string {
  return `${JSON.stringify(sidecar, null, 2)}\n`;
}
