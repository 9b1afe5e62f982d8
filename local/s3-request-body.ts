/**
 * What the local S3 server does with an upload body before s3rver stores it. The AWS SDK v3
 * sends a streaming body with a checksum in `aws-chunked` encoding (the checksum in a trailer);
 * s3rver 3.7 knows neither and would store the chunk framing as the object's bytes, and it
 * never checks an `x-amz-checksum-*` value. The export relies on "S3 checks the SHA-256", so
 * the local server must too. This Transform decodes the framing, hashes the bytes on their way
 * through (no buffering: memory stays flat for a 1 GiB body) and reports, when the body has
 * ended, whether it was well formed and matched its declared checksum.
 */
import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import * as zlib from 'node:zlib';

export type ChecksumAlgorithm = 'sha256' | 'sha1' | 'crc32';

/** Algorithms this server can verify, by their `x-amz-checksum-<name>` header suffix. */
export const VERIFIABLE_CHECKSUMS: readonly ChecksumAlgorithm[] = ['sha256', 'sha1', 'crc32'];

export interface BodyVerdictOk {
  ok: true;
  /** The checksum header to answer with (S3 echoes the checksum it verified). */
  checksum?: { header: string; value: string };
}
export interface BodyVerdictFailed {
  ok: false;
  code: 'BadDigest' | 'IncompleteBody' | 'InvalidRequest';
  message: string;
}
export type BodyVerdict = BodyVerdictOk | BodyVerdictFailed;

export interface RequestBodyOptions {
  /** The body is `aws-chunked` framed. */
  chunked: boolean;
  /** `x-amz-decoded-content-length`, when sent. */
  decodedLength?: number;
  checksum?: {
    algorithm: ChecksumAlgorithm;
    /** Base64 value from the header; absent when it comes in the trailer. */
    expected?: string;
  };
}

type ParseState = 'size' | 'data' | 'data-crlf' | 'trailer' | 'done';

/** Running checksum for one algorithm, with S3's base64 output. */
interface RunningChecksum {
  update(chunk: Buffer): void;
  digestBase64(): string;
}

function runningChecksum(algorithm: ChecksumAlgorithm): RunningChecksum {
  if (algorithm === 'crc32') {
    const crc32 = (zlib as { crc32?: (data: Buffer, value?: number) => number }).crc32;
    if (!crc32) throw new Error('CRC32 checksums need Node.js 20.15 or newer (zlib.crc32)');
    let value = 0;
    return {
      update: (chunk) => {
        value = crc32(chunk, value);
      },
      digestBase64: () => {
        const out = Buffer.alloc(4);
        out.writeUInt32BE(value >>> 0);
        return out.toString('base64');
      },
    };
  }
  const hash: Hash = createHash(algorithm);
  return { update: (chunk) => hash.update(chunk), digestBase64: () => hash.digest('base64') };
}

export class VerifyingRequestBody extends Transform {
  private state: ParseState;
  private headerBuffer = Buffer.alloc(0);
  private remainingInChunk = 0;
  private readonly trailers = new Map<string, string>();
  private readonly checksum: RunningChecksum | undefined;
  private decodedBytes = 0;
  private failure: BodyVerdictFailed | undefined;
  private verdictValue: BodyVerdict | undefined;

  constructor(private readonly options: RequestBodyOptions) {
    super();
    this.state = options.chunked ? 'size' : 'data';
    this.checksum = options.checksum ? runningChecksum(options.checksum.algorithm) : undefined;
  }

  /** The outcome; defined once the body has ended. */
  get verdict(): BodyVerdict | undefined {
    return this.verdictValue;
  }

  /** Marks the body as cut off (the client went away) and ends the stream for the store. */
  abandon(reason: string): void {
    this.failure ??= { ok: false, code: 'IncompleteBody', message: reason };
    if (!this.writableEnded) this.end();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (this.failure) {
      callback();
      return;
    }
    try {
      if (!this.options.chunked) this.emitData(chunk);
      else this.parseChunked(chunk);
    } catch (err) {
      this.failure = { ok: false, code: 'InvalidRequest', message: `the aws-chunked body is malformed: ${(err as Error).message}` };
    }
    callback();
  }

  override _flush(callback: TransformCallback): void {
    this.verdictValue = this.decide();
    callback();
  }

  private decide(): BodyVerdict {
    if (this.failure) return this.failure;
    if (this.options.chunked && this.state !== 'done') {
      return { ok: false, code: 'IncompleteBody', message: 'the aws-chunked body ended before its final zero-length chunk' };
    }
    if (this.options.decodedLength !== undefined && this.decodedBytes !== this.options.decodedLength) {
      return {
        ok: false,
        code: 'IncompleteBody',
        message: `x-amz-decoded-content-length says ${this.options.decodedLength} bytes, the body had ${this.decodedBytes}`,
      };
    }
    if (!this.options.checksum || !this.checksum) return { ok: true };
    const header = `x-amz-checksum-${this.options.checksum.algorithm}`;
    const expected = this.options.checksum.expected ?? this.trailers.get(header);
    if (expected === undefined)
      return { ok: false, code: 'InvalidRequest', message: `the request announced a ${header} but sent no value in a header or trailer` };
    const actual = this.checksum.digestBase64();
    if (actual !== expected) {
      return {
        ok: false,
        code: 'BadDigest',
        message: `The ${this.options.checksum.algorithm.toUpperCase()} you specified did not match the calculated checksum (sent ${expected}, calculated ${actual})`,
      };
    }
    return { ok: true, checksum: { header, value: actual } };
  }

  private emitData(data: Buffer): void {
    if (data.length === 0) return;
    this.decodedBytes += data.length;
    this.checksum?.update(data);
    this.push(data);
  }

  private parseChunked(input: Buffer): void {
    let offset = 0;
    while (offset < input.length) {
      switch (this.state) {
        case 'data': {
          const take = Math.min(this.remainingInChunk, input.length - offset);
          this.emitData(input.subarray(offset, offset + take));
          offset += take;
          this.remainingInChunk -= take;
          if (this.remainingInChunk === 0) this.state = 'data-crlf';
          break;
        }
        case 'size':
        case 'data-crlf':
        case 'trailer': {
          const line = this.readLine(input, offset);
          if (line === undefined) return;
          offset = line.next;
          this.onLine(line.text);
          break;
        }
        case 'done':
          // Anything after the final CRLF is not part of the object.
          return;
      }
    }
  }

  /** Collects bytes up to CRLF across input chunks; header lines are short. */
  private readLine(input: Buffer, offset: number): { text: string; next: number } | undefined {
    if (this.headerBuffer.length > 0 && this.headerBuffer[this.headerBuffer.length - 1] === 0x0d && input[offset] === 0x0a) {
      // CR ended the previous input, LF starts this one.
      const text = this.headerBuffer.subarray(0, -1).toString('latin1');
      this.headerBuffer = Buffer.alloc(0);
      return { text, next: offset + 1 };
    }
    const end = input.indexOf('\r\n', offset);
    if (end === -1) {
      this.headerBuffer = Buffer.concat([this.headerBuffer, input.subarray(offset)]);
      if (this.headerBuffer.length > 64 * 1024) throw new Error('a chunk header or trailer line is longer than 64 KiB');
      return undefined;
    }
    const text = Buffer.concat([this.headerBuffer, input.subarray(offset, end)]).toString('latin1');
    this.headerBuffer = Buffer.alloc(0);
    return { text, next: end + 2 };
  }

  private onLine(text: string): void {
    if (this.state === 'data-crlf') {
      if (text !== '') throw new Error('chunk data is longer than its declared size');
      this.state = 'size';
      return;
    }
    if (this.state === 'size') {
      const sizeField = text.split(';', 1)[0]?.trim() ?? '';
      if (!/^[0-9a-fA-F]+$/.test(sizeField)) throw new Error(`bad chunk size line ${JSON.stringify(text.slice(0, 40))}`);
      const size = parseInt(sizeField, 16);
      if (size === 0) this.state = 'trailer';
      else {
        this.remainingInChunk = size;
        this.state = 'data';
      }
      return;
    }
    // trailer: `name:value` lines, ended by an empty line.
    if (text === '') {
      this.state = 'done';
      return;
    }
    const colon = text.indexOf(':');
    if (colon <= 0) throw new Error(`bad trailer line ${JSON.stringify(text.slice(0, 40))}`);
    this.trailers.set(text.slice(0, colon).trim().toLowerCase(), text.slice(colon + 1).trim());
  }
}
