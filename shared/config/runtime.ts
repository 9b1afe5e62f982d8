/**
 * Runtime configuration of the Lambda functions: one JSON document in `PIPELINE_CONFIG`
 * (written by the stack from the environment's entry in cdk.json) plus resource names in
 * their own variables. Validated once per cold start; a bad value fails loudly with the
 * variable's name instead of misrouting documents.
 */
import * as z from '../validation/zod.js';
import { lazySchema } from '../validation/lazy-schema.js';
import { BynderConfigSchema } from '../connectors/bynder/config.js';
import { UnlistedPrefixesSchema } from './allowlist.js';
import { RoutingRuleSchema, TargetSpecSchema } from './target.js';

export const DispositionSchema = lazySchema(() => z.enum(['delete', 'tag']));
export type Disposition = z.infer<typeof DispositionSchema>;

export const FIVE_GIB = 5 * 1024 * 1024 * 1024;

const nonEmptyString = () => z.string().check(z.minLength(1));

export const PipelineConfigSchema = lazySchema(() =>
  z.strictObject({
    /** Environment name (dev, staging, prod). */
    environment: nonEmptyString(),
    tenantId: nonEmptyString(),
    apiBaseUrl: z.url(),
    tokenUrl: z.url(),
    /** Secrets Manager secret holding {"clientId","clientSecret"}. */
    credentialsSecretName: nonEmptyString(),
    inboxPrefix: z._default(z.string(), 'inbox/'),
    rejectedPrefix: z._default(z.string(), 'rejected/'),
    defaultTarget: z.optional(TargetSpecSchema),
    routingRules: z._default(z.array(RoutingRuleSchema), []),
    /**
     * What files under a prefix without a routing rule may reach. The stack always writes it;
     * a hand-written config without it (local runs, tests) allows any target.
     */
    unlistedPrefixes: z._default(UnlistedPrefixesSchema, 'any'),
    disposition: z._default(DispositionSchema, 'delete'),
    /** How long an object with no tags, no rule and no default is retried before rejection. */
    untaggedGraceSeconds: z._default(z.int().check(z.nonnegative()), 300),
    /**
     * Records of one SQS batch processed at once; the default is the batch size, so that a batch
     * of small files takes about as long as its slowest file. Bounded per connector by the
     * ingest's cap (functions/ingest/connector-concurrency.ts).
     */
    recordConcurrency: z._default(z.int().check(z.positive()), 10),
    /** A record is not started when less than this remains of the invocation (ms). */
    minRemainingTimeMs: z._default(z.int().check(z.nonnegative()), 30_000),
    maxFileSizeBytes: z._default(z.int().check(z.positive(), z.maximum(FIVE_GIB)), FIVE_GIB),
    /** Claimed-but-unfinished ledger entries older than this may be taken over (s). */
    claimLeaseSeconds: z._default(z.int().check(z.positive()), 900),
    /** Binders the nightly export covers; absent means every binder the tenant can see. */
    exportBinders: z.optional(z.array(nonEmptyString())),
    /** The Bynder connector; absent: the environment serves iBinder only. */
    bynder: z.optional(BynderConfigSchema),
  }),
);
export type PipelineConfig = z.infer<typeof PipelineConfigSchema>;
export type PipelineConfigInput = z.input<typeof PipelineConfigSchema>;

/** Names of the variables the stack sets on the functions. */
export const ENV = {
  config: 'PIPELINE_CONFIG',
  ledgerTable: 'LEDGER_TABLE_NAME',
  /** The ingest acts only on events for this bucket. */
  inboxBucket: 'INBOX_BUCKET_NAME',
  exportLedgerTable: 'EXPORT_LEDGER_TABLE_NAME',
  exportQueueUrl: 'EXPORT_QUEUE_URL',
  archiveBucket: 'ARCHIVE_BUCKET_NAME',
} as const;

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** Parses PIPELINE_CONFIG; throws a ConfigError that lists every wrong field. */
export function loadPipelineConfig(env: NodeJS.ProcessEnv = process.env): PipelineConfig {
  const raw = env[ENV.config];
  if (!raw) throw new ConfigError(`${ENV.config} is not set: the stack sets it from the environment entry in cdk.json`);
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch (err) {
    throw new ConfigError(`${ENV.config} is not valid JSON: ${(err as Error).message}`);
  }
  const parsed = PipelineConfigSchema.safeParse(json);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new ConfigError(`${ENV.config} is invalid:\n${lines.join('\n')}`);
  }
  return parsed.data;
}

/** Reads a required variable or explains which one is missing. */
export function requireEnv(name: string, env: NodeJS.ProcessEnv = process.env): string {
  const v = env[name];
  if (!v) throw new ConfigError(`${name} is not set: the stack sets it on the function; set it by hand when running locally`);
  return v;
}
