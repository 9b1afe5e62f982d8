/**
 * The names under which the functions publish their CloudWatch metrics, in one place, because
 * two sides must agree on them to the letter: the functions that write the EMF lines and the
 * stack's alarms and dashboard that read them. A metric is identified by namespace, name and
 * the exact set of dimensions; an alarm on a set the functions never write stays silent
 * forever. Nothing here imports Powertools, so the CDK app can import it cheaply.
 *
 * Dimension sets (every metric carries `service` and `environment`):
 * - `{service, environment}`: every metric of a function (`service` = its SERVICE_NAMES entry).
 * - `{service, environment, reason}`: FilesRejected once more per rejection reason.
 * - `{service: EXPORT_RUNS_SERVICE, environment, trigger}`: the run outcomes, whichever function
 *   noticed them (the worker that settles a run's last job, or the planner).
 */

/** CloudWatch namespace of every custom metric of the pipeline. */
export const METRICS_NAMESPACE = 'IbinderPipeline';

/** POWERTOOLS_SERVICE_NAME of each function: the `service` key of its log lines and metrics. */
export const SERVICE_NAMES = {
  ingest: 'ibinder-ingest',
  exportPlanner: 'ibinder-export-planner',
  exportWorker: 'ibinder-export-worker',
} as const;

/**
 * The `service` dimension of export run outcomes. A run completes in the worker or in the
 * planner; one service value lets one alarm watch both.
 */
export const EXPORT_RUNS_SERVICE = 'ibinder-export';

export const DIMENSION = {
  service: 'service',
  environment: 'environment',
  /** The first problem's code of a rejection (ProblemCode). */
  reason: 'reason',
  /** What started an export run: `schedule` or `manual`. */
  trigger: 'trigger',
  /** The connector (document system) a record went to: `ibinder`, `bynder`. */
  connector: 'connector',
} as const;

export const METRIC = {
  // ingest
  filesIngested: 'FilesIngested',
  filesRejected: 'FilesRejected',
  recordsRetried: 'RecordsRetried',
  /** An older upload of a key that arrived after a newer one was committed (not committed). */
  filesSuperseded: 'FilesSuperseded',
  bytesIngested: 'BytesIngested',
  uploadDurationMs: 'UploadDurationMs',
  // iBinder exchanges, in every function that talks to iBinder
  apiCalls: 'IBinderApiCalls',
  apiClientErrors: 'IBinderApiClientErrors',
  apiServerErrors: 'IBinderApiServerErrors',
  apiNoResponse: 'IBinderApiNoResponse',
  rateLimited: 'IBinderRateLimited',
  tokenRequests: 'IBinderTokenRequests',
  tokenFailures: 'IBinderTokenFailures',
  // Bynder exchanges, in every function that talks to Bynder
  bynderApiCalls: 'BynderApiCalls',
  /** A 429 from Bynder: the portal blocks the integration until 5 quiet minutes pass. Alarmed. */
  bynderThrottled: 'BynderThrottled',
  bynderTokenRequests: 'BynderTokenRequests',
  /** A record handed back because its connector classified the failure as throttling (dimension `connector`). */
  recordsThrottled: 'RecordsThrottled',
  storageTransfers: 'StorageTransfers',
  storageTransferFailures: 'StorageTransferFailures',
  // export planner
  documentsSeen: 'DocumentsSeen',
  documentsSkippedUnchanged: 'DocumentsSkippedUnchanged',
  versionsEnqueued: 'VersionsEnqueued',
  // export worker
  versionsExported: 'VersionsExported',
  bytesExported: 'BytesExported',
  versionsAlreadyExported: 'VersionsAlreadyExported',
  exportsFailed: 'ExportsFailed',
  exportsRetried: 'ExportsRetried',
  downloadLinksRenewed: 'DownloadLinksRenewed',
  // export runs (EXPORT_RUNS_SERVICE, with the trigger dimension)
  exportRunsCompleted: 'ExportRunsCompleted',
  exportRunsIncomplete: 'ExportRunsIncomplete',
  exportPlanningFailed: 'ExportPlanningFailed',
} as const;

export type MetricName = (typeof METRIC)[keyof typeof METRIC];
