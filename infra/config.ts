/**
 * Per-environment configuration of the stack. Every deployable environment (dev, staging,
 * prod, ...) is one entry under `context.environments` in cdk.json, chosen with `-c env=<name>`.
 *
 * The schema is the single description of each setting: the `.describe()` texts are what an
 * operator needs to know, and a wrong value fails the synth with the environment, the field and
 * what is expected, before anything reaches CloudFormation. `toPipelineConfig` turns the entry
 * into the JSON the functions read from `PIPELINE_CONFIG` (shared/config/runtime.ts).
 */
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { z } from 'zod';
import { BynderConfigSchema } from '../shared/connectors/bynder/config.js';
import { UnlistedPrefixesSchema } from '../shared/config/allowlist.js';
import { BinderIdSchema } from '../shared/config/ids.js';
import { routingConfigProblems } from '../shared/config/routing-checks.js';
import { RoutingRuleSchema, TargetSpecSchema } from '../shared/config/target.js';
import { DispositionSchema, PipelineConfigSchema, type PipelineConfig } from '../shared/config/runtime.js';
import * as zm from '../shared/validation/zod.js';
import { EnvironmentConfigError } from './errors.js';

/** The vendor's production endpoints (from its API reference). */
export const IBINDER_API_BASE_URL = 'https://api.ibinder.com/api';
export const IBINDER_TOKEN_URL = 'https://signin.ibinder.com/connect/token';

/** Where producers drop files and where rejected files are copied; fixed by the design. */
export const INBOX_PREFIX = 'inbox/';
export const REJECTED_PREFIX = 'rejected/';
/** Prefix of the archive bucket where the planner writes run manifests. */
export const MANIFESTS_PREFIX = 'manifests/';

/**
 * AWS regions: a partition's area (us, eu, ap, ca, sa, me, af, il, mx, cn, us-gov), a direction
 * (central, north, south, east, west, northeast, ...) and a number, e.g. eu-north-1, us-gov-west-1.
 */
const AWS_REGION = /^(?:us-gov|us|eu|ap|ca|sa|me|af|il|mx|cn)-(?:central|(?:north|south)(?:east|west)?|east|west)-[1-9]\d?$/;
/** The iBinder organisation id is a GUID (8-4-4-4-12 hexadecimal digits). */
const GUID = /^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$/;

/** Environment names whose resources must never be destroyed with the stack. */
const PRODUCTION_NAMES = new Set(['prod', 'production']);

/** CloudWatch Logs retention values (days) that the service accepts; "never expire" is not offered. */
const LOG_RETENTION_DAYS: readonly number[] = Object.values(RetentionDays).filter(
  (v): v is number => typeof v === 'number' && v !== RetentionDays.INFINITE,
);

/** S3 storage classes the archive may transition to, by their S3 API names. */
export const ArchiveStorageClassSchema = z
  .enum(['GLACIER_IR', 'GLACIER', 'DEEP_ARCHIVE', 'STANDARD_IA', 'ONEZONE_IA', 'INTELLIGENT_TIERING'], {
    error: 'expected one of GLACIER_IR, GLACIER, DEEP_ARCHIVE, STANDARD_IA, ONEZONE_IA, INTELLIGENT_TIERING',
  })
  .describe('S3 storage class archived objects move to after archiveTransitionDays.');
export type ArchiveStorageClass = z.infer<typeof ArchiveStorageClassSchema>;

/** S3 refuses a transition to an infrequent-access class earlier than this (days). */
const INFREQUENT_ACCESS_MIN_DAYS = 30;

function wholeNumber(min: number, max: number): z.ZodNumber {
  const expected = `expected a whole number from ${min} to ${max}`;
  return z.number({ error: expected }).int({ error: expected }).min(min, { error: expected }).max(max, { error: expected });
}

/**
 * An EventBridge Scheduler cron expression: `cron(minutes hours day-of-month month day-of-week year)`,
 * six fields, and one of day-of-month / day-of-week must be `?`.
 */
const SCHEDULER_CRON = /^cron\((\S+) (\S+) (\S+) (\S+) (\S+) (\S+)\)$/;
function isSchedulerCron(expression: string): boolean {
  const fields = SCHEDULER_CRON.exec(expression);
  if (!fields) return false;
  const dayOfMonth = fields[3];
  const dayOfWeek = fields[5];
  return (dayOfMonth === '?') !== (dayOfWeek === '?');
}

function isIanaTimeZone(name: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

export const CredentialsSecretConfigSchema = z
  .object({
    secretName: z
      .string({ error: 'expected the Secrets Manager secret name, e.g. "ibinder-pipeline/dev/ibinder-client"' })
      .regex(/^[A-Za-z0-9/_+=.@-]{1,512}$/, {
        error: 'expected 1-512 characters of letters, digits and / _ + = . @ -',
      })
      .describe('Name of the Secrets Manager secret holding {"clientId","clientSecret"} of the iBinder API client.'),
    create: z
      .boolean({ error: 'expected true or false' })
      .default(false)
      .describe(
        'true: the stack creates the secret with the placeholder {"clientId":"","clientSecret":""}; put the real ' +
          'value afterwards with `aws secretsmanager put-secret-value` (later deploys do not overwrite it). ' +
          'false (default): the secret already exists and is imported by name.',
      ),
  })
  .strict();

export const IngestConfigSchema = z
  .object({
    batchSize: wholeNumber(1, 10_000)
      .default(10)
      .describe('SQS messages per Lambda invocation. Above 10 requires maxBatchingWindowSeconds > 0.'),
    maxBatchingWindowSeconds: wholeNumber(0, 300)
      .default(5)
      .describe('How long the event source gathers messages before invoking (seconds, 0-300).'),
    maxConcurrency: wholeNumber(2, 1000)
      .default(5)
      .describe(
        'Most concurrent ingest invocations the SQS event source starts (2-1000); bounds the load on every connector ' +
          '(iBinder, and Bynder, whose total bynder.requestsPerSecond the invocations share).',
      ),
    recordConcurrency: wholeNumber(1, 100)
      .default(10)
      .describe(
        'Records of one batch processed at once inside an invocation (default: the batch size of 10). ' +
          'Capped per connector (iBinder 10, Bynder 4): at most maxConcurrency x min(recordConcurrency, cap) requests ' +
          'to the document system at once.',
      ),
    functionTimeoutSeconds: wholeNumber(10, 900)
      .default(300)
      .describe('Ingest function timeout (seconds). The queue visibility timeout is 6 x this + the batching window.'),
    memorySizeMb: wholeNumber(128, 10_240).default(1024).describe('Ingest function memory (MB).'),
    maxReceiveCount: wholeNumber(1, 1000).default(5).describe('Deliveries of one message before it moves to the ingest dead-letter queue.'),
    untaggedGraceSeconds: wholeNumber(0, 86_400)
      .default(300)
      .describe(
        'How long an object with no tags, no matching routing rule and no default target is retried before it ' +
          'is rejected (producers may tag right after the upload).',
      ),
  })
  .strict()
  .refine((i) => i.batchSize <= 10 || i.maxBatchingWindowSeconds > 0, {
    path: ['batchSize'],
    error: 'a batchSize above 10 needs maxBatchingWindowSeconds of at least 1 (an SQS event source rule)',
  });

export const InboxConfigSchema = z
  .object({
    noncurrentVersionExpirationDays: wholeNumber(1, 3650)
      .default(30)
      .describe('Days a replaced or deleted inbox object version is kept before S3 expires it.'),
    rejectedExpirationDays: wholeNumber(1, 3650)
      .default(90)
      .describe('Days objects under rejected/ (the file and its .error.json) are kept.'),
  })
  .strict();

/**
 * A customer-managed KMS key for the archive bucket: "create" makes one in the stack (rotated
 * yearly, kept or deleted with the environment's data), `{keyArn}` uses an existing one (its key
 * policy must let this account's IAM policies grant use of it). Left out: SSE-S3.
 */
export const ArchiveKmsKeySchema = z
  .union(
    [
      z.literal('create'),
      z
        .object({
          keyArn: z.string().regex(/^arn:aws[a-z-]*:kms:[a-z]{2}(-[a-z]+)+-\d{1,2}:\d{12}:key\/[0-9a-f-]{36}$/, {
            error: 'expected a KMS key ARN, e.g. "arn:aws:kms:eu-north-1:123456789012:key/<key id>" (not an alias)',
          }),
        })
        .strict(),
    ],
    { error: 'expected "create" or {"keyArn": "arn:aws:kms:<region>:<account>:key/<key id>"}' },
  )
  .describe('Customer-managed KMS key of the archive bucket: "create", or {keyArn} of an existing key; leave out for SSE-S3.');
export type ArchiveKmsKey = z.infer<typeof ArchiveKmsKeySchema>;

/** S3 Object Lock default retention of the archive bucket (see README, Archive protections). */
export const ArchiveObjectLockSchema = z
  .object({
    mode: z
      .enum(['GOVERNANCE', 'COMPLIANCE'], { error: 'expected "GOVERNANCE" or "COMPLIANCE"' })
      .default('GOVERNANCE')
      .describe(
        'GOVERNANCE: only a principal with s3:BypassGovernanceRetention can remove a locked version early. ' +
          'COMPLIANCE: nobody can, not even the account root, until the retention ends.',
      ),
    days: wholeNumber(1, 36_500).describe('Days every archived object version (files, sidecars, manifests) is locked.'),
  })
  .strict();
export type ArchiveObjectLock = z.infer<typeof ArchiveObjectLockSchema>;

/** The Object Lock a production archive gets when its config names none. */
export const PRODUCTION_ARCHIVE_OBJECT_LOCK: ArchiveObjectLock = { mode: 'GOVERNANCE', days: 365 };

/** Tag keys as S3 allows them, plus `*` and `?` as wildcards (e.g. `ibinder:meta:*`). */
const TAG_KEY_PATTERN = /^[A-Za-z0-9 +\-=._:/@*?]{1,128}$/;

/**
 * A producer: a system that drops files under its own prefix of `inbox/`. The stack makes one
 * managed policy per producer that allows writing and tagging objects under that prefix only,
 * and, when principals are named, a role they can assume that carries it.
 */
export const ProducerConfigSchema = z
  .object({
    name: z
      .string({ error: 'expected a producer name, e.g. "erp"' })
      .regex(/^[a-z][a-z0-9-]{0,31}$/, { error: 'expected 1-32 lowercase letters, digits and hyphens, starting with a letter' })
      .describe('Short name of the producing system; part of the policy and output names.'),
    prefix: z
      .string({ error: 'expected a key prefix under inbox/, e.g. "inbox/erp/"' })
      .regex(/^inbox\/[A-Za-z0-9 +\-=._:@/!'()]*\/$/, {
        error:
          'expected a key prefix under inbox/ that ends with "/", e.g. "inbox/erp/" (letters, digits and ' +
          "+ - = . _ : @ / ! ' ( ) and spaces; no * ? or $)",
      })
      .refine((p) => p !== 'inbox/' && !p.includes('//'), {
        error: 'expected a prefix below inbox/ (e.g. "inbox/erp/"), not inbox/ itself, and no empty folder ("//")',
      })
      .describe('Key prefix the producer may write under, below inbox/ and ending with "/".'),
    principals: z
      .array(
        z.string().regex(/^(\d{12}|arn:aws[a-z-]*:iam::\d{12}:(role|user)\/[\w+=,.@/-]+)$/, {
          error: 'expected a 12-digit account id or an IAM role or user ARN, e.g. "arn:aws:iam::123456789012:role/erp-upload"',
        }),
        { error: 'expected a list of account ids or role ARNs' },
      )
      .min(1, { error: 'expected at least one principal; leave the field out for a policy without a role' })
      .optional()
      .describe('Accounts or role/user ARNs that may assume the producer role; leave out for the managed policy only.'),
    externalId: z
      .string({ error: 'expected the external id agreed with the producer, e.g. "erp-7f3c9a"' })
      .regex(/^[\w+=,.@:/-]{2,1224}$/, { error: 'expected 2-1224 characters of letters, digits and _ + = , . @ : / -' })
      .optional()
      .describe(
        'sts:ExternalId the principals must pass to assume the role: for a third party that serves other customers ' +
          "too, so that it cannot be tricked into writing here on someone else's behalf.",
      ),
    allowedTagKeys: z
      .array(
        z.string().regex(TAG_KEY_PATTERN, {
          error: 'expected a tag key (letters, digits, spaces and + - = . _ : / @), with * or ? as wildcards, e.g. "ibinder:meta:*"',
        }),
        { error: 'expected a list of tag keys' },
      )
      .min(1, { error: 'expected at least one tag key; leave the field out to allow any' })
      .optional()
      .describe('Tag keys the producer may set on its objects (wildcards * and ?); leave out to allow any.'),
  })
  .strict()
  .refine((p) => p.externalId === undefined || p.principals !== undefined, {
    path: ['externalId'],
    error: 'an externalId needs principals: it is a condition on assuming the producer role',
  });
export type ProducerConfig = z.infer<typeof ProducerConfigSchema>;

export const ExportConfigSchema = z
  .object({
    scheduleCron: z
      .string({ error: 'expected an EventBridge Scheduler cron expression, e.g. "cron(0 2 * * ? *)"' })
      .refine(isSchedulerCron, {
        error:
          'expected an EventBridge Scheduler cron expression with six fields and "?" in exactly one of ' +
          'day-of-month or day-of-week, e.g. "cron(0 2 * * ? *)"',
      })
      .default('cron(0 2 * * ? *)')
      .describe('When the nightly export runs: EventBridge Scheduler cron(minutes hours day-of-month month day-of-week year).'),
    scheduleTimeZone: z
      .string({ error: 'expected an IANA time zone name, e.g. "Europe/Oslo"' })
      .refine(isIanaTimeZone, { error: 'expected an IANA time zone name, e.g. "Europe/Oslo" or "Etc/UTC"' })
      .default('Etc/UTC')
      .describe('IANA time zone scheduleCron is read in, e.g. Europe/Oslo (daylight saving is followed).'),
    binders: z
      .array(BinderIdSchema, { error: 'expected a list of binder ids' })
      .min(1, { error: 'expected at least one binder id; leave the field out to export every binder' })
      .optional()
      .describe('Binder ids the export covers; leave out to export every binder the API client can see.'),
    archiveTransitionDays: wholeNumber(0, 3650).default(30).describe('Days after which archived objects move to archiveStorageClass.'),
    archiveStorageClass: ArchiveStorageClassSchema.default('GLACIER_IR'),
    plannerTimeoutSeconds: wholeNumber(10, 900).default(900).describe('Export planner function timeout (seconds).'),
    plannerMemorySizeMb: wholeNumber(128, 10_240).default(512).describe('Export planner function memory (MB).'),
    workerTimeoutSeconds: wholeNumber(10, 900)
      .default(900)
      .describe('Export worker function timeout (seconds). The export queue visibility timeout is 6 x this.'),
    workerMemorySizeMb: wholeNumber(128, 10_240).default(1024).describe('Export worker function memory (MB).'),
    workerBatchSize: wholeNumber(1, 10).default(1).describe('Export queue messages (document versions) per worker invocation.'),
    workerMaxConcurrency: wholeNumber(2, 1000)
      .default(5)
      .describe('Most concurrent export worker invocations (2-1000); bounds the load on iBinder.'),
    maxReceiveCount: wholeNumber(1, 1000)
      .default(5)
      .describe('Deliveries of one export message before it moves to the export dead-letter queue.'),
    archiveKmsKey: ArchiveKmsKeySchema.optional(),
    archiveObjectLock: ArchiveObjectLockSchema.optional().describe(
      'S3 Object Lock default retention of the archive bucket ({mode, days}). Production environments get ' +
        'GOVERNANCE for 365 days when this is left out; other environments get none.',
    ),
  })
  .strict()
  .refine(
    (e) =>
      !(e.archiveStorageClass === 'STANDARD_IA' || e.archiveStorageClass === 'ONEZONE_IA') ||
      e.archiveTransitionDays >= INFREQUENT_ACCESS_MIN_DAYS,
    {
      path: ['archiveTransitionDays'],
      error: `S3 needs at least ${INFREQUENT_ACCESS_MIN_DAYS} days before a transition to STANDARD_IA or ONEZONE_IA`,
    },
  );

/** CloudWatch keeps an alarm's evaluation range within 7 days (period x evaluation periods). */
const MAX_ALARM_WINDOW_HOURS = 168;

export const AlarmsConfigSchema = z
  .object({
    email: z
      .email({ error: 'expected an e-mail address' })
      .optional()
      .describe('Address subscribed to the alarm topic (confirm the subscription e-mail after the first deploy).'),
    ingestMessageAgeMinutes: wholeNumber(1, 20_160)
      .optional()
      .describe(
        'Alarm when the oldest message in the ingest queue is older than this (minutes): files wait and nothing takes ' +
          "them. Default: the ingest queue's visibility timeout (6 x ingest.functionTimeoutSeconds + " +
          'maxBatchingWindowSeconds) plus 30 minutes, so that a message waiting out one retry does not alarm; a ' +
          'value below the visibility timeout alarms on every retried file.',
      ),
    rejectionRatePercent: wholeNumber(1, 100)
      .default(20)
      .describe('Alarm when more than this share (%) of the files finished in rejectionRatePeriodMinutes were rejected.'),
    rejectionRatePeriodMinutes: wholeNumber(5, 1440)
      .default(60)
      .describe('Period (minutes) over which the rejection rate is computed; one period above the threshold alarms.'),
    rejectionRateMinFiles: wholeNumber(1, 1_000_000)
      .default(5)
      .describe(
        'Fewest files (ingested + rejected) in a period for its rejection rate to count, so that one bad file in a ' +
          'quiet hour is a rejection report, not an alarm.',
      ),
    exportCompletionWindowHours: wholeNumber(1, MAX_ALARM_WINDOW_HOURS)
      .default(26)
      .describe(
        'Alarm when no scheduled export run has completed (manifest written, every version settled) within the last ' +
          `this many hours (at most ${MAX_ALARM_WINDOW_HOURS}). Longer than the longest gap between two scheduled runs ` +
          'plus the time a run takes: 26 suits a nightly schedule. It is in alarm until the first scheduled run of a ' +
          'new environment completes.',
      ),
  })
  .strict();

/**
 * Bynder allows 4,500 requests in any five minutes from one IP address and then blocks the
 * integration for five quiet minutes (reference/bynder-notes.md). Lambda instances may share
 * egress addresses, so the budget is counted over every instance that can talk to the portal.
 */
export const BYNDER_REQUESTS_PER_WINDOW = 4_500;
export const BYNDER_WINDOW_SECONDS = 300;
/** Most requests per second the portal allows, all instances together: 4,500 / 300 s. */
export const BYNDER_MAX_REQUESTS_PER_SECOND = BYNDER_REQUESTS_PER_WINDOW / BYNDER_WINDOW_SECONDS;
/** The portal's total budget when the environment names none: two thirds of the limit, room for people and other integrations. */
export const DEFAULT_BYNDER_TOTAL_REQUESTS_PER_SECOND = 10;

/**
 * The Bynder connector in an environment: the connector's own settings (BynderConfigSchema, what
 * the functions read), plus whether the stack creates its credentials secret. One difference:
 * `requestsPerSecond` here is the portal's TOTAL budget over every instance that calls it; the
 * stack writes each instance's share into PIPELINE_CONFIG (`bynderRequestsPerSecondPerInstance`),
 * which is what the client of one instance keeps to.
 */
export const BynderEnvironmentConfigSchema = zm.extend(BynderConfigSchema, {
  /** Requests per second all instances together may send to the portal (at most 15: 4,500 per 5 minutes). */
  requestsPerSecond: zm._default(zm.number().check(zm.positive()), DEFAULT_BYNDER_TOTAL_REQUESTS_PER_SECOND),
  /**
   * true: the stack creates `credentialsSecretName` with the placeholder {"clientId":"","clientSecret":""};
   * false (default): the secret exists and is imported by name. Not part of the functions' config.
   */
  createCredentialsSecret: zm._default(zm.boolean(), false),
});
export type BynderEnvironmentConfig = z.infer<typeof BynderEnvironmentConfigSchema>;

type BynderBudgetInput = Pick<EnvironmentConfig, 'ingest' | 'export'> & { bynder: Pick<BynderEnvironmentConfig, 'requestsPerSecond'> };

/**
 * The instances that may call the portal at once: every ingest invocation (the event source's
 * maxConcurrency), every export worker and the planner. Lambda instances may share egress
 * addresses, and Bynder counts per address.
 */
export function bynderInstances(envConfig: Pick<EnvironmentConfig, 'ingest' | 'export'>): number {
  return envConfig.ingest.maxConcurrency + envConfig.export.workerMaxConcurrency + 1;
}

/**
 * One instance's share of the portal's total budget (requests per second, rounded down to 2
 * decimals, so that the shares never add up to more than the total): what the stack writes into
 * PIPELINE_CONFIG's `bynder.requestsPerSecond`, the budget each instance's client keeps.
 */
export function bynderRequestsPerSecondPerInstance(envConfig: BynderBudgetInput): number {
  return Math.floor((envConfig.bynder.requestsPerSecond / bynderInstances(envConfig)) * 100) / 100;
}

/** Most Bynder requests per second all instances together may send: the environment's total budget. */
export function bynderPeakRequestsPerSecond(envConfig: BynderBudgetInput): number {
  return bynderInstances(envConfig) * bynderRequestsPerSecondPerInstance(envConfig);
}

/** Problems of the Bynder block beyond its own schema: its rate budget across instances, its secret. */
function bynderProblems(envConfig: EnvironmentConfig): string[] {
  const bynder = envConfig.bynder;
  if (!bynder) return [];
  const problems: string[] = [];
  const allowed = BYNDER_MAX_REQUESTS_PER_SECOND;
  const instances = bynderInstances(envConfig);
  if (bynder.requestsPerSecond > allowed) {
    problems.push(
      `bynder.requestsPerSecond: ${bynder.requestsPerSecond} requests/s is the portal's total budget over every instance, ` +
        `more than the ${allowed} requests/s Bynder allows (${BYNDER_REQUESTS_PER_WINDOW} per ${BYNDER_WINDOW_SECONDS / 60} ` +
        `minutes, then a block); set it to at most ${allowed} (default ${DEFAULT_BYNDER_TOTAL_REQUESTS_PER_SECOND})`,
    );
  } else if (bynderRequestsPerSecondPerInstance({ ...envConfig, bynder }) <= 0) {
    problems.push(
      `bynder.requestsPerSecond: ${bynder.requestsPerSecond} requests/s shared by ${instances} instances (ingest.maxConcurrency ` +
        `${envConfig.ingest.maxConcurrency} + export.workerMaxConcurrency ${envConfig.export.workerMaxConcurrency} + the planner) ` +
        'leaves each less than 0.01 requests/s; raise requestsPerSecond or lower the concurrencies',
    );
  }
  if (bynder.credentialsSecretName === envConfig.credentialsSecret.secretName) {
    problems.push(
      `bynder.credentialsSecretName: "${bynder.credentialsSecretName}" is the iBinder secret too; give Bynder a secret of its own`,
    );
  }
  return problems;
}

export const EnvironmentConfigSchema = z
  .object({
    account: z
      .string({ error: 'expected the 12-digit AWS account id as a string, e.g. "123456789012"' })
      .regex(/^\d{12}$/, { error: 'expected the 12-digit AWS account id as a string, e.g. "123456789012"' })
      .describe('AWS account the environment deploys to (12 digits, quoted).'),
    region: z
      .string({ error: 'expected an AWS region, e.g. "eu-north-1"' })
      .regex(AWS_REGION, {
        error: 'expected an AWS region: <partition area>-<direction>-<number>, e.g. "eu-north-1", "us-gov-west-1", "ap-southeast-2"',
      })
      .describe('AWS region the environment deploys to, e.g. eu-north-1.'),
    tenantId: z
      .string({ error: 'expected the iBinder organisation (tenant) id, a GUID' })
      .regex(GUID, { error: 'expected the iBinder organisation (tenant) id: a GUID such as "5f0c2a7e-3b1d-4c8e-9a6f-2d4b7e1c0a93"' })
      .describe('iBinder organisation id, sent as x-ibinder-tenantid on every API request.'),
    apiBaseUrl: z
      .url({ protocol: /^https$/, error: 'expected an https URL, e.g. "https://api.ibinder.com/api"' })
      .default(IBINDER_API_BASE_URL)
      .describe(`iBinder API base URL; default ${IBINDER_API_BASE_URL}.`),
    tokenUrl: z
      .url({ protocol: /^https$/, error: 'expected an https URL, e.g. "https://signin.ibinder.com/connect/token"' })
      .default(IBINDER_TOKEN_URL)
      .describe(`OAuth 2.0 token endpoint; default ${IBINDER_TOKEN_URL}.`),
    credentialsSecret: CredentialsSecretConfigSchema.describe(
      'The Secrets Manager secret with the iBinder API client credentials: {secretName, create?}.',
    ),
    defaultTarget: z
      .optional(TargetSpecSchema)
      .describe(
        'Target for objects with no ibinder: tags and no matching routing rule: {binderId, folderId | folderPath, metadata?, version?}.',
      ),
    routingRules: z
      .array(RoutingRuleSchema)
      .default([])
      .describe(
        'Key prefix -> target, for producers that cannot tag: [{prefix: "inbox/scanner-3/", target: {...}, allow?: [...]}]. ' +
          'Longest prefix wins. Prefixes start with inbox/ and are unique; allow lists what files under the prefix may reach.',
      ),
    unlistedPrefixes: z
      .optional(UnlistedPrefixesSchema)
      .describe(
        'What files under a prefix without a routing rule may reach: "none", "any" (the default outside production) or ' +
          '{"allow": [{binderId, folderIds?, folderPaths?}]}. Production environments must set it; the defaultTarget must be inside it.',
      ),
    bynder: z
      .optional(BynderEnvironmentConfigSchema)
      .describe(
        "The Bynder connector: {portalUrl, credentialsSecretName, createCredentialsSecret?, requestsPerSecond? (the portal's total " +
          'budget over every instance, default 10, at most 15), ' +
          'routingRules?, ...} (shared/connectors/bynder/config.ts); leave out for an iBinder-only environment.',
      ),
    ingest: IngestConfigSchema.default(IngestConfigSchema.parse({})).describe(
      'Ingest function and its SQS event source: batching, concurrency, timeout, memory, retries.',
    ),
    disposition: z
      ._default(DispositionSchema, 'delete')
      .describe(
        'What happens to an inbox object once it is in iBinder: "delete" it (the version history keeps it until ' +
          'noncurrentVersionExpirationDays) or "tag" it as ingested and leave it.',
      ),
    inbox: InboxConfigSchema.default(InboxConfigSchema.parse({})).describe('Inbox bucket lifecycle.'),
    export: ExportConfigSchema.default(ExportConfigSchema.parse({})).describe(
      'Nightly export: schedule, binders, archive storage class, planner and worker settings.',
    ),
    producers: z
      .array(ProducerConfigSchema, { error: 'expected a list of producers' })
      .default([])
      .refine((list) => new Set(list.map((p) => p.name)).size === list.length, {
        error: 'expected each producer name once',
      })
      .describe('Producing systems, each with a least-privilege policy (and optional role) for its inbox/ prefix.'),
    alarms: AlarmsConfigSchema.default(AlarmsConfigSchema.parse({})).describe(
      'Where alarms are sent ({email}) and their thresholds: oldest ingest message age, rejection rate, export completion window.',
    ),
    logRetentionDays: z
      .number({ error: `expected one of ${LOG_RETENTION_DAYS.join(', ')}` })
      .refine((d) => LOG_RETENTION_DAYS.includes(d), { error: `expected one of ${LOG_RETENTION_DAYS.join(', ')}` })
      .default(90)
      .describe("Days the functions' CloudWatch logs are kept (a value CloudWatch Logs accepts, e.g. 30, 90, 365)."),
    // Kept so that a cdk.json written before tracing was dropped gets a reason, not "unknown key".
    xrayTracing: z
      .literal(false, {
        error:
          "active X-Ray tracing is not offered: the functions carry no Tracer, so a trace showed only Lambda's own " +
          'segments at the cost of extra cold-start work (README, "Tracing"); remove "xrayTracing" or set it to false',
      })
      .default(false)
      .describe('Always false: the functions run without active X-Ray tracing (README, "Tracing").'),
    removalPolicy: z
      .enum(['retain', 'destroy'], { error: 'expected "retain" or "destroy"' })
      .default('retain')
      .describe(
        'What `cdk destroy` does to buckets, tables, the created secret and log groups. "destroy" deletes them ' +
          '(buckets only when empty); prod must be "retain".',
      ),
  })
  .strict();

export type EnvironmentConfig = z.infer<typeof EnvironmentConfigSchema>;
export type EnvironmentConfigInput = z.input<typeof EnvironmentConfigSchema>;

function describeIssue(issue: z.core.$ZodIssue): string {
  const where = issue.path.length > 0 ? issue.path.map(String).join('.') : '(entry)';
  if (issue.code === 'unrecognized_keys') {
    return `${where}: unknown field(s) ${issue.keys.map((k) => `"${k}"`).join(', ')} (check the spelling)`;
  }
  const missing = issue.code === 'invalid_type' && 'input' in issue && issue.input === undefined;
  const expected = issue.message.replace(/^Invalid input: /, '').replace(/, received undefined$/, '');
  return missing ? `${where}: is missing; ${expected}` : `${where}: ${issue.message}`;
}

/**
 * Picks and validates one environment from the `environments` object of the cdk.json context.
 *
 * @param environments the value of `context.environments` (`app.node.tryGetContext('environments')`)
 * @param envName the value of `-c env=<name>`
 * @throws EnvironmentConfigError naming the environment, each wrong field and what it expects
 */
export function loadEnvironmentConfig(environments: unknown, envName: unknown): EnvironmentConfig {
  if (typeof environments !== 'object' || environments === null || Array.isArray(environments)) {
    throw new EnvironmentConfigError(
      'cdk.json has no "context.environments" object: add one entry per environment, e.g. ' +
        '"context": { "environments": { "dev": { "account": "123456789012", "region": "eu-north-1", ... } } }',
    );
  }
  const entries = environments as Record<string, unknown>;
  const known = Object.keys(entries).sort();
  const knownList = known.length > 0 ? known.join(', ') : '(none)';
  if (typeof envName !== 'string' || envName.length === 0) {
    throw new EnvironmentConfigError(
      `No environment chosen: pass one with -c env=<name>, e.g. \`npx cdk synth -c env=${known[0] ?? 'dev'}\`. ` +
        `Environments in cdk.json: ${knownList}.`,
    );
  }
  if (!Object.hasOwn(entries, envName)) {
    throw new EnvironmentConfigError(
      `Unknown environment "${envName}": cdk.json context.environments defines ${knownList}. ` +
        'Pass one of those with -c env=<name>, or add an entry for it.',
    );
  }
  const parsed = EnvironmentConfigSchema.safeParse(entries[envName], { reportInput: true });
  const problems = parsed.success ? [] : parsed.error.issues.map(describeIssue);
  if (parsed.success && isProductionEnvironment(envName) && parsed.data.removalPolicy === 'destroy') {
    problems.push(
      `removalPolicy: "destroy" is refused for the production environment "${envName}"; use "retain" ` +
        '(remove retained buckets and tables by hand if you really mean to).',
    );
  }
  if (parsed.success) {
    const entry = entries[envName] as Record<string, unknown>;
    if (isProductionEnvironment(envName) && entry.unlistedPrefixes === undefined) {
      problems.push(
        `unlistedPrefixes: is missing; the production environment "${envName}" must say what files under a prefix without a ` +
          'routing rule may reach: "none" (recommended: every producer gets a rule), "any", or {"allow": [...]}',
      );
    }
    problems.push(...routingConfigProblems({ ...parsed.data, unlistedPrefixes: unlistedPrefixesOf(parsed.data) }, INBOX_PREFIX));
    problems.push(...bynderProblems(parsed.data));
  }
  if (!parsed.success || problems.length > 0) {
    throw new EnvironmentConfigError(
      `Environment "${envName}" in cdk.json (context.environments.${envName}) is invalid:\n${problems.map((p) => `  - ${p}`).join('\n')}`,
    );
  }
  return parsed.data;
}

/**
 * What files under a prefix without a routing rule may reach; "any" when the entry does not say
 * (production environments must say, see loadEnvironmentConfig).
 */
export function unlistedPrefixesOf(envConfig: Pick<EnvironmentConfig, 'unlistedPrefixes'>): z.infer<typeof UnlistedPrefixesSchema> {
  return envConfig.unlistedPrefixes ?? 'any';
}

/** Production environments: never destroyed with the stack, stack termination-protected. */
export function isProductionEnvironment(envName: string): boolean {
  return PRODUCTION_NAMES.has(envName);
}

/** True when the environment's data stores must outlive the stack. */
export function isRetained(envConfig: EnvironmentConfig, envName: string): boolean {
  return envConfig.removalPolicy === 'retain' || isProductionEnvironment(envName);
}

/**
 * The runtime configuration the functions read from `PIPELINE_CONFIG`. Values that only make
 * sense together with the functions' own settings are derived here, so they cannot drift:
 * a claim lease (ingest ledger and export ledger alike) outlives the longest invocation that
 * can hold one, and the time reserved at the end of an ingest invocation fits inside its timeout.
 */
export function toPipelineConfig(envConfig: EnvironmentConfig, envName: string): PipelineConfig {
  const timeoutMs = envConfig.ingest.functionTimeoutSeconds * 1000;
  return PipelineConfigSchema.parse({
    environment: envName,
    tenantId: envConfig.tenantId,
    apiBaseUrl: envConfig.apiBaseUrl,
    tokenUrl: envConfig.tokenUrl,
    credentialsSecretName: envConfig.credentialsSecret.secretName,
    inboxPrefix: INBOX_PREFIX,
    rejectedPrefix: REJECTED_PREFIX,
    ...(envConfig.defaultTarget ? { defaultTarget: envConfig.defaultTarget } : {}),
    routingRules: envConfig.routingRules,
    unlistedPrefixes: unlistedPrefixesOf(envConfig),
    disposition: envConfig.disposition,
    untaggedGraceSeconds: envConfig.ingest.untaggedGraceSeconds,
    recordConcurrency: envConfig.ingest.recordConcurrency,
    minRemainingTimeMs: Math.min(30_000, Math.floor(timeoutMs / 3)),
    claimLeaseSeconds: Math.max(envConfig.ingest.functionTimeoutSeconds, envConfig.export.workerTimeoutSeconds) + 60,
    ...(envConfig.export.binders ? { exportBinders: envConfig.export.binders } : {}),
    ...(envConfig.bynder ? { bynder: bynderRuntimeConfig(envConfig, envConfig.bynder) } : {}),
  });
}

/**
 * The Bynder block as the functions read it: the stack's own setting left out, and
 * `requestsPerSecond` one instance's share of the environment's total budget.
 */
function bynderRuntimeConfig(
  envConfig: Pick<EnvironmentConfig, 'ingest' | 'export'>,
  bynder: BynderEnvironmentConfig,
): Omit<BynderEnvironmentConfig, 'createCredentialsSecret'> {
  const { createCredentialsSecret: _stackOnly, ...runtime } = bynder;
  return { ...runtime, requestsPerSecond: bynderRequestsPerSecondPerInstance({ ...envConfig, bynder }) };
}
