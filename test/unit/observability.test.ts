/**
 * The functions' metrics and log lines as Powertools really prints them: EMF blobs with the
 * namespace, names and dimension sets the alarms read, iBinder exchanges counted by kind and
 * status class, and the log context on lines of shared code.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { exportMetrics } from '../../shared/export/metrics.js';
import { exchangeKindOf, ibinderRequestMetrics, type RequestEvent } from '../../shared/observability/ibinder-request-metrics.js';
import { appendLogContext, currentLogContext, runWithLogContext } from '../../shared/observability/log-context.js';
import { ContextualLogger } from '../../shared/observability/logger.js';
import { EXPORT_RUNS_SERVICE, METRIC, METRICS_NAMESPACE, SERVICE_NAMES } from '../../shared/observability/metric-names.js';
import { createMetrics, createRunOutcomeMetrics, ingestMetrics, setEnvironmentDimension } from '../../shared/observability/metrics.js';
import { POWERTOOLS_CAPTURE_ENV, captureConsole, emfDatapoints, sumOf, type ConsoleCapture } from '../helpers/powertools-output.js';

let output: ConsoleCapture;

beforeEach(() => {
  for (const [name, value] of Object.entries(POWERTOOLS_CAPTURE_ENV)) vi.stubEnv(name, value);
  vi.stubEnv('POWERTOOLS_METRICS_NAMESPACE', undefined);
  vi.stubEnv('POWERTOOLS_SERVICE_NAME', undefined);
  output = captureConsole();
});
afterEach(() => {
  output.restore();
  vi.unstubAllEnvs();
});

function functionMetrics(service: string, environment = 'staging') {
  const metrics = createMetrics(service);
  setEnvironmentDimension(metrics, environment);
  return metrics;
}

describe('ingest metrics', () => {
  it('publish to the IbinderPipeline namespace under {service, environment}, rejections once more by reason', () => {
    const metrics = functionMetrics(SERVICE_NAMES.ingest);
    const ingest = ingestMetrics(metrics);
    ingest.fileIngested(2048, 350);
    ingest.fileIngested(1024, 150);
    ingest.fileRejected('metadata');
    ingest.recordRetried();
    metrics.publishStoredMetrics();

    const points = emfDatapoints(output.json());
    expect(new Set(points.map((p) => p.namespace))).toEqual(new Set([METRICS_NAMESPACE]));
    expect(METRICS_NAMESPACE).toBe('IbinderPipeline');
    const dims = { service: 'ibinder-ingest', environment: 'staging' };
    expect(sumOf(points, METRIC.filesIngested, dims)).toBe(2);
    expect(sumOf(points, METRIC.filesRejected, dims)).toBe(1);
    expect(sumOf(points, METRIC.filesRejected, { ...dims, reason: 'metadata' })).toBe(1);
    expect(sumOf(points, METRIC.bytesIngested, dims)).toBe(3072);
    expect(sumOf(points, METRIC.recordsRetried, dims)).toBe(1);
    expect(points.find((p) => p.metricName === METRIC.uploadDurationMs)?.unit).toBe('Milliseconds');
  });

  it('give both FilesIngested and FilesRejected a datapoint for every finished file, so the rejection rate has both', () => {
    const metrics = functionMetrics(SERVICE_NAMES.ingest);
    ingestMetrics(metrics).fileRejected('too-large');
    metrics.publishStoredMetrics();
    const points = emfDatapoints(output.json()).filter((p) => Object.keys(p.dimensions).length === 2);
    expect(points.filter((p) => p.metricName === METRIC.filesIngested).map((p) => p.value)).toEqual([0]);
    expect(points.filter((p) => p.metricName === METRIC.filesRejected).map((p) => p.value)).toEqual([1]);
  });

  it('use the service name and namespace the stack sets, when set', () => {
    vi.stubEnv('POWERTOOLS_METRICS_NAMESPACE', 'Elsewhere');
    vi.stubEnv('POWERTOOLS_SERVICE_NAME', 'renamed');
    const metrics = createMetrics(SERVICE_NAMES.ingest);
    ingestMetrics(metrics).recordRetried();
    metrics.publishStoredMetrics();
    expect(emfDatapoints(output.json())).toEqual([
      expect.objectContaining({ namespace: 'Elsewhere', metricName: METRIC.recordsRetried, dimensions: { service: 'renamed' } }),
    ]);
  });
});

describe('export metrics', () => {
  it('count run outcomes under the export service with the trigger, whichever function noticed them', () => {
    const worker = functionMetrics(SERVICE_NAMES.exportWorker, 'prod');
    const planner = functionMetrics(SERVICE_NAMES.exportPlanner, 'prod');
    const workerExport = exportMetrics(worker, createRunOutcomeMetrics('prod'));
    const plannerExport = exportMetrics(planner, createRunOutcomeMetrics('prod'));
    workerExport.runFinalized({ trigger: 'schedule', complete: true });
    plannerExport.runFinalized({ trigger: 'schedule', complete: false });
    plannerExport.runFinalized({ trigger: 'manual', complete: true });
    plannerExport.planningFailed('schedule');
    workerExport.versionExported(10);
    worker.publishStoredMetrics();

    // Nothing but EMF blobs: no warning line about replaced dimensions.
    expect(output.entries.every((e) => e.startsWith('{'))).toBe(true);

    const points = emfDatapoints(output.json());
    const run = (trigger: string) => ({ service: EXPORT_RUNS_SERVICE, environment: 'prod', trigger });
    expect(sumOf(points, METRIC.exportRunsCompleted, run('schedule'))).toBe(1);
    expect(sumOf(points, METRIC.exportRunsCompleted, run('manual'))).toBe(1);
    expect(sumOf(points, METRIC.exportRunsIncomplete, run('schedule'))).toBe(1);
    expect(sumOf(points, METRIC.exportPlanningFailed, run('schedule'))).toBe(1);
    expect(sumOf(points, METRIC.versionsExported, { service: 'ibinder-export-worker', environment: 'prod' })).toBe(1);
  });
});

describe('iBinder exchange metrics', () => {
  const TOKEN_URL = 'https://signin.example.com/connect/token';
  const event = (method: string, path: string, status?: number): RequestEvent => ({
    method,
    path,
    attempt: 1,
    durationMs: 5,
    ...(status !== undefined ? { status } : {}),
  });

  it('tell API calls, token requests and presigned transfers apart by path', () => {
    expect(exchangeKindOf(event('GET', '/binders'), '/connect/token')).toBe('api');
    expect(exchangeKindOf(event('POST', '/documents'), '/connect/token')).toBe('api');
    expect(exchangeKindOf(event('GET', '/documents/d1/versions/v1/raw'), '/connect/token')).toBe('api');
    expect(exchangeKindOf(event('POST', '/connect/token'), '/connect/token')).toBe('token');
    expect(exchangeKindOf(event('PUT', '/storage/upload/u1'), '/connect/token')).toBe('storage');
    // A presigned URL whose path looks like an API route is still a transfer when it is a PUT.
    expect(exchangeKindOf(event('PUT', '/documents/u1'), '/connect/token')).toBe('storage');
    expect(exchangeKindOf(event('GET', '/bucket/tenant/file.pdf'), '/connect/token')).toBe('storage');
    expect(exchangeKindOf(event('GET', '/binderspace'), '/connect/token')).toBe('storage');
  });

  it('count API calls by status class, 429s, token requests and transfers with their failures', () => {
    const metrics = functionMetrics(SERVICE_NAMES.exportPlanner);
    const observe = ibinderRequestMetrics(metrics, { tokenUrl: TOKEN_URL });
    observe(event('POST', '/documents', 200));
    observe(event('POST', '/documents', 429));
    observe(event('GET', '/documents/d1/versions', 503));
    observe(event('GET', '/documents/d1/versions', 404));
    observe(event('GET', '/documents/d1/versions'));
    observe(event('POST', '/connect/token', 200));
    observe(event('POST', '/connect/token', 429));
    observe(event('PUT', '/storage/upload/u1', 200));
    observe(event('GET', '/storage/download/v1', 403));
    metrics.publishStoredMetrics();

    const points = emfDatapoints(output.json());
    const dims = { service: 'ibinder-export-planner', environment: 'staging' };
    expect(sumOf(points, METRIC.apiCalls, dims)).toBe(5);
    expect(sumOf(points, METRIC.apiClientErrors, dims)).toBe(2);
    expect(sumOf(points, METRIC.apiServerErrors, dims)).toBe(1);
    expect(sumOf(points, METRIC.apiNoResponse, dims)).toBe(1);
    expect(sumOf(points, METRIC.rateLimited, dims)).toBe(2);
    expect(sumOf(points, METRIC.tokenRequests, dims)).toBe(2);
    expect(sumOf(points, METRIC.tokenFailures, dims)).toBe(1);
    expect(sumOf(points, METRIC.storageTransfers, dims)).toBe(2);
    expect(sumOf(points, METRIC.storageTransferFailures, dims)).toBe(1);
  });
});

describe('log context', () => {
  it('adds the keys of the current context to lines of any logger; keys of the call and persistent keys win', async () => {
    const logger = new ContextualLogger({ serviceName: 'test' });
    await runWithLogContext({ key: 'inbox/a.pdf', binderId: 'from-context' }, async () => {
      const child = logger.createChild();
      child.appendPersistentKeys({ binderId: 'persistent' });
      appendLogContext({ uploadId: 'u-1' });
      await Promise.resolve();
      logger.info('shared code', { attempt: 2 });
      child.info('record logger');
      logger.info('explicit', { key: 'given' });
    });
    logger.info('outside');

    const lines = output.json();
    expect(lines.map((l) => [l.message, l.key, l.binderId, l.uploadId])).toEqual([
      ['shared code', 'inbox/a.pdf', 'from-context', 'u-1'],
      ['record logger', 'inbox/a.pdf', 'persistent', 'u-1'],
      ['explicit', 'given', 'from-context', 'u-1'],
      ['outside', undefined, undefined, undefined],
    ]);
  });

  it('keeps concurrent records apart', async () => {
    const logger = new ContextualLogger({ serviceName: 'test' });
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const record = (key: string, uploadId: string) =>
      runWithLogContext({ key }, async () => {
        await gate;
        appendLogContext({ uploadId });
        await Promise.resolve();
        logger.info('uploaded');
        return currentLogContext();
      });
    const both = Promise.all([record('a', 'u-a'), record('b', 'u-b')]);
    release();
    expect(await both).toEqual([
      { key: 'a', uploadId: 'u-a' },
      { key: 'b', uploadId: 'u-b' },
    ]);
    expect(
      output
        .json()
        .map((l) => `${String(l.key)}:${String(l.uploadId)}`)
        .sort(),
    ).toEqual(['a:u-a', 'b:u-b']);
    expect(currentLogContext()).toEqual({});
  });
});
