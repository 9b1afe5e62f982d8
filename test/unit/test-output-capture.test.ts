/**
 * Test output stays readable: what a passing test writes to stdout/stderr is dropped, what a
 * failing test wrote is printed under its name, and the setup file holds the Powertools JSON
 * lines of the tests in this very process.
 */
import { Console } from 'node:console';
import { Writable } from 'node:stream';
import { Logger } from '@aws-lambda-powertools/logger';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { TestOutputCapture, type WritableTarget } from '../helpers/test-output-capture.js';
import { testOutputCapture } from '../helpers/quiet-test-output.js';

/** A real Writable (a Console needs one) that remembers what reached it. */
function recordingStream(): Writable & WritableTarget & { written: string[] } {
  const written: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      written.push(chunk.toString('utf8'));
      done();
    },
  });
  return Object.assign(stream, { written });
}

afterEach(() => vi.unstubAllEnvs());

describe('TestOutputCapture', () => {
  it('holds what a Console of its own writes (as Powertools does), and drops it for a passing test', () => {
    const stdout = recordingStream();
    const stderr = recordingStream();
    const capture = new TestOutputCapture({ stdout, stderr });
    capture.start();
    const own = new Console({ stdout, stderr });
    own.log('{"level":"INFO","message":"ingested"}');
    own.error('{"level":"ERROR","message":"refused"}');

    expect(stdout.written).toEqual([]);
    expect(stderr.written).toEqual([]);
    expect(capture.heldText('stdout')).toBe('{"level":"INFO","message":"ingested"}\n');

    capture.discard();
    capture.replay('output of "a passing test"');
    capture.stop();
    expect([...stdout.written, ...stderr.written]).toEqual([]);
  });

  it("prints a failing test's lines to the stream they were written to, under a header with its name", () => {
    const stdout = recordingStream();
    const stderr = recordingStream();
    const capture = new TestOutputCapture({ stdout, stderr });
    capture.start();
    stdout.write('line one\n');
    stderr.write(Buffer.from('warning two\n'));

    capture.replay('output of "ingest > rejects" (printed because it failed)');

    expect(stdout.written).toEqual(['line one\n']);
    expect(stderr.written).toEqual([
      '\n--- output of "ingest > rejects" (printed because it failed) ---\n',
      'warning two\n',
      '--- end of output of "ingest > rejects" (printed because it failed) ---\n',
    ]);
    capture.stop();
    stdout.write('after stop\n');
    expect(stdout.written).toContain('after stop\n');
  });

  it('calls a write callback, so that a writer waiting for it is not left hanging', async () => {
    const stdout = recordingStream();
    const capture = new TestOutputCapture({ stdout, stderr: recordingStream() });
    capture.start();
    await new Promise<void>((resolve) => stdout.write('x', () => resolve()));
    capture.stop();
    expect(stdout.written).toEqual([]);
  });
});

describe('the setup file', () => {
  it('holds the JSON lines a Powertools Logger writes to stdout in this test', () => {
    vi.stubEnv('POWERTOOLS_DEV', undefined);
    const logger = new Logger({ serviceName: 'quiet-output-test' });
    logger.info('held, not printed', { objectKey: 'inbox/a.pdf' });

    const held = testOutputCapture.heldText('stdout');
    expect(held).toContain('"message":"held, not printed"');
    expect(held).toContain('"objectKey":"inbox/a.pdf"');
  });
});
