/**
 * Polls `GET /api/v4/upload/poll/?items=<importId>` until Bynder lists the import as done or
 * failed, with a growing wait between polls and a bounded number of them.
 *
 * Why: an upload is converted after it is finalised; the legacy flow must wait for it before
 * saving, and a save of an import not converted yet answers 303 "please poll". Not finding the
 * id among the finished ones is "pending", not an error: the file-service ids may never be
 * listed there (unconfirmed), so a caller decides what pending means.
 */
import type { BynderApiCaller } from './api-call.js';
import { parseResponse } from './http.js';
import { PollResponseSchema } from './schemas.js';

export type ImportState = 'done' | 'failed' | 'pending';

export interface PollSettings {
  /** Polls at most. */
  maxPolls: number;
  /** Wait before the first poll (ms); doubles up to `maxDelayMs`. */
  firstDelayMs: number;
  maxDelayMs: number;
}

export const POLL_PATH = '/api/v4/upload/poll/';

export async function pollImport(
  caller: BynderApiCaller,
  importId: string,
  settings: PollSettings,
): Promise<{ state: ImportState; polls: number }> {
  let delay = settings.firstDelayMs;
  for (let poll = 1; poll <= settings.maxPolls; poll++) {
    await caller.sleep(delay, { method: 'GET', path: POLL_PATH });
    delay = Math.min(settings.maxDelayMs, delay * 2);
    const response = await caller.call({
      method: 'GET',
      path: POLL_PATH,
      query: new URLSearchParams({ items: importId }),
      retry: 'transient',
    });
    const status = parseResponse({ method: 'GET', path: POLL_PATH }, 'api', response, PollResponseSchema);
    if (status.itemsFailed.includes(importId) || status.itemsRejected.includes(importId)) return { state: 'failed', polls: poll };
    if (status.itemsDone.includes(importId)) return { state: 'done', polls: poll };
  }
  return { state: 'pending', polls: settings.maxPolls };
}
