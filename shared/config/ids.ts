/**
 * The documented formats of iBinder's identifiers: binders have 9-character NanoIds, folders,
 * documents and versions have GUIDs. An id is checked against its format before it is used in a
 * request, so that a typo ("PRJ-1") is reported as a malformed id, not as a binder iBinder
 * refuses to show (404/403), and a malformed folder id is found before the upload, not at the commit.
 */
import * as z from '../validation/zod.js';
import { lazySchema } from '../validation/lazy-schema.js';

/** NanoId alphabet (A-Z a-z 0-9 _ -), 9 characters. */
const BINDER_ID = /^[A-Za-z0-9_-]{9}$/;
/** A GUID in its plain 8-4-4-4-12 hexadecimal form (no braces). */
const GUID = /^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$/;

export const BINDER_ID_FORMAT = '9 characters of letters, digits, "_" and "-" (a NanoId), e.g. "PRJ0001AB"';
export const GUID_FORMAT = 'a GUID: 32 hexadecimal digits as 8-4-4-4-12, e.g. "0b6f4c2e-91d3-4a7b-8e5f-3c1d9a2b7e60"';

export function isBinderId(value: string): boolean {
  return BINDER_ID.test(value);
}

export function isGuid(value: string): boolean {
  return GUID.test(value);
}

/** Two GUIDs name the same object whatever the case of their hexadecimal digits. */
export function sameGuid(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}

export const BinderIdSchema = lazySchema(() =>
  z
    .string({ error: `expected a binder id: ${BINDER_ID_FORMAT}` })
    .check(z.regex(BINDER_ID, { error: `expected a binder id: ${BINDER_ID_FORMAT}` })),
);

export const GuidSchema = lazySchema(() =>
  z.string({ error: `expected a folder id: ${GUID_FORMAT}` }).check(z.regex(GUID, { error: `expected a folder id: ${GUID_FORMAT}` })),
);
