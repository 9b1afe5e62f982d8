import { describe, expect, it } from 'vitest';
import { Readable } from 'node:stream';
import { ChunkReader } from '../../shared/connectors/bynder/client/chunk-reader.js';
import {
  BynderError,
  BynderNetworkError,
  BynderResponseError,
  BynderThrottledError,
} from '../../shared/connectors/bynder/client/errors.js';
import { errorFromResponse } from '../../shared/connectors/bynder/client/http.js';
import { classifyBynderError, describeBynderError, MIN_THROTTLE_PAUSE_MS } from '../../shared/connectors/bynder/classify.js';
import { BynderCommitNotSettledError } from '../../shared/connectors/bynder/errors.js';
import { FakeBynder } from '../helpers/fake-bynder.js';

const SAVE = '/api/v4/media/save/imp-1';
const VERSION_SAVE = '/api/v4/media/A-1/save/imp-1';

describe('classifyBynderError', () => {
  it.each([400, 409, 422])("a %i at the save is a permanent refusal with Bynder's message, the correlation id and a fix", (status) => {
    const result = classifyBynderError(FakeBynder.apiError(status, 'No brandid provided', SAVE, 'corr-42'), 'commit');
    expect(result.kind).toBe('permanent');
    if (result.kind !== 'permanent') return;
    expect(result.problems[0]).toMatchObject({ code: 'refused', field: 'bynder' });
    expect(result.problems[0]?.message).toContain(`(HTTP ${status}): "No brandid provided", correlation id corr-42`);
    expect(result.problems[0]?.fix).toContain('corr-42');
    expect(result.refusal).toEqual({ connector: 'bynder', status, title: 'No brandid provided', requestId: 'corr-42' });
  });

  it('a 413 at the save or the transfer is a file too large', () => {
    for (const step of ['commit', 'transfer'] as const) {
      const result = classifyBynderError(FakeBynder.apiError(413, 'Payload too large', SAVE), step);
      expect(result.kind === 'permanent' && result.problems[0]?.code).toBe('too-large');
    }
  });

  it('a 404 "Import ID not found" is an expired upload (transient); a 404 of a version save without it, a missing asset (permanent)', () => {
    expect(classifyBynderError(FakeBynder.apiError(404, 'Import ID not found', VERSION_SAVE), 'commit')).toMatchObject({
      kind: 'transient',
      uploadAgain: true,
    });
    expect(classifyBynderError(FakeBynder.apiError(404, undefined, SAVE), 'commit')).toMatchObject({
      kind: 'transient',
      uploadAgain: true,
    });
    const missing = classifyBynderError(FakeBynder.apiError(404, 'Media not found', VERSION_SAVE), 'commit');
    expect(missing.kind === 'permanent' && missing.problems[0]?.fix).toContain('no longer exists');
  });

  it('a 404 "no Route matched" is an operator problem at any step', () => {
    expect(classifyBynderError(FakeBynder.apiError(404, 'no Route matched with those values', SAVE), 'commit').kind).toBe('operator');
  });

  it.each([401, 403])('a %i is an operator problem', (status) => {
    expect(classifyBynderError(FakeBynder.apiError(status, 'Forbidden', SAVE), 'commit').kind).toBe('operator');
    expect(classifyBynderError(FakeBynder.apiError(status, 'Forbidden', '/api/v4/brands/'), 'resolve').kind).toBe('operator');
  });

  it('a 429 is throttled for at least five minutes, or the configured pause, or what the client says is left', () => {
    const plain = classifyBynderError(FakeBynder.apiError(429, 'Too many requests', SAVE), 'commit');
    expect(plain).toMatchObject({ kind: 'throttled', retryAfterMs: MIN_THROTTLE_PAUSE_MS });
    const configured = classifyBynderError(FakeBynder.apiError(429, undefined, SAVE), 'resolve', { throttlePauseMs: 330_000 });
    expect(configured).toMatchObject({ kind: 'throttled', retryAfterMs: 330_000 });
    const blocked = new BynderThrottledError('blocked', { method: 'GET', path: '/api/v4/media/' }, 400_000, true);
    expect(classifyBynderError(blocked, 'find-committed')).toMatchObject({ kind: 'throttled', retryAfterMs: 400_000 });
    const short = new BynderThrottledError('blocked', { method: 'GET', path: '/api/v4/media/' }, 1_000, true);
    expect(classifyBynderError(short, 'transfer')).toMatchObject({ kind: 'throttled', retryAfterMs: MIN_THROTTLE_PAUSE_MS });
  });

  it('5xx, 408 and no answer are transient', () => {
    for (const status of [408, 500, 502, 503])
      expect(classifyBynderError(FakeBynder.apiError(status, 'x', SAVE), 'commit').kind).toBe('transient');
    const network = new BynderNetworkError('ECONNRESET', { method: 'POST', path: SAVE }, false);
    expect(classifyBynderError(network, 'commit').kind).toBe('transient');
    expect(classifyBynderError(new Error('S3 read failed'), 'transfer').kind).toBe('transient');
  });

  it('an unreadable reply to the save is transient (the save may have gone through; findCommitted decides), elsewhere an operator problem', () => {
    const unreadable = new BynderResponseError('reply without mediaid', { method: 'POST', path: SAVE }, ['mediaid']);
    expect(classifyBynderError(unreadable, 'commit').kind).toBe('transient');
    expect(classifyBynderError(unreadable, 'resolve').kind).toBe('operator');
  });

  it('a 4xx while uploading is the upload configuration (operator); on a listing too', () => {
    expect(classifyBynderError(FakeBynder.apiError(400, 'bad chunk', '/v7/file_cmds/upload/x/chunk/0'), 'transfer').kind).toBe('operator');
    expect(classifyBynderError(FakeBynder.apiError(400, 'bad', '/api/upload/init'), 'prepare').kind).toBe('operator');
    expect(classifyBynderError(FakeBynder.apiError(400, 'bad', '/api/v4/media/'), 'find-committed').kind).toBe('operator');
  });

  it('a save not yet findable is retried after what is left of the window', () => {
    expect(classifyBynderError(new BynderCommitNotSettledError('not yet', 42_000), 'find-committed')).toMatchObject({
      kind: 'transient',
      retryAfterMs: 42_000,
    });
  });
});

/** The error the client's chunk reader raises for a source that ends before its size. */
async function shortSourceError(): Promise<unknown> {
  const reader = new ChunkReader({ open: async () => Readable.from([Buffer.alloc(10)]), size: 20, fileName: 'plan.pdf' }, 16);
  try {
    for await (const _chunk of reader.chunks()) {
      // read to the end
    }
  } catch (err) {
    return err;
  }
  throw new Error('the short source was read without an error');
}

describe('classifyBynderError: errors the client raises without a status', () => {
  it('an import the poll lists as failed (legacy finalise or a save after its 303) is a permanent refusal, not a retry', () => {
    const afterFinalise = new BynderError(
      'Bynder could not process import imp-1 of "plan.pdf" (listed as failed by the poll) — the file may be unreadable',
      'permanent',
      { method: 'GET', path: '/api/v4/upload/poll/' },
    );
    const afterSave = new BynderError(
      `Bynder POST ${SAVE} answered 303 and the poll lists import imp-1 as failed — Bynder could not process the file`,
      'permanent',
      { method: 'POST', path: SAVE },
    );
    for (const [error, step] of [
      [afterFinalise, 'transfer'],
      [afterSave, 'commit'],
    ] as const) {
      const result = classifyBynderError(error, step);
      expect(result.kind).toBe('permanent');
      if (result.kind !== 'permanent') return;
      expect(result.problems[0]).toMatchObject({ code: 'refused', field: 'bynder' });
      expect(result.problems[0]?.message).toContain('listed as failed');
      expect(result.refusal).toBeUndefined();
    }
  });

  it('a source shorter than its size is permanent (the report says the bytes do not match the size)', async () => {
    const result = classifyBynderError(await shortSourceError(), 'transfer');
    expect(result.kind).toBe('permanent');
    if (result.kind !== 'permanent') return;
    expect(result.problems[0]).toMatchObject({ code: 'refused', field: 'size' });
    expect(result.problems[0]?.message).toMatch(/ended after \d+ of its 20 bytes/);
  });

  it('a legacy upload whose policy this process no longer holds is uploaded again', () => {
    const lost = new BynderError('legacy upload t-1 has no endpoint and init details — start a new upload', 'permanent', {
      method: 'POST',
      path: '/api/v4/upload/',
    });
    expect(classifyBynderError(lost, 'transfer')).toMatchObject({ kind: 'transient', uploadAgain: true });
  });

  it('other errors without a status stay transient', () => {
    expect(classifyBynderError(new Error('socket hang up'), 'transfer')).toEqual({ kind: 'transient', reason: 'socket hang up' });
  });
});

describe('classifyBynderError: a legacy S3 part refused', () => {
  const policyExpired = (status: number) =>
    errorFromResponse(
      { method: 'POST', path: '/bynder-uploads' },
      'storage',
      {
        status,
        headers: {},
        text: '<Error><Code>AccessDenied</Code><Message>Invalid according to Policy: Policy expired.</Message></Error>',
      },
      0,
    );

  it.each([401, 403])('with %i is the upload policy (upload again), not the credentials', (status) => {
    const result = classifyBynderError(policyExpired(status), 'transfer');
    expect(result).toMatchObject({ kind: 'transient', uploadAgain: true });
    expect(result.kind !== 'permanent' && result.reason).toContain('uploaded again');
  });

  it("while the API's own 403 at the upload stays an operator problem", () => {
    expect(classifyBynderError(FakeBynder.apiError(403, 'Forbidden', '/api/upload/init'), 'prepare').kind).toBe('operator');
  });
});

describe('describeBynderError', () => {
  it('gives status, request and correlation id, never a query string', () => {
    const error = FakeBynder.apiError(400, 'bad', '/api/v4/media/save/imp-1?token=secret', 'corr-9');
    expect(describeBynderError(error)).toEqual({
      errorName: 'BynderApiError',
      status: 400,
      errorKind: 'permanent',
      correlationId: 'corr-9',
      method: 'POST',
      path: '/api/v4/media/save/imp-1',
    });
  });
});
