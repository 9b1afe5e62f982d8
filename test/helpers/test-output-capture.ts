/**
 * Holds back what a test writes straight to stdout and stderr (the Powertools Logger and
 * Metrics write their JSON lines there through a Console of their own, not through the global
 * `console` that vitest already attributes to tests), so that a passing test prints nothing
 * between vitest's lines, and a failing test's lines are printed after all, under its name.
 *
 * The setup file `quiet-test-output.ts` runs one capture per test file; tests that spy on
 * `process.stdout.write` themselves still see every line, because their spy wraps this one.
 */

/** The part of a stream a capture replaces: Node's `Writable#write` signature. */
export interface WritableTarget {
  write(
    chunk: string | Uint8Array,
    encodingOrCallback?: BufferEncoding | ((err?: Error | null) => void),
    callback?: (err?: Error | null) => void,
  ): boolean;
}

type StreamName = 'stdout' | 'stderr';

interface HeldChunk {
  stream: StreamName;
  text: string;
}

export class TestOutputCapture {
  private held: HeldChunk[] = [];
  private readonly originals = new Map<StreamName, WritableTarget['write']>();

  constructor(private readonly streams: Readonly<Record<StreamName, WritableTarget>>) {}

  /** From now on, writes to the streams are held instead of printed. */
  start(): void {
    for (const name of ['stdout', 'stderr'] as const) {
      const stream = this.streams[name];
      if (this.originals.has(name)) continue;
      const original = stream.write;
      this.originals.set(name, original);
      stream.write = (chunk, encodingOrCallback, callback) => {
        const encoding = typeof encodingOrCallback === 'string' ? encodingOrCallback : undefined;
        this.held.push({ stream: name, text: typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString(encoding ?? 'utf8') });
        const done = typeof encodingOrCallback === 'function' ? encodingOrCallback : callback;
        if (done) queueMicrotask(() => done(null));
        return true;
      };
    }
  }

  /** What was held since the last `discard` or `replay`, as written. */
  heldText(stream?: StreamName): string {
    return this.held
      .filter((chunk) => stream === undefined || chunk.stream === stream)
      .map((chunk) => chunk.text)
      .join('');
  }

  /** Forgets what was held (a test passed). */
  discard(): void {
    this.held = [];
  }

  /**
   * Prints what was held to the streams it was written to, after a header line on stderr that
   * says whose output it is, then forgets it. Prints nothing if nothing was held.
   */
  replay(header: string): void {
    const held = this.held;
    this.held = [];
    if (held.length === 0) return;
    this.writeOriginal('stderr', `\n--- ${header} ---\n`);
    for (const chunk of held) this.writeOriginal(chunk.stream, chunk.text);
    this.writeOriginal('stderr', `--- end of ${header} ---\n`);
  }

  /** Puts the streams' own `write` back. */
  stop(): void {
    for (const [name, original] of this.originals) this.streams[name].write = original;
    this.originals.clear();
  }

  private writeOriginal(stream: StreamName, text: string): void {
    const original = this.originals.get(stream) ?? this.streams[stream].write;
    original.call(this.streams[stream], text);
  }
}
