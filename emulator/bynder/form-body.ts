/**
 * Reading the small form posts the Bynder API takes (token, init, register, finalise, save).
 * The SDKs send `application/x-www-form-urlencoded`; some send `multipart/form-data`; a JSON
 * object of strings is accepted too. Bodies are capped: file bytes never come this way.
 */
import type { IncomingMessage } from 'node:http';
import { readTextBody } from '../request-body.js';

const FORM_LIMIT_BYTES = 1024 * 1024;

export type FormResult = { ok: true; fields: Map<string, string> } | { ok: false; status: 400 | 413 | 415; message: string };

export async function readForm(req: IncomingMessage): Promise<FormResult> {
  const type = (req.headers['content-type'] ?? '').toLowerCase();
  if (type.startsWith('multipart/form-data')) {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req) {
      size += (chunk as Buffer).length;
      if (size > FORM_LIMIT_BYTES) return { ok: false, status: 413, message: `The form is larger than ${FORM_LIMIT_BYTES} bytes.` };
      chunks.push(chunk as Buffer);
    }
    try {
      const form = await new Request('http://form.invalid/', {
        method: 'POST',
        headers: { 'content-type': req.headers['content-type'] ?? '' },
        body: Buffer.concat(chunks),
      }).formData();
      const fields = new Map<string, string>();
      for (const [key, value] of form) if (typeof value === 'string') fields.set(key, value);
      return { ok: true, fields };
    } catch (err) {
      return { ok: false, status: 400, message: `The multipart form could not be parsed: ${(err as Error).message}` };
    }
  }
  const text = await readTextBody(req, FORM_LIMIT_BYTES);
  if (!text.ok) return text;
  if (type.startsWith('application/json')) {
    try {
      const value: unknown = text.value.trim() === '' ? {} : JSON.parse(text.value);
      if (value === null || typeof value !== 'object' || Array.isArray(value)) {
        return { ok: false, status: 400, message: 'The JSON body must be an object of fields.' };
      }
      const fields = new Map<string, string>();
      for (const [k, v] of Object.entries(value)) {
        if (v !== null && v !== undefined) fields.set(k, Array.isArray(v) ? v.join(',') : String(v));
      }
      return { ok: true, fields };
    } catch (err) {
      return { ok: false, status: 400, message: `The JSON body could not be parsed: ${(err as Error).message}` };
    }
  }
  if (type !== '' && !type.startsWith('application/x-www-form-urlencoded') && text.value.trim() !== '') {
    return { ok: false, status: 415, message: `Send the fields form-encoded (application/x-www-form-urlencoded), not '${type}'.` };
  }
  return { ok: true, fields: new Map(new URLSearchParams(text.value)) };
}

/** The first present, non-empty field of `names` (e.g. `brandId` or CS's `brandid`). */
export function field(fields: Map<string, string>, ...names: string[]): string | undefined {
  for (const name of names) {
    const value = fields.get(name);
    if (value !== undefined && value.trim() !== '') return value.trim();
  }
  return undefined;
}
