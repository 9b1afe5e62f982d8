import { describe, expect, it } from 'vitest';
import { BynderNetworkError, BynderResponseError, BynderThrottledError } from '../../shared/connectors/bynder/client/errors.js';
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
    expect(classifyBynderError(FakeBynder.apiError(404, 'Import ID not found', VERSION_SAVE), 'commit').kind).toBe('transient');
    expect(classifyBynderError(FakeBynder.apiError(404, undefined, SAVE), 'commit').kind).toBe('transient');
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
