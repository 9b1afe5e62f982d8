/**
 * A connector's call within the ingest flow, and its failure classified by that connector
 * (`IngestConnector.classify`) at the step where it happened: the flow then decides by the
 * neutral kind (permanent: reject; transient: retry; operator: retry and alarm; throttled: retry
 * no earlier than the system allows) without knowing any system's errors.
 */
import { createHash } from 'node:crypto';
import type { ClassifiedError, CommitMarker, ConnectorName, IngestConnector, UploadStep } from '../../shared/connectors/types.js';
import { LedgerConflictError, ledgerKey, type ObjectRef } from '../../shared/ledger/types.js';

/** A connector's call failed; `classified` says what the failure means at `step`. */
export class ConnectorStepError extends Error {
  override readonly name = 'ConnectorStepError';
  constructor(
    readonly connector: ConnectorName,
    readonly step: UploadStep,
    readonly classified: ClassifiedError,
    options: { cause: unknown },
  ) {
    super(
      `${connector} at ${step}: ${
        classified.kind === 'permanent' ? classified.problems.map((p) => p.message).join('; ') : classified.reason
      }`,
      options,
    );
  }
}

export function isPermanentRefusal(err: unknown): err is ConnectorStepError & { classified: { kind: 'permanent' } } {
  return err instanceof ConnectorStepError && err.classified.kind === 'permanent';
}

/** The stored upload is gone at the system (transient with `uploadAgain`): the bytes must be sent again. */
export function isUploadGone(err: unknown): err is ConnectorStepError & { classified: { kind: 'transient'; uploadAgain: true } } {
  return err instanceof ConnectorStepError && err.classified.kind === 'transient' && err.classified.uploadAgain === true;
}

/**
 * Runs one call of a connector, classifying what it throws. The ledger's own conflicts (a lost
 * claim, noticed inside a transfer's callback) pass through: they are the flow's, not the system's.
 */
export async function viaConnector<T>(connector: IngestConnector, step: UploadStep, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (err instanceof ConnectorStepError || err instanceof LedgerConflictError) throw err;
    throw new ConnectorStepError(connector.name, step, connector.classify(err, step), { cause: err });
  }
}

/** The object version as a non-idempotent commit marks it in the system, to be found again after a crash. */
export function commitMarkerOf(ref: ObjectRef): CommitMarker {
  const identity = ledgerKey(ref);
  return {
    object: `s3://${ref.bucket}/${ref.key} (version ${identity.slice(identity.lastIndexOf('#') + 1)})`,
    token: createHash('sha256').update(identity, 'utf8').digest('hex').slice(0, 32),
  };
}
