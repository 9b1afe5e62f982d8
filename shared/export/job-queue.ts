/**
 * Where the planner puts export jobs: the SQS export queue in AWS, an array in the in-process
 * run (`runExport`, the demo). The planner only knows this interface.
 */
import { SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { serializeExportJob, type ExportJob } from './job.js';

export interface ExportJobQueue {
  /** Enqueues every job or throws; a job may be enqueued twice (the worker is idempotent). */
  send(jobs: readonly ExportJob[]): Promise<void>;
}

/** SendMessageBatch takes at most 10 messages a call. */
export const SQS_BATCH_LIMIT = 10;

export class ExportQueueError extends Error {
  override readonly name = 'ExportQueueError';
}

export interface SqsExportJobQueueOptions {
  /** Attempts for entries SQS reports as failed (throttling, internal errors). Default 4. */
  maxAttempts?: number;
  sleep?: (ms: number) => Promise<void>;
}

export class SqsExportJobQueue implements ExportJobQueue {
  private readonly maxAttempts: number;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(
    private readonly sqs: SQSClient,
    readonly queueUrl: string,
    options: SqsExportJobQueueOptions = {},
  ) {
    this.maxAttempts = options.maxAttempts ?? 4;
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
  }

  async send(jobs: readonly ExportJob[]): Promise<void> {
    for (let i = 0; i < jobs.length; i += SQS_BATCH_LIMIT) {
      await this.sendBatch(jobs.slice(i, i + SQS_BATCH_LIMIT));
    }
  }

  /** Sends up to 10 jobs; entries SQS rejects are sent again, with backoff, a bounded number of times. */
  private async sendBatch(batch: readonly ExportJob[]): Promise<void> {
    let pending = batch.map((job, index) => ({ Id: String(index), MessageBody: serializeExportJob(job), versionId: job.versionId }));
    for (let attempt = 1; pending.length > 0; attempt++) {
      if (attempt > 1) await this.sleep(Math.min(100 * 2 ** (attempt - 2), 2_000));
      const result = await this.sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: this.queueUrl,
          Entries: pending.map(({ Id, MessageBody }) => ({ Id, MessageBody })),
        }),
      );
      const failed = result.Failed ?? [];
      const senderFaults = failed.filter((f) => f.SenderFault);
      if (senderFaults.length > 0 || (failed.length > 0 && attempt >= this.maxAttempts)) {
        const detail = failed
          .map((f) => `${pending.find((p) => p.Id === f.Id)?.versionId ?? f.Id}: ${f.Code ?? 'error'} ${f.Message ?? ''}`.trim())
          .join('; ');
        throw new ExportQueueError(
          `export queue refused ${failed.length} of ${pending.length} job(s) after ${attempt} attempt(s): ${detail}`,
        );
      }
      const failedIds = new Set(failed.map((f) => f.Id));
      pending = pending.filter((p) => failedIds.has(p.Id));
    }
  }
}

/** Keeps jobs in memory, in order: the in-process run drains it through the worker code. */
export class InMemoryExportJobQueue implements ExportJobQueue {
  readonly jobs: ExportJob[] = [];

  send(jobs: readonly ExportJob[]): Promise<void> {
    this.jobs.push(...jobs);
    return Promise.resolve();
  }
}
