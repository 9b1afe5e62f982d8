/**
 * zod schemas for every Bynder answer the client reads, normalised to the shapes of types.ts.
 *
 * Bynder's answers cross a trust boundary and its sources disagree (bynder-notes.md §2), so the
 * schemas are tolerant where the readings differ: flags as 0/1, "0"/"1" or booleans; ids as
 * strings or numbers; lists that may be null, absent, a single string or an array; the
 * metaproperty listing as a dictionary keyed by anything (or a list), read by its values;
 * the media listing as a plain array, `{total: {count}, media}` or `{count: {total}, media}`.
 * Unknown fields are ignored. Each schema is built on first use (`lazySchema`): cold start pays
 * only for what a function parses.
 */
import * as z from '../../../validation/zod.js';
import { lazySchema } from '../../../validation/lazy-schema.js';
import type { BynderAsset, BynderBrand, BynderMediaItem, BynderMetaproperty, BynderMetapropertyOption, MediaPage } from './types.js';

const scalar = () => z.union([z.string(), z.number()]);

/** A non-empty id sent as a string or a number. */
const idText = () =>
  z.pipe(
    z.union([z.string().check(z.minLength(1)), z.number()]),
    z.transform((v) => String(v)),
  );

const optionalText = () =>
  z.pipe(
    z.nullish(scalar()),
    z.transform((v) => (v === null || v === undefined ? undefined : String(v))),
  );

const optionalNumber = () =>
  z.pipe(
    z.nullish(scalar()),
    z.transform((v) => {
      if (v === null || v === undefined || v === '') return undefined;
      const n = Number(v);
      return Number.isFinite(n) ? n : undefined;
    }),
  );

/** Reads a flag sent as a boolean, 0/1 or a string of either; absent means `absent`. */
export function readFlag(value: unknown, absent: boolean): boolean {
  if (value === null || value === undefined || value === '') return absent;
  if (typeof value === 'boolean') return value;
  if (typeof value === 'number') return value !== 0;
  return /^(1|true|yes)$/i.test(String(value).trim());
}

const flag = (absent: boolean) =>
  z.pipe(
    z.nullish(z.union([z.boolean(), z.number(), z.string()])),
    z.transform((v) => readFlag(v, absent)),
  );

/** A list of strings sent as an array, one string (split at `splitAt` when given), or nothing. */
const textList = (splitAt?: string) =>
  z.pipe(
    z.nullish(z.union([z.array(z.nullish(scalar())), scalar()])),
    z.transform((v): string[] => {
      if (v === null || v === undefined) return [];
      if (Array.isArray(v)) return v.filter((x) => x !== null && x !== undefined).map(String);
      const text = String(v);
      if (text === '') return [];
      return splitAt === undefined
        ? [text]
        : text
            .split(splitAt)
            .map((s) => s.trim())
            .filter((s) => s !== '');
    }),
  );

/** A list that may also come as a dictionary (its values are the items). */
const listOrDictionary = <T extends z.core.$ZodType>(item: T) =>
  z.pipe(
    z.nullish(z.union([z.array(item), z.record(z.string(), item)])),
    z.transform((v): z.output<T>[] => (v === null || v === undefined ? [] : Array.isArray(v) ? v : Object.values(v))),
  );

export const TokenResponseSchema = lazySchema(() =>
  z.looseObject({
    access_token: z.optional(z.unknown()),
    expires_in: z.optional(z.unknown()),
  }),
);

export const BrandListSchema = lazySchema(() =>
  z.array(
    z.pipe(
      z.object({
        id: idText(),
        name: optionalText(),
        subBrands: listOrDictionary(z.object({ id: idText(), name: optionalText() })),
      }),
      z.transform(
        (b): BynderBrand => ({
          id: b.id,
          name: b.name ?? '',
          subBrands: b.subBrands.map((s) => ({ id: s.id, name: s.name ?? '' })),
        }),
      ),
    ),
  ),
);

const OptionSchema = lazySchema(() =>
  z.pipe(
    z.object({ id: idText(), name: optionalText(), label: optionalText(), displayLabel: optionalText() }),
    z.transform((o): BynderMetapropertyOption => {
      const label = o.label ?? o.displayLabel;
      return { id: o.id, name: o.name ?? label ?? o.id, ...(label !== undefined ? { label } : {}) };
    }),
  ),
);

/** A metaproperty, plus whether its listing carried any options (else they are paged in). */
export const MetapropertySchema = lazySchema(() =>
  z.pipe(
    z.object({
      id: idText(),
      name: optionalText(),
      label: optionalText(),
      isMultiselect: flag(false),
      isRequired: flag(false),
      type: optionalText(),
      options: listOrDictionary(OptionSchema),
    }),
    z.transform(
      (m): BynderMetaproperty => ({
        id: m.id,
        name: m.name ?? m.label ?? m.id,
        ...(m.label !== undefined ? { label: m.label } : {}),
        isMultiselect: m.isMultiselect,
        isRequired: m.isRequired,
        ...(m.type !== undefined ? { type: m.type } : {}),
        options: m.options,
      }),
    ),
  ),
);

/** `GET /api/v4/metaproperties/`: a dictionary keyed by anything (or a list); read by its values. */
export const MetapropertyListSchema = lazySchema(() => listOrDictionary(MetapropertySchema));

/** `GET /api/v4/metaproperties/{id}/options/`: a list, a dictionary, or `{options}`. */
export const OptionPageSchema = lazySchema(() =>
  z.union([
    listOrDictionary(OptionSchema),
    z.pipe(
      z.object({ options: listOrDictionary(OptionSchema) }),
      z.transform((v) => v.options),
    ),
  ]),
);

const MediaItemSchema = lazySchema(() =>
  z.pipe(
    z.object({
      id: idText(),
      fileName: optionalText(),
      version: optionalNumber(),
      active: flag(false),
      size: optionalNumber(),
      dateCreated: optionalText(),
    }),
    z.transform(
      (i): BynderMediaItem => ({
        id: i.id,
        ...(i.fileName !== undefined ? { fileName: i.fileName } : {}),
        version: i.version ?? 0,
        active: i.active,
        ...(i.size !== undefined ? { size: i.size } : {}),
        ...(i.dateCreated !== undefined ? { dateCreated: i.dateCreated } : {}),
      }),
    ),
  ),
);

/** `property_<name>` values as lists: a string, a number or an array of them. */
function propertiesOf(raw: Record<string, unknown>): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [key, value] of Object.entries(raw)) {
    if (!key.startsWith('property_') || key.length === 'property_'.length) continue;
    const name = key.slice('property_'.length);
    if (Array.isArray(value)) out[name] = value.filter((v) => typeof v === 'string' || typeof v === 'number').map(String);
    else if (typeof value === 'string' || typeof value === 'number') out[name] = [String(value)];
  }
  return out;
}

export const AssetSchema = lazySchema(() =>
  z.pipe(
    z.looseObject({
      id: idText(),
      name: optionalText(),
      description: optionalText(),
      brandId: optionalText(),
      type: optionalText(),
      extension: textList(),
      fileSize: optionalNumber(),
      dateCreated: optionalText(),
      dateModified: optionalText(),
      tags: textList(','),
      propertyOptions: textList(','),
      activeVersion: optionalNumber(),
      mediaItems: z.optional(z.nullish(z.array(MediaItemSchema))),
      archive: flag(false),
    }),
    z.transform((a): BynderAsset => {
      const mediaItems = a.mediaItems ?? undefined;
      const activeVersion = a.activeVersion ?? mediaItems?.find((i) => i.active)?.version;
      return {
        id: a.id,
        name: a.name ?? '',
        ...(a.description !== undefined ? { description: a.description } : {}),
        brandId: a.brandId ?? '',
        ...(a.type !== undefined ? { type: a.type } : {}),
        extension: a.extension,
        ...(a.fileSize !== undefined ? { fileSize: a.fileSize } : {}),
        ...(a.dateCreated !== undefined ? { dateCreated: a.dateCreated } : {}),
        ...(a.dateModified !== undefined ? { dateModified: a.dateModified } : {}),
        tags: a.tags,
        propertyOptions: a.propertyOptions,
        properties: propertiesOf(a),
        ...(activeVersion !== undefined ? { activeVersion } : {}),
        ...(mediaItems !== undefined ? { mediaItems } : {}),
        archive: a.archive,
      };
    }),
  ),
);

const countOf = (v: unknown, key: 'count' | 'total'): number | undefined => {
  const raw = typeof v === 'object' && v !== null ? (v as Record<string, unknown>)[key] : v;
  const n = typeof raw === 'number' ? raw : typeof raw === 'string' && raw !== '' ? Number(raw) : Number.NaN;
  return Number.isFinite(n) ? n : undefined;
};

/** A plain array, `{total: {count}, media}` (total=1) or `{count: {total}, media}` (count=1). */
export const MediaPageSchema = lazySchema(() =>
  z.union([
    z.pipe(
      z.array(AssetSchema),
      z.transform((media): MediaPage => ({ media })),
    ),
    z.pipe(
      z.looseObject({ media: z.nullish(z.array(AssetSchema)), total: z.optional(z.unknown()), count: z.optional(z.unknown()) }),
      z.transform((v): MediaPage => {
        const total = countOf(v.total, 'count') ?? countOf(v.count, 'total');
        return { media: v.media ?? [], ...(total !== undefined ? { total } : {}) };
      }),
    ),
  ]),
);

export const DownloadLocationSchema = lazySchema(() => z.looseObject({ s3_file: z.url() }));

/** `prepare` answers `{file_id}`; other spellings are read too. */
export const PrepareResponseSchema = lazySchema(() =>
  z.pipe(
    z.looseObject({ file_id: optionalText(), fileId: optionalText(), id: optionalText() }),
    z.transform((v) => v.file_id ?? v.fileId ?? v.id),
  ),
);

/** `GET /api/upload/endpoint`: the bucket URL as a JSON string (or wrapped in an object). */
export const UploadEndpointSchema = lazySchema(() =>
  z.union([
    z.url(),
    z.pipe(
      z.looseObject({ endpoint: z.optional(z.url()), url: z.optional(z.url()) }),
      z.transform((v) => v.endpoint ?? v.url),
    ),
  ]),
);

export const UploadInitSchema = lazySchema(() =>
  z.looseObject({
    s3file: z.looseObject({ uploadid: idText(), targetid: idText() }),
    s3_filename: z.string().check(z.minLength(1)),
    multipart_params: z.pipe(
      z.record(z.string(), z.nullish(z.union([z.string(), z.number(), z.boolean()]))),
      z.transform((v) =>
        Object.fromEntries(Object.entries(v).flatMap(([k, x]) => (x === null || x === undefined ? [] : [[k, String(x)] as const]))),
      ),
    ),
  }),
);

export const LegacyFinaliseSchema = lazySchema(() =>
  z.pipe(
    z.looseObject({ importId: optionalText(), importid: optionalText() }),
    z.transform((v) => v.importId ?? v.importid),
  ),
);

/** `GET /api/v4/upload/poll/?items=`: which imports are done, failed or rejected. */
export const PollResponseSchema = lazySchema(() =>
  z.looseObject({
    itemsDone: textList(','),
    itemsFailed: textList(','),
    itemsRejected: textList(','),
  }),
);

/** A save's 201: `{mediaid, mediaitems, success, …}`. */
export const SaveResponseSchema = lazySchema(() =>
  z.looseObject({
    mediaid: optionalText(),
    mediaId: optionalText(),
    mediaitems: z.optional(z.nullish(z.array(z.looseObject({ id: optionalText() })))),
    success: z.optional(z.unknown()),
  }),
);
