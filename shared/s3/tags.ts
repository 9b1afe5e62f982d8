/**
 * S3 object tags as the ingest reads and writes them, whatever the connector: S3's own rules for a
 * tag set (10 tags, lengths, character set), the `Tagging` header, and the disposition tags
 * written onto a kept inbox object after its commit. Each connector's tag namespace (`ibinder:`,
 * `bynder:`) is parsed by the connector itself (shared/connectors/<system>/tags.ts).
 */
import { S3_TAG_CHARS } from '../config/target.js';
import type { CommittedVersion } from '../connectors/types.js';
import type { Problem } from '../ledger/types.js';

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
            (key.endsWith(':filename') ? '; or name the S3 object itself as the document should be called and drop the tag' : '') +
            (key.includes(':meta:') ? '; give the allowed value id instead of its label' : ''),
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

/**
 * Tags the ingest writes onto an inbox object it kept (disposition `tag`). They use their own
 * prefix: a connector key its convention does not know would make the object invalid if it were
 * ever ingested again. Besides these, one `ingested:<id>` tag per id of the committed version, in
 * kebab case (`ingested:document-id`, `ingested:version-id` for iBinder).
 */
export const DISPOSITION_TAG = {
  status: 'ingested:status',
  connector: 'ingested:connector',
  /** Prefix of the committed version's ids. */
  idPrefix: 'ingested:',
} as const;

/** The disposition tag key of one id of a committed version: `documentId` -> `ingested:document-id`. */
export function dispositionIdTagKey(idName: string): string {
  return `${DISPOSITION_TAG.idPrefix}${idName.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}

export interface DispositionTagsResult {
  tags: S3Tag[];
  /** Disposition tags that did not fit under S3's 10-tag limit (the ledger still has them). */
  dropped: string[];
}

/**
 * The tag set of a kept inbox object after its commit: the existing tags (earlier `ingested:`
 * tags replaced) plus the committed version's ids, the connector and the status, in that order
 * of importance, as far as the 10-tag limit allows. Existing tags are never dropped to make room.
 */
export function withDispositionTags(existing: readonly S3TagEntry[], committed: CommittedVersion): DispositionTagsResult {
  const tags: S3Tag[] = existing
    .filter((t): t is S3Tag => t.Key !== undefined && !t.Key.startsWith(DISPOSITION_TAG.idPrefix))
    .map((t) => ({ Key: t.Key, Value: t.Value ?? '' }));
  const wanted: S3Tag[] = [
    ...Object.entries(committed.ids).map(([name, value]) => ({ Key: dispositionIdTagKey(name), Value: value })),
    { Key: DISPOSITION_TAG.status, Value: 'committed' },
    { Key: DISPOSITION_TAG.connector, Value: committed.connector },
  ];
  const dropped: string[] = [];
  for (const tag of wanted) {
    if (tags.length < MAX_TAGS_PER_OBJECT) tags.push(tag);
    else dropped.push(tag.Key);
  }
  return { tags, dropped };
}
