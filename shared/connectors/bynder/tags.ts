/**
 * The `bynder:` object-tag convention: which brand, name, description, Bynder tags and
 * metaproperty options a file gets, or which existing asset it is a new version of.
 *
 * Keys are case-sensitive, like the `ibinder:` convention. Every key under `bynder:` must be one
 * of the convention's: a misspelt key is reported instead of silently ignored, because ignoring
 * it would file the asset without the metadata the producer meant to set. Tags outside
 * `bynder:` belong to the producer and are left alone.
 *
 * Values are read in NFC (a name typed on a Mac and the same name typed on Windows are one name)
 * and trimmed. Names are resolved to ids later, against the portal (`validate.ts`); this file
 * needs no I/O.
 *
 * Lists: S3 allows only letters, digits, spaces and `+ - = . _ : / @` in tag values, so a comma
 * cannot be written into a tag. Items are therefore separated by `+` in tags (`Red + Blue`); a
 * comma is read as a separator too (routing rules in the environment config, S3-compatible stores
 * that allow it). `bynder:tags` is split at both here. A `bynder:meta:` value is split at commas
 * here and at `+` during validation, where an option whose own name holds a `+` ("A+") is matched
 * whole before its value is split.
 */
import { nfc } from '../../config/unicode.js';
import type { Problem } from '../../ledger/types.js';
import { checkS3TagSet, type S3Tag, type S3TagEntry } from '../../s3/tags.js';

export const BYNDER_TAG_PREFIX = 'bynder:';

export const BYNDER_TAG = {
  /** A brand id or name. */
  brand: 'bynder:brand',
  /** The asset's name; default the key's last segment. */
  name: 'bynder:name',
  description: 'bynder:description',
  /** Bynder tags, separated by `+` (or commas where the store allows them). */
  tags: 'bynder:tags',
  /** An existing asset's id: the file becomes a new version of it. */
  asset: 'bynder:asset',
  /** Followed by a metaproperty name (or id); the value is option names or ids, separated by `+`. */
  metaPrefix: 'bynder:meta:',
} as const;

const SINGLE_KEYS: readonly string[] = [BYNDER_TAG.brand, BYNDER_TAG.name, BYNDER_TAG.description, BYNDER_TAG.tags, BYNDER_TAG.asset];

/** One `bynder:meta:<metaproperty>` tag: the metaproperty as given and its values, split. */
export interface MetaTag {
  /** The full tag key, for problems (`bynder:meta:Colours`). */
  field: string;
  /** The metaproperty name, label or id as given (NFC). */
  metaproperty: string;
  /** The value as given (NFC, trimmed), for problems and free-text metaproperties. */
  value: string;
  /** The value split at commas (`+` is split during validation); never empty. */
  values: string[];
}

/** What an object's `bynder:` tags say; absent fields were not tagged. */
export interface BynderTags {
  brand?: string | undefined;
  name?: string | undefined;
  description?: string | undefined;
  tags?: string[] | undefined;
  assetId?: string | undefined;
  metadata: MetaTag[];
  /** True when the object carries at least one `bynder:` tag (even a wrong one). */
  present: boolean;
}

export interface ParsedBynderTags {
  tags: BynderTags;
  problems: Problem[];
}

/** Reads the convention from an object's tag set; collects every problem instead of stopping at the first. */
export function parseBynderTags(tagSet: readonly S3TagEntry[]): ParsedBynderTags {
  const tags: BynderTags = { metadata: [], present: false };
  const problems: Problem[] = [];
  const metaSeen = new Map<string, string>();

  for (const entry of tagSet) {
    const key = nfc(entry.Key ?? '');
    const value = nfc((entry.Value ?? '').trim());

    if (!key.startsWith(BYNDER_TAG_PREFIX)) {
      if (key.toLowerCase().startsWith(BYNDER_TAG_PREFIX)) {
        tags.present = true;
        problems.push({
          code: 'tags',
          field: key,
          message: `tag "${key}" looks like a Bynder ingest tag, but tag keys are case-sensitive and must start with "${BYNDER_TAG_PREFIX}"`,
          fix: `rename the tag to ${suggestKey(key)}`,
        });
      }
      continue;
    }
    tags.present = true;

    if (key.startsWith(BYNDER_TAG.metaPrefix)) {
      const metaproperty = key.slice(BYNDER_TAG.metaPrefix.length).trim();
      if (metaproperty === '') {
        problems.push({
          code: 'tags',
          field: key,
          message: `tag "${key}" names no metaproperty`,
          fix: `use ${BYNDER_TAG.metaPrefix}<metaproperty name>, with a name from the pipeline CLI's Bynder metaproperties listing`,
        });
        continue;
      }
      const values = splitList(value);
      if (values.length === 0) {
        problems.push(emptyValue(key, 'option names or ids of that metaproperty, separated by "+"'));
        continue;
      }
      const folded = metaproperty.toLowerCase();
      const earlier = metaSeen.get(folded);
      if (earlier !== undefined) {
        problems.push({
          code: 'tags',
          field: key,
          message: `tags "${earlier}" and "${key}" name the same metaproperty (names are compared without case)`,
          fix: `keep one of them, with every option in its value, separated by "+"`,
        });
        continue;
      }
      metaSeen.set(folded, key);
      tags.metadata.push({ field: key, metaproperty, value, values });
      continue;
    }

    if (!SINGLE_KEYS.includes(key)) {
      problems.push({
        code: 'tags',
        field: key,
        message: `tag "${key}" is not part of the Bynder ingest tag convention`,
        fix: `remove it, or use one of ${[...SINGLE_KEYS, `${BYNDER_TAG.metaPrefix}<metaproperty name>`].join(', ')} (keys are case-sensitive)`,
      });
      continue;
    }
    if (value === '') {
      problems.push(emptyValue(key, describeValue(key)));
      continue;
    }
    switch (key) {
      case BYNDER_TAG.brand:
        tags.brand = value;
        break;
      case BYNDER_TAG.name:
        tags.name = value;
        break;
      case BYNDER_TAG.description:
        tags.description = value;
        break;
      case BYNDER_TAG.tags: {
        const list = splitList(value, TAG_LIST_SEPARATORS);
        if (list.length === 0) problems.push(emptyValue(key, describeValue(key)));
        else tags.tags = list;
        break;
      }
      case BYNDER_TAG.asset:
        tags.assetId = value;
        if (!/^[0-9A-Za-z-]+$/.test(value)) {
          problems.push({
            code: 'tags',
            field: key,
            message: `${JSON.stringify(value)} is not a Bynder asset id: asset ids are letters, digits and "-" (a UUID such as 3F2A9C1E-0B1D-4C8E-9A5F3B2C1D0E4F6A)`,
            fix: `set ${BYNDER_TAG.asset} to the id of the asset to add a version to (its id, not its name), or remove the tag to create a new asset`,
          });
        }
        break;
    }
  }
  return { tags, problems };
}

/** What a producer wants to say with tags; turned into a tag set by `buildBynderTags`. */
export interface BynderTagSpec {
  brand?: string | undefined;
  name?: string | undefined;
  description?: string | undefined;
  tags?: readonly string[] | undefined;
  assetId?: string | undefined;
  /** Metaproperty name -> option names or ids (ids are safer: names may hold characters tags cannot). */
  metadata?: Record<string, string | readonly string[]> | undefined;
  /** The producer's own tags, kept beside the convention's. */
  extra?: Record<string, string> | undefined;
}

export class BynderTagConventionError extends Error {
  override readonly name = 'BynderTagConventionError';
  constructor(readonly problems: Problem[]) {
    super(`the Bynder tags cannot be written:\n${problems.map((p) => `  ${p.field}: ${p.message} (fix: ${p.fix})`).join('\n')}`);
  }
}

/**
 * Builds the tag set a producer puts on an inbox object, checked against the convention and S3's
 * own rules (character set, lengths, 10 tags), so that a mistake shows up at the producer instead
 * of as a rejection later. Throws BynderTagConventionError listing every problem.
 */
export function buildBynderTags(spec: BynderTagSpec): S3Tag[] {
  const tags: S3Tag[] = [];
  const add = (key: string, value: string | undefined): void => {
    if (value !== undefined) tags.push({ Key: key, Value: value });
  };
  add(BYNDER_TAG.brand, spec.brand);
  add(BYNDER_TAG.name, spec.name);
  add(BYNDER_TAG.description, spec.description);
  add(BYNDER_TAG.tags, spec.tags?.join(TAG_LIST_SEPARATOR));
  add(BYNDER_TAG.asset, spec.assetId);
  for (const [metaproperty, value] of Object.entries(spec.metadata ?? {})) {
    add(`${BYNDER_TAG.metaPrefix}${metaproperty}`, typeof value === 'string' ? value : value.join(TAG_LIST_SEPARATOR));
  }
  for (const [key, value] of Object.entries(spec.extra ?? {})) add(key, value);

  const problems = [...checkS3TagSet(tags), ...parseBynderTags(tags).problems];
  if (problems.length > 0) throw new BynderTagConventionError(problems);
  return tags;
}

/** The separator a producer writes between list items in a tag value (S3 refuses commas). */
export const TAG_LIST_SEPARATOR = '+';
/** What separates list items where no option name can be mistaken for a list (`bynder:tags`). */
export const TAG_LIST_SEPARATORS = /[,+]/;

/** `a, b,,a` -> `['a', 'b']`: items trimmed, empty ones dropped, each kept once (first spelling). */
export function splitList(value: string, separators: RegExp | string = ','): string[] {
  const items: string[] = [];
  for (const raw of value.split(separators)) {
    const item = nfc(raw.trim());
    if (item !== '' && !items.includes(item)) items.push(item);
  }
  return items;
}

function emptyValue(key: string, expected: string): Problem {
  return { code: 'tags', field: key, message: `tag "${key}" has an empty value`, fix: `set it to ${expected}, or remove it` };
}

function describeValue(key: string): string {
  switch (key) {
    case BYNDER_TAG.brand:
      return "the brand's id or name";
    case BYNDER_TAG.name:
      return "the asset's name";
    case BYNDER_TAG.description:
      return "the asset's description";
    case BYNDER_TAG.tags:
      return 'Bynder tags, separated by "+"';
    default:
      return 'the id of the asset the file is a new version of';
  }
}

function suggestKey(key: string): string {
  const lower = key.toLowerCase();
  const known = SINGLE_KEYS.find((k) => k === lower);
  if (known) return `"${known}"`;
  if (lower.startsWith(BYNDER_TAG.metaPrefix)) return `"${BYNDER_TAG.metaPrefix}${key.slice(BYNDER_TAG.metaPrefix.length)}"`;
  return `one of ${SINGLE_KEYS.join(', ')}, ${BYNDER_TAG.metaPrefix}<metaproperty name>`;
}
