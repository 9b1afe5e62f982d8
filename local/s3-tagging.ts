/**
 * Object tags for the local S3 server, kept by the local stack instead of by s3rver. s3rver
 * 3.7 ignores the `x-amz-tagging` header of PutObject, CreateMultipartUpload and CopyObject,
 * keeps an object's tags after the object is deleted or overwritten, and reads stored tag
 * values back through an XML parser that turns `007` into `7` and `1e5` into `100000`. The
 * ingest routes files by their tags, so these would be silent misroutes; this store gives the
 * local server S3's behaviour: tags belong to one object write, survive byte-exact, follow the
 * copy directive, and obey S3's limits.
 */
import { S3_TAG_CHARS } from '../shared/config/target.js';

export type TagSet = ReadonlyArray<{ Key: string; Value: string }>;

/** S3's limits on object tags (Amazon S3 user guide, "Categorizing your storage using tags"). */
export const MAX_TAGS_PER_OBJECT = 10;
export const MAX_TAG_KEY_CHARS = 128;
export const MAX_TAG_VALUE_CHARS = 256;

/** A tag set S3 would refuse, with the error code S3 answers. */
export class InvalidTagError extends Error {
  override readonly name = 'InvalidTagError';
  constructor(
    message: string,
    readonly code: 'InvalidTag' | 'BadRequest' | 'MalformedXML',
  ) {
    super(message);
  }
}

/** Tags by bucket and key. In memory: the local S3 server's data lives as long as the process. */
export class ObjectTagStore {
  private readonly tags = new Map<string, TagSet>();

  get(bucket: string, key: string): TagSet {
    return this.tags.get(storeKey(bucket, key)) ?? [];
  }

  /** Replaces the object's whole tag set, as PutObjectTagging and every object write do. */
  set(bucket: string, key: string, tagSet: TagSet): void {
    if (tagSet.length === 0) this.tags.delete(storeKey(bucket, key));
    else
      this.tags.set(
        storeKey(bucket, key),
        tagSet.map((t) => ({ Key: t.Key, Value: t.Value })),
      );
  }

  delete(bucket: string, key: string): void {
    this.tags.delete(storeKey(bucket, key));
  }
}

function storeKey(bucket: string, key: string): string {
  return `${bucket}\u0000${key}`;
}

/** Checks a tag set against S3's rules; throws InvalidTagError naming the offending tag. */
export function validateTagSet(tagSet: TagSet): TagSet {
  if (tagSet.length > MAX_TAGS_PER_OBJECT) {
    throw new InvalidTagError(`Object tags cannot be greater than ${MAX_TAGS_PER_OBJECT} (got ${tagSet.length})`, 'BadRequest');
  }
  const seen = new Set<string>();
  for (const { Key: key, Value: value } of tagSet) {
    const keyChars = [...key].length;
    if (keyChars < 1 || keyChars > MAX_TAG_KEY_CHARS)
      throw new InvalidTagError(`The TagKey "${key}" must be 1 to ${MAX_TAG_KEY_CHARS} characters long`, 'InvalidTag');
    if ([...value].length > MAX_TAG_VALUE_CHARS)
      throw new InvalidTagError(`The TagValue of "${key}" is longer than ${MAX_TAG_VALUE_CHARS} characters`, 'InvalidTag');
    if (!S3_TAG_CHARS.test(key))
      throw new InvalidTagError(
        `The TagKey "${key}" contains a character S3 does not allow (letters, digits, spaces and + - = . _ : / @)`,
        'InvalidTag',
      );
    if (!S3_TAG_CHARS.test(value))
      throw new InvalidTagError(
        `The TagValue of "${key}" contains a character S3 does not allow (letters, digits, spaces and + - = . _ : / @)`,
        'InvalidTag',
      );
    if (key.toLowerCase().startsWith('aws:')) throw new InvalidTagError(`The TagKey "${key}" uses the reserved prefix aws:`, 'InvalidTag');
    if (seen.has(key)) throw new InvalidTagError(`Cannot provide multiple Tags with the same key "${key}"`, 'InvalidTag');
    seen.add(key);
  }
  return tagSet;
}

/** Reads the `x-amz-tagging` header: URL query syntax, `k1=v1&k2=v2`. */
export function parseTaggingHeader(header: string): TagSet {
  if (header.trim() === '') return [];
  return validateTagSet([...new URLSearchParams(header)].map(([Key, Value]) => ({ Key, Value })));
}

/** Reads a PutObjectTagging body (`<Tagging><TagSet><Tag><Key/><Value/></Tag>...`). */
export function parseTaggingXml(xml: string): TagSet {
  if (!/<Tagging[\s>]/.test(xml) || !/<\/Tagging>\s*$/.test(xml.trim())) {
    throw new InvalidTagError(
      'The XML you provided was not well-formed or did not validate against our published schema: expected <Tagging><TagSet>...</TagSet></Tagging>',
      'MalformedXML',
    );
  }
  const tags: Array<{ Key: string; Value: string }> = [];
  for (const block of xml.matchAll(/<Tag>([\s\S]*?)<\/Tag>/g)) {
    const inner = block[1] ?? '';
    const key = elementText(inner, 'Key');
    if (key === undefined) throw new InvalidTagError('The XML you provided was not well-formed: a <Tag> has no <Key>', 'MalformedXML');
    tags.push({ Key: key, Value: elementText(inner, 'Value') ?? '' });
  }
  return validateTagSet(tags);
}

/** The GetObjectTagging response body. */
export function taggingXml(tagSet: TagSet): string {
  const tags = tagSet.map((t) => `<Tag><Key>${escapeXml(t.Key)}</Key><Value>${escapeXml(t.Value)}</Value></Tag>`).join('');
  return `<?xml version="1.0" encoding="UTF-8"?>\n<Tagging xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><TagSet>${tags}</TagSet></Tagging>`;
}

function elementText(xml: string, name: string): string | undefined {
  if (new RegExp(`<${name}\\s*/>`).test(xml)) return '';
  const match = new RegExp(`<${name}>([\\s\\S]*?)</${name}>`).exec(xml);
  return match ? unescapeXml(match[1] ?? '') : undefined;
}

export function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');
}

export function unescapeXml(text: string): string {
  return text.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|amp|lt|gt|quot|apos);/g, (_, entity: string) => {
    switch (entity) {
      case 'amp':
        return '&';
      case 'lt':
        return '<';
      case 'gt':
        return '>';
      case 'quot':
        return '"';
      case 'apos':
        return "'";
      default:
        return String.fromCodePoint(entity.startsWith('#x') ? parseInt(entity.slice(2), 16) : parseInt(entity.slice(1), 10));
    }
  });
}
