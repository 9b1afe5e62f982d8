/**
 * `/__emulator/...`: the programmatic controls over HTTP, so a person can drive a standalone
 * emulator with curl (add a fault, read the call counts, revoke tokens). Not part of the iBinder
 * API, not counted, not faulted, and unauthenticated: the emulator listens on loopback.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { EmulatorContext } from './context.js';
import { FaultRequestSchema, faultSpecFromJson } from './fault-controller.js';
import { FaultMixSpecSchema } from './fault-mix.js';
import { readJsonBody } from './request-body.js';

export const CONTROL_PREFIX = '/__emulator';

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = `${JSON.stringify(body, null, 2)}\n`;
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': String(Buffer.byteLength(text)) });
  res.end(text);
}

function noContent(res: ServerResponse): void {
  res.writeHead(204);
  res.end();
}

function callSummary(ctx: EmulatorContext, limit: number): unknown {
  return {
    total: ctx.calls.total(),
    byKind: { api: ctx.calls.total('api'), token: ctx.calls.total('token'), storage: ctx.calls.total('storage') },
    byRoute: ctx.calls.byRoute(),
    log: ctx.calls.log().slice(-limit),
  };
}

function stateSummary(ctx: EmulatorContext): unknown {
  return {
    tenantId: ctx.options.tenantId,
    documents: ctx.state.documentCount,
    versions: ctx.state.versionCount,
    binders: ctx.state.listBinders().map((b) => ({
      id: b.id,
      name: b.name,
      documents: ctx.state.documentsInBinder(b.id).length,
      folders: ctx.state.allFolders(b.id).map((f) => ({ id: f.id, name: f.name, parentId: f.parentId })),
    })),
  };
}

export async function handleControl(ctx: EmulatorContext, req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
  const path = url.pathname.replace(/\/+$/, '');
  const route = `${req.method ?? 'GET'} ${path.slice(CONTROL_PREFIX.length) || '/'}`;
  switch (route) {
    case 'GET /':
      json(res, 200, {
        endpoints: [
          'GET /__emulator/calls?limit=100',
          'POST /__emulator/reset-calls',
          'GET /__emulator/faults',
          'POST /__emulator/faults  {"route":"/documents/{documentId}/versions","status":429,"times":2,"retryAfterSeconds":1}',
          'DELETE /__emulator/faults  (one-off faults and the mix)',
          'POST /__emulator/fault-mix  {"rate":0.2,"seed":7,"routes":["api","storage"],"retryAfterSeconds":1}',
          'DELETE /__emulator/fault-mix',
          'POST /__emulator/reset-injected',
          'POST /__emulator/revoke-tokens',
          'GET /__emulator/state',
        ],
      });
      return;
    case 'GET /calls': {
      const limit = Number(url.searchParams.get('limit') ?? '1000');
      json(res, 200, callSummary(ctx, Number.isFinite(limit) && limit >= 0 ? limit : 1000));
      return;
    }
    case 'POST /reset-calls':
      ctx.calls.reset();
      noContent(res);
      return;
    case 'GET /faults':
      json(res, 200, { faults: ctx.faults.list(), mix: ctx.faults.currentMix() ?? null, injected: ctx.faults.injected() });
      return;
    case 'POST /fault-mix': {
      const body = await readJsonBody(req);
      if (!body.ok) {
        json(res, body.status, { error: body.message });
        return;
      }
      const parsed = FaultMixSpecSchema.safeParse(body.value);
      if (!parsed.success) {
        json(res, 400, {
          error: 'Invalid fault mix',
          issues: parsed.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`),
        });
        return;
      }
      try {
        json(res, 201, { mix: ctx.faults.setMix(parsed.data) });
      } catch (err) {
        json(res, 400, { error: `Invalid fault mix: ${(err as Error).message}` });
      }
      return;
    }
    case 'DELETE /fault-mix':
      ctx.faults.clearMix();
      noContent(res);
      return;
    case 'POST /reset-injected':
      ctx.faults.resetInjected();
      noContent(res);
      return;
    case 'POST /faults': {
      const body = await readJsonBody(req);
      if (!body.ok) {
        json(res, body.status, { error: body.message });
        return;
      }
      const parsed = FaultRequestSchema.safeParse(body.value);
      if (!parsed.success) {
        json(res, 400, { error: 'Invalid fault', issues: parsed.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`) });
        return;
      }
      const specs = Array.isArray(parsed.data) ? parsed.data : [parsed.data];
      const added = specs.map((spec) => ctx.faults.add(faultSpecFromJson(spec)));
      json(res, 201, { added, faults: ctx.faults.list() });
      return;
    }
    case 'DELETE /faults':
      ctx.faults.clear();
      noContent(res);
      return;
    case 'POST /revoke-tokens':
      ctx.tokens.revokeAll();
      noContent(res);
      return;
    case 'GET /state':
      json(res, 200, stateSummary(ctx));
      return;
    default:
      json(res, 404, { error: `No control endpoint ${route}; GET ${CONTROL_PREFIX}/ lists them.` });
  }
}
