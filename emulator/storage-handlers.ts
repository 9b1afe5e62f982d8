/**
 * The storage side of the presigned URLs, behaving like an S3 bucket does for presigned
 * requests: no `Authorization` header allowed next to a query signature, a PUT must declare its
 * Content-Length (no chunked uploads), expired or tampered URLs get 403 with an XML `<Error>`.
 * Upload URLs are one-shot. Bytes are streamed to and from disk (or generated), never held.
 */
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { FileBlob, receiveToFile } from './blobs.js';
import type { EmulatorContext, Handler, RequestContext } from './context.js';
import type { SignedMethod } from './presigned-url.js';
import { sendStorageError } from './problem.js';

/** S3's single-PUT limit. */
const MAX_PUT_BYTES = 5 * 1024 * 1024 * 1024;

/** Refusals sent before the body is read close the connection, so the body is not drained. */
const CLOSE = { connection: 'close' };

function refuseAuthorizationHeader(request: RequestContext): boolean {
  if (request.req.headers.authorization === undefined) return false;
  sendStorageError(
    request.res,
    400,
    'InvalidArgument',
    'Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string parameter or the Authorization header should be specified',
    { ArgumentName: 'Authorization' },
    CLOSE,
  );
  return true;
}

function verifySignature(ctx: EmulatorContext, request: RequestContext, method: SignedMethod): boolean {
  const result = ctx.signer.verify(method, request.url.pathname, request.url.searchParams);
  if (result.ok) return true;
  if (result.reason === 'expired') {
    sendStorageError(
      request.res,
      403,
      'AccessDenied',
      'Request has expired',
      {
        'X-Amz-Expires': String(result.expiresSeconds),
        Expires: result.expiresAt.toISOString(),
        ServerTime: result.serverTime.toISOString(),
      },
      CLOSE,
    );
  } else if (result.reason === 'bad-signature') {
    sendStorageError(
      request.res,
      403,
      'SignatureDoesNotMatch',
      'The request signature we calculated does not match the signature you provided.',
      {},
      CLOSE,
    );
  } else {
    sendStorageError(
      request.res,
      403,
      'AccessDenied',
      'Query-string authentication requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Date, X-Amz-Expires and X-Amz-Signature parameters.',
      {},
      CLOSE,
    );
  }
  return false;
}

export const storageUpload: Handler = async (ctx, request) => {
  const { req, res } = request;
  if (refuseAuthorizationHeader(request)) return;
  if (!verifySignature(ctx, request, 'PUT')) return;

  const uploadId = request.params.uploadId ?? '';
  const upload = ctx.state.getUpload(uploadId);
  if (!upload) {
    sendStorageError(res, 403, 'AccessDenied', 'Access Denied', {}, CLOSE);
    return;
  }
  if (upload.state !== 'issued') {
    sendStorageError(
      res,
      403,
      'AccessDenied',
      'This presigned upload URL has already been used; request a new presigned upload.',
      {},
      CLOSE,
    );
    return;
  }
  const lengthHeader = req.headers['content-length'];
  if (lengthHeader === undefined) {
    sendStorageError(res, 411, 'MissingContentLength', 'You must provide the Content-Length HTTP header.', {}, CLOSE);
    return;
  }
  const contentLength = Number(lengthHeader);
  if (contentLength > MAX_PUT_BYTES) {
    sendStorageError(
      res,
      400,
      'EntityTooLarge',
      'Your proposed upload exceeds the maximum allowed size',
      { ProposedSize: lengthHeader, MaxSizeAllowed: String(MAX_PUT_BYTES) },
      CLOSE,
    );
    return;
  }

  upload.state = 'receiving';
  const path = join(ctx.options.blobDir, `${upload.id}.bin`);
  let received: { size: number; sha256: string };
  try {
    received = await receiveToFile(req, path);
  } catch {
    // The client went away mid-body: the URL has not been used up.
    upload.state = 'issued';
    return;
  }
  if (received.size !== contentLength) {
    upload.state = 'issued';
    sendStorageError(res, 400, 'IncompleteBody', 'You did not provide the number of bytes specified by the Content-Length HTTP header.');
    return;
  }
  const contentType = req.headers['content-type'];
  upload.blob = new FileBlob(path, received.size, received.sha256, contentType);
  upload.state = 'stored';
  res.writeHead(200, { etag: `"${received.sha256.slice(0, 32)}"`, 'content-length': '0' });
  res.end();
};

const CONTENT_TYPES: Record<string, string> = {
  pdf: 'application/pdf',
  txt: 'text/plain',
  docx: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  xlsx: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
  dwg: 'image/vnd.dwg',
  ifc: 'application/x-step',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  png: 'image/png',
};

function contentTypeFor(fileName: string, stored: string | undefined): string {
  if (stored) return stored;
  const ext = fileName.split('.').pop()?.toLowerCase() ?? '';
  return CONTENT_TYPES[ext] ?? 'application/octet-stream';
}

export const storageDownload: Handler = async (ctx, request) => {
  const { req, res } = request;
  if (refuseAuthorizationHeader(request)) return;
  if (!verifySignature(ctx, request, 'GET')) return;
  const version = ctx.state.getVersion(request.params.versionId ?? '');
  if (!version) {
    sendStorageError(res, 404, 'NoSuchKey', 'The specified key does not exist.');
    return;
  }
  const fileName = ctx.state.getDocument(version.documentId)?.fileName ?? `${version.id}.bin`;
  res.writeHead(200, {
    'content-length': String(version.blob.size),
    'content-type': contentTypeFor(fileName, version.blob.contentType),
    'content-disposition': `attachment; filename*=UTF-8''${encodeURIComponent(fileName)}`,
    'last-modified': new Date(version.createdAt).toUTCString(),
    'accept-ranges': 'none',
  });
  if (req.method === 'HEAD') {
    res.end();
    return;
  }
  try {
    await pipeline(version.blob.open(), res);
  } catch {
    // The client stopped reading; nothing to answer.
  }
};
