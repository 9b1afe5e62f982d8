/**
 * `/__emulator/...` on the Bynder emulator: the controls over HTTP, so a person can drive a
 * standalone emulator with curl. Same conventions as the iBinder emulator's (calls, faults,
 * state), plus Bynder's own switches: expire tokens, expire download links, start or tune the
 * rate-limit block, named fault presets, bulk seeding. Not counted, not rate-limited, not
 * faulted, unauthenticated: the emulator listens on loopback.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { FaultRequestSchema, faultSpecFromJson } from '../fault-controller.js';
import { readJsonBody } from '../request-body.js';
import * as z from '../../shared/validation/zod.js';
import type { BynderContext } from './context.js';
import { applyFaultPreset, FAULT_PRESETS } from './fault-presets.js';
import { clientAddress } from './rate-limiter.js';
import { seedBulkAssets } from './seed.js';

export const BYNDER_CONTROL_PREFIX = '/__emulator';

const PresetSchema = z.strictObject({
  preset: z.enum(FAULT_PRESETS),
  times: z.optional(z.int().check(z.positive())),
  route: z.optional(z.string().check(z.minLength(1))),
});

const RateLimitSchema = z.strictObject({
  limit: z.optional(z.int().check(z.positive())),
  windowSeconds: z.optional(z.number().check(z.positive())),
  quietSeconds: z.optional(z.number().check(z.nonnegative())),
});

const BulkSchema = z.strictObject({
  count: z.int().check(z.positive(), z.lte(1_000_000)),
  brandId: z.optional(z.string()),
  versionsPerAsset: z.optional(z.int().check(z.positive(), z.lte(100))),
  bytesPerVersion: z.optional(z.int().check(z.nonnegative())),
});

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = `${JSON.stringify(body, null, 2)}\n`;
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': String(Buffer.byteLength(text)) });
  res.end(text);
}

function noContent(res: ServerResponse): void {
  res.writeHead(204);
  res.end();
}

function issues(error: { issues: readonly { path: readonly PropertyKey[]; message: string }[] }): string[] {
  return error.issues.map((i) => `${i.path.map(String).join('.') || '(body)'}: ${i.message}`);
}

function stateSummary(ctx: BynderContext): unknown {
  const assets = ctx.state.allAssets();
  return {
    brands: ctx.state
      .listBrands()
      .map((b) => ({ id: b.id, name: b.name, subBrands: b.subBrands.map((s) => ({ id: s.id, name: s.name })) })),
    metaproperties: ctx.state
      .listMetaproperties()
      .map((m) => ({ key: m.key, id: m.id, name: m.name, type: m.type, options: m.options.length })),
    assets: assets.length,
    deletedAssets: assets.filter((a) => a.deleted).length,
    uploads: ctx.uploads.counts,
    activeTokens: ctx.tokens.activeCount,
    storageAuthorizationAttempts: ctx.storageAuthorizationAttempts.value,
    rateLimit: { ...ctx.rateLimiter.current(), blocked: ctx.rateLimiter.isBlocked(), rejected: ctx.rateLimiter.rejectedCount },
  };
}

export async function handleBynderControl(ctx: BynderContext, req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
  const path = url.pathname.replace(/\/+$/, '');
  const route = `${req.method ?? 'GET'} ${path.slice(BYNDER_CONTROL_PREFIX.length) || '/'}`;
  const body = async (): Promise<{ ok: true; value: unknown } | { ok: false }> => {
    const read = await readJsonBody(req);
    if (read.ok) return { ok: true, value: read.value ?? {} };
    json(res, read.status, { error: read.message });
    return { ok: false };
  };
  switch (route) {
    case 'GET /':
      json(res, 200, {
        endpoints: [
          'GET /__emulator/calls?limit=100',
          'POST /__emulator/reset-calls',
          'GET /__emulator/faults',
          'POST /__emulator/faults  {"route":"GET /v4/media/{id}","status":500,"times":2} or {"preset":"chunk-500","times":2}',
          `   presets: ${FAULT_PRESETS.join(', ')}`,
          'DELETE /__emulator/faults',
          'POST /__emulator/expire-tokens',
          'POST /__emulator/expire-download-links',
          'GET /__emulator/rate-limit',
          'POST /__emulator/rate-limit  {"limit":10,"windowSeconds":60,"quietSeconds":300}',
          'POST /__emulator/rate-limit/block',
          'DELETE /__emulator/rate-limit  (lift blocks, forget windows)',
          'POST /__emulator/seed-bulk  {"count":5000}',
          'GET /__emulator/state',
        ],
      });
      return;
    case 'GET /calls': {
      const limit = Math.max(0, Math.min(100_000, Number(url.searchParams.get('limit') ?? 100) || 0));
      json(res, 200, { total: ctx.calls.total(), byRoute: ctx.calls.byRoute(), log: ctx.calls.log().slice(-limit) });
      return;
    }
    case 'POST /reset-calls':
      ctx.calls.reset();
      noContent(res);
      return;
    case 'GET /faults':
      json(res, 200, { faults: ctx.faults.list(), named: ctx.pendingFaults.describe(), injected: ctx.faults.injected() });
      return;
    case 'POST /faults': {
      const read = await body();
      if (!read.ok) return;
      if (read.value !== null && typeof read.value === 'object' && 'preset' in read.value) {
        const parsed = PresetSchema.safeParse(read.value);
        if (!parsed.success) {
          json(res, 400, { error: 'Invalid fault preset', issues: issues(parsed.error) });
          return;
        }
        applyFaultPreset(ctx, parsed.data.preset, parsed.data.times ?? 1, parsed.data.route);
        json(res, 201, { faults: ctx.faults.list(), named: ctx.pendingFaults.describe() });
        return;
      }
      const parsed = FaultRequestSchema.safeParse(read.value);
      if (!parsed.success) {
        json(res, 400, { error: 'Invalid fault', issues: issues(parsed.error) });
        return;
      }
      const specs = Array.isArray(parsed.data) ? parsed.data : [parsed.data];
      const added = specs.map((spec) => ctx.faults.add(faultSpecFromJson(spec)));
      json(res, 201, { added, faults: ctx.faults.list() });
      return;
    }
    case 'DELETE /faults':
      ctx.faults.clear();
      ctx.pendingFaults.clear();
      noContent(res);
      return;
    case 'POST /expire-tokens':
      ctx.tokens.expireAll();
      noContent(res);
      return;
    case 'POST /expire-download-links':
      ctx.linkGeneration.value++;
      noContent(res);
      return;
    case 'GET /rate-limit':
      json(res, 200, { ...ctx.rateLimiter.current(), blocked: ctx.rateLimiter.isBlocked(), rejected: ctx.rateLimiter.rejectedCount });
      return;
    case 'POST /rate-limit': {
      const read = await body();
      if (!read.ok) return;
      const parsed = RateLimitSchema.safeParse(read.value);
      if (!parsed.success) {
        json(res, 400, { error: 'Invalid rate limit', issues: issues(parsed.error) });
        return;
      }
      json(res, 200, ctx.rateLimiter.configure(parsed.data));
      return;
    }
    case 'POST /rate-limit/block':
      ctx.rateLimiter.blockNow(clientAddress(req.socket.remoteAddress));
      noContent(res);
      return;
    case 'DELETE /rate-limit':
      ctx.rateLimiter.reset();
      noContent(res);
      return;
    case 'POST /seed-bulk': {
      const read = await body();
      if (!read.ok) return;
      const parsed = BulkSchema.safeParse(read.value);
      if (!parsed.success) {
        json(res, 400, { error: 'Invalid bulk seed', issues: issues(parsed.error) });
        return;
      }
      try {
        const ids = seedBulkAssets(ctx.state, parsed.data);
        json(res, 201, { added: ids.length, first: ids[0], last: ids.at(-1) });
      } catch (err) {
        json(res, 400, { error: (err as Error).message });
      }
      return;
    }
    case 'GET /state':
      json(res, 200, stateSummary(ctx));
      return;
    default:
      json(res, 404, { error: `No control endpoint ${route}; GET ${BYNDER_CONTROL_PREFIX}/ lists them.` });
  }
}
