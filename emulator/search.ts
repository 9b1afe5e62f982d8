/**
 * `POST /documents`: search with paging in the query (`pageSize`, 1-based `pageNumber`,
 * `searchTerm` as a case-insensitive substring of the file name) and filters and sorting in
 * the body. Filters on the same element are alternatives (OR); filters on different elements
 * must all hold (AND). `GLOBAL_TabId` matches documents anywhere under that folder.
 */
import { z } from 'zod';
import { guard } from './api-guards.js';
import type { EmulatorContext, Handler } from './context.js';
import { sendJson, sendProblem, type FieldErrors } from './problem.js';
import { camelCaseKeys, fieldErrorsOf, readJsonBody } from './request-body.js';
import type { DocumentRecord } from './types.js';
import { documentDto } from './wire-format.js';

export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 1000;

const SearchBodySchema = z.object({
  metadataFilters: z
    .array(z.object({ metadataElementId: z.string().min(1, 'The metadataElementId field is required.'), valueId: z.string() }))
    .nullish(),
  sortBy: z
    .array(
      z.object({
        metadataElementId: z.string().min(1, 'The metadataElementId field is required.'),
        direction: z
          .string()
          .regex(/^(asc|desc|ascending|descending)$/i, "The direction must be 'asc' or 'desc'.")
          .nullish(),
      }),
    )
    .nullish(),
});

/** Error keys use the casing of the reference page. */
const FIELD_NAMES = { metadataFilters: 'MetadataFilters', sortBy: 'SortBy' };

function intParam(query: URLSearchParams, name: string, fallback: number, min: number, max: number, errors: FieldErrors): number {
  const raw = query.get(name);
  if (raw === null || raw === '') return fallback;
  const value = Number(raw);
  if (!/^-?\d+$/.test(raw) || !Number.isSafeInteger(value)) {
    (errors[name] ??= []).push(`The value '${raw}' is not valid for ${name}.`);
    return fallback;
  }
  if (value < min || value > max) (errors[name] ??= []).push(`${name} must be between ${min} and ${max}.`);
  return value;
}

function metadataValue(ctx: EmulatorContext, document: DocumentRecord, elementId: string): string | undefined {
  if (elementId === 'GLOBAL_BinderId') return document.binderId;
  if (elementId === 'GLOBAL_TabId') return ctx.state.getFolder(document.folderId)?.tabId;
  return document.metadata.find((m) => m.metadataElementId === elementId)?.valueId;
}

function isUnder(ctx: EmulatorContext, folderId: string, ancestorId: string): boolean {
  for (let f = ctx.state.getFolder(folderId); f; f = f.parentId ? ctx.state.getFolder(f.parentId) : undefined) {
    if (f.id === ancestorId) return true;
  }
  return false;
}

export const searchDocuments: Handler = async (ctx, request) => {
  if (!guard(ctx, request, 'collection')) return;
  const { res, req, url } = request;
  const errors: FieldErrors = {};
  const pageSize = intParam(url.searchParams, 'pageSize', DEFAULT_PAGE_SIZE, 1, MAX_PAGE_SIZE, errors);
  const pageNumber = intParam(url.searchParams, 'pageNumber', 1, 1, 2_147_483_647, errors);
  const searchTerm = (url.searchParams.get('searchTerm') ?? '').trim().toLowerCase();

  const body = await readJsonBody(req);
  if (!body.ok) {
    sendProblem(res, body.status, { errors: { $: [body.message] } });
    return;
  }
  const parsed = SearchBodySchema.safeParse(camelCaseKeys(body.value ?? {}));
  if (!parsed.success) Object.assign(errors, fieldErrorsOf(parsed.error, FIELD_NAMES));
  if (Object.keys(errors).length > 0 || !parsed.success) {
    sendProblem(res, 400, { errors });
    return;
  }

  const filtersByElement = new Map<string, Set<string>>();
  for (const f of parsed.data.metadataFilters ?? []) {
    const set = filtersByElement.get(f.metadataElementId) ?? new Set<string>();
    set.add(f.valueId);
    filtersByElement.set(f.metadataElementId, set);
  }
  const binderFilter = filtersByElement.get('GLOBAL_BinderId');
  const candidates: readonly DocumentRecord[] =
    binderFilter?.size === 1 ? ctx.state.documentsInBinder([...binderFilter][0] as string) : ctx.state.listDocuments();

  const matches = candidates.filter((document) => {
    if (searchTerm !== '' && !document.fileName.toLowerCase().includes(searchTerm)) return false;
    for (const [elementId, values] of filtersByElement) {
      if (elementId === 'GLOBAL_TabId') {
        if (![...values].some((v) => isUnder(ctx, document.folderId, v))) return false;
        continue;
      }
      const actual = metadataValue(ctx, document, elementId);
      if (actual === undefined || !values.has(actual)) return false;
    }
    return true;
  });

  const sortBy = parsed.data.sortBy ?? [];
  if (sortBy.length > 0) {
    matches.sort((a, b) => {
      for (const s of sortBy) {
        const descending = /^desc/i.test(s.direction ?? 'asc');
        const va = metadataValue(ctx, a, s.metadataElementId);
        const vb = metadataValue(ctx, b, s.metadataElementId);
        if (va === vb) continue;
        if (va === undefined) return 1; // missing values last, whatever the direction
        if (vb === undefined) return -1;
        const order = va.localeCompare(vb, 'en', { numeric: true });
        if (order !== 0) return descending ? -order : order;
      }
      return a.seq - b.seq;
    });
  }

  const start = (pageNumber - 1) * pageSize;
  sendJson(res, 200, {
    items: matches.slice(start, start + pageSize).map((d) => documentDto(ctx, d)),
    totalCount: matches.length,
    pageNumber,
    pageSize,
  });
};
