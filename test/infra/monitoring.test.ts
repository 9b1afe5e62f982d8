/**
 * The alarm topic, each alarm and the dashboard of an environment, asserted on the synthesized
 * template; and the alarms' custom metrics checked against the EMF the functions' own metric
 * code prints, so that an alarm cannot watch a name or dimension set nobody writes.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { EnvironmentConfigError } from '../../infra/errors.js';
import type { PipelineAlarmKey } from '../../infra/constructs/pipeline-monitoring.js';
import { exportMetrics } from '../../shared/export/metrics.js';
import { EXPORT_RUNS_SERVICE, METRIC, METRICS_NAMESPACE, SERVICE_NAMES } from '../../shared/observability/metric-names.js';
import { ibinderRequestMetrics } from '../../shared/observability/ibinder-request-metrics.js';
import { createMetrics, createRunOutcomeMetrics, ingestMetrics, setEnvironmentDimension } from '../../shared/observability/metrics.js';
import { POWERTOOLS_CAPTURE_ENV, captureConsole, emfDatapoints, type EmfDatapoint } from '../helpers/powertools-output.js';
import {
  buildPipelineApp,
  environmentEntry,
  logicalIdOf,
  propertiesOf,
  render,
  synthesizePipeline,
  type SynthesizedPipeline,
} from './stack-fixtures.js';

let dev: SynthesizedPipeline;
let staging: SynthesizedPipeline;

beforeAll(() => {
  dev = synthesizePipeline('dev');
  staging = synthesizePipeline('staging');
});
afterAll(() => {
  dev.dispose();
  staging.dispose();
});

interface AlarmMetric {
  id: string | undefined;
  namespace: string;
  metricName: string;
  dimensions: Record<string, string>;
  stat: string;
  period: number;
}

interface AlarmView {
  name: string;
  description: string;
  metrics: AlarmMetric[];
  expression: string | undefined;
  threshold: number;
  comparison: string;
  evaluationPeriods: number;
  datapointsToAlarm: number;
  treatMissingData: string;
  alarmActions: string[];
  okActions: string[];
}

type RawMetricStat = {
  Metric: { Namespace: string; MetricName: string; Dimensions?: { Name: string; Value: unknown }[] };
  Period: number;
  Stat: string;
};

function dimensionsOf(list: { Name: string; Value: unknown }[] | undefined): Record<string, string> {
  return Object.fromEntries((list ?? []).map((d) => [d.Name, render(d.Value)]));
}

/** An alarm's properties, the same whether CloudFormation got a single metric or a Metrics array. */
function viewOfAlarm(p: Record<string, unknown>): AlarmView {
  const queries = (p.Metrics as { Id: string; Expression?: string; MetricStat?: RawMetricStat }[] | undefined) ?? [];
  const metrics: AlarmMetric[] = queries.length
    ? queries.flatMap((q) =>
        q.MetricStat
          ? [
              {
                id: q.Id,
                namespace: q.MetricStat.Metric.Namespace,
                metricName: q.MetricStat.Metric.MetricName,
                dimensions: dimensionsOf(q.MetricStat.Metric.Dimensions),
                stat: q.MetricStat.Stat,
                period: q.MetricStat.Period,
              },
            ]
          : [],
      )
    : [
        {
          id: undefined,
          namespace: String(p.Namespace),
          metricName: String(p.MetricName),
          dimensions: dimensionsOf(p.Dimensions as { Name: string; Value: unknown }[] | undefined),
          stat: String(p.Statistic ?? p.ExtendedStatistic),
          period: Number(p.Period),
        },
      ];
  return {
    name: String(p.AlarmName),
    description: String(p.AlarmDescription),
    metrics,
    expression: queries.find((q) => q.Expression !== undefined)?.Expression,
    threshold: Number(p.Threshold),
    comparison: String(p.ComparisonOperator),
    evaluationPeriods: Number(p.EvaluationPeriods),
    datapointsToAlarm: Number(p.DatapointsToAlarm),
    treatMissingData: String(p.TreatMissingData),
    alarmActions: ((p.AlarmActions as unknown[]) ?? []).map(render),
    okActions: ((p.OKActions as unknown[]) ?? []).map(render),
  };
}

/** A metric an alarm watches (for the rejection rate, one its expression divides by). */
interface WatchedMetric {
  namespace: string;
  metricName: string;
  /** The dimensions it must have; an alarm's metric may have more (the environment). */
  dimensions: Record<string, string>;
}

/** What each alarm is, by what it watches; nothing here depends on construct ids. */
function watchedBy(synth: SynthesizedPipeline, key: PipelineAlarmKey): WatchedMetric {
  const { stack } = synth;
  const sqsVisible = (queue: Parameters<typeof logicalIdOf>[0]): WatchedMetric => ({
    namespace: 'AWS/SQS',
    metricName: 'ApproximateNumberOfMessagesVisible',
    dimensions: { QueueName: queueName(queue) },
  });
  const lambdaMetric = (fn: Parameters<typeof logicalIdOf>[0], metricName: 'Errors' | 'Throttles'): WatchedMetric => ({
    namespace: 'AWS/Lambda',
    metricName,
    dimensions: { FunctionName: ref(fn) },
  });
  const runs = (metricName: string): WatchedMetric => ({
    namespace: METRICS_NAMESPACE,
    metricName,
    dimensions: { service: EXPORT_RUNS_SERVICE, trigger: 'schedule' },
  });
  const watched: Record<PipelineAlarmKey, () => WatchedMetric> = {
    ingestDeadLetterQueue: () => sqsVisible(stack.ingestQueue.deadLetterQueue),
    exportDeadLetterQueue: () => sqsVisible(stack.exportQueue.deadLetterQueue),
    plannerDeadLetterQueue: () => sqsVisible(stack.plannerDeadLetterQueue),
    ingestMessageAge: () => ({
      namespace: 'AWS/SQS',
      metricName: 'ApproximateAgeOfOldestMessage',
      dimensions: { QueueName: queueName(stack.ingestQueue.queue) },
    }),
    rejectionRate: () => ({
      namespace: METRICS_NAMESPACE,
      metricName: METRIC.filesRejected,
      dimensions: { service: SERVICE_NAMES.ingest },
    }),
    exportRunIncomplete: () => runs(METRIC.exportRunsIncomplete),
    exportRunNotCompleted: () => runs(METRIC.exportRunsCompleted),
    ingestErrors: () => lambdaMetric(stack.ingestFunction.function, 'Errors'),
    ingestThrottles: () => lambdaMetric(stack.ingestFunction.function, 'Throttles'),
    plannerErrors: () => lambdaMetric(stack.plannerFunction.function, 'Errors'),
    plannerThrottles: () => lambdaMetric(stack.plannerFunction.function, 'Throttles'),
    workerErrors: () => lambdaMetric(stack.workerFunction.function, 'Errors'),
    workerThrottles: () => lambdaMetric(stack.workerFunction.function, 'Throttles'),
    ibinderRateLimited: () => ({
      namespace: METRICS_NAMESPACE,
      metricName: METRIC.rateLimited,
      dimensions: { service: SERVICE_NAMES.ingest },
    }),
  };
  return watched[key]();
}

function watches(alarm: AlarmView, wanted: WatchedMetric): boolean {
  return alarm.metrics.some(
    (m) =>
      m.namespace === wanted.namespace &&
      m.metricName === wanted.metricName &&
      Object.entries(wanted.dimensions).every(([name, value]) => m.dimensions[name] === value),
  );
}

/** The logical id of the one alarm of the template that watches what `key` names. */
function alarmIdOf(synth: SynthesizedPipeline, key: PipelineAlarmKey): string {
  const wanted = watchedBy(synth, key);
  const matches = Object.entries(synth.template.findResources('AWS::CloudWatch::Alarm')).filter(([, resource]) =>
    watches(viewOfAlarm((resource as { Properties: Record<string, unknown> }).Properties), wanted),
  );
  if (matches.length !== 1) throw new Error(`expected one alarm watching ${JSON.stringify(wanted)} for ${key}, found ${matches.length}`);
  return (matches[0] as [string, unknown])[0];
}

/** The alarm of the template that watches what `key` names. */
function alarmView(synth: SynthesizedPipeline, key: PipelineAlarmKey): AlarmView {
  return viewOfAlarm(propertiesOf(synth.template, alarmIdOf(synth, key)) as Record<string, unknown>);
}

const ref = (construct: Parameters<typeof logicalIdOf>[0]): string => `<${logicalIdOf(construct)}>`;
const queueName = (construct: Parameters<typeof logicalIdOf>[0]): string => `<${logicalIdOf(construct)}.QueueName>`;

const ALARM_KEYS: PipelineAlarmKey[] = [
  'ingestDeadLetterQueue',
  'exportDeadLetterQueue',
  'plannerDeadLetterQueue',
  'ingestMessageAge',
  'rejectionRate',
  'exportRunIncomplete',
  'exportRunNotCompleted',
  'ingestErrors',
  'ingestThrottles',
  'plannerErrors',
  'plannerThrottles',
  'workerErrors',
  'workerThrottles',
  'ibinderRateLimited',
];

describe('alarm topic', () => {
  it('is encrypted with a key of its own that rotates and that CloudWatch of this account may use', () => {
    const { monitoring } = dev.stack;
    expect(render(propertiesOf(dev.template, logicalIdOf(monitoring.topic)).KmsMasterKeyId)).toBe(
      `<${logicalIdOf(monitoring.topicKey)}.Arn>`,
    );
    const key = propertiesOf(dev.template, logicalIdOf(monitoring.topicKey));
    expect(key.EnableKeyRotation).toBe(true);
    expect((key.KeyPolicy as { Statement: unknown[] }).Statement).toContainEqual({
      Sid: 'AllowCloudWatchAlarmsToPublishEncrypted',
      Effect: 'Allow',
      Principal: { Service: 'cloudwatch.amazonaws.com' },
      Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
      Resource: '*',
      Condition: { StringEquals: { 'aws:SourceAccount': dev.stack.account } },
    });
  });

  it('refuses publishing without TLS and lets only CloudWatch alarms of this account publish', () => {
    const topic = ref(dev.stack.monitoring.topic);
    const policies = Object.values(dev.template.findResources('AWS::SNS::TopicPolicy')) as {
      Properties: { Topics: unknown[]; PolicyDocument: { Statement: Record<string, unknown>[] } };
    }[];
    expect(policies).toHaveLength(1);
    const policy = policies[0]?.Properties;
    expect(policy?.Topics.map(render)).toEqual([topic]);
    const statements: Record<string, unknown>[] = (policy?.PolicyDocument.Statement ?? []).map((s) => ({
      ...s,
      Resource: render(s.Resource),
    }));
    expect(statements).toContainEqual({
      Sid: 'AllowPublishThroughSSLOnly',
      Effect: 'Deny',
      Principal: '*',
      Action: 'sns:Publish',
      Resource: topic,
      Condition: { Bool: { 'aws:SecureTransport': 'false' } },
    });
    expect(statements).toContainEqual({
      Sid: 'AllowCloudWatchAlarmsOfThisAccount',
      Effect: 'Allow',
      Principal: { Service: 'cloudwatch.amazonaws.com' },
      Action: 'sns:Publish',
      Resource: topic,
      Condition: {
        ArnLike: { 'aws:SourceArn': `arn:aws:cloudwatch:${dev.stack.region}:${dev.stack.account}:alarm:*` },
        StringEquals: { 'aws:SourceAccount': dev.stack.account },
      },
    });
    expect(statements.filter((s) => s.Effect === 'Allow')).toHaveLength(1);
  });

  it('has an e-mail subscription only when the environment configures alarms.email', () => {
    expect(dev.template.findResources('AWS::SNS::Subscription')).toEqual({});
    const subscriptions = Object.values(staging.template.findResources('AWS::SNS::Subscription')) as {
      Properties: Record<string, unknown>;
    }[];
    expect(subscriptions.map((s) => ({ ...s.Properties, TopicArn: render(s.Properties.TopicArn) }))).toEqual([
      { Protocol: 'email', Endpoint: 'platform-alerts@example.com', TopicArn: ref(staging.stack.monitoring.topic) },
    ]);

    const withEmail = synthesizePipeline('dev', { entry: { ...environmentEntry('dev'), alarms: { email: 'oncall@example.com' } } });
    try {
      const emails = Object.values(withEmail.template.findResources('AWS::SNS::Subscription')) as { Properties: Record<string, unknown> }[];
      expect(emails.map((s) => s.Properties.Endpoint)).toEqual(['oncall@example.com']);
    } finally {
      withEmail.dispose();
    }
  });
});

describe('alarms', () => {
  it('are exactly the documented ones, each notifying the topic on ALARM and on OK', () => {
    const topic = ref(dev.stack.monitoring.topic);
    const alarms = dev.template.findResources('AWS::CloudWatch::Alarm');
    expect(Object.keys(alarms).sort()).toEqual(ALARM_KEYS.map((k) => alarmIdOf(dev, k)).sort());
    for (const key of ALARM_KEYS) {
      const alarm = alarmView(dev, key);
      expect(alarm.alarmActions, key).toEqual([topic]);
      expect(alarm.okActions, key).toEqual([topic]);
      expect(alarm.name, key).toMatch(/^IbinderPipeline-dev-/);
      expect(alarm.description.length, key).toBeGreaterThan(40);
    }
    dev.template.resourceCountIs('AWS::CloudWatch::CompositeAlarm', 0);
  });

  it('the construct names each alarm by what it watches, the same alarm the template search finds', () => {
    for (const synth of [dev, staging]) {
      for (const key of ALARM_KEYS) expect(logicalIdOf(synth.stack.monitoring.alarms[key]), key).toBe(alarmIdOf(synth, key));
    }
  });

  it('dead-letter queues: any visible message in the ingest, export or planner dead-letter queue', () => {
    const { stack } = dev;
    const cases: [PipelineAlarmKey, Parameters<typeof logicalIdOf>[0]][] = [
      ['ingestDeadLetterQueue', stack.ingestQueue.deadLetterQueue],
      ['exportDeadLetterQueue', stack.exportQueue.deadLetterQueue],
      ['plannerDeadLetterQueue', stack.plannerDeadLetterQueue],
    ];
    for (const [key, queue] of cases) {
      expect(alarmView(dev, key), key).toMatchObject({
        metrics: [
          {
            namespace: 'AWS/SQS',
            metricName: 'ApproximateNumberOfMessagesVisible',
            dimensions: { QueueName: queueName(queue) },
            stat: 'Maximum',
            period: 300,
          },
        ],
        threshold: 0,
        comparison: 'GreaterThanThreshold',
        evaluationPeriods: 1,
        datapointsToAlarm: 1,
        treatMissingData: 'notBreaching',
      });
    }
  });

  it('oldest ingest message: defaults to the visibility timeout plus 30 minutes', () => {
    const visibility = Number(propertiesOf(dev.template, logicalIdOf(dev.stack.ingestQueue.queue)).VisibilityTimeout);
    expect(alarmView(dev, 'ingestMessageAge')).toMatchObject({
      metrics: [
        {
          namespace: 'AWS/SQS',
          metricName: 'ApproximateAgeOfOldestMessage',
          dimensions: { QueueName: queueName(dev.stack.ingestQueue.queue) },
          stat: 'Maximum',
          period: 300,
        },
      ],
      threshold: Math.ceil(visibility / 60) * 60 + 30 * 60,
      comparison: 'GreaterThanThreshold',
      evaluationPeriods: 1,
      treatMissingData: 'notBreaching',
    });
  });

  it('rejection rate: rejected / (ingested + rejected) of the ingest over the period, once enough files finished', () => {
    const dims = { service: SERVICE_NAMES.ingest, environment: 'dev' };
    expect(alarmView(dev, 'rejectionRate')).toMatchObject({
      expression: 'IF((ingested + rejected) >= 5, 100 * rejected / (ingested + rejected), 0)',
      metrics: [
        { id: 'ingested', namespace: METRICS_NAMESPACE, metricName: 'FilesIngested', dimensions: dims, stat: 'Sum', period: 3600 },
        { id: 'rejected', namespace: METRICS_NAMESPACE, metricName: 'FilesRejected', dimensions: dims, stat: 'Sum', period: 3600 },
      ],
      threshold: 20,
      comparison: 'GreaterThanThreshold',
      evaluationPeriods: 1,
      treatMissingData: 'notBreaching',
    });
  });

  it('export run incomplete: a scheduled run was closed with versions unfinished', () => {
    expect(alarmView(dev, 'exportRunIncomplete')).toMatchObject({
      metrics: [
        {
          namespace: METRICS_NAMESPACE,
          metricName: 'ExportRunsIncomplete',
          dimensions: { service: 'ibinder-export', environment: 'dev', trigger: 'schedule' },
          stat: 'Sum',
          period: 86_400,
        },
      ],
      threshold: 0,
      comparison: 'GreaterThanThreshold',
      treatMissingData: 'notBreaching',
    });
  });

  it('export run not completed: no completed scheduled run in the window, and no data counts as none', () => {
    expect(alarmView(dev, 'exportRunNotCompleted')).toMatchObject({
      metrics: [
        {
          namespace: METRICS_NAMESPACE,
          metricName: 'ExportRunsCompleted',
          dimensions: { service: 'ibinder-export', environment: 'dev', trigger: 'schedule' },
          stat: 'Sum',
          period: 26 * 3600,
        },
      ],
      threshold: 1,
      comparison: 'LessThanThreshold',
      evaluationPeriods: 1,
      treatMissingData: 'breaching',
    });
  });

  it('function errors and throttles: any, for each function', () => {
    const { stack } = dev;
    const cases: [PipelineAlarmKey, PipelineAlarmKey, Parameters<typeof logicalIdOf>[0]][] = [
      ['ingestErrors', 'ingestThrottles', stack.ingestFunction.function],
      ['plannerErrors', 'plannerThrottles', stack.plannerFunction.function],
      ['workerErrors', 'workerThrottles', stack.workerFunction.function],
    ];
    for (const [errors, throttles, fn] of cases) {
      for (const [key, metricName] of [
        [errors, 'Errors'],
        [throttles, 'Throttles'],
      ] as const) {
        expect(alarmView(dev, key), key).toMatchObject({
          metrics: [{ namespace: 'AWS/Lambda', metricName, dimensions: { FunctionName: ref(fn) }, stat: 'Sum', period: 300 }],
          threshold: 0,
          comparison: 'GreaterThanThreshold',
          evaluationPeriods: 1,
          treatMissingData: 'notBreaching',
        });
      }
    }
  });

  it('take their thresholds from the environment config', () => {
    const entry = {
      ...environmentEntry('dev'),
      alarms: {
        ingestMessageAgeMinutes: 45,
        rejectionRatePercent: 35,
        rejectionRatePeriodMinutes: 15,
        rejectionRateMinFiles: 10,
        exportCompletionWindowHours: 50,
      },
    };
    const custom = synthesizePipeline('dev', { entry });
    try {
      expect(alarmView(custom, 'ingestMessageAge').threshold).toBe(45 * 60);
      const rate = alarmView(custom, 'rejectionRate');
      expect(rate.threshold).toBe(35);
      expect(rate.expression).toBe('IF((ingested + rejected) >= 10, 100 * rejected / (ingested + rejected), 0)');
      expect(rate.metrics.map((m) => m.period)).toEqual([900, 900]);
      expect(alarmView(custom, 'exportRunNotCompleted').metrics[0]?.period).toBe(50 * 3600);
    } finally {
      custom.dispose();
    }
  });

  it('refuse thresholds CloudWatch or common sense cannot take, naming the field', () => {
    const load = (alarms: Record<string, unknown>): string => {
      try {
        buildPipelineApp('dev', { entry: { ...environmentEntry('dev'), alarms } });
      } catch (err) {
        expect(err).toBeInstanceOf(EnvironmentConfigError);
        return (err as Error).message;
      }
      throw new Error('expected the config to be refused');
    };
    expect(load({ exportCompletionWindowHours: 169 })).toMatch(
      /alarms\.exportCompletionWindowHours: expected a whole number from 1 to 168/,
    );
    expect(load({ rejectionRatePercent: 0 })).toMatch(/alarms\.rejectionRatePercent: expected a whole number from 1 to 100/);
    expect(load({ rejectionRatePeriodMinutes: 2 })).toMatch(/alarms\.rejectionRatePeriodMinutes/);
    expect(load({ ingestMessageAgeMinutes: 1.5 })).toMatch(/alarms\.ingestMessageAgeMinutes/);
    expect(load({ rejectionRate: 5 })).toMatch(/alarms: unknown field\(s\) "rejectionRate"/);
  });
});

describe('alarms on custom metrics', () => {
  afterEach(() => vi.unstubAllEnvs());

  /** The datapoints the functions' own metric code prints for environment `dev`. */
  function runtimeDatapoints(): EmfDatapoint[] {
    for (const [name, value] of Object.entries(POWERTOOLS_CAPTURE_ENV)) vi.stubEnv(name, value);
    vi.stubEnv('POWERTOOLS_METRICS_NAMESPACE', undefined);
    vi.stubEnv('POWERTOOLS_SERVICE_NAME', undefined);
    const output = captureConsole();
    try {
      const ingest = createMetrics(SERVICE_NAMES.ingest);
      setEnvironmentDimension(ingest, 'dev');
      ingestMetrics(ingest).fileIngested(1, 1);
      ingestMetrics(ingest).fileRejected('metadata');
      ibinderRequestMetrics(ingest, { tokenUrl: 'https://signin.ibinder.com/connect/token' })({
        method: 'POST',
        path: '/documents',
        status: 429,
        attempt: 1,
        durationMs: 5,
      });
      ingest.publishStoredMetrics();
      for (const service of [SERVICE_NAMES.exportPlanner, SERVICE_NAMES.exportWorker]) {
        const metrics = createMetrics(service);
        setEnvironmentDimension(metrics, 'dev');
        ibinderRequestMetrics(metrics, { tokenUrl: 'https://signin.ibinder.com/connect/token' })({
          method: 'GET',
          path: '/binders',
          status: 429,
          attempt: 1,
          durationMs: 5,
        });
        const runs = exportMetrics(metrics, createRunOutcomeMetrics('dev'));
        runs.runFinalized({ trigger: 'schedule', complete: true });
        runs.runFinalized({ trigger: 'schedule', complete: false });
        metrics.publishStoredMetrics();
      }
      return emfDatapoints(output.json());
    } finally {
      output.restore();
    }
  }

  it('watch metrics the functions write: same namespace, name and exact dimension set', () => {
    const written = runtimeDatapoints();
    const keyOf = (m: { namespace: string; metricName: string; dimensions: Record<string, string> }): string =>
      JSON.stringify([m.namespace, m.metricName, Object.entries(m.dimensions).sort()]);
    const writtenKeys = new Set(written.map(keyOf));
    const watched = (['rejectionRate', 'exportRunIncomplete', 'exportRunNotCompleted', 'ibinderRateLimited'] as const).flatMap(
      (k) => alarmView(dev, k).metrics,
    );
    expect(watched).toHaveLength(7);
    for (const metric of watched) expect(writtenKeys, keyOf(metric)).toContain(keyOf(metric));
  });
});

/** A Bynder block whose budget fits the dev concurrencies (2 + 2 + 1 instances x 3 requests/s = 15/s). */
const BYNDER = {
  portalUrl: 'https://example.bynder.com',
  credentialsSecretName: 'ibinder-pipeline/dev/bynder-client',
  requestsPerSecond: 3,
};
const BYNDER_METRICS: string[] = [METRIC.bynderApiCalls, METRIC.bynderThrottled, METRIC.bynderTokenRequests];

/** The pipeline's metric names a dashboard body shows, sorted. */
function metricsShown(text: string): string[] {
  return [...new Set([...text.matchAll(new RegExp(`"${METRICS_NAMESPACE}","(\\w+)"`, 'g'))].map((m) => String(m[1])))].sort();
}

describe('connector throttling alarms', () => {
  const sumOverFunctions = (metricName: string) =>
    [SERVICE_NAMES.ingest, SERVICE_NAMES.exportPlanner, SERVICE_NAMES.exportWorker].map((service) => ({
      namespace: METRICS_NAMESPACE,
      metricName,
      dimensions: { service, environment: 'dev' },
      stat: 'Sum',
      period: 300,
    }));

  it('iBinder: any 429 in 5 minutes, summed over the three functions, alarms', () => {
    expect(alarmView(dev, 'ibinderRateLimited')).toMatchObject({
      metrics: sumOverFunctions(METRIC.rateLimited),
      expression: 'FILL(ingest, 0) + FILL(planner, 0) + FILL(worker, 0)',
      threshold: 0,
      comparison: 'GreaterThanThreshold',
      evaluationPeriods: 1,
      datapointsToAlarm: 1,
      treatMissingData: 'notBreaching',
    });
    expect(alarmView(dev, 'ibinderRateLimited').name).toBe('IbinderPipeline-dev-IBinder-Requests-Throttled');
  });

  it('Bynder: no alarm without a bynder block; with one, any 429 alarms, on the topic', () => {
    const bynderAlarms = (synth: SynthesizedPipeline) =>
      Object.values(synth.template.findResources('AWS::CloudWatch::Alarm'))
        .map((r) => viewOfAlarm((r as { Properties: Record<string, unknown> }).Properties))
        .filter((a) => a.metrics.some((m) => m.metricName === METRIC.bynderThrottled));
    expect(bynderAlarms(dev)).toEqual([]);
    expect(dev.stack.monitoring.alarms.bynderThrottled).toBeUndefined();

    const withBynder = synthesizePipeline('dev', { entry: { ...environmentEntry('dev'), bynder: BYNDER } });
    try {
      const alarms = bynderAlarms(withBynder);
      expect(alarms).toHaveLength(1);
      expect(alarms[0]).toMatchObject({
        name: 'IbinderPipeline-dev-Bynder-Requests-Throttled',
        metrics: sumOverFunctions(METRIC.bynderThrottled),
        threshold: 0,
        comparison: 'GreaterThanThreshold',
        treatMissingData: 'notBreaching',
        alarmActions: [ref(withBynder.stack.monitoring.topic)],
        okActions: [ref(withBynder.stack.monitoring.topic)],
      });
      expect(alarms[0]?.description).toMatch(/blocks the integration until five minutes pass/);
      const alarm = withBynder.stack.monitoring.alarms.bynderThrottled;
      expect(alarm && logicalIdOf(alarm)).toBe(
        Object.entries(withBynder.template.findResources('AWS::CloudWatch::Alarm')).find(([, r]) =>
          JSON.stringify(r).includes(METRIC.bynderThrottled),
        )?.[0],
      );
    } finally {
      withBynder.dispose();
    }
  });
});

describe('dashboard', () => {
  function body(synth: SynthesizedPipeline): string {
    const dashboards = Object.values(synth.template.findResources('AWS::CloudWatch::Dashboard')) as {
      Properties: { DashboardName: string; DashboardBody: unknown };
    }[];
    expect(dashboards).toHaveLength(1);
    return render(dashboards[0]?.Properties.DashboardBody);
  }

  it('is one dashboard named after the stack', () => {
    const dashboards = Object.values(dev.template.findResources('AWS::CloudWatch::Dashboard')) as { Properties: Record<string, unknown> }[];
    expect(dashboards.map((d) => d.Properties.DashboardName)).toEqual(['IbinderPipeline-dev']);
  });

  it('shows the signals the alarms watch and the pipeline metrics', () => {
    const text = body(dev);
    const { stack } = dev;
    for (const queue of [
      stack.ingestQueue.queue,
      stack.ingestQueue.deadLetterQueue,
      stack.exportQueue.deadLetterQueue,
      stack.plannerDeadLetterQueue,
    ]) {
      expect(text).toContain(queueName(queue));
    }
    for (const fn of [stack.ingestFunction.function, stack.plannerFunction.function, stack.workerFunction.function]) {
      expect(text).toContain(ref(fn));
    }
    for (const name of ['ApproximateNumberOfMessagesVisible', 'ApproximateAgeOfOldestMessage', '"Errors"', '"Throttles"']) {
      expect(text).toContain(name);
    }
    // Bynder's metrics only where Bynder is configured (below).
    expect(metricsShown(text)).toEqual(
      Object.values(METRIC)
        .filter((name) => !BYNDER_METRICS.includes(name))
        .sort(),
    );
    expect(text).toContain('IF((ingested + rejected) >= 5, 100 * rejected / (ingested + rejected), 0)');
    expect(text).toContain(`SEARCH('{${METRICS_NAMESPACE},environment,reason,service} MetricName=\\"FilesRejected\\"`);
    for (const title of ['Rejection rate', 'Rejections by reason', 'Scheduled runs', 'API calls', '429 Too Many Requests']) {
      expect(text).toContain(`"title":"${title}"`);
    }
  });

  it('shows the Bynder exchanges and their throttling alarm only when Bynder is configured', () => {
    expect(body(dev)).not.toContain('Bynder');
    const withBynder = synthesizePipeline('dev', { entry: { ...environmentEntry('dev'), bynder: BYNDER } });
    try {
      const text = body(withBynder);
      expect(metricsShown(text)).toEqual(Object.values(METRIC).sort());
      expect(text).toContain('Bynder API: calls, 429s (blocks), token requests');
    } finally {
      withBynder.dispose();
    }
  });

  it('marks the alarm thresholds on the graphs', () => {
    const text = body(dev);
    expect(text).toContain('"annotations"');
    expect(text).toMatch(/"value":20\b/);
  });
});

describe('outputs', () => {
  it('name the alarm topic and the dashboard', () => {
    const outputs = dev.template.toJSON().Outputs as Record<string, { Value: unknown }>;
    const { monitoring } = dev.stack;
    expect(render(outputs.AlarmTopicArn?.Value)).toBe(ref(monitoring.topic));
    expect(render(outputs.DashboardName?.Value)).toBe(ref(monitoring.dashboard));
    expect(render(outputs.DashboardUrl?.Value)).toBe(
      `https://${dev.stack.region}.console.aws.amazon.com/cloudwatch/home?region=${dev.stack.region}#dashboards/dashboard/${ref(monitoring.dashboard)}`,
    );
  });
});
