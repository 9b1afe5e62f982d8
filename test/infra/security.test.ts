/**
 * The stack's security pieces from the environment config: producer policies and roles, the
 * archive's customer-managed key and Object Lock, the export functions' archive grants, and
 * cdk-nag acknowledgement texts that say what the grants they acknowledge allow.
 * Synthesized without bundling: only the template matters here.
 */
import { Validations } from 'aws-cdk-lib';
import type * as iam from 'aws-cdk-lib/aws-iam';
import { describe, expect, it } from 'vitest';
import { MANIFESTS_PREFIX } from '../../infra/config.js';
import { EnvironmentConfigError } from '../../infra/errors.js';
import { archiveKeyFor, sidecarKeyFor } from '../../shared/export/archive-key.js';
import { manifestKeyFor, manifestPartKeyFor } from '../../shared/export/manifest.js';
import { archiveDataPrefix } from '../../infra/pipeline-stack.js';
import { PRODUCER_ACTIONS } from '../../infra/constructs/producer-access.js';
import {
  actionsOn,
  allPolicyStatements,
  buildPipelineApp,
  environmentEntry,
  logicalIdOf,
  propertiesOf,
  statementsOfRole,
  synthesizePipeline,
  type Statement,
  type SynthesizedPipeline,
} from './stack-fixtures.js';

type Entry = Record<string, unknown>;

function withExport(entry: Entry, settings: Entry): Entry {
  return { ...entry, export: { ...(entry.export as Entry | undefined), ...settings } };
}

/** Synthesizes, hands the result to `check`, and removes the cloud assembly afterwards. */
function inStack<T>(envName: string, entry: Entry, check: (synth: SynthesizedPipeline) => T): T {
  const synth = synthesizePipeline(envName, { entry });
  try {
    return check(synth);
  } finally {
    synth.dispose();
  }
}

type Resource = { Type: string; DeletionPolicy?: string; Properties: Record<string, unknown> };
function resourcesOfType(synth: SynthesizedPipeline, type: string): Array<[string, Resource]> {
  return Object.entries(synth.template.toJSON().Resources as Record<string, Resource>).filter(([, r]) => r.Type === type);
}

const ERP = {
  name: 'erp',
  prefix: 'inbox/erp/',
  principals: ['210987654321', 'arn:aws:iam::210987654321:role/erp-upload'],
  allowedTagKeys: ['ibinder:binder', 'ibinder:folder-path', 'ibinder:meta:*'],
};
const SCANNER = { name: 'scanner-3', prefix: 'inbox/scanner-3/' };

describe('producer policies and roles', () => {
  it('none configured: no managed policy, no producer role, no producer output', () => {
    const entry = environmentEntry('dev');
    delete entry.producers;
    inStack('dev', entry, (synth) => {
      synth.template.resourceCountIs('AWS::IAM::ManagedPolicy', 0);
      expect(synth.stack.producers.size).toBe(0);
      expect(Object.keys(synth.template.findOutputs('*')).filter((id) => id.startsWith('Producer'))).toEqual([]);
    });
  });

  it('one managed policy per producer: put and tag under its own prefix only, tag keys limited when configured', () => {
    inStack('dev', { ...environmentEntry('dev'), producers: [ERP, SCANNER] }, (synth) => {
      const inbox = logicalIdOf(synth.stack.inboxBucket);
      const policies = resourcesOfType(synth, 'AWS::IAM::ManagedPolicy');
      expect(policies).toHaveLength(2);
      const byName = new Map(policies.map(([, r]) => [r.Properties.ManagedPolicyName, r.Properties] as const));
      const statementsOf = (name: string): Array<Record<string, unknown>> =>
        (byName.get(name)!.PolicyDocument as { Statement: Array<Record<string, unknown>> }).Statement;

      const erp = statementsOf('IbinderPipeline-dev-producer-erp');
      expect(erp).toHaveLength(1);
      expect(erp[0]).toMatchObject({ Effect: 'Allow', Action: [...PRODUCER_ACTIONS] });
      expect(erp[0]?.Resource).toEqual({ 'Fn::Join': ['', [{ 'Fn::GetAtt': [inbox, 'Arn'] }, '/inbox/erp/*']] });
      expect(erp[0]?.Condition).toEqual({ 'ForAllValues:StringLike': { 's3:RequestObjectTagKeys': ERP.allowedTagKeys } });

      const scanner = statementsOf('IbinderPipeline-dev-producer-scanner-3');
      expect(scanner).toHaveLength(1);
      expect(scanner[0]?.Resource).toEqual({ 'Fn::Join': ['', [{ 'Fn::GetAtt': [inbox, 'Arn'] }, '/inbox/scanner-3/*']] });
      expect(scanner[0]?.Condition).toBeUndefined();

      for (const statement of [...erp, ...scanner]) {
        const actions = statement.Action as string[];
        expect(actions.some((a) => a.includes('*'))).toBe(false);
        expect(actions.some((a) => /Get|List|Delete/.test(a))).toBe(false);
      }
    });
  });

  it('a role only for a producer with principals, and outputs naming the policy and the role', () => {
    inStack('dev', { ...environmentEntry('dev'), producers: [ERP, SCANNER] }, (synth) => {
      const erp = synth.stack.producers.get('erp');
      const scanner = synth.stack.producers.get('scanner-3');
      expect(erp?.role).toBeDefined();
      expect(scanner?.role).toBeUndefined();
      expect(propertiesOf(synth.template, logicalIdOf(erp!.role!)).ManagedPolicyArns).toEqual([{ Ref: logicalIdOf(erp!.policy) }]);
      const outputs = synth.template.findOutputs('*');
      expect(outputs.ProducerErpPolicyArn?.Value).toEqual({ Ref: logicalIdOf(erp!.policy) });
      expect(outputs.ProducerErpRoleArn?.Value).toEqual({ 'Fn::GetAtt': [logicalIdOf(erp!.role!), 'Arn'] });
      expect(outputs.ProducerScanner3PolicyArn?.Value).toEqual({ Ref: logicalIdOf(scanner!.policy) });
      expect(outputs.ProducerScanner3RoleArn).toBeUndefined();
    });
  });

  it.each([
    [{ ...SCANNER, prefix: 'rejected/scanner/' }, 'producers.0.prefix'],
    [{ ...SCANNER, prefix: 'inbox/' }, 'producers.0.prefix'],
    [{ ...SCANNER, prefix: 'inbox/scanner' }, 'producers.0.prefix'],
    [{ ...SCANNER, prefix: 'inbox/scan*/' }, 'producers.0.prefix'],
    [{ ...SCANNER, principals: ['*'] }, 'producers.0.principals.0'],
    [{ ...SCANNER, allowedTagKeys: ['ibinder:meta:$x'] }, 'producers.0.allowedTagKeys.0'],
  ])('refuses %j, naming %s', (producer, field) => {
    expect(() => buildPipelineApp('dev', { entry: { ...environmentEntry('dev'), producers: [producer] } })).toThrow(
      new RegExp(`${field.replace(/\./g, '\\.')}: expected`),
    );
  });

  it('refuses an externalId without principals, naming the field', () => {
    expect(() =>
      buildPipelineApp('dev', { entry: { ...environmentEntry('dev'), producers: [{ ...SCANNER, externalId: 'x-123' }] } }),
    ).toThrow(/producers\.0\.externalId: an externalId needs principals/);
  });

  it('refuses two producers with one name', () => {
    expect(() => buildPipelineApp('dev', { entry: { ...environmentEntry('dev'), producers: [SCANNER, SCANNER] } })).toThrow(
      EnvironmentConfigError,
    );
  });
});

describe('archive encryption', () => {
  const kmsStatements = (statements: Statement[]): Statement[] => statements.filter((s) => s.actions.some((a) => a.startsWith('kms:')));

  it('without archiveKmsKey: SSE-S3, no KMS key made for it, no KMS grant to a function', () => {
    const entry = withExport(environmentEntry('dev'), {});
    delete (entry.export as Entry).archiveKmsKey;
    inStack('dev', entry, (synth) => {
      const encryption = propertiesOf(synth.template, logicalIdOf(synth.stack.archiveBucket)).BucketEncryption;
      expect(encryption).toEqual({ ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] });
      expect(synth.stack.archiveKey).toBeUndefined();
      for (const fn of [synth.stack.ingestFunction, synth.stack.plannerFunction, synth.stack.workerFunction]) {
        expect(kmsStatements(statementsOfRole(synth.template, fn.role))).toEqual([]);
      }
    });
  });

  it.each([
    ['dev', 'Delete'],
    ['staging', 'Retain'],
  ])(
    '"create" in %s: a rotated key (%s with the environment), bucket key on, planner and worker may use it through S3 only',
    (envName, deletion) => {
      inStack(envName, withExport(environmentEntry(envName), { archiveKmsKey: 'create' }), (synth) => {
        const keys = resourcesOfType(synth, 'AWS::KMS::Key').filter(
          ([id]) => id === logicalIdOf(synth.stack.archiveKey!.node.defaultChild!),
        );
        expect(keys).toHaveLength(1);
        const [keyId, key] = keys[0]!;
        expect(key.Properties.EnableKeyRotation).toBe(true);
        expect(key.DeletionPolicy).toBe(deletion);
        expect(propertiesOf(synth.template, logicalIdOf(synth.stack.archiveBucket)).BucketEncryption).toEqual({
          ServerSideEncryptionConfiguration: [
            {
              BucketKeyEnabled: true,
              ServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: { 'Fn::GetAtt': [keyId, 'Arn'] } },
            },
          ],
        });
        const viaS3 = { StringEquals: { 'kms:ViaService': 's3.eu-north-1.amazonaws.com' } };
        for (const fn of [synth.stack.plannerFunction, synth.stack.workerFunction]) {
          expect(kmsStatements(statementsOfRole(synth.template, fn.role))).toEqual([
            { effect: 'Allow', actions: ['kms:Decrypt', 'kms:GenerateDataKey'], resources: [`<${keyId}.Arn>`], condition: viaS3 },
          ]);
        }
        expect(kmsStatements(statementsOfRole(synth.template, synth.stack.ingestFunction.role))).toEqual([]);
      });
    },
  );

  it('{keyArn}: the existing key encrypts the bucket and is the only key the functions may use; no key is created', () => {
    const keyArn = 'arn:aws:kms:eu-north-1:111122223333:key/0b6f4c2e-91d3-4a7b-8e5f-3c1d9a2b7e60';
    inStack('dev', withExport(environmentEntry('dev'), { archiveKmsKey: { keyArn } }), (synth) => {
      expect(synth.stack.archiveKey?.node.defaultChild).toBeUndefined();
      expect(resourcesOfType(synth, 'AWS::KMS::Key').filter(([id]) => id.startsWith('ArchiveKey'))).toEqual([]);
      expect(propertiesOf(synth.template, logicalIdOf(synth.stack.archiveBucket)).BucketEncryption).toEqual({
        ServerSideEncryptionConfiguration: [
          { BucketKeyEnabled: true, ServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: keyArn } },
        ],
      });
      const worker = kmsStatements(statementsOfRole(synth.template, synth.stack.workerFunction.role));
      expect(worker.flatMap((s) => s.resources)).toEqual([keyArn]);
      expect(worker.flatMap((s) => s.actions)).toEqual(['kms:Decrypt', 'kms:GenerateDataKey']);
    });
  });

  it('refuses a key alias or a malformed ARN, naming the field', () => {
    expect(() =>
      buildPipelineApp('dev', { entry: withExport(environmentEntry('dev'), { archiveKmsKey: { keyArn: 'alias/archive' } }) }),
    ).toThrow(/export\.archiveKmsKey\.keyArn: expected a KMS key ARN/);
    expect(() => buildPipelineApp('dev', { entry: withExport(environmentEntry('dev'), { archiveKmsKey: 'yes' }) })).toThrow(
      /export\.archiveKmsKey: expected "create" or \{"keyArn"/,
    );
  });
});

describe('archive Object Lock and write rights', () => {
  const lockOf = (synth: SynthesizedPipeline): unknown =>
    propertiesOf(synth.template, logicalIdOf(synth.stack.archiveBucket)).ObjectLockConfiguration;

  it('prod without a setting: GOVERNANCE for 365 days', () => {
    const entry = environmentEntry('prod');
    delete (entry.export as Entry).archiveObjectLock;
    inStack('prod', entry, (synth) => {
      expect(lockOf(synth)).toEqual({ ObjectLockEnabled: 'Enabled', Rule: { DefaultRetention: { Mode: 'GOVERNANCE', Days: 365 } } });
    });
  });

  it('dev without a setting: no Object Lock; with one: the configured mode and days', () => {
    const entry = environmentEntry('dev');
    delete (entry.export as Entry).archiveObjectLock;
    inStack('dev', entry, (synth) => expect(lockOf(synth)).toBeUndefined());
    inStack('dev', withExport(environmentEntry('dev'), { archiveObjectLock: { mode: 'COMPLIANCE', days: 30 } }), (synth) =>
      expect(lockOf(synth)).toEqual({ ObjectLockEnabled: 'Enabled', Rule: { DefaultRetention: { Mode: 'COMPLIANCE', Days: 30 } } }),
    );
  });

  it('no role may delete, re-lock or bypass the lock of an archive object', () => {
    inStack('prod', environmentEntry('prod'), (synth) => {
      const archive = `<${logicalIdOf(synth.stack.archiveBucket)}.Arn>`;
      const onArchive = allPolicyStatements(synth.template).filter((s) => s.resources.some((r) => r.startsWith(archive)));
      const actions = new Set(onArchive.flatMap((s) => s.actions));
      for (const forbidden of [
        's3:DeleteObject',
        's3:DeleteObjectVersion',
        's3:PutObjectRetention',
        's3:PutObjectLegalHold',
        's3:BypassGovernanceRetention',
        's3:PutBucketObjectLockConfiguration',
      ]) {
        expect(actions.has(forbidden)).toBe(false);
      }
    });
  });

  it('the worker writes files under the tenant prefix and manifests under manifests/, nowhere else in the archive', () => {
    const entry = environmentEntry('dev');
    inStack('dev', entry, (synth) => {
      const archive = `<${logicalIdOf(synth.stack.archiveBucket)}.Arn>`;
      const worker = statementsOfRole(synth.template, synth.stack.workerFunction.role);
      const tenant = archiveDataPrefix(String(entry.tenantId));
      expect(tenant).toBe(`${String(entry.tenantId)}/`);
      const written = worker.filter((s) => s.actions.includes('s3:PutObject')).flatMap((s) => s.resources);
      expect(new Set(written)).toEqual(new Set([`${archive}/${tenant}*`, `${archive}/manifests/*`]));
      expect(actionsOn(worker, `${archive}/${tenant}*`)).toEqual(['s3:AbortMultipartUpload', 's3:GetObject', 's3:PutObject']);
      expect(actionsOn(worker, `${archive}/manifests/*`)).toEqual(['s3:GetObject', 's3:PutObject']);
      expect(worker.some((s) => s.resources.includes(`${archive}/*`))).toBe(false);
    });
  });
});

/** An IAM resource pattern (`*` any characters, `?` one) as a regular expression over keys. */
function keyPatternRegExp(pattern: string): RegExp {
  const escaped = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${escaped}$`);
}

describe('the worker grant covers the keys the export code writes', () => {
  it.each(['dev', 'staging', 'prod'])('%s: files, sidecars, manifest parts and manifests match a granted pattern', (envName) => {
    const entry = environmentEntry(envName);
    inStack(envName, entry, (synth) => {
      const archive = `<${logicalIdOf(synth.stack.archiveBucket)}.Arn>/`;
      const writable = statementsOfRole(synth.template, synth.stack.workerFunction.role)
        .filter((s) => s.actions.includes('s3:PutObject'))
        .flatMap((s) => s.resources)
        .filter((r) => r.startsWith(archive))
        .map((r) => keyPatternRegExp(r.slice(archive.length)));
      const file = archiveKeyFor({
        tenantId: String(entry.tenantId),
        binderId: 'PRJ0001AB',
        documentId: 'doc/with slash',
        versionId: 'v1',
        fileName: 'A-101 Ground floor plan.pdf',
      });
      const startedAt = '2026-11-22T02:00:00.000Z';
      const keys = [
        file,
        sidecarKeyFor(file),
        manifestPartKeyFor('run-1', startedAt, 'worker', new Date(startedAt), 'abcd'),
        manifestKeyFor('run-1', startedAt),
      ];
      for (const key of keys)
        expect(
          writable.some((pattern) => pattern.test(key)),
          key,
        ).toBe(true);
      expect(manifestKeyFor('run-1', startedAt).startsWith(MANIFESTS_PREFIX)).toBe(true);
      // And not everything: a key outside the tenant's prefix and manifests/ is not writable.
      expect(writable.some((pattern) => pattern.test('other-tenant/x/y/z/file.pdf'))).toBe(false);
    });
  });
});

/** The acknowledgements recorded on a construct: rule id -> reason. */
function acknowledgementsOf(role: iam.IRole): Map<string, string> {
  const acknowledged = new Map<string, string>();
  for (const entry of role.node.metadata) {
    if (entry.type !== Validations.ACKNOWLEDGED_RULES_METADATA_KEY) continue;
    for (const [id, reason] of Object.entries(entry.data as Record<string, string>)) acknowledged.set(id, reason);
  }
  return acknowledged;
}

/** `...AwsSolutions-IAM5[Resource::<X.Arn>/pattern]` -> `<X.Arn>/pattern`. */
function acknowledgedResource(id: string): string | undefined {
  return /AwsSolutions-IAM5\[Resource::(<[^>]+>\/.+)\]$/.exec(id)?.[1];
}

/** `... Allowed on <pattern>: a, b; nothing else.` -> [a, b]. */
function actionsNamedIn(reason: string): string[] | undefined {
  return /Allowed on \S+: ([^;]+); nothing else\.$/.exec(reason)?.[1]?.split(', ');
}

describe('cdk-nag acknowledgements say what the grants allow', () => {
  it.each(['dev', 'staging', 'prod'])('%s: each object-wildcard reason names exactly the actions granted there', (envName) => {
    const entry = withExport({ ...environmentEntry(envName), producers: [ERP] }, { archiveKmsKey: 'create' });
    inStack(envName, entry, (synth) => {
      let checked = 0;
      for (const fn of [synth.stack.ingestFunction, synth.stack.plannerFunction, synth.stack.workerFunction]) {
        const statements = statementsOfRole(synth.template, fn.role);
        const acknowledged = acknowledgementsOf(fn.role);
        const wildcardObjects = new Set(
          statements.flatMap((s) => s.resources).filter((r) => r.startsWith('<') && r.includes('/') && r.endsWith('*')),
        );
        for (const resource of wildcardObjects) {
          const entries = [...acknowledged].filter(([id]) => acknowledgedResource(id) === resource);
          expect(entries, `${fn.node.id}: ${resource} is acknowledged once`).toHaveLength(1);
          const reason = entries[0]![1];
          expect(actionsNamedIn(reason), `${fn.node.id}: ${reason}`).toEqual(actionsOn(statements, resource));
          // A reason may not deny what is granted (e.g. "not read" beside s3:GetObject).
          if (actionsOn(statements, resource).includes('s3:GetObject')) expect(reason).not.toMatch(/not read/i);
          checked += 1;
        }
      }
      expect(checked).toBeGreaterThanOrEqual(5);
    });
  });

  it('the producer policy reason promises no read, list or delete, and the policy grants none', () => {
    inStack('dev', { ...environmentEntry('dev'), producers: [ERP] }, (synth) => {
      const policy = synth.stack.producers.get('erp')!.policy;
      const reasons = [...acknowledgementsOf(policy as unknown as iam.IRole).values()];
      expect(reasons).toHaveLength(1);
      expect(reasons[0]).toMatch(/read, list or delete nothing/);
      const document = propertiesOf(synth.template, logicalIdOf(policy)).PolicyDocument as { Statement: Array<{ Action: string[] }> };
      expect(document.Statement.flatMap((s) => s.Action).filter((a) => /Get|List|Delete/.test(a))).toEqual([]);
    });
  });
});
