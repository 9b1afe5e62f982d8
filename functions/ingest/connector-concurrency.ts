/**
 * How many records of one batch run at once: the environment's `recordConcurrency`, bounded by
 * a cap per connector (the destination's `name`), so that raising the setting can never point
 * more concurrent requests at a document system than its rate limit was judged to bear.
 *
 * A record makes its requests to the destination one after another (presign, PUT, commit), so
 * the records in flight are the destination requests in flight from one invocation, and across
 * the function at most `maxConcurrency x min(recordConcurrency, cap)` requests run at once.
 *
 * - iBinder publishes no figure ("limits are set based on the type of client and the type of
 *   request"; past them a 429, honoured with its Retry-After). The cap is 10, the records of one
 *   standard SQS batch: with the default `maxConcurrency` of 5, at most 50 requests at once, each
 *   of them short (a presign, a PUT of a small file, a commit). A tenant that sees 429s lowers
 *   `maxConcurrency` first (it bounds the whole function), then `recordConcurrency`.
 * - Bynder allows 4,500 requests per 5 minutes per egress IP (15 a second), shared by every
 *   function behind the same NAT, and answers past it with a 5-minute block and no Retry-After.
 *   Its cap is 4 records per invocation, so that two invocations at about 100 ms a request stay
 *   near Bynder's own guidance of 10 requests a second.
 * - A destination without an entry gets the most cautious cap of the list.
 */

/** Most records in flight per invocation, per connector name. */
export const CONNECTOR_RECORD_CAPS: Readonly<Record<string, number>> = {
  ibinder: 10,
  bynder: 4,
};

/** The cap of a connector this module does not know: the smallest of the known ones. */
export const UNKNOWN_CONNECTOR_RECORD_CAP = Math.min(...Object.values(CONNECTOR_RECORD_CAPS));

/** Records of one batch to run at once against `connector`; never below 1. */
export function recordsInFlight(recordConcurrency: number, connector: string): number {
  const cap = CONNECTOR_RECORD_CAPS[connector] ?? UNKNOWN_CONNECTOR_RECORD_CAP;
  return Math.max(1, Math.min(Math.floor(recordConcurrency), cap));
}
