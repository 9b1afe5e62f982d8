/**
 * `--tag key=value` changes applied to a tag set: a value replaces the tag of that key, an
 * empty value removes it. Shared by `check` (what if the tags were these?) and `reingest`
 * (set them now).
 */
import type { S3Tag } from '../shared/s3/tags.js';

export interface TagChange {
  key: string;
  value: string;
}

export function applyTagChanges(tags: readonly S3Tag[], changes: readonly TagChange[]): S3Tag[] {
  const result = new Map(tags.map((t) => [t.Key, t.Value]));
  for (const { key, value } of changes) {
    if (value === '') result.delete(key);
    else result.set(key, value);
  }
  return [...result].map(([Key, Value]) => ({ Key, Value }));
}
