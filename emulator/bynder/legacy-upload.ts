/**
 * The legacy upload every released SDK uses: `GET /api/upload/endpoint` (a bucket URL: this
 * emulator's `/bucket/`) -> `POST /api/upload/init` -> S3 POST of parts numbered from 1 ->
 * register each part (`POST /api/v4/upload/` with `id` in the body, or `/api/v4/upload/{id}/`)
 * -> finalise on the same paths (`chunks`, `s3_filename=<...>/p<N>`) -> `importId` -> poll
 * `GET /api/v4/upload/poll/?items=` until done. As on a live portal, the name given to init is
 * kept with its path folded into dashes (`/tmp/x.jpg` becomes `-tmp-x.jpg`) unless finalise
 * names an `original_filename`.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { authenticate } from './auth.js';
import { ChunkedFileBlob, digestFiles, type StoredFile } from './chunk-files.js';
import type { BynderContext, BynderHandler, BynderRequest } from './context.js';
import { COULD_NOT_COMPLETE } from './file-service-upload.js';
import { field, readForm } from './form-body.js';
import { newColdFusionId, newUuid } from './ids.js';
import { isImportConverted } from './import-conversion.js';
import { sendJson, sendMessage } from './replies.js';

const POLICY_KEY = randomBytes(32);

export const uploadEndpoint: BynderHandler = (ctx, request) => {
  if (!authenticate(ctx, request)) return;
  sendJson(request.res, 200, `${ctx.origin()}/bucket/`);
};

export const uploadInit: BynderHandler = async (ctx, request) => {
  if (!authenticate(ctx, request)) return;
  const form = await readForm(request.req);
  if (!form.ok) {
    sendMessage(request.res, form.status, form.message);
    return;
  }
  const filename = field(form.fields, 'filename');
  if (filename === undefined) {
    sendMessage(request.res, 400, 'The filename field is required.');
    return;
  }
  const uploadId = newUuid();
  const targetId = newColdFusionId();
  const folded = filename.replace(/[\\/]/g, '-');
  const s3Filename = `emulator/${uploadId}/${folded}`;
  const date = new Date(ctx.now())
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');
  const policy = Buffer.from(
    JSON.stringify({
      expiration: new Date(ctx.now() + 3600_000).toISOString(),
      conditions: [
        { bucket: 'bucket' },
        ['starts-with', '$key', s3Filename],
        { success_action_status: '201' },
        ['content-length-range', 0, 67_108_864],
      ],
    }),
  ).toString('base64');
  const signature = createHmac('sha256', POLICY_KEY).update(policy).digest('hex');
  await ctx.uploads.startLegacy({ uploadId, targetId, s3Filename, initFileName: folded, policy });
  sendJson(request.res, 200, {
    s3file: { uploadid: uploadId, targetid: targetId },
    s3_filename: s3Filename,
    target_key: `${s3Filename}/p{chunkNumber}`,
    multipart_params: {
      acl: 'private',
      success_action_status: '201',
      'Content-Type': 'application/octet-stream',
      key: s3Filename,
      Policy: policy,
      'X-Amz-Signature': signature,
      'x-amz-algorithm': 'AWS4-HMAC-SHA256',
      'x-amz-credential': `BYNDEREMULATOR/${date.slice(0, 8)}/eu-west-1/s3/aws4_request`,
      'x-amz-date': date,
    },
  });
};

function respond(ctx: BynderContext, request: BynderRequest, fields: Map<string, string>): Promise<void> | void {
  return field(fields, 'chunks') !== undefined || field(fields, 's3_filename') !== undefined
    ? finalise(ctx, request, fields)
    : register(ctx, request, fields);
}

/** Register (has `chunkNumber`) or finalise (has `chunks`/`s3_filename`): the SDKs use one path for both. */
export const uploadRegisterOrFinalise: BynderHandler = async (ctx, request) => {
  if (!authenticate(ctx, request)) return;
  const form = await readForm(request.req);
  if (!form.ok) {
    sendMessage(request.res, form.status, form.message);
    return;
  }
  await respond(ctx, request, form.fields);
};

function uploadOf(ctx: BynderContext, request: BynderRequest, fields: Map<string, string>) {
  const id = request.params.id ?? field(fields, 'id');
  if (id === undefined) {
    sendMessage(request.res, 400, 'The upload id is missing: send it in the path (/api/v4/upload/{id}/) or as the id field.');
    return undefined;
  }
  const upload = ctx.uploads.legacyUpload(id);
  if (!upload) {
    sendMessage(request.res, 404, `Upload '${id}' not found: use s3file.uploadid from /api/upload/init.`);
    return undefined;
  }
  if (field(fields, 'targetid') !== upload.targetId) {
    sendMessage(request.res, 400, `targetid does not match upload '${id}': use s3file.targetid from /api/upload/init.`);
    return undefined;
  }
  return upload;
}

function register(ctx: BynderContext, request: BynderRequest, fields: Map<string, string>): void {
  const upload = uploadOf(ctx, request, fields);
  if (!upload) return;
  const raw = field(fields, 'chunkNumber', 'chunknumber');
  const n = Number(raw);
  if (raw === undefined || !Number.isInteger(n) || n < 1) {
    sendMessage(request.res, 400, `chunkNumber must be an integer from 1, got '${raw ?? ''}'.`);
    return;
  }
  const expectedName = `${upload.s3Filename}/p${n}`;
  const given = field(fields, 'filename');
  if (given !== undefined && given !== expectedName) {
    sendMessage(request.res, 400, `filename '${given}' does not name part ${n}; expected '${expectedName}'.`);
    return;
  }
  if (!upload.parts.has(n)) {
    sendMessage(request.res, 400, `Part ${n} was not received by the bucket (key '${expectedName}'); POST it before registering.`);
    return;
  }
  upload.registered.add(n);
  sendJson(request.res, 200, { success: true, chunkNumber: n });
}

async function finalise(ctx: BynderContext, request: BynderRequest, fields: Map<string, string>): Promise<void> {
  if (ctx.pendingFaults.take('finalise500')) {
    sendJson(request.res, 500, COULD_NOT_COMPLETE);
    return;
  }
  const upload = uploadOf(ctx, request, fields);
  if (!upload) return;
  const chunks = Number(field(fields, 'chunks'));
  const s3Filename = field(fields, 's3_filename');
  if (!Number.isInteger(chunks) || chunks < 1) {
    sendMessage(request.res, 400, `chunks must be the number of parts (from 1), got '${field(fields, 'chunks') ?? ''}'.`);
    return;
  }
  if (s3Filename !== `${upload.s3Filename}/p${chunks}`) {
    sendMessage(
      request.res,
      400,
      `s3_filename must be '${upload.s3Filename}/p${chunks}' (the last part's key), got '${s3Filename ?? ''}'.`,
    );
    return;
  }
  const parts: StoredFile[] = [];
  for (let n = 1; n <= chunks; n++) {
    const part = upload.parts.get(n);
    if (!part || !upload.registered.has(n)) {
      sendMessage(
        request.res,
        400,
        `Part ${n} of ${chunks} was not ${part ? 'registered' : 'uploaded'}; upload and register every part before finalising.`,
      );
      return;
    }
    parts.push(part);
  }
  if (upload.importId === undefined) {
    const whole = await digestFiles(parts);
    const importId = newUuid();
    const name = field(fields, 'original_filename') ?? upload.initFileName;
    ctx.state.createImport(importId, name, new ChunkedFileBlob(parts, whole.size, whole.sha256));
    upload.importId = importId;
  }
  sendJson(request.res, 200, { success: true, importId: upload.importId });
}

/** `GET /api/v4/upload/poll/?items=a,b`: each poll counts towards an import's conversion. */
export const uploadPoll: BynderHandler = (ctx, request) => {
  if (!authenticate(ctx, request)) return;
  const items = (request.url.searchParams.get('items') ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (items.length === 0) {
    sendMessage(request.res, 400, 'The items parameter is required: a comma-separated list of import ids.');
    return;
  }
  const itemsDone: string[] = [];
  const itemsFailed: string[] = [];
  for (const id of items) {
    const record = ctx.state.getImport(id);
    if (!record) {
      itemsFailed.push(id);
      continue;
    }
    record.polls++;
    if (isImportConverted(ctx, record)) itemsDone.push(id);
  }
  sendJson(request.res, 200, { itemsDone, itemsFailed, itemsRejected: [] });
};
