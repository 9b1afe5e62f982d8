/**
 * Where the Bynder connector puts a file: upload (either flow), then a save, as a new asset or as
 * a new version of an existing one.
 *
 * Bynder's save is not idempotent (`commitIsIdempotent = false`): saving the same import twice may
 * create two assets, and there is no idempotency key. Exactly-once therefore rests on the ledger
 * and on a marker the save leaves behind:
 *
 * 1. `beforeCommit` runs once the bytes are sent; what it returns is stored in the ledger with the
 *    "commit under way" mark before the save is sent. New asset: the time the save starts. New
 *    version: the asset's version ids (`mediaItems`) before the save, and that time.
 * 2. `commit` saves. A new asset carries the Bynder tag `s3-ingest-<token>` (marker.ts), the token
 *    a hash of the S3 object version's identity. A version save cannot set tags (Bynder keeps the
 *    asset's own), so a new version carries no marker.
 * 3. After a crash or a lost response, the ingest calls `findCommitted` before any second save:
 *    new asset: the brand's assets tagged with the marker (`listMedia({tags})`, the tag then
 *    matched exactly); new version: a version id that was not there before the save, of the
 *    file's size. Found: that is the commit; not found: the save is sent (once more).
 *
 * Races, and what is done about each:
 * - The tag search is an index and may lag a save. A search that finds nothing within
 *   `settleMs` (default 2 minutes) of the save's start is not believed: `findCommitted` throws a
 *   transient error that retries the record once the window has passed. A crash before the save
 *   was sent therefore costs that wait, never a second asset.
 * - A version saved by someone else between `beforeCommit` and `findCommitted`, with exactly the
 *   same size, would be taken for ours (and ours not saved): the one case where the connector
 *   can be wrong. The earliest new version of the right size is taken, so a duplicate delivery
 *   of our own file cannot add a second one.
 * - Two deliveries of one object version never save at once: the ledger's lease admits one
 *   claimant, and every ledger write checks it.
 *
 * The import id: see upload-id.ts (`<flow>:<id>[:<importId>]`, the import id handed to the
 * ingest through `onNewUpload` when it differs from the upload's id).
 */
import * as z from '../../validation/zod.js';
import { lazySchema } from '../../validation/lazy-schema.js';
import type {
  CommitMarker,
  CommitPlan,
  CommittedVersion,
  ConnectorDestination,
  PreparedUpload,
  TransferBody,
  TransferOptions,
} from '../types.js';
import { PLAN_OPTION } from './assess.js';
import type { BynderAsset, BynderClient, BynderMediaItem, BynderUpload, SaveAssetRequest } from './client/types.js';
import { BynderCommitNotSettledError, BynderCommitUnknownError, BynderUploadIdError } from './errors.js';
import { hasMarkerTag, markerTag } from './marker.js';
import { formatUploadId, parseUploadId } from './upload-id.js';

/** How long after a save's start a search that finds nothing is not yet believed. */
export const DEFAULT_COMMIT_SETTLE_MS = 2 * 60 * 1000;
/** Assets a marker search reads: one is expected; more would mean an earlier duplicate. */
const MARKER_SEARCH_LIMIT = 50;

const nonEmpty = () => z.string().check(z.minLength(1));

/** The plan as the Bynder connector wrote it; read back from the ledger, so checked. */
const PlanTargetSchema = lazySchema(() => z.object({ brandId: nonEmpty(), mediaId: z.optional(nonEmpty()) }));

/** What `beforeCommit` stores in the ledger beside the "commit under way" mark. */
const CommitContextSchema = lazySchema(() =>
  z.union([
    z.object({ kind: z.literal('new-asset'), startedAt: z.iso.datetime() }),
    z.object({
      kind: z.literal('new-version'),
      mediaId: nonEmpty(),
      /** JSON array of the asset's mediaItem ids before the save. */
      itemIds: z.string(),
      startedAt: z.iso.datetime(),
    }),
  ]),
);

export interface BynderDestinationOptions {
  now?: (() => Date) | undefined;
  settleMs?: number | undefined;
}

export class BynderDestination implements ConnectorDestination {
  readonly commitIsIdempotent = false;
  private readonly now: () => Date;
  private readonly settleMs: number;
  /**
   * Uploads started by this process, by upload id, until their transfer ends: the client's upload
   * carries what the bytes need beyond its id (the legacy flow's endpoint and POST policy), which
   * is never stored in the ledger. An upload that did not finish starts over in another process.
   */
  private readonly started = new Map<string, BynderUpload>();

  constructor(
    private readonly client: Pick<
      BynderClient,
      'startUpload' | 'sendUpload' | 'saveAsNewAsset' | 'saveAsNewVersion' | 'getMedia' | 'listMedia'
    >,
    options: BynderDestinationOptions = {},
  ) {
    this.now = options.now ?? (() => new Date());
    this.settleMs = options.settleMs ?? DEFAULT_COMMIT_SETTLE_MS;
  }

  async prepareUpload(plan: CommitPlan): Promise<PreparedUpload> {
    const upload = await this.client.startUpload(plan.fileName);
    const uploadId = formatUploadId({ flow: upload.flow, uploadId: upload.uploadId });
    this.started.set(uploadId, upload);
    return { uploadId };
  }

  async transfer(upload: PreparedUpload, body: TransferBody, plan: CommitPlan, options: TransferOptions = {}): Promise<void> {
    const parsed = parseUploadId(upload.uploadId);
    const started = this.started.get(upload.uploadId) ?? { uploadId: parsed.uploadId, flow: parsed.flow };
    let importId: string;
    try {
      ({ importId } = await this.client.sendUpload(started, {
        open: (range) => body.openBody(range),
        size: body.contentLength,
        fileName: plan.fileName,
      }));
    } finally {
      this.started.delete(upload.uploadId);
    }
    if (importId === parsed.uploadId || importId === parsed.importId) return;
    if (!options.onNewUpload) {
      throw new BynderUploadIdError(
        `upload ${upload.uploadId} of "${plan.fileName}" was finalised with import id ${importId}, but the caller gave no onNewUpload ` +
          'to record it: the save could not find the upload; pass onNewUpload to transfer',
      );
    }
    await options.onNewUpload({ uploadId: formatUploadId({ ...parsed, importId }) });
  }

  async beforeCommit(plan: CommitPlan): Promise<Record<string, string>> {
    const target = parseTarget(plan);
    const startedAt = this.now().toISOString();
    if (target.mediaId === undefined) return { kind: 'new-asset', startedAt };
    const asset = await this.client.getMedia(target.mediaId, { versions: true });
    // A deleted asset has no versions; its save will be refused and the file rejected.
    const itemIds = (asset?.mediaItems ?? []).map((item) => item.id);
    return { kind: 'new-version', mediaId: target.mediaId, itemIds: JSON.stringify(itemIds), startedAt };
  }

  async commit(plan: CommitPlan, uploadId: string, marker: CommitMarker): Promise<CommittedVersion> {
    const target = parseTarget(plan);
    const importId = importIdOf(uploadId);
    if (target.mediaId !== undefined) {
      const saved = await this.client.saveAsNewVersion({ importId, mediaId: target.mediaId });
      return committed(saved.mediaId || target.mediaId, saved.mediaItemId);
    }
    const options = plan.options ?? {};
    const request: SaveAssetRequest = {
      importId,
      brandId: target.brandId,
      name: options[PLAN_OPTION.name] ?? plan.fileName,
      description: options[PLAN_OPTION.description],
      tags: [...tagsOf(plan), markerTag(marker)],
      metaproperties: Object.fromEntries(plan.metadata.map((m) => [m.id, m.value.split(',')])),
    };
    const saved = await this.client.saveAsNewAsset(request);
    return committed(saved.mediaId, saved.mediaItemId);
  }

  async findCommitted(
    plan: CommitPlan,
    uploadId: string,
    marker: CommitMarker,
    context: Record<string, string> | undefined,
  ): Promise<CommittedVersion | undefined> {
    const target = parseTarget(plan);
    const parsedContext = context === undefined ? undefined : CommitContextSchema.safeParse(context);
    if (parsedContext !== undefined && !parsedContext.success) {
      throw new BynderCommitUnknownError(
        `the ledger's record of the interrupted save of ${marker.object} (upload ${uploadId}) is not the Bynder connector's: ` +
          `${JSON.stringify(context)}; check in Bynder whether the file was saved, then mark the object done or reingest it`,
      );
    }
    const ctx = parsedContext?.data;
    const found =
      target.mediaId === undefined
        ? await this.findNewAsset(target.brandId, marker)
        : await this.findNewVersion(target.mediaId, plan, uploadId, marker, ctx);
    if (found) return found;
    if (ctx !== undefined) {
      const settlesAt = Date.parse(ctx.startedAt) + this.settleMs;
      const wait = settlesAt - this.now().getTime();
      if (wait > 0) {
        throw new BynderCommitNotSettledError(
          `the save of ${marker.object} (upload ${uploadId}) started at ${ctx.startedAt} and is not found in Bynder yet; ` +
            `Bynder's search may lag a save, so it is looked for again in ${Math.ceil(wait / 1000)} s before anything is saved`,
          wait,
        );
      }
    }
    return undefined;
  }

  /** The asset carrying the marker tag; the oldest, should an earlier duplicate exist. */
  private async findNewAsset(brandId: string, marker: CommitMarker): Promise<CommittedVersion | undefined> {
    const tag = markerTag(marker);
    const { media } = await this.client.listMedia({ brandId, tags: tag, limit: MARKER_SEARCH_LIMIT });
    const marked = media.filter((asset) => hasMarkerTag(asset.tags, tag)).sort(byCreation);
    const first = marked[0];
    return first ? committed(first.id, undefined) : undefined;
  }

  /** A version that was not there before the save, of the file's size (the earliest such). */
  private async findNewVersion(
    mediaId: string,
    plan: CommitPlan,
    uploadId: string,
    marker: CommitMarker,
    ctx: z.infer<typeof CommitContextSchema> | undefined,
  ): Promise<CommittedVersion | undefined> {
    if (ctx?.kind !== 'new-version') {
      throw new BynderCommitUnknownError(
        `the save of ${marker.object} (upload ${uploadId}) as a new version of asset ${mediaId} was interrupted, and the ledger holds ` +
          "no record of the asset's versions before it, so whether it went through cannot be told; check the asset's versions " +
          'in Bynder, then mark the object done or reingest it',
      );
    }
    const before = new Set(parseIds(ctx.itemIds, `the save of ${marker.object} (upload ${uploadId})`));
    const asset = await this.client.getMedia(mediaId, { versions: true });
    if (!asset) return undefined;
    const size = Number(plan.options?.[PLAN_OPTION.sizeBytes]);
    const candidates = (asset.mediaItems ?? [])
      .filter((item) => !before.has(item.id))
      .filter((item) => item.size === undefined || !Number.isFinite(size) || item.size === size)
      .sort((a, b) => a.version - b.version);
    const first: BynderMediaItem | undefined = candidates[0];
    return first ? committed(asset.id, first.id, first.version) : undefined;
  }
}

function parseTarget(plan: CommitPlan): z.infer<typeof PlanTargetSchema> {
  const parsed = PlanTargetSchema.safeParse(plan.target);
  if (plan.connector !== 'bynder' || !parsed.success) {
    throw new Error(
      `commit plan ${JSON.stringify({ connector: plan.connector, target: plan.target })} is not a Bynder plan ({brandId} or {brandId, mediaId}); ` +
        'it was stored by another connector or an older release: reingest the object',
    );
  }
  return parsed.data;
}

function importIdOf(uploadId: string): string {
  const parsed = parseUploadId(uploadId);
  if (parsed.importId !== undefined) return parsed.importId;
  if (parsed.flow === 'file-service') return parsed.uploadId;
  throw new BynderUploadIdError(
    `legacy upload ${uploadId} has no import id recorded (finalise returns it, and transfer records it through onNewUpload); ` +
      'the file is uploaded again',
  );
}

function tagsOf(plan: CommitPlan): string[] {
  const raw = plan.options?.[PLAN_OPTION.tags];
  if (raw === undefined) return [];
  const parsed = z.array(z.string()).safeParse(safeJson(raw));
  if (!parsed.success)
    throw new Error(`commit plan of "${plan.fileName}": its tags option is not a JSON array of strings; reingest the object`);
  return parsed.data;
}

function parseIds(raw: string, what: string): string[] {
  const parsed = z.array(z.string()).safeParse(safeJson(raw));
  if (!parsed.success) {
    throw new BynderCommitUnknownError(
      `${what}: the ledger's list of the asset's versions before the save is not a JSON array of ids; check the asset's versions in Bynder, then mark the object done or reingest it`,
    );
  }
  return parsed.data;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function byCreation(a: BynderAsset, b: BynderAsset): number {
  return (a.dateCreated ?? '').localeCompare(b.dateCreated ?? '') || a.id.localeCompare(b.id);
}

function committed(mediaId: string, mediaItemId: string | undefined, version?: number): CommittedVersion {
  return {
    connector: 'bynder',
    ids: mediaItemId !== undefined ? { mediaId, mediaItemId } : { mediaId },
    versionLabel: version !== undefined ? String(version) : undefined,
  };
}
