/**
 * Bynder's reply shapes: JSON bodies, errors as `{message, statuscode}` with the status code as
 * a string (what the published examples show), and the gateway's own 404 for an unknown path.
 */
import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { sendJson } from '../problem.js';

export { sendJson };

export function sendMessage(res: ServerResponse, status: number, message: string, headers: Record<string, string> = {}): void {
  sendJson(res, status, { message, statuscode: String(status) }, headers);
}

/** What the API gateway answers for a path it has no route for. */
export function sendNoRoute(res: ServerResponse): void {
  sendJson(res, 404, { message: 'no Route matched with those values', request_id: randomUUID().replace(/-/g, '') });
}

/** An S3-style XML error for the storage side (bucket POST, download links). */
export { sendStorageError } from '../problem.js';
