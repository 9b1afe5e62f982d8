/**
 * The pipeline code's log lines on the operator's screen: the real Powertools logger (in the
 * dev mode the CLI's entry point switches on, which writes through the global console) routed
 * to an Output over captured streams.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';

vi.hoisted(() => {
  process.env.POWERTOOLS_DEV = 'true';
});

import { bufferedIo } from '../../cli/io.js';
import { humanLogLine, MAX_HUMAN_LINE_LENGTH, parseLogRecord, routeLogLines } from '../../cli/log-route.js';
import { Output } from '../../cli/output.js';
import { ContextualLogger } from '../../shared/observability/logger.js';

let restore: (() => void) | undefined;
afterEach(() => {
  restore?.();
  restore = undefined;
});

function setUp(debug: boolean, json = false) {
  const io = bufferedIo();
  const output = new Output(io, json);
  restore = routeLogLines(output, { debug });
  const logger = new ContextualLogger({ serviceName: 'ibinder-pipeline', logLevel: 'DEBUG' });
  return { io, logger };
}

describe('routeLogLines', () => {
  it('shows a warning as one short human line on stderr, and nothing on stdout', () => {
    const { io, logger } = setUp(false);
    logger.warn('iBinder call failed transiently; retrying', {
      method: 'GET',
      path: '/binders',
      attempt: 1,
      status: 503,
      traceId: 'abc123',
    });
    logger.info('resuming export run', { runId: 'r1' });
    logger.debug('presign', { path: '/x' });
    expect(io.stdoutText()).toBe('');
    expect(io.stderrText()).toBe(
      'warning: iBinder call failed transiently; retrying (method=GET, path=/binders, attempt=1, status=503, traceId=abc123)\n',
    );
  });

  it('keeps stderr human with --json too, so stdout stays one JSON document', () => {
    const { io, logger } = setUp(false, true);
    logger.error('could not write the manifest', { runId: 'r1', error: new Error('socket hang up\nat line 2') });
    expect(io.stdoutText()).toBe('');
    const lines = io.stderrText().split('\n').filter(Boolean);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toBe('error: could not write the manifest (runId=r1, error=Error: socket hang up at line 2)');
  });

  it('with --debug shows every line as written: one compact JSON object per line', () => {
    const { io, logger } = setUp(true);
    logger.warn('iBinder call failed transiently; retrying', { status: 503 });
    logger.info('resuming export run', { runId: 'r1' });
    expect(io.stdoutText()).toBe('');
    const lines = io.stderrText().split('\n').filter(Boolean);
    expect(lines).toHaveLength(2);
    expect(lines.map((l) => JSON.parse(l) as Record<string, unknown>)).toEqual([
      expect.objectContaining({
        level: 'WARN',
        message: 'iBinder call failed transiently; retrying',
        status: 503,
        service: 'ibinder-pipeline',
      }),
      expect.objectContaining({ level: 'INFO', message: 'resuming export run', runId: 'r1' }),
    ]);
  });

  it('writes above a live line (the progress bar): cleared first, drawn again after', () => {
    const { io, logger } = setUp(false);
    const output = new Output(io, false);
    restore?.();
    restore = routeLogLines(output, { debug: false });
    const events: string[] = [];
    output.attachLiveLine({ clear: () => events.push('clear'), redraw: () => events.push('redraw') });
    logger.warn('slow');
    expect(events).toEqual(['clear', 'redraw']);
    expect(io.stderrText()).toBe('warning: slow\n');
  });

  it('puts the console back when the command ends', () => {
    const before = console.warn;
    const { io } = setUp(false);
    expect(console.warn).not.toBe(before);
    restore?.();
    restore = undefined;
    expect(console.warn).toBe(before);
    expect(io.stderrText()).toBe('');
  });
});

describe('parseLogRecord and humanLogLine', () => {
  it('reads a Powertools line and leaves the standard keys out of the human line', () => {
    const record = parseLogRecord(
      '{"level":"WARN","message":"m","timestamp":"t","service":"s","sampling_rate":0,"binderId":"B1","page":3}',
    );
    expect(record).toBeDefined();
    expect(humanLogLine(record!)).toBe('warning: m (binderId=B1, page=3)');
  });

  it('cuts a line with many details at a readable length; --debug has them all', () => {
    const record = {
      level: 'WARN',
      message: 'version export failed transiently; handed back for retry',
      ...Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`key${i}`, 'v'.repeat(40)])),
    };
    const line = humanLogLine(record);
    expect(line).toHaveLength(MAX_HUMAN_LINE_LENGTH);
    expect(line.startsWith('warning: version export failed transiently; handed back for retry (key0=')).toBe(true);
    expect(line.endsWith('…)')).toBe(true);
  });

  it('is not fooled by text that is not a log record', () => {
    expect(parseLogRecord('plain text')).toBeUndefined();
    expect(parseLogRecord('{"no":"level"}')).toBeUndefined();
    expect(parseLogRecord('{broken')).toBeUndefined();
  });

  it('shortens long values so a warning stays one readable line', () => {
    const line = humanLogLine({ level: 'WARN', message: 'm', detail: 'x'.repeat(500) });
    expect(line).toBe(`warning: m (detail=${'x'.repeat(79)}…)`);
    expect(line.endsWith('…)')).toBe(true);
  });
});
