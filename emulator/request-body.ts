/**
 * Reading and shaping small request bodies (JSON and form posts). Bodies are capped: the API
 * takes metadata, never file bytes, which go to the presigned storage URLs as streams.
 */
import type { IncomingMessage } from 'node:http';
import type { z } from 'zod';
import type { FieldErrors } from './problem.js';

const DEFAULT_LIMIT_BYTES = 1024 * 1024;

export type BodyResult<T> = { ok: true; value: T } | { ok: false; status: 400 | 413 | 415; message: string };

export async function readTextBody(req: IncomingMessage, limitBytes = DEFAULT_LIMIT_BYTES): Promise<BodyResult<string>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limitBytes) return { ok: false, status: 413, message: `The request body is larger than ${limitBytes} bytes.` };
    chunks.push(chunk as Buffer);
  }
  return { ok: true, value: Buffer.concat(chunks).toString('utf8') };
}

/** `undefined` for an empty body; a 415 for a body that is not declared as JSON. */
export async function readJsonBody(req: IncomingMessage): Promise<BodyResult<unknown>> {
  const text = await readTextBody(req);
  if (!text.ok) return text;
  if (text.value.trim() === '') return { ok: true, value: undefined };
  const type = (req.headers['content-type'] ?? '').toLowerCase();
  if (!/^application\/([\w.+-]+\+)?json\b/.test(type)) {
    return { ok: false, status: 415, message: `The body must be JSON with Content-Type: application/json (got '${type || 'none'}').` };
  }
  try {
    return { ok: true, value: JSON.parse(text.value) as unknown };
  } catch (err) {
    return { ok: false, status: 400, message: `The JSON body could not be parsed: ${(err as Error).message}` };
  }
}

/**
 * ASP.NET binds JSON properties case-insensitively, so `MetadataFilters` and
 * `metadataFilters` are the same field. Lower-cases the first letter of every key.
 */
export function camelCaseKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(camelCaseKeys);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value as Record<string, unknown>).map(([k, v]) => [k.charAt(0).toLowerCase() + k.slice(1), camelCaseKeys(v)]),
    );
  }
  return value;
}

/** zod issues as ASP.NET-style field errors: `additionalMetadata[0].value`. */
export function fieldErrorsOf(error: z.ZodError, rename: Record<string, string> = {}): FieldErrors {
  const errors: FieldErrors = {};
  for (const issue of error.issues) {
    let field = '';
    issue.path.forEach((segment, i) => {
      if (typeof segment === 'number') field += `[${segment}]`;
      else {
        const name = i === 0 ? (rename[String(segment)] ?? String(segment)) : String(segment);
        field += field === '' ? name : `.${name}`;
      }
    });
    const key = field === '' ? '$' : field;
    const last = issue.path.at(-1);
    const missing = issue.code === 'invalid_type' && /received undefined$/.test(issue.message);
    const message = missing && typeof last === 'string' ? `The ${last} field is required.` : issue.message;
    (errors[key] ??= []).push(message);
  }
  return errors;
}
