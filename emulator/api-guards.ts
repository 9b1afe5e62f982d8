/**
 * The two checks in front of every `/api` call: a valid bearer token (401 with the short
 * problem body otherwise) and the tenant header. A missing header is a validation error
 * (400); another tenant's id is answered like iBinder answers for resources it will not show
 * that tenant: 404 for a named resource, 403 for a tenant-wide collection.
 */
import type { EmulatorContext, RequestContext } from './context.js';
import { sendProblem } from './problem.js';

export const TENANT_HEADER = 'x-ibinder-tenantid';

export function authenticate(ctx: EmulatorContext, { req, res }: RequestContext): boolean {
  const header = req.headers.authorization ?? '';
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (match?.[1] && ctx.tokens.isValid(match[1])) return true;
  const error = header === '' ? '' : ', error="invalid_token"';
  sendProblem(res, 401, { short: true }, { 'www-authenticate': `Bearer${error}` });
  return false;
}

/**
 * `resource`: the call names a binder/folder/document, so another tenant gets 404.
 * `collection`: the call lists the tenant's data, so another tenant gets 403.
 * `presign`: the header may be absent (discrepancy C) unless the emulator requires it.
 */
export type TenantScope = 'resource' | 'collection' | 'presign';

export function checkTenant(ctx: EmulatorContext, { req, res }: RequestContext, scope: TenantScope): boolean {
  const raw = req.headers[TENANT_HEADER];
  const value = (Array.isArray(raw) ? raw[0] : raw)?.trim() ?? '';
  if (value === '') {
    if (scope === 'presign' && !ctx.options.requireTenantOnPresign) return true;
    sendProblem(res, 400, {
      errors: { [TENANT_HEADER]: [`The ${TENANT_HEADER} header is required: set it to your organisation id.`] },
    });
    return false;
  }
  if (value === ctx.options.tenantId) return true;
  if (scope === 'resource') {
    sendProblem(res, 404, { detail: 'The resource does not exist or is not visible to this tenant.' });
  } else {
    sendProblem(res, 403, { detail: `The API client is not permitted to act for tenant '${value}'.` });
  }
  return false;
}

/** Both checks; false when a response has been sent. */
export function guard(ctx: EmulatorContext, request: RequestContext, scope: TenantScope): boolean {
  return authenticate(ctx, request) && checkTenant(ctx, request, scope);
}
