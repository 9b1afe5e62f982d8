/**
 * Jobs handed back because Bynder blocked the integration (429) must not come back before the
 * block is over: any request during it extends it. The queue's own visibility timeout is
 * shorter than Bynder's five quiet minutes, so each such message's visibility is set to the
 * pause the error carries (`retryAfterMs`, at least five minutes), capped at SQS's 12 hours.
 * A message whose visibility cannot be changed is still handed back (it returns sooner, and
 * the client's rate budget fails it fast without a request while the block lasts).
 */
import { MAX_VISIBILITY_TIMEOUT_SECONDS, type MessageVisibility, type ReceivedMessageRef } from '../ingest/message-visibility.js';
import type { ExportLogger } from '../../shared/export/deps.js';
import type { JobResult } from './process-jobs.js';

/** Sets the visibility of every throttled retry in `results`; returns how many were set. */
export async function holdThrottledRetries(
  results: readonly JobResult[],
  messages: ReadonlyMap<string, ReceivedMessageRef>,
  visibility: MessageVisibility,
  logger: ExportLogger,
): Promise<number> {
  let held = 0;
  for (const result of results) {
    const pauseMs = result.status === 'retry' ? result.error?.retryAfterMs : undefined;
    const message = messages.get(result.messageId);
    if (pauseMs === undefined || message === undefined) continue;
    const seconds = Math.min(MAX_VISIBILITY_TIMEOUT_SECONDS, Math.ceil(pauseMs / 1000));
    try {
      await visibility.change(message, seconds);
      held++;
    } catch (err) {
      logger.warn('could not hold a throttled export job back for the pause; it returns with the queue visibility timeout', {
        messageId: result.messageId,
        versionId: result.job?.versionId,
        pauseSeconds: seconds,
        error: err instanceof Error ? err.name : String(err),
      });
    }
  }
  return held;
}
