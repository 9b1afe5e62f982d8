/**
 * Alarms and the dashboard of one environment, built with cdk-monitoring-constructs (its
 * MonitoringFacade makes the alarms, their SNS actions and the dashboard widgets from one
 * description, and keeps the widgets' alarm annotations in step with the thresholds).
 *
 * Every alarm notifies the environment's alarm topic on ALARM and on OK:
 * - each dead-letter queue (ingest, export, planner) holds a message;
 * - the oldest ingest message is older than the configured age;
 * - the share of rejected files in a period is above the configured rate;
 * - a scheduled export run ended incomplete, or none completed within the configured window;
 * - any function reported an error or was throttled;
 * - a connector's API throttled the pipeline: iBinder answered 429, or (when Bynder is configured)
 *   Bynder did, which blocks the integration until five quiet minutes pass.
 *
 * The topic is encrypted with a key of its own (CloudWatch cannot publish to a topic under the
 * AWS-managed SNS key, whose policy cannot be extended), refuses requests without TLS, and lets
 * CloudWatch alarms of this account publish. The metric names, namespace and dimensions are
 * the functions' own (shared/observability/metric-names.ts), so an alarm cannot watch a metric
 * nobody writes.
 */
import { ArnFormat, CfnOutput, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import {
  DefaultDashboardFactory,
  GraphWidgetType,
  MonitoringFacade,
  SnsAlarmActionStrategy,
  type CustomMetricGroup,
} from 'cdk-monitoring-constructs';
import { Construct } from 'constructs';
import type { ConnectorName } from '../../shared/connectors/types.js';
import {
  DIMENSION,
  EXPORT_RUNS_SERVICE,
  METRIC,
  METRICS_NAMESPACE,
  SERVICE_NAMES,
  type MetricName,
} from '../../shared/observability/metric-names.js';

export interface PipelineMonitoringThresholds {
  /** Oldest ingest message age that alarms. */
  readonly ingestMessageAge: Duration;
  /** Share of rejected files (%) above which a period alarms. */
  readonly rejectionRatePercent: number;
  readonly rejectionRatePeriod: Duration;
  /** Fewest finished files in a period for its rate to count. */
  readonly rejectionRateMinFiles: number;
  /** No scheduled export run completed within this long: alarm. */
  readonly exportCompletionWindow: Duration;
  /**
   * iBinder 429s (all functions together) in 5 minutes above which the iBinder throttling alarm
   * fires. The concurrency settings are meant to keep iBinder's rate limits, so any 429 says they
   * do not. @default 0
   */
  readonly ibinderRateLimited?: number;
  /** Bynder 429s in 5 minutes above which the Bynder throttling alarm fires; each one is a block. @default 0 */
  readonly bynderThrottled?: number;
}

export interface MonitoredQueue {
  readonly queue: sqs.IQueue;
  readonly deadLetterQueue: sqs.IQueue;
}

export interface PipelineMonitoringProps {
  /** Environment name: the `environment` dimension of the functions' metrics. */
  readonly envName: string;
  /** Prefix of alarm names and the dashboard's name, unique per account and region. */
  readonly namePrefix: string;
  /** Subscribed to the alarm topic when given. */
  readonly email?: string | undefined;
  readonly thresholds: PipelineMonitoringThresholds;
  readonly ingestQueue: MonitoredQueue;
  readonly exportQueue: MonitoredQueue;
  readonly plannerDeadLetterQueue: sqs.IQueue;
  readonly functions: {
    readonly ingest: lambda.IFunction;
    readonly planner: lambda.IFunction;
    readonly worker: lambda.IFunction;
  };
  /** Applies to the topic's key. @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
  /** The environment configures the Bynder connector: its exchanges and throttling alarm are added. @default false */
  readonly bynder?: boolean;
}

/** Stable keys of the alarms this construct creates, for tests and the runbook. */
export type PipelineAlarmKey =
  | 'ingestDeadLetterQueue'
  | 'exportDeadLetterQueue'
  | 'plannerDeadLetterQueue'
  | 'ingestMessageAge'
  | 'rejectionRate'
  | 'exportRunIncomplete'
  | 'exportRunNotCompleted'
  | 'ingestErrors'
  | 'ingestThrottles'
  | 'plannerErrors'
  | 'plannerThrottles'
  | 'workerErrors'
  | 'workerThrottles'
  | 'ibinderRateLimited';

/** Keys of the alarms that exist only with their connector: `bynderThrottled` when Bynder is configured. */
export type ConnectorAlarmKey = 'bynderThrottled';

/** Default period of the metrics on the dashboard and of the alarms that do not set one. */
const DEFAULT_PERIOD = Duration.minutes(5);

export class PipelineMonitoring extends Construct {
  readonly topic: sns.Topic;
  readonly topicKey: kms.Key;
  readonly dashboard: cloudwatch.Dashboard;
  /** Every alarm, by the key that names its purpose. */
  readonly alarms: Record<PipelineAlarmKey, cloudwatch.Alarm> & Partial<Record<ConnectorAlarmKey, cloudwatch.Alarm>>;
  private readonly facade: MonitoringFacade;
  private readonly props: PipelineMonitoringProps;

  constructor(scope: Construct, id: string, props: PipelineMonitoringProps) {
    super(scope, id);
    this.props = props;
    const stack = Stack.of(this);

    this.topicKey = new kms.Key(this, 'AlarmTopicKey', {
      description: `Encrypts the alarm topic of ${props.namePrefix}`,
      enableKeyRotation: true,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    });
    // CloudWatch encrypts the notifications it publishes with this key.
    this.topicKey.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowCloudWatchAlarmsToPublishEncrypted',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
        conditions: { StringEquals: { 'aws:SourceAccount': stack.account } },
      }),
    );
    this.topic = new sns.Topic(this, 'AlarmTopic', {
      displayName: `iBinder pipeline alarms (${props.envName})`,
      masterKey: this.topicKey,
      enforceSSL: true,
    });
    this.topic.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowCloudWatchAlarmsOfThisAccount',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [this.topic.topicArn],
        conditions: {
          // Alarm ARNs are arn:aws:cloudwatch:<region>:<account>:alarm:<name>.
          ArnLike: {
            'aws:SourceArn': stack.formatArn({
              service: 'cloudwatch',
              resource: 'alarm',
              resourceName: '*',
              arnFormat: ArnFormat.COLON_RESOURCE_NAME,
            }),
          },
          StringEquals: { 'aws:SourceAccount': stack.account },
        },
      }),
    );
    if (props.email !== undefined) this.topic.addSubscription(new subscriptions.EmailSubscription(props.email));

    const action = new SnsAlarmActionStrategy({ onAlarmTopic: this.topic, onOkTopic: this.topic });
    this.facade = new MonitoringFacade(this, 'Monitoring', {
      alarmFactoryDefaults: { alarmNamePrefix: props.namePrefix, actionsEnabled: true, action, datapointsToAlarm: 1, evaluationPeriods: 1 },
      metricFactoryDefaults: { period: DEFAULT_PERIOD },
      dashboardFactory: new DefaultDashboardFactory(this, 'Dashboards', {
        dashboardNamePrefix: props.namePrefix,
        detailDashboardRange: Duration.days(1),
      }),
    });

    this.facade.addLargeHeader(`iBinder pipeline (${props.envName})`);
    this.addIngest();
    this.addIbinderExchanges();
    if (props.bynder) this.addBynderExchanges();
    this.addExport();

    const dashboard = this.facade.createdDashboard();
    if (!dashboard) throw new Error('cdk-monitoring-constructs created no dashboard');
    this.dashboard = dashboard;
    this.alarms = this.alarmsByKey();
  }

  /** The dashboard's name, as CloudFormation resolves it. */
  get dashboardName(): string {
    return this.dashboard.dashboardName;
  }

  /** Console address of the dashboard. */
  get dashboardUrl(): string {
    const { region } = Stack.of(this);
    return `https://${region}.console.aws.amazon.com/cloudwatch/home?region=${region}#dashboards/dashboard/${this.dashboardName}`;
  }

  /** Stack outputs for operators: the topic to subscribe to and the dashboard to open. */
  addOutputs(scope: Construct): void {
    new CfnOutput(scope, 'AlarmTopicArn', {
      value: this.topic.topicArn,
      description: 'Every alarm of the environment notifies this SNS topic (ALARM and OK); subscribe to it',
    });
    new CfnOutput(scope, 'DashboardName', { value: this.dashboardName, description: 'CloudWatch dashboard of the environment' });
    new CfnOutput(scope, 'DashboardUrl', { value: this.dashboardUrl, description: 'The CloudWatch dashboard in the console' });
  }

  // ----- sections -----

  private addIngest(): void {
    const { props } = this;
    const { thresholds } = props;
    this.facade.addMediumHeader('Ingest: S3 inbox -> iBinder');
    this.facade.monitorSqsQueueWithDlq({
      queue: props.ingestQueue.queue,
      deadLetterQueue: props.ingestQueue.deadLetterQueue,
      alarmFriendlyName: 'IngestQueue',
      humanReadableName: 'Ingest queue',
      addQueueMaxMessageAgeAlarm: {
        Age: {
          maxAgeInSeconds: thresholds.ingestMessageAge.toSeconds(),
          treatMissingDataOverride: cloudwatch.TreatMissingData.NOT_BREACHING,
          alarmDescriptionOverride:
            `Files wait in the ingest queue for more than ${thresholds.ingestMessageAge.toMinutes()} minutes. ` +
            'Check the ingest function (errors, throttles, iBinder 429s/5xx) and its concurrency.',
        },
      },
      addDeadLetterQueueMaxSizeAlarm: {
        DeadLetters: {
          maxMessageCount: 0,
          // An idle queue stops reporting after six hours; a queue holding messages never does.
          treatMissingDataOverride: cloudwatch.TreatMissingData.NOT_BREACHING,
          alarmDescriptionOverride:
            'Ingest events failed every retry and are in the ingest dead-letter queue. Read the ingest logs for ' +
            'their object keys, fix the cause (credentials, iBinder outage), then redrive them with the CLI.',
        },
      },
    });
    this.facade.monitorLambdaFunction({
      lambdaFunction: props.functions.ingest,
      alarmFriendlyName: 'IngestFunction',
      humanReadableName: 'Ingest function',
      isIterator: false,
      ...functionAlarms('ingest function'),
    });

    const period = thresholds.rejectionRatePeriod;
    const ingested = this.metric(SERVICE_NAMES.ingest, METRIC.filesIngested, { period });
    const rejected = this.metric(SERVICE_NAMES.ingest, METRIC.filesRejected, { period });
    const rate = new cloudwatch.MathExpression({
      expression: `IF((ingested + rejected) >= ${thresholds.rejectionRateMinFiles}, 100 * rejected / (ingested + rejected), 0)`,
      usingMetrics: { ingested, rejected },
      label: 'Rejected files (%)',
      period,
    });
    this.facade.monitorCustom({
      alarmFriendlyName: 'Ingest',
      humanReadableName: 'Ingested and rejected files',
      metricGroups: [
        {
          title: 'Files',
          metrics: [
            this.metric(SERVICE_NAMES.ingest, METRIC.filesIngested, { label: 'Ingested' }),
            this.metric(SERVICE_NAMES.ingest, METRIC.filesRejected, { label: 'Rejected' }),
            this.metric(SERVICE_NAMES.ingest, METRIC.recordsRetried, { label: 'Retried' }),
            // An older upload of a key that arrived after a newer one: recorded, not committed.
            this.metric(SERVICE_NAMES.ingest, METRIC.filesSuperseded, { label: 'Superseded' }),
          ],
        },
        {
          title: 'Rejection rate',
          metrics: [
            {
              metric: rate,
              alarmFriendlyName: 'RejectionRate',
              addAlarm: {
                Rate: {
                  threshold: thresholds.rejectionRatePercent,
                  comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
                  treatMissingDataOverride: cloudwatch.TreatMissingData.NOT_BREACHING,
                  period,
                  alarmDescriptionOverride:
                    `More than ${thresholds.rejectionRatePercent}% of the files finished in ${period.toMinutes()} minutes ` +
                    `(at least ${thresholds.rejectionRateMinFiles}) were rejected. Read the reports under rejected/ ` +
                    '(the dashboard shows the reasons); a producer or a routing rule sends wrong tags.',
                },
              },
            },
          ],
        },
        {
          title: 'Rejections by reason',
          metrics: [this.rejectionsByReason()],
        },
        {
          // Records a connector handed back as throttled (retried later), one line per connector.
          title: 'Records throttled, by connector',
          metrics: this.connectors().map((connector) =>
            this.metric(SERVICE_NAMES.ingest, METRIC.recordsThrottled, {
              label: connector,
              dimensions: { [DIMENSION.connector]: connector },
            }),
          ),
        },
        {
          title: 'Bytes ingested',
          metrics: [this.metric(SERVICE_NAMES.ingest, METRIC.bytesIngested, { label: 'Bytes' })],
        },
        {
          title: 'Upload time (ms)',
          metrics: [
            this.metric(SERVICE_NAMES.ingest, METRIC.uploadDurationMs, { statistic: 'p50', label: 'p50' }),
            this.metric(SERVICE_NAMES.ingest, METRIC.uploadDurationMs, { statistic: 'p90', label: 'p90' }),
            this.metric(SERVICE_NAMES.ingest, METRIC.uploadDurationMs, { statistic: 'Maximum', label: 'max' }),
          ],
        },
      ],
    });
  }

  private addIbinderExchanges(): void {
    this.facade.addMediumHeader('iBinder API: calls, errors, 429s, token requests, transfers');
    const perService = (name: MetricName, title: string): CustomMetricGroup => this.perService(name, title);
    this.facade.monitorCustom({
      alarmFriendlyName: 'IBinder',
      humanReadableName: 'iBinder exchanges by function',
      metricGroups: [
        perService(METRIC.apiCalls, 'API calls'),
        perService(METRIC.rateLimited, '429 Too Many Requests'),
        perService(METRIC.apiClientErrors, 'API 4xx'),
        perService(METRIC.apiServerErrors, 'API 5xx'),
        perService(METRIC.apiNoResponse, 'API: no response (timeouts, lost connections)'),
        perService(METRIC.tokenRequests, 'Token requests'),
        perService(METRIC.tokenFailures, 'Token requests refused or failed'),
        perService(METRIC.storageTransfers, 'Presigned transfers'),
        perService(METRIC.storageTransferFailures, 'Presigned transfers refused or failed'),
        this.throttlingAlarmGroup({
          name: METRIC.rateLimited,
          title: '429 Too Many Requests, all functions',
          alarmFriendlyName: 'Requests',
          threshold: this.props.thresholds.ibinderRateLimited ?? 0,
          description: (threshold) =>
            `iBinder answered 429 Too Many Requests more than ${threshold} times in 5 minutes: the pipeline sends more ` +
            'than its rate limit allows. Calls are retried after Retry-After; lower ingest.maxConcurrency, ' +
            'ingest.recordConcurrency or export.workerMaxConcurrency.',
        }),
      ],
    });
  }

  private addBynderExchanges(): void {
    this.facade.addMediumHeader('Bynder API: calls, 429s (blocks), token requests');
    this.facade.monitorCustom({
      alarmFriendlyName: 'Bynder',
      humanReadableName: 'Bynder exchanges by function',
      metricGroups: [
        this.perService(METRIC.bynderApiCalls, 'API calls'),
        this.perService(METRIC.bynderThrottled, '429 Too Many Requests (a 5-minute block each)'),
        this.perService(METRIC.bynderTokenRequests, 'Token requests'),
        this.throttlingAlarmGroup({
          name: METRIC.bynderThrottled,
          title: '429 Too Many Requests, all functions',
          alarmFriendlyName: 'Requests',
          threshold: this.props.thresholds.bynderThrottled ?? 0,
          description: (threshold) =>
            `Bynder answered 429 Too Many Requests more than ${threshold} times in 5 minutes: the portal blocks the ` +
            'integration until five minutes pass without a request, and the functions pause their Bynder calls. ' +
            'The requests of all instances together exceeded 4,500 in 5 minutes: lower bynder.requestsPerSecond or ' +
            'the concurrencies (README, Configuration).',
        }),
      ],
    });
  }

  /** One connector metric per function that talks to the connector, stacked. */
  private perService(name: MetricName, title: string): CustomMetricGroup {
    const services = [SERVICE_NAMES.ingest, SERVICE_NAMES.exportPlanner, SERVICE_NAMES.exportWorker];
    return {
      title,
      graphWidgetType: GraphWidgetType.STACKED_AREA,
      metrics: services.map((service) => this.metric(service, name, { label: service })),
    };
  }

  /**
   * A connector's throttling metric summed over the functions that talk to it, with its alarm:
   * the connector's limit is shared by all of them.
   */
  private throttlingAlarmGroup(options: {
    name: MetricName;
    title: string;
    alarmFriendlyName: string;
    threshold: number;
    description: (threshold: number) => string;
  }): CustomMetricGroup {
    const total = new cloudwatch.MathExpression({
      expression: 'FILL(ingest, 0) + FILL(planner, 0) + FILL(worker, 0)',
      usingMetrics: {
        ingest: this.metric(SERVICE_NAMES.ingest, options.name),
        planner: this.metric(SERVICE_NAMES.exportPlanner, options.name),
        worker: this.metric(SERVICE_NAMES.exportWorker, options.name),
      },
      label: '429s',
      period: DEFAULT_PERIOD,
    });
    return {
      title: options.title,
      metrics: [
        {
          metric: total,
          alarmFriendlyName: options.alarmFriendlyName,
          addAlarm: {
            Throttled: {
              threshold: options.threshold,
              comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
              treatMissingDataOverride: cloudwatch.TreatMissingData.NOT_BREACHING,
              period: DEFAULT_PERIOD,
              alarmDescriptionOverride: options.description(options.threshold),
            },
          },
        },
      ],
    };
  }

  private addExport(): void {
    const { props } = this;
    const { thresholds } = props;
    this.facade.addMediumHeader('Nightly export: iBinder -> archive bucket');

    const completed = this.runMetric(METRIC.exportRunsCompleted, thresholds.exportCompletionWindow);
    const incomplete = this.runMetric(METRIC.exportRunsIncomplete, Duration.days(1));
    this.facade.monitorCustom({
      alarmFriendlyName: 'ExportRuns',
      humanReadableName: 'Export runs',
      metricGroups: [
        {
          title: 'Scheduled runs',
          graphWidgetType: GraphWidgetType.BAR,
          metrics: [
            {
              metric: completed,
              alarmFriendlyName: 'ExportRunNotCompleted',
              addAlarm: {
                NotCompleted: {
                  threshold: 1,
                  comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
                  // No datapoint at all is exactly the failure: nothing completed in the window.
                  treatMissingDataOverride: cloudwatch.TreatMissingData.BREACHING,
                  period: thresholds.exportCompletionWindow,
                  alarmDescriptionOverride:
                    `No scheduled export run completed in the last ${thresholds.exportCompletionWindow.toHours()} hours. ` +
                    'Check the planner (errors, its dead-letter queue), the export queue and its dead-letter queue, ' +
                    'and the run state with the CLI. Expected until the first scheduled run of a new environment completes.',
                },
              },
            },
            {
              metric: incomplete,
              alarmFriendlyName: 'ExportRunIncomplete',
              addAlarm: {
                Incomplete: {
                  threshold: 0,
                  comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
                  treatMissingDataOverride: cloudwatch.TreatMissingData.NOT_BREACHING,
                  period: Duration.days(1),
                  alarmDescriptionOverride:
                    'A scheduled export run was closed with versions unfinished (their jobs are in the export ' +
                    'dead-letter queue or kept failing). Its manifest lists them; fix the cause and redrive.',
                },
              },
            },
            this.runMetric(METRIC.exportPlanningFailed, DEFAULT_PERIOD),
          ],
        },
        {
          title: 'Planner',
          metrics: [
            this.metric(SERVICE_NAMES.exportPlanner, METRIC.documentsSeen, { label: 'Documents seen' }),
            this.metric(SERVICE_NAMES.exportPlanner, METRIC.documentsSkippedUnchanged, { label: 'Skipped (unchanged)' }),
            this.metric(SERVICE_NAMES.exportPlanner, METRIC.versionsEnqueued, { label: 'Versions enqueued' }),
          ],
        },
        {
          title: 'Versions',
          metrics: [
            this.metric(SERVICE_NAMES.exportWorker, METRIC.versionsExported, { label: 'Exported' }),
            this.metric(SERVICE_NAMES.exportWorker, METRIC.versionsAlreadyExported, { label: 'Already exported' }),
            this.metric(SERVICE_NAMES.exportWorker, METRIC.exportsFailed, { label: 'Failed' }),
            this.metric(SERVICE_NAMES.exportWorker, METRIC.exportsRetried, { label: 'Retried' }),
            this.metric(SERVICE_NAMES.exportWorker, METRIC.downloadLinksRenewed, { label: 'Download links renewed' }),
          ],
        },
        {
          title: 'Bytes exported',
          metrics: [this.metric(SERVICE_NAMES.exportWorker, METRIC.bytesExported, { label: 'Bytes' })],
        },
      ],
    });

    this.facade.monitorSqsQueueWithDlq({
      queue: props.exportQueue.queue,
      deadLetterQueue: props.exportQueue.deadLetterQueue,
      alarmFriendlyName: 'ExportQueue',
      humanReadableName: 'Export queue',
      addDeadLetterQueueMaxSizeAlarm: {
        DeadLetters: {
          maxMessageCount: 0,
          // An idle queue stops reporting after six hours; a queue holding messages never does.
          treatMissingDataOverride: cloudwatch.TreatMissingData.NOT_BREACHING,
          alarmDescriptionOverride:
            'Export jobs (one document version each) failed every retry and are in the export dead-letter queue. ' +
            'Read the worker logs for their runId and versionId, fix the cause, then redrive them with the CLI.',
        },
      },
    });
    this.facade.monitorSqsQueue({
      queue: props.plannerDeadLetterQueue,
      alarmFriendlyName: 'PlannerDeadLetterQueue',
      humanReadableName: 'Planner dead-letter queue',
      addQueueMaxSizeAlarm: {
        DeadLetters: {
          maxMessageCount: 0,
          // An idle queue stops reporting after six hours; a queue holding messages never does.
          treatMissingDataOverride: cloudwatch.TreatMissingData.NOT_BREACHING,
          alarmDescriptionOverride:
            'A nightly export could not be started by the scheduler, or its planner invocation failed after ' +
            "Lambda's retries. Read the planner logs, fix the cause, and start the run by hand with the CLI.",
        },
      },
    });
    this.facade.monitorLambdaFunction({
      lambdaFunction: props.functions.planner,
      alarmFriendlyName: 'ExportPlanner',
      humanReadableName: 'Export planner function',
      isIterator: false,
      ...functionAlarms('export planner'),
    });
    this.facade.monitorLambdaFunction({
      lambdaFunction: props.functions.worker,
      alarmFriendlyName: 'ExportWorker',
      humanReadableName: 'Export worker function',
      isIterator: false,
      ...functionAlarms('export worker'),
    });
  }

  // ----- helpers -----

  /** A metric a function writes: the namespace, the function's service and the environment. */
  private metric(
    service: string,
    name: MetricName,
    options: { period?: Duration; statistic?: string; label?: string; dimensions?: Record<string, string> } = {},
  ): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: METRICS_NAMESPACE,
      metricName: name,
      dimensionsMap: { [DIMENSION.service]: service, [DIMENSION.environment]: this.props.envName, ...options.dimensions },
      statistic: options.statistic ?? 'Sum',
      period: options.period ?? DEFAULT_PERIOD,
      ...(options.label !== undefined ? { label: options.label } : {}),
    });
  }

  /** The connectors of the environment: iBinder always, Bynder when configured. */
  private connectors(): ConnectorName[] {
    return this.props.bynder ? ['ibinder', 'bynder'] : ['ibinder'];
  }

  /** FilesRejected per reason: one line per reason that occurred (a search, so new reasons appear). */
  private rejectionsByReason(): cloudwatch.MathExpression {
    const schema = [METRICS_NAMESPACE, DIMENSION.environment, DIMENSION.reason, DIMENSION.service].join(',');
    const filter = `MetricName="${METRIC.filesRejected}" ${DIMENSION.service}="${SERVICE_NAMES.ingest}" ${DIMENSION.environment}="${this.props.envName}"`;
    return new cloudwatch.MathExpression({
      expression: `SEARCH('{${schema}} ${filter}', 'Sum', ${DEFAULT_PERIOD.toSeconds()})`,
      usingMetrics: {},
      label: `\${PROP('Dim.${DIMENSION.reason}')}`,
      period: DEFAULT_PERIOD,
    });
  }

  /** An export run outcome of scheduled runs (service ibinder-export, trigger schedule). */
  private runMetric(name: MetricName, period: Duration): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: METRICS_NAMESPACE,
      metricName: name,
      dimensionsMap: {
        [DIMENSION.service]: EXPORT_RUNS_SERVICE,
        [DIMENSION.environment]: this.props.envName,
        [DIMENSION.trigger]: 'schedule',
      },
      statistic: 'Sum',
      period,
      label: name,
    });
  }

  /**
   * The facade's alarms, each found by what it watches (namespace, metric name, dimensions;
   * for the rejection rate, the metrics its expression divides), never by its construct id,
   * which is the library's to name. Exactly one alarm must match each key.
   */
  private alarmsByKey(): Record<PipelineAlarmKey, cloudwatch.Alarm> & Partial<Record<ConnectorAlarmKey, cloudwatch.Alarm>> {
    const { props } = this;
    const stack = Stack.of(this);
    const created = this.facade
      .createdAlarms()
      .map((a) => a.alarm)
      .filter((alarm): alarm is cloudwatch.Alarm => alarm instanceof cloudwatch.Alarm);
    const resolved = (value: unknown): string => JSON.stringify(stack.resolve(value));
    const metricsOf = (alarm: cloudwatch.Alarm): cloudwatch.IMetric[] =>
      alarm.metric instanceof cloudwatch.MathExpression ? Object.values(alarm.metric.usingMetrics) : [alarm.metric];
    const watches = (namespace: string, metricName: string, dimensions: cloudwatch.DimensionsMap) => (alarm: cloudwatch.Alarm) =>
      metricsOf(alarm).some(
        (metric) =>
          metric instanceof cloudwatch.Metric &&
          metric.namespace === namespace &&
          metric.metricName === metricName &&
          resolved(metric.dimensions ?? {}) === resolved(dimensions),
      );
    const find = (what: string, ...tests: ((alarm: cloudwatch.Alarm) => boolean)[]): cloudwatch.Alarm => {
      const matches = created.filter((alarm) => tests.every((test) => test(alarm)));
      if (matches.length !== 1) {
        throw new Error(
          `expected one alarm on ${what}, found ${matches.length} (${matches.map((m) => m.node.path).join(', ') || 'none'}): ` +
            'an alarm was added or removed without PipelineMonitoring.alarmsByKey',
        );
      }
      return matches[0] as cloudwatch.Alarm;
    };
    const queueVisible = (queue: sqs.IQueue) => watches('AWS/SQS', 'ApproximateNumberOfMessagesVisible', { QueueName: queue.queueName });
    const ofFunction = (fn: lambda.IFunction, metricName: 'Errors' | 'Throttles') =>
      watches('AWS/Lambda', metricName, { FunctionName: fn.functionName });
    const ingestMetric = (name: MetricName) =>
      watches(METRICS_NAMESPACE, name, { [DIMENSION.service]: SERVICE_NAMES.ingest, [DIMENSION.environment]: props.envName });
    const runMetric = (name: MetricName) =>
      watches(METRICS_NAMESPACE, name, {
        [DIMENSION.service]: EXPORT_RUNS_SERVICE,
        [DIMENSION.environment]: props.envName,
        [DIMENSION.trigger]: 'schedule',
      });
    return {
      ingestDeadLetterQueue: find('the ingest dead-letter queue', queueVisible(props.ingestQueue.deadLetterQueue)),
      exportDeadLetterQueue: find('the export dead-letter queue', queueVisible(props.exportQueue.deadLetterQueue)),
      plannerDeadLetterQueue: find('the planner dead-letter queue', queueVisible(props.plannerDeadLetterQueue)),
      ingestMessageAge: find(
        'the oldest ingest message',
        watches('AWS/SQS', 'ApproximateAgeOfOldestMessage', { QueueName: props.ingestQueue.queue.queueName }),
      ),
      rejectionRate: find('the rejection rate', ingestMetric(METRIC.filesRejected), ingestMetric(METRIC.filesIngested)),
      exportRunIncomplete: find('incomplete export runs', runMetric(METRIC.exportRunsIncomplete)),
      exportRunNotCompleted: find('completed export runs', runMetric(METRIC.exportRunsCompleted)),
      ingestErrors: find('ingest function errors', ofFunction(props.functions.ingest, 'Errors')),
      ingestThrottles: find('ingest function throttles', ofFunction(props.functions.ingest, 'Throttles')),
      plannerErrors: find('export planner errors', ofFunction(props.functions.planner, 'Errors')),
      plannerThrottles: find('export planner throttles', ofFunction(props.functions.planner, 'Throttles')),
      workerErrors: find('export worker errors', ofFunction(props.functions.worker, 'Errors')),
      workerThrottles: find('export worker throttles', ofFunction(props.functions.worker, 'Throttles')),
      ibinderRateLimited: find('iBinder 429s', ingestMetric(METRIC.rateLimited)),
      ...(props.bynder ? { bynderThrottled: find('Bynder 429s', ingestMetric(METRIC.bynderThrottled)) } : {}),
    };
  }
}

/** Any error or throttle of a function alarms. */
function functionAlarms(what: string): {
  addFaultCountAlarm: Record<string, { maxErrorCount: number; alarmDescriptionOverride: string }>;
  addThrottlesCountAlarm: Record<string, { maxErrorCount: number; alarmDescriptionOverride: string }>;
} {
  return {
    addFaultCountAlarm: {
      Errors: {
        maxErrorCount: 0,
        alarmDescriptionOverride:
          `The ${what} failed (an invocation threw or timed out). Its log group has the error; a failure that ` +
          'repeats ends in a dead-letter queue, which alarms too.',
      },
    },
    addThrottlesCountAlarm: {
      Throttles: {
        maxErrorCount: 0,
        alarmDescriptionOverride:
          `Lambda throttled the ${what}: the account's or the function's concurrency is exhausted. Its work is ` +
          'retried; check the concurrency settings and other functions in the account.',
      },
    },
  };
}
