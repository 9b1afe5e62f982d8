/**
 * The object-tag convention that tells the ingest where a file belongs.
 *
 * Keys are case-sensitive. Every key under `ibinder:` must be one of the convention's keys: a
 * misspelt key is reported instead of silently ignored, because ignoring it would file the
 * document without the metadata the producer meant to set. Tags outside `ibinder:` belong to
 * the producer and are left alone.
 *
 * Values are read in NFC (a name typed on a Mac and the same name typed on Windows are one
 * name), and the binder and folder ids are checked for their documented formats here, so that a
 * malformed id is reported as such before anything is looked up or uploaded.
 */
import { BINDER_ID_FORMAT, GUID_FORMAT, isBinderId, isGuid } from '../config/ids.js';
import { S3_TAG_CHARS } from '../config/target.js';
import { nfc } from '../config/unicode.js';
import type { Problem } from '../ledger/types.js';

export const INGEST_TAG_PREFIX = 'ibinder:';

export const TAG = {
  binder: 'ibinder:binder',
  folder: 'ibinder:folder',
  folderPath: 'ibinder:folder-path',
  fileName: 'ibinder:filename',
  version: 'ibinder:version',
  /** Followed by a metadataElementId; the value is an allowed value id or label. */
  metaPrefix: 'ibinder:meta:',
} as const;

/**
 * Tags the ingest writes onto an inbox object it kept (disposition `tag`). They use their own
 * prefix: an `ibinder:` key the convention does not know would make the object invalid if it
 * were ever ingested again.
 */
export const DISPOSITION_TAG = {
  status: 'ingested:status',
  documentId: 'ingested:document-id',
  versionId: 'ingested:version-id',
} as const;

/** S3's limits on object tags. */
export const MAX_TAGS_PER_OBJECT = 10;
export const MAX_TAG_KEY_LENGTH = 128;
export const MAX_TAG_VALUE_LENGTH = 256;

const ALLOWED_CHARS_TEXT = 'letters, digits, spaces and + - = . _ : / @';

/** A tag as the S3 SDK returns it. */
export interface S3TagEntry {
  Key?: string | undefined;
  Value?: string | undefined;
}

export interface S3Tag {
  Key: string;
  Value: string;
}

/** What an object's `ibinder:` tags say; absent fields were not tagged. */
export interface IngestTags {
  binderId?: string | undefined;
  folderId?: string | undefined;
  folderPath?: string | undefined;
  fileName?: string | undefined;
  version?: string | undefined;
  /** metadataElementId -> value id or label. */
  metadata: Record<string, string>;
  /** True when the object carries at least one `ibinder:` tag (even a wrong one). */
  present: boolean;
}

export interface ParsedIngestTags {
  tags: IngestTags;
  problems: Problem[];
  /**
   * Tag keys whose id value does not have the documented format (`ibinder:binder`,
   * `ibinder:folder`): nothing may be looked up or uploaded with such an id.
   */
  malformedIds: string[];
}

const SINGLE_KEYS: readonly string[] = [TAG.binder, TAG.folder, TAG.folderPath, TAG.fileName, TAG.version];

/** Reads the convention from an object's tag set; collects every problem instead of stopping at the first. */
export function parseIngestTags(tagSet: readonly S3TagEntry[]): ParsedIngestTags {
  const tags: IngestTags = { metadata: {}, present: false };
  const problems: Problem[] = [];
  const malformedIds: string[] = [];

  for (const entry of tagSet) {
    const key = nfc(entry.Key ?? '');
    const value = nfc((entry.Value ?? '').trim());

    if (!key.startsWith(INGEST_TAG_PREFIX)) {
      if (key.toLowerCase().startsWith(INGEST_TAG_PREFIX)) {
        tags.present = true;
        problems.push({
          code: 'tags',
          field: key,
          message: `tag "${key}" looks like an ingest tag, but tag keys are case-sensitive and must start with "${INGEST_TAG_PREFIX}"`,
          fix: `rename the tag to ${suggestKey(key)}`,
        });
      }
      continue;
    }
    tags.present = true;

    if (key.startsWith(TAG.metaPrefix)) {
      const elementId = key.slice(TAG.metaPrefix.length);
      if (elementId.trim() === '') {
        problems.push({
          code: 'tags',
          field: key,
          message: `tag "${key}" names no metadata element`,
          fix: `use ${TAG.metaPrefix}<metadataElementId>, with an id from the binder's metadata schema`,
        });
      } else if (value === '') {
        problems.push(emptyValue(key, 'an allowed value id or label of that metadata element'));
      } else {
        tags.metadata[elementId] = value;
      }
      continue;
    }

    if (!SINGLE_KEYS.includes(key)) {
      problems.push({
        code: 'tags',
        field: key,
        message: `tag "${key}" is not part of the ingest tag convention`,
        fix: `remove it, or use one of ${[...SINGLE_KEYS, `${TAG.metaPrefix}<metadataElementId>`].join(', ')} (keys are case-sensitive)`,
      });
      continue;
    }
    if (value === '') {
      problems.push(emptyValue(key, describeValue(key)));
      continue;
    }
    switch (key) {
      case TAG.binder:
        tags.binderId = value;
        if (!isBinderId(value)) {
          malformedIds.push(key);
          problems.push({
            code: 'tags',
            field: key,
            message: `${JSON.stringify(value)} is not a binder id: binder ids are ${BINDER_ID_FORMAT}`,
            fix: `set ${TAG.binder} to the binder's id as the pipeline CLI's binders command lists it (not its name or number)`,
          });
        }
        break;
      case TAG.folder:
        tags.folderId = value;
        if (!isGuid(value)) {
          malformedIds.push(key);
          problems.push({
            code: 'tags',
            field: key,
            message: `${JSON.stringify(value)} is not a folder id: folder ids are ${GUID_FORMAT}`,
            fix: `set ${TAG.folder} to an id from the pipeline CLI's folders <binderId> command, or give the folder by name with ${TAG.folderPath}`,
          });
        }
        break;
      case TAG.folderPath:
        tags.folderPath = value;
        break;
      case TAG.fileName:
        tags.fileName = value;
        break;
      case TAG.version:
        tags.version = value;
        break;
    }
  }

  if (tags.folderId !== undefined && tags.folderPath !== undefined) {
    problems.push({
      code: 'tags',
      field: `${TAG.folder}, ${TAG.folderPath}`,
      message: `both ${TAG.folder} ("${tags.folderId}") and ${TAG.folderPath} ("${tags.folderPath}") are set, so the folder is ambiguous`,
      fix: `keep only one of ${TAG.folder} (a folder id) or ${TAG.folderPath} (folder names from the binder's top, "/"-separated)`,
    });
  }
  return { tags, problems, malformedIds };
}

/** What a producer wants to say with tags; turned into a tag set by `buildIngestTags`. */
export interface IngestTagSpec {
  binderId?: string | undefined;
  folderId?: string | undefined;
  folderPath?: string | undefined;
  fileName?: string | undefined;
  version?: string | undefined;
  /** metadataElementId -> value id (ids are safer than labels: labels may hold characters tags cannot). */
  metadata?: Record<string, string> | undefined;
  /** The producer's own tags, kept beside the convention's. */
  extra?: Record<string, string> | undefined;
}

export class TagConventionError extends Error {
  override readonly name = 'TagConventionError';
  constructor(readonly problems: Problem[]) {
    super(`the tags cannot be written:\n${problems.map((p) => `  ${p.field}: ${p.message} (fix: ${p.fix})`).join('\n')}`);
  }
}

/**
 * Builds the tag set a producer puts on an inbox object, checked against the convention and
 * S3's own rules (character set, lengths, 10 tags), so that a mistake shows up at the producer
 * instead of as a rejection later. Throws TagConventionError listing every problem.
 */
export function buildIngestTags(spec: IngestTagSpec): S3Tag[] {
  const tags: S3Tag[] = [];
  const add = (key: string, value: string | undefined): void => {
    if (value !== undefined) tags.push({ Key: key, Value: value });
  };
  add(TAG.binder, spec.binderId);
  add(TAG.folder, spec.folderId);
  add(TAG.folderPath, spec.folderPath);
  add(TAG.fileName, spec.fileName);
  add(TAG.version, spec.version);
  for (const [elementId, value] of Object.entries(spec.metadata ?? {})) add(`${TAG.metaPrefix}${elementId}`, value);
  for (const [key, value] of Object.entries(spec.extra ?? {})) add(key, value);

  const problems = [...checkS3TagSet(tags), ...parseIngestTags(tags).problems];
  if (problems.length > 0) throw new TagConventionError(problems);
  return tags;
}

/** S3's rules for a tag set: at most 10 tags, unique keys, lengths and character set. */
export function checkS3TagSet(tags: readonly S3Tag[]): Problem[] {
  const problems: Problem[] = [];
  if (tags.length > MAX_TAGS_PER_OBJECT) {
    problems.push({
      code: 'tags',
      field: 'tags',
      message: `${tags.length} tags given; S3 allows at most ${MAX_TAGS_PER_OBJECT} per object`,
      fix: 'drop tags you do not need, or move default metadata into a routing rule of the environment config',
    });
  }
  const seen = new Set<string>();
  for (const { Key: key, Value: value } of tags) {
    if (seen.has(key)) {
      problems.push({ code: 'tags', field: key, message: `tag "${key}" is given twice`, fix: 'give each tag key once' });
    }
    seen.add(key);
    if (key.length === 0 || [...key].length > MAX_TAG_KEY_LENGTH) {
      problems.push({
        code: 'tags',
        field: key,
        message: `tag key "${key}" must be 1 to ${MAX_TAG_KEY_LENGTH} characters long`,
        fix: 'shorten the key',
      });
    }
    if ([...value].length > MAX_TAG_VALUE_LENGTH) {
      problems.push({
        code: 'tags',
        field: key,
        message: `the value of tag "${key}" is ${[...value].length} characters long; S3 allows ${MAX_TAG_VALUE_LENGTH}`,
        fix: 'shorten the value',
      });
    }
    for (const [what, text] of [
      ['key', key],
      ['value', value],
    ] as const) {
      if (!S3_TAG_CHARS.test(text)) {
        const bad = [...new Set([...text].filter((c) => !S3_TAG_CHARS.test(c)))].map((c) => JSON.stringify(c)).join(' ');
        problems.push({
          code: 'tags',
          field: key,
          message: `the ${what} of tag "${key}" contains characters S3 does not allow in tags: ${bad}`,
          fix:
            `use only ${ALLOWED_CHARS_TEXT}` +
            (key === TAG.fileName ? '; or name the S3 object itself as the document should be called and drop the tag' : '') +
            (key.startsWith(TAG.metaPrefix) ? '; give the allowed value id instead of its label' : ''),
        });
      }
    }
  }
  return problems;
}

/** The `Tagging` parameter of PutObject/CreateMultipartUpload: a URL-encoded query string. */
export function toTaggingHeader(tags: readonly S3Tag[]): string {
  return tags.map((t) => `${encodeURIComponent(t.Key)}=${encodeURIComponent(t.Value)}`).join('&');
}

export interface DispositionTagsResult {
  tags: S3Tag[];
  /** Disposition tags that did not fit under S3's 10-tag limit (the ledger still has them). */
  dropped: string[];
}

/**
 * The tag set of a kept inbox object after its commit: the existing tags (earlier `ingested:`
 * tags replaced) plus the document and version ids, in that order of importance, as far as
 * the 10-tag limit allows. Existing tags are never dropped to make room.
 */
export function withDispositionTags(
  existing: readonly S3TagEntry[],
  committed: { documentId: string; documentVersionId: string },
): DispositionTagsResult {
  const ingestedKeys: readonly string[] = Object.values(DISPOSITION_TAG);
  const tags: S3Tag[] = existing
    .filter((t): t is S3Tag => t.Key !== undefined && !ingestedKeys.includes(t.Key))
    .map((t) => ({ Key: t.Key, Value: t.Value ?? '' }));
  const wanted: S3Tag[] = [
    { Key: DISPOSITION_TAG.documentId, Value: committed.documentId },
    { Key: DISPOSITION_TAG.versionId, Value: committed.documentVersionId },
    { Key: DISPOSITION_TAG.status, Value: 'committed' },
  ];
  const dropped: string[] = [];
  for (const tag of wanted) {
    if (tags.length < MAX_TAGS_PER_OBJECT) tags.push(tag);
    else dropped.push(tag.Key);
  }
  return { tags, dropped };
}

function emptyValue(key: string, expected: string): Problem {
  return { code: 'tags', field: key, message: `tag "${key}" has an empty value`, fix: `set it to ${expected}, or remove it` };
}

function describeValue(key: string): string {
  switch (key) {
    case TAG.binder:
      return 'the binder id (9 characters)';
    case TAG.folder:
      return 'a folder id (a GUID)';
    case TAG.folderPath:
      return 'folder names from the binder\'s top, "/"-separated';
    case TAG.fileName:
      return "the document's file name";
    default:
      return 'the version label';
  }
}

function suggestKey(key: string): string {
  const lower = key.toLowerCase();
  const known = [...SINGLE_KEYS].find((k) => k === lower);
  if (known) return `"${known}"`;
  if (lower.startsWith(TAG.metaPrefix)) return `"${TAG.metaPrefix}${key.slice(TAG.metaPrefix.length)}"`;
  return `one of ${SINGLE_KEYS.join(', ')}, ${TAG.metaPrefix}<metadataElementId>`;
}
