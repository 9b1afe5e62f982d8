/**
 * What happens to an inbox object once its version is committed, as the environment says:
 * `delete` removes the version permanently (iBinder now holds the bytes; the bucket's
 * lifecycle would otherwise keep paying for them), `tag` keeps it and records the connector and the committed
 * version's ids on it under the `ingested:` prefix (`ingested:document-id` for iBinder). Both are idempotent, so a redelivered message
 * for a committed object simply repeats them.
 *
 * A superseded upload (a newer upload of the key was committed first) is disposed of the same
 * way, tagged `ingested:status=superseded` instead of with ids: the newer upload holds the key's
 * latest bytes in the document system.
 *
 * Without a version id, the object at the key may be a later upload that was not ingested: it
 * is then left alone (see object-store.ts), and the log says why.
 */
import { PutObjectTaggingCommand } from '@aws-sdk/client-s3';
import type { Logger } from '@aws-lambda-powertools/logger';
import type { Disposition } from '../../shared/config/runtime.js';
import type { CommittedVersion } from '../../shared/connectors/types.js';
import type { ObjectRef } from '../../shared/ledger/types.js';
import { DISPOSITION_TAG, dispositionIdTagKey, MAX_TAGS_PER_OBJECT, withDispositionTags, type S3Tag } from '../../shared/s3/tags.js';
import type { S3Client } from '@aws-sdk/client-s3';
import { deleteObjectVersion, getObjectTags, isObjectGone, replacedBy } from './object-store.js';

export async function disposeCommittedObject(
  s3: S3Client,
  log: Logger,
  ref: ObjectRef,
  disposition: Disposition,
  committed: CommittedVersion,
  knownTags?: readonly S3Tag[],
): Promise<void> {
  if (disposition === 'delete') {
    await deleteIngested(s3, log, ref, 'inbox object version deleted after commit');
    return;
  }
  const existing = await currentTags(s3, log, ref, knownTags);
  if (existing === undefined) return;
  const already = Object.entries(committed.ids).every(([name, value]) =>
    existing.some((t) => t.Key === dispositionIdTagKey(name) && t.Value === value),
  );
  if (already) return;
  const { tags, dropped } = withDispositionTags(existing, committed);
  await s3.send(new PutObjectTaggingCommand({ Bucket: ref.bucket, Key: ref.key, VersionId: ref.versionId, Tagging: { TagSet: tags } }));
  if (dropped.length > 0) {
    log.warn('the object already has close to 10 tags: some ingest tags did not fit (the ledger has the ids)', { dropped });
  }
}

/** Disposes of an upload that a newer upload of its key superseded: deleted, or tagged as superseded. */
export async function disposeSupersededObject(
  s3: S3Client,
  log: Logger,
  ref: ObjectRef,
  disposition: Disposition,
  knownTags?: readonly S3Tag[],
): Promise<void> {
  if (disposition === 'delete') {
    await deleteIngested(s3, log, ref, 'superseded inbox object version deleted');
    return;
  }
  const existing = await currentTags(s3, log, ref, knownTags);
  if (existing === undefined) return;
  if (existing.some((t) => t.Key === DISPOSITION_TAG.status && t.Value === 'superseded')) return;
  const kept = existing.filter((t) => t.Key !== DISPOSITION_TAG.status);
  if (kept.length >= MAX_TAGS_PER_OBJECT) {
    log.warn('the object already has 10 tags: the superseded tag did not fit (the ledger has the state)');
    return;
  }
  await s3.send(
    new PutObjectTaggingCommand({
      Bucket: ref.bucket,
      Key: ref.key,
      VersionId: ref.versionId,
      Tagging: { TagSet: [...kept, { Key: DISPOSITION_TAG.status, Value: 'superseded' }] },
    }),
  );
}

async function deleteIngested(s3: S3Client, log: Logger, ref: ObjectRef, done: string): Promise<void> {
  const result = await deleteObjectVersion(s3, ref);
  if (result.deleted) {
    log.debug(done);
    return;
  }
  log.info('inbox object kept: it is not the upload that was ingested', { kept: result.kept });
}

/** The tags to extend, or undefined when the object is gone or (unversioned) was replaced by a later upload. */
async function currentTags(
  s3: S3Client,
  log: Logger,
  ref: ObjectRef,
  knownTags: readonly S3Tag[] | undefined,
): Promise<readonly S3Tag[] | undefined> {
  const replaced = await replacedBy(s3, ref);
  if (replaced !== undefined) {
    log.info('inbox object not tagged: it is not the upload that was ingested', { kept: replaced });
    return undefined;
  }
  try {
    return knownTags ?? (await getObjectTags(s3, ref));
  } catch (err) {
    if (isObjectGone(err)) return undefined;
    throw err;
  }
}
