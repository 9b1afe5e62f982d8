/**
 * The two keys of a rejected object: `rejected/<rest>` where the ingest copied it, and
 * `inbox/<rest>` where it came from and goes back to. The inverse of the ingest's
 * `rejectedKeyFor`, which keeps the part after the inbox prefix.
 */
import { rejectedKeyFor, reportKeyFor } from '../functions/ingest/rejection.js';
import type { PipelineConfig } from '../shared/config/runtime.js';

export interface RejectedObjectKeys {
  rejectedKey: string;
  reportKey: string;
  inboxKey: string;
}

/**
 * Accepts the key as a person copies it: `rejected/a/b.pdf`, `inbox/a/b.pdf` (the original
 * key), or `a/b.pdf` (the part after either prefix).
 */
export function rejectedObjectKeys(key: string, config: Pick<PipelineConfig, 'inboxPrefix' | 'rejectedPrefix'>): RejectedObjectKeys {
  const rest = key.startsWith(config.rejectedPrefix)
    ? key.slice(config.rejectedPrefix.length)
    : key.startsWith(config.inboxPrefix)
      ? key.slice(config.inboxPrefix.length)
      : key;
  const inboxKey = `${config.inboxPrefix}${rest}`;
  const rejectedKey = rejectedKeyFor(inboxKey, config.inboxPrefix, config.rejectedPrefix);
  return { rejectedKey, reportKey: reportKeyFor(rejectedKey), inboxKey };
}
