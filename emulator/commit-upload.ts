/**
 * Upload step 3, `POST /documents/drives/{domain}/{id}/{folderId}/upload`: turns bytes that
 * were PUT to a presigned URL into a document version. Idempotent by uploadId: committing the
 * same upload to the same target again returns the version made the first time (the ingest's
 * crash-resume path depends on it); committing it elsewhere is a 409. A file name already
 * present in the folder gets a new version; any other name makes a new document.
 */
import { z } from 'zod';
import { guard } from './api-guards.js';
import { findDrive, findFolder } from './api-handlers.js';
import type { Handler } from './context.js';
import { fileNameProblems, resolveMetadata } from './metadata-validation.js';
import { sendJson, sendProblem, type FieldErrors } from './problem.js';
import { camelCaseKeys, fieldErrorsOf, readJsonBody } from './request-body.js';
import { versionDto } from './wire-format.js';

const MAX_VERSION_LABEL_LENGTH = 50;

const CommitBodySchema = z.object({
  fileName: z.string(),
  version: z.string().nullish(),
  uploadId: z.string().min(1, 'The uploadId field is required.'),
  additionalMetadata: z
    .array(
      z.object({
        metadataElementId: z.string(),
        // Numbers and booleans are bound to strings, as ASP.NET would.
        value: z.union([z.string(), z.number(), z.boolean()]).transform(String),
      }),
    )
    .nullish(),
});

export const commitUpload: Handler = async (ctx, request) => {
  if (!guard(ctx, request, 'resource')) return;
  const { req, res } = request;

  const body = await readJsonBody(req);
  if (!body.ok) {
    sendProblem(res, body.status, { errors: { $: [body.message] } });
    return;
  }
  if (body.value === undefined) {
    sendProblem(res, 400, { errors: { $: ['A JSON body {fileName, version, uploadId, additionalMetadata} is required.'] } });
    return;
  }
  const parsed = CommitBodySchema.safeParse(camelCaseKeys(body.value));
  if (!parsed.success) {
    sendProblem(res, 400, { errors: fieldErrorsOf(parsed.error) });
    return;
  }
  const commit = parsed.data;
  const upload = ctx.state.getUpload(commit.uploadId);

  if (upload?.committed) {
    const previous = upload.committed;
    const sameTarget =
      previous.binderId === request.params.id && previous.folderId === request.params.folderId && previous.fileName === commit.fileName;
    const version = ctx.state.getVersion(previous.versionId);
    if (sameTarget && version) {
      sendJson(res, 200, versionDto(ctx, version));
    } else {
      sendProblem(res, 409, {
        detail: `Upload ${commit.uploadId} was already committed as '${previous.fileName}' in folder ${previous.folderId} of binder ${previous.binderId}; request a new presigned upload for another target.`,
      });
    }
    return;
  }

  const binder = findDrive(ctx, request);
  const folder = binder && findFolder(ctx, request, binder);
  if (!binder || !folder) return;

  const errors: FieldErrors = {};
  const nameProblems = fileNameProblems(commit.fileName);
  if (nameProblems.length > 0) errors.fileName = nameProblems;
  if (commit.version && commit.version.length > MAX_VERSION_LABEL_LENGTH) {
    errors.version = [`The version label is ${commit.version.length} characters long; at most ${MAX_VERSION_LABEL_LENGTH} are allowed.`];
  }
  if (!upload) {
    errors.uploadId = [`Upload '${commit.uploadId}' is unknown: request a presigned upload URL first and PUT the file to it.`];
  } else if (upload.state !== 'stored' || !upload.blob) {
    errors.uploadId = [
      upload.state === 'receiving'
        ? `The file for upload '${commit.uploadId}' is still being received: commit after the PUT has completed.`
        : `No file has been uploaded for upload '${commit.uploadId}': PUT the bytes to the presigned URL before committing.`,
    ];
  }
  const metadata = resolveMetadata(binder.id, ctx.state.metadataElements(binder.id), commit.additionalMetadata ?? []);
  Object.assign(errors, metadata.errors);
  if (Object.keys(errors).length > 0 || !upload?.blob) {
    sendProblem(res, 400, { errors });
    return;
  }

  const { version } = ctx.state.commitVersion(
    { binderId: binder.id, folderId: folder.id, fileName: commit.fileName },
    {
      blob: upload.blob,
      metadata: metadata.values,
      uploadId: upload.id,
      ...(commit.version ? { versionLabel: commit.version } : {}),
    },
  );
  upload.committed = { versionId: version.id, binderId: binder.id, folderId: folder.id, fileName: commit.fileName };
  sendJson(res, 200, versionDto(ctx, version));
};
