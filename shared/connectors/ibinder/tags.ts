/**
 * The iBinder connector's tag namespace (`ibinder:`): the convention that tells the ingest where
 * in iBinder a file belongs.
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
import { BINDER_ID_FORMAT, GUID_FORMAT, isBinderId, isGuid } from '../../config/ids.js';
import { nfc } from '../../config/unicode.js';
import type { Problem } from '../../ledger/types.js';
import { checkS3TagSet, type S3Tag, type S3TagEntry } from '../../s3/tags.js';

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
