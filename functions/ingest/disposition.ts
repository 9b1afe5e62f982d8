/**
 * What happens to an inbox object once its version is committed, as the environment says:
 * `delete` removes the version permanently (iBinder now holds the bytes; the bucket's
 * lifecycle would otherwise keep paying for them), `tag` keeps it and records the document and
 * version ids on it under the `ingested:` prefix. Both are idempotent, so a redelivered message
 * for a committed object simply repeats them.
 */
import { PutObjectTaggingCommand } from '@aws-sdk/client-s3';
import type { Logger } from '@aws-lambda-powertools/logger';
import type { Disposition } from '../../shared/config/runtime.js';
import type { ObjectRef } from '../../shared/ledger/types.js';
import { DISPOSITION_TAG, withDispositionTags, type S3Tag } from '../../shared/s3/tags.js';
import type { S3Client } from '@aws-sdk/client-s3';
import { deleteObjectVersion, getObjectTags, isObjectGone } from './object-store.js';

export async function disposeCommittedObject(
  s3: S3Client,
  log: Logger,
  ref: ObjectRef,
  disposition: Disposition,
  committed: { documentId: string; documentVersionId: string },
  knownTags?: readonly S3Tag[],
): Promise<void> {
  if (disposition === 'delete') {
    await deleteObjectVersion(s3, ref);
    log.debug('inbox object version deleted after commit');
    return;
  }
  let existing: readonly S3Tag[];
  try {
    existing = knownTags ?? (await getObjectTags(s3, ref));
  } catch (err) {
    if (isObjectGone(err)) return;
    throw err;
  }
  const already =
    existing.some((t) => t.Key === DISPOSITION_TAG.documentId && t.Value === committed.documentId) &&
    existing.some((t) => t.Key === DISPOSITION_TAG.versionId && t.Value === committed.documentVersionId);
  if (already) return;
  const { tags, dropped } = withDispositionTags(existing, committed);
  await s3.send(
    new PutObjectTaggingCommand({ Bucket: ref.bucket, Key: ref.key, VersionId: ref.versionId, Tagging: { TagSet: tags } }),
  );
  if (dropped.length > 0) {
    log.warn('the object already has close to 10 tags: some ingest tags did not fit (the ledger has the ids)', { dropped });
  }
}
