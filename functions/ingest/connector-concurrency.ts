/**
 * How many records of one batch run at once: the environment's `recordConcurrency`, and within
 * it each connector's own cap (`IngestConnector.maxConcurrentRecords`), so that raising the
 * setting can never point more concurrent requests at a document system than its rate limit was
 * judged to bear. The connector's own module says why its cap is what it is (iBinder 10, the
 * records of one standard SQS batch; Bynder 4, against its 15 requests a second per egress IP).
 *
 * A record makes its requests to its system one after another (presign, PUT, commit), so the
 * records in flight for one connector are its requests in flight from one invocation. A record's
 * connector is known only once its tags are read: the batch runs up to `recordsInFlight` records,
 * and each holds a slot of its connector (`connectorSlots`) from the assessment to the commit.
 */
import pLimit, { type LimitFunction } from 'p-limit';
import type { ConnectorName, IngestConnector } from '../../shared/connectors/types.js';

type ConnectorCap = Pick<IngestConnector, 'name' | 'maxConcurrentRecords'>;

/** Records of one batch to run at once: `recordConcurrency`, at most the largest connector cap; never below 1. */
export function recordsInFlight(recordConcurrency: number, connectors: readonly ConnectorCap[]): number {
  const largestCap = Math.max(1, ...connectors.map((c) => c.maxConcurrentRecords));
  return Math.max(1, Math.min(Math.floor(recordConcurrency), largestCap));
}

/** Records of one batch to run at once against one connector; never below 1. */
export function connectorRecordsInFlight(recordConcurrency: number, connector: ConnectorCap): number {
  return Math.max(1, Math.min(Math.floor(recordConcurrency), connector.maxConcurrentRecords));
}

/** One limiter per connector for one batch; a connector the list does not name gets a slot at a time. */
export function connectorSlots(
  recordConcurrency: number,
  connectors: readonly ConnectorCap[],
): <T>(connector: ConnectorName, work: () => Promise<T>) => Promise<T> {
  const limits = new Map<ConnectorName, LimitFunction>(
    connectors.map((c) => [c.name, pLimit(connectorRecordsInFlight(recordConcurrency, c))]),
  );
  return (connector, work) => {
    let limit = limits.get(connector);
    if (limit === undefined) {
      limit = pLimit(1);
      limits.set(connector, limit);
    }
    return limit(work);
  };
}
