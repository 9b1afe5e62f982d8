/**
 * The file-service upload, under both path readings (`/v7/file_cmds/upload/...` with
 * `finalise_api`, as the SDK branches call it, and the outline's `/v7/file/cmds/upload/...`
 * with `finalise`): prepare -> chunks numbered from 0 with `Content-SHA256` -> finalise with
 * `fileName, fileSize, chunksCount, sha256`, all four checked. The file id becomes the import
 * id a save names. Chunks stream to disk while hashed; a body over the chunk limit gets 413.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { authenticate } from './auth.js';
import { BodyTooLargeError, ChunkedFileBlob, digestFiles, receiveFile, type StoredFile } from './chunk-files.js';
import type { BynderHandler } from './context.js';
import { field, readForm } from './form-body.js';
import { newUuid } from './ids.js';
import { sendJson, sendMessage } from './replies.js';

/** The documented body of a failed finalise. */
export const COULD_NOT_COMPLETE = { message: 'Could not complete upload', retry: 1 };

export const prepareUpload: BynderHandler = async (ctx, request) => {
  if (!authenticate(ctx, request)) return;
  const upload = await ctx.uploads.startFileService(newUuid());
  sendJson(request.res, 200, { file_id: upload.fileId });
};

export const uploadChunk: BynderHandler = async (ctx, request) => {
  const { req, res, params } = request;
  if (!authenticate(ctx, request)) return;
  const upload = ctx.uploads.fileServiceUpload(params.file_id ?? '');
  if (!upload) {
    sendMessage(res, 404, `Upload '${params.file_id}' not found: call prepare first and use the file_id it returns.`, {
      connection: 'close',
    });
    return;
  }
  if (upload.finalised) {
    sendMessage(res, 400, `Upload '${upload.fileId}' is finalised; prepare a new upload for new bytes.`, { connection: 'close' });
    return;
  }
  if (ctx.pendingFaults.take('chunk500')) {
    sendMessage(res, 500, 'Internal Server Error', { connection: 'close' });
    return;
  }
  const raw = params.n ?? '';
  if (!/^\d+$/.test(raw)) {
    sendMessage(res, 400, `Chunk number must be an integer from 0, got '${raw}'.`, { connection: 'close' });
    return;
  }
  const limit = ctx.options.maxChunkBytes;
  const declared = Number(req.headers['content-length'] ?? Number.NaN);
  if (Number.isFinite(declared) && declared > limit) {
    sendMessage(res, 413, `Chunk ${raw} has ${declared} bytes; at most ${limit} per chunk.`, { connection: 'close' });
    return;
  }
  const n = Number(raw);
  let stored: StoredFile;
  try {
    stored = await receiveFile(req, join(upload.dir, `incoming-${n}-${newUuid()}`), limit);
  } catch (err) {
    if (err instanceof BodyTooLargeError) {
      sendMessage(res, 413, `Chunk ${raw} is larger than ${limit} bytes.`, { connection: 'close' });
      return;
    }
    throw err;
  }
  const claimed = req.headers['content-sha256'];
  const claimedHex = (Array.isArray(claimed) ? claimed[0] : claimed)?.trim().toLowerCase();
  if (claimedHex !== undefined && claimedHex !== stored.sha256) {
    await rm(stored.path, { force: true });
    sendMessage(res, 400, `Content-SHA256 of chunk ${n} does not match its body (body hashes to ${stored.sha256}); resend the chunk.`);
    return;
  }
  upload.chunks.set(n, stored);
  sendJson(res, 201, {});
};

export const finaliseUpload: BynderHandler = async (ctx, request) => {
  const { res, params } = request;
  if (!authenticate(ctx, request)) return;
  const upload = ctx.uploads.fileServiceUpload(params.file_id ?? '');
  if (!upload) {
    sendMessage(res, 404, `Upload '${params.file_id}' not found: call prepare first and use the file_id it returns.`);
    return;
  }
  const form = await readForm(request.req);
  if (!form.ok) {
    sendMessage(res, form.status, form.message);
    return;
  }
  if (ctx.pendingFaults.take('finalise500')) {
    sendJson(res, 500, COULD_NOT_COMPLETE);
    return;
  }
  const fileName = field(form.fields, 'fileName', 'filename');
  const fileSize = field(form.fields, 'fileSize', 'filesize');
  const chunksCount = field(form.fields, 'chunksCount', 'chunkscount');
  const sha256 = field(form.fields, 'sha256')?.toLowerCase();
  const missing = Object.entries({ fileName, fileSize, chunksCount, sha256 })
    .filter(([, v]) => v === undefined)
    .map(([k]) => k);
  if (missing.length > 0) {
    sendMessage(res, 400, `Finalise of upload '${upload.fileId}' is missing ${missing.join(', ')}.`);
    return;
  }
  const count = Number(chunksCount);
  const received = [...upload.chunks.keys()].sort((a, b) => a - b);
  if (!Number.isInteger(count) || count < 1 || count !== received.length || received.some((n, i) => n !== i)) {
    sendMessage(
      res,
      400,
      `chunksCount is ${chunksCount} but upload '${upload.fileId}' holds chunks [${received.join(', ')}]; chunks are numbered from 0 without gaps.`,
    );
    return;
  }
  const files = received.map((n) => upload.chunks.get(n) as StoredFile);
  const whole = await digestFiles(files);
  if (String(whole.size) !== fileSize) {
    sendMessage(res, 400, `fileSize is ${fileSize} but the chunks of upload '${upload.fileId}' hold ${whole.size} bytes.`);
    return;
  }
  if (whole.sha256 !== sha256) {
    sendMessage(res, 400, `sha256 ${sha256} does not match the uploaded bytes of '${upload.fileId}' (${whole.sha256}).`);
    return;
  }
  if (!upload.finalised) {
    upload.finalised = true;
    ctx.state.createImport(upload.fileId, fileName as string, new ChunkedFileBlob(files, whole.size, whole.sha256));
  }
  res.writeHead(201, { 'x-api-correlation-id': newUuid(), 'content-length': '0' });
  res.end();
};
