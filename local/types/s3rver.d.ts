/**
 * The part of s3rver 3.x the local stack uses (the package ships no types). s3rver is a Koa
 * application: `middleware` is Koa's list, composed when the server starts listening, which is
 * how the local stack puts its compatibility layer in front of s3rver's own routes.
 */
declare module 's3rver' {
  import type { EventEmitter } from 'node:events';
  import type { AddressInfo } from 'node:net';

  export interface S3rverOptions {
    address?: string;
    port?: number;
    silent?: boolean;
    directory?: string;
    resetOnClose?: boolean;
    allowMismatchedSignatures?: boolean;
    vhostBuckets?: boolean;
    configureBuckets?: Array<{ name: string; configs?: Array<string | Buffer> }>;
  }

  /** The notification s3rver emits; only the fields the local stack reads are listed. */
  export interface S3rverEvent {
    Records: Array<{
      eventName: string;
      eventTime: string;
      s3: {
        bucket: { name: string };
        object: { key: string; size?: number; eTag?: string; sequencer?: string };
      };
    }>;
  }

  export interface S3rverStore {
    existsObject(bucket: string, key: string): Promise<boolean>;
    deleteObject(bucket: string, key: string): Promise<void>;
  }

  /** Koa middleware, typed loosely at this boundary; local/s3rver-compat.ts narrows it. */
  export type KoaMiddleware = (ctx: never, next: () => Promise<void>) => Promise<void> | void;

  export default class S3rver extends EventEmitter {
    constructor(options?: S3rverOptions);
    readonly store: S3rverStore;
    middleware: KoaMiddleware[];
    run(): Promise<AddressInfo>;
    close(): Promise<void>;
    on(event: 'event', listener: (event: S3rverEvent) => void): this;
    on(event: 'error', listener: (err: Error) => void): this;
    on(event: string, listener: (...args: unknown[]) => void): this;
  }
}
