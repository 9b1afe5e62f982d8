/**
 * The ingest's composition root builds the Bynder connector when the environment configures
 * `bynder`: its secret read from Secrets Manager once (cached), its exchanges counted in the
 * function's metrics, handed to the registry beside iBinder. Against the Bynder emulator.
 */
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { startMemoryS3 } from '../../bench/memory-s3.js';
import { type BynderEmulator, startBynderEmulator } from '../../emulator/bynder/index.js';
import { createIngestDependencies } from '../../functions/ingest/dependencies.js';
import { getObjectTags, readObjectVersion } from '../../functions/ingest/object-store.js';
import { createLocalS3Client } from '../../local/local-s3.js';
import { runtimeBynderConnectorFactory } from '../../shared/connectors/bynder/runtime-client.js';
import { ConnectorConfigError } from '../../shared/connectors/registry.js';
import { METRIC, type MetricName } from '../../shared/observability/metric-names.js';
import { makeConfig } from '../helpers/ingest-factories.js';

const sm = mockClient(SecretsManagerClient);
let emulator: BynderEmulator | undefined;

beforeEach(() => {
  sm.reset();
});
afterEach(async () => {
  await emulator?.close();
  emulator = undefined;
});

function environment(bynder: Record<string, unknown> | undefined): NodeJS.ProcessEnv {
  return {
    PIPELINE_CONFIG: JSON.stringify({ ...makeConfig(), ...(bynder !== undefined ? { bynder } : {}) }),
    LEDGER_TABLE_NAME: 'ledger',
    INBOX_BUCKET_NAME: 'inbox',
    AWS_REGION: 'eu-north-1',
  };
}

describe('createIngestDependencies', () => {
  it('configures iBinder only when the environment has no bynder settings', () => {
    const deps = createIngestDependencies(environment(undefined));
    expect(deps.connectors.map((c) => c.name)).toEqual(['ibinder']);
  });

  it("resolves its S3 client's middleware once per command, and each call still reads its own object", async () => {
    const server = await startMemoryS3();
    const writer = createLocalS3Client(server.endpoint);
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'local');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'local');
    vi.stubEnv('AWS_REGION', 'eu-north-1');
    vi.stubEnv('AWS_ENDPOINT_URL_S3', server.endpoint);
    try {
      const deps = createIngestDependencies({ ...environment(undefined), AWS_ENDPOINT_URL_S3: server.endpoint });
      expect(deps.s3.config.cacheMiddleware).toBe(true);
      const refs = [];
      for (const name of ['a', 'b', 'c']) {
        const put = await writer.send(
          new PutObjectCommand({ Bucket: 'inbox', Key: `inbox/${name}.txt`, Body: `bytes of ${name}`, Tagging: `owner=${name}` }),
        );
        refs.push({ bucket: 'inbox', key: `inbox/${name}.txt`, versionId: put.VersionId, name });
      }
      // Interleaved and repeated: a handler resolved for the first command must take each later command's input.
      for (const ref of [...refs, ...refs.reverse()]) {
        const [tags, read] = await Promise.all([getObjectTags(deps.s3, ref), readObjectVersion(deps.s3, ref, 20)]);
        expect(tags).toEqual([{ Key: 'owner', Value: ref.name }]);
        expect(read?.bytes?.toString('utf8')).toBe(`bytes of ${ref.name}`);
      }
      deps.s3.destroy();
    } finally {
      vi.unstubAllEnvs();
      writer.destroy();
      await server.stop();
    }
  });

  it('builds the Bynder connector from the secret, counting its exchanges, when the environment configures bynder', async () => {
    emulator = await startBynderEmulator();
    sm.on(GetSecretValueCommand, { SecretId: 'bynder/test' }).resolves({
      SecretString: JSON.stringify({ clientId: emulator.clientId, clientSecret: emulator.clientSecret }),
    });
    const counted: MetricName[] = [];
    const metrics = { addMetric: (name: MetricName) => counted.push(name) };
    const deps = createIngestDependencies(
      environment({ portalUrl: emulator.url, credentialsSecretName: 'bynder/test', maxConcurrentRecords: 2 }),
      runtimeBynderConnectorFactory(metrics, { secretsManager: new SecretsManagerClient({ region: 'eu-north-1' }) }),
    );
    expect(deps.connectors.map((c) => c.name)).toEqual(['ibinder', 'bynder']);
    const bynder = deps.connectors[1] as unknown as {
      brands(o?: { fresh?: boolean }): Promise<{ name: string }[]>;
      maxConcurrentRecords: number;
    };
    expect(bynder.maxConcurrentRecords).toBe(2);

    expect((await bynder.brands()).length).toBeGreaterThan(0);
    await bynder.brands({ fresh: true });
    expect(sm.commandCalls(GetSecretValueCommand)).toHaveLength(1);
    expect(counted.filter((m) => m === METRIC.bynderTokenRequests)).toHaveLength(1);
    expect(counted.filter((m) => m === METRIC.bynderApiCalls)).toHaveLength(2);
  });

  it('the default factory is the deployed one: a bynder environment never meets a registry without a factory', () => {
    expect(() =>
      createIngestDependencies(environment({ portalUrl: 'https://portal.bynder.test', credentialsSecretName: 'bynder/test' })),
    ).not.toThrow(ConnectorConfigError);
  });
});
