/**
 * The storage side: the bucket the legacy flow POSTs its parts to, and the signed download
 * URLs that `/download/` hands out. Like S3, both refuse an `Authorization` header (400) —
 * and the emulator counts every such request, because a client that sends its Bynder bearer
 * token to a storage URL has leaked it. Expired or voided links answer 403.
 */
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { receiveFile } from './chunk-files.js';
import type { BynderContext, BynderHandler, BynderRequest } from './context.js';
import { sendStorageError } from './replies.js';

/** Largest part the bucket takes in one POST; parts are buffered while the form is parsed. */
export const MAX_PART_BYTES = 64 * 1024 * 1024;

const CLOSE = { connection: 'close' };

function escapeXml(text: string): string {
  return text.replace(/[<>&'"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c] ?? c);
}

function refuseAuthorization(ctx: BynderContext, { req, res }: BynderRequest): boolean {
  if (req.headers.authorization === undefined) return false;
  ctx.storageAuthorizationAttempts.value++;
  sendStorageError(
    res,
    400,
    'InvalidArgument',
    'Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string parameter or the Authorization header should be specified',
    { ArgumentName: 'Authorization' },
    CLOSE,
  );
  return true;
}

export const storageDownload: BynderHandler = async (ctx, request) => {
  const { res, url, params } = request;
  if (refuseAuthorization(ctx, request)) return;
  const verified = ctx.signer.verify('GET', url.pathname, url.searchParams);
  const voided = Number(params.generation) !== ctx.linkGeneration.value;
  if (!verified.ok || voided) {
    const expired = voided || verified.ok || verified.reason === 'expired';
    sendStorageError(
      res,
      403,
      expired ? 'AccessDenied' : 'SignatureDoesNotMatch',
      expired ? 'Request has expired' : 'The request signature we calculated does not match the signature you provided.',
      {},
      CLOSE,
    );
    return;
  }
  const found = ctx.state.findItem(params.itemId ?? '');
  if (!found) {
    sendStorageError(res, 404, 'NoSuchKey', 'The specified key does not exist.');
    return;
  }
  const blob = found.item.blob;
  res.writeHead(200, {
    'content-type': blob.contentType ?? 'application/octet-stream',
    'content-length': String(blob.size),
    'content-disposition': `attachment; filename="${found.item.fileName.replace(/["\\\r\n]/g, '_')}"`,
    etag: `"${(await blob.digest()).slice(0, 32)}"`,
  });
  if (request.req.method === 'HEAD') {
    res.end();
    return;
  }
  await pipeline(blob.open(), res);
};

/**
 * `POST <bucket>/`: an S3 browser-style POST (multipart form: the `multipart_params` from
 * `init`, `key` = `<s3_filename>/p<n>`, then `file`). Parts are numbered from 1.
 */
export const bucketPost: BynderHandler = async (ctx, request) => {
  const { req, res } = request;
  if (refuseAuthorization(ctx, request)) return;
  const declared = Number(req.headers['content-length'] ?? Number.NaN);
  if (!Number.isFinite(declared)) {
    sendStorageError(res, 411, 'MissingContentLength', 'You must provide the Content-Length HTTP header.', {}, CLOSE);
    return;
  }
  if (declared > MAX_PART_BYTES) {
    sendStorageError(
      res,
      400,
      'EntityTooLarge',
      `Your proposed upload exceeds the maximum allowed size of ${MAX_PART_BYTES} bytes.`,
      {},
      CLOSE,
    );
    return;
  }
  let form: FormData;
  try {
    form = await new Request('http://bucket.invalid/', {
      method: 'POST',
      headers: { 'content-type': req.headers['content-type'] ?? '' },
      body: Readable.toWeb(req) as ReadableStream,
      duplex: 'half',
    } as RequestInit).formData();
  } catch (err) {
    sendStorageError(
      res,
      400,
      'MalformedPOSTRequest',
      `The body of your POST request is not well-formed multipart/form-data: ${(err as Error).message}`,
    );
    return;
  }
  const key = form.get('key');
  const file = form.get('file');
  if (typeof key !== 'string' || !(file instanceof Blob)) {
    sendStorageError(res, 400, 'InvalidArgument', 'Bucket POST must contain the fields key and file (file last).');
    return;
  }
  const target = ctx.uploads.legacyPartOf(key);
  if (!target || target.part < 1) {
    sendStorageError(
      res,
      403,
      'AccessDenied',
      `Key '${key}' is not covered by a policy from /api/upload/init (expected <s3_filename>/p<n>, n from 1).`,
    );
    return;
  }
  const policy = form.get('Policy') ?? form.get('policy');
  if (policy !== target.upload.policy) {
    sendStorageError(res, 403, 'AccessDenied', 'Invalid according to Policy: the Policy field does not match the one init returned.');
    return;
  }
  const stored = await receiveFile(Readable.fromWeb(file.stream() as never), join(target.upload.dir, `p${target.part}`), MAX_PART_BYTES);
  target.upload.parts.set(target.part, stored);
  const status = form.get('success_action_status') === '201' ? 201 : 204;
  if (status === 204) {
    res.writeHead(204, { etag: `"${stored.sha256.slice(0, 32)}"` });
    res.end();
    return;
  }
  const location = escapeXml(`${ctx.origin()}/bucket/${key}`);
  const xml = `<?xml version="1.0" encoding="UTF-8"?>\n<PostResponse><Location>${location}</Location><Bucket>bucket</Bucket><Key>${escapeXml(key)}</Key><ETag>"${stored.sha256.slice(0, 32)}"</ETag></PostResponse>`;
  res.writeHead(201, {
    'content-type': 'application/xml',
    'content-length': String(Buffer.byteLength(xml)),
    etag: `"${stored.sha256.slice(0, 32)}"`,
  });
  res.end(xml);
};
