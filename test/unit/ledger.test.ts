import { ConditionalCheckFailedException, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { IngestLedger } from '../../shared/ledger/ingest-ledger.js';
import { LedgerConflictError, ledgerKey, type CommitPlan, type ObjectRef } from '../../shared/ledger/types.js';

const NOW = Date.parse('2025-01-15T09:00:00Z');
const REF: ObjectRef = { bucket: 'inbox-bucket', key: 'inbox/a b.pdf', versionId: 'v1' };
const PK = 'inbox-bucket/inbox/a b.pdf#v1';

const PLAN: CommitPlan = {
  connector: 'ibinder',
  fileName: 'a b.pdf',
  target: { binderId: 'B', folderId: 'F' },
  labels: { folderPath: 'Drawings/Structural' },
  version: undefined,
  metadata: [{ id: 'discipline', value: 'd-struct' }],
};

const ddb = mockClient(DynamoDBDocumentClient);

function conditionFailed(): ConditionalCheckFailedException {
  return new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {} });
}

function base() {
  return {
    pk: PK,
    bucket: REF.bucket,
    objectKey: REF.key,
    objectVersionId: 'v1',
    updatedAt: '2025-01-15T08:00:00.000Z',
    expiresAt: 2_000_000_000,
  };
}

function claimed(owner: string, leaseExpiresAt: number, extra: Record<string, unknown> = {}) {
  return {
    ...base(),
    state: 'claimed',
    owner,
    leaseExpiresAt,
    attempts: 1,
    claimedAt: '2025-01-15T08:00:00.000Z',
    transferred: false,
    ...extra,
  };
}

function ledger(): IngestLedger {
  return new IngestLedger({
    client: DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'eu-north-1' })),
    tableName: 'ledger',
    leaseSeconds: 900,
    now: () => NOW,
    newClaimToken: () => 'token-1',
  });
}

const LEASE = { owner: 'msg-1', token: 'token-1' };

beforeEach(() => ddb.reset());

describe('ledgerKey', () => {
  it('is bucket/key#versionId, with null for an unversioned object', () => {
    expect(ledgerKey(REF)).toBe(PK);
    expect(ledgerKey({ bucket: 'b', key: 'k' })).toBe('b/k#null');
  });
});

describe('IngestLedger.claim', () => {
  it('claims a new object with a conditional update that also covers expired and own leases', async () => {
    ddb.on(UpdateCommand).resolves({ Attributes: claimed('msg-1', NOW + 900_000) });
    const result = await ledger().claim(REF, 'msg-1');
    expect(result.outcome).toBe('claimed');

    const input = ddb.commandCalls(UpdateCommand)[0]?.args[0].input;
    expect(input?.Key).toEqual({ pk: PK });
    expect(input?.ConditionExpression).toBe('attribute_not_exists(#pk) OR (#state = :claimed AND (#lease < :now OR #owner = :owner))');
    expect(input?.ExpressionAttributeValues).toMatchObject({
      ':owner': 'msg-1',
      ':lease': NOW + 900_000,
      ':now': NOW,
      ':objectVersionId': 'v1',
    });
    // Takeover keeps the stored upload: uploadId is never written by claim, transferred only if absent.
    expect(input?.UpdateExpression).toContain('#transferred = if_not_exists(#transferred, :false)');
    expect(input?.UpdateExpression).not.toContain('uploadId');
    expect(input?.ReturnValues).toBe('ALL_NEW');
  });

  it('returns the taken-over claim with its uploadId and transferred flag (crash after PUT)', async () => {
    ddb.on(UpdateCommand).resolves({ Attributes: claimed('msg-2', NOW + 900_000, { uploadId: 'up-1', transferred: true, attempts: 2 }) });
    const result = await ledger().claim(REF, 'msg-2');
    expect(result).toMatchObject({ outcome: 'claimed', entry: { uploadId: 'up-1', transferred: true, attempts: 2 } });
  });

  it('reports committed when the object was already ingested', async () => {
    ddb.on(UpdateCommand).rejects(conditionFailed());
    ddb.on(GetCommand).resolves({
      Item: {
        ...base(),
        state: 'committed',
        committedAt: 'x',
        connector: 'ibinder',
        versionIds: { documentId: 'doc-1', versionId: 'ver-1' },
      },
    });
    const result = await ledger().claim(REF, 'msg-1');
    expect(result).toMatchObject({
      outcome: 'committed',
      entry: { connector: 'ibinder', versionIds: { documentId: 'doc-1', versionId: 'ver-1' } },
    });
    expect(ddb.commandCalls(GetCommand)[0]?.args[0].input).toMatchObject({ Key: { pk: PK }, ConsistentRead: true });
  });

  it('reports rejected when the object was already rejected', async () => {
    ddb.on(UpdateCommand).rejects(conditionFailed());
    ddb.on(GetCommand).resolves({
      Item: { ...base(), state: 'rejected', rejectedAt: 'x', reasons: [{ code: 'tags', field: 'f', message: 'm', fix: 'x' }] },
    });
    expect((await ledger().claim(REF, 'msg-1')).outcome).toBe('rejected');
  });

  it('reports busy when another consumer holds a live lease', async () => {
    ddb.on(UpdateCommand).rejects(conditionFailed());
    ddb.on(GetCommand).resolves({ Item: claimed('msg-other', NOW + 60_000) });
    const result = await ledger().claim(REF, 'msg-1');
    expect(result).toMatchObject({ outcome: 'busy', entry: { owner: 'msg-other' } });
  });

  it('passes other DynamoDB errors through (throttling is transient for the caller)', async () => {
    const throttled = Object.assign(new Error('Rate exceeded'), { name: 'ProvisionedThroughputExceededException' });
    ddb.on(UpdateCommand).rejects(throttled);
    await expect(ledger().claim(REF, 'msg-1')).rejects.toThrow('Rate exceeded');
  });
});

describe('IngestLedger claim tokens (one message delivered to two invocations at once)', () => {
  it('writes a fresh token with every claim and hands it back as the lease', async () => {
    ddb.on(UpdateCommand).resolves({ Attributes: claimed('msg-1', NOW + 900_000, { claimToken: 'token-1' }) });
    const result = await ledger().claim(REF, 'msg-1');
    expect(result).toMatchObject({ outcome: 'claimed', lease: LEASE, entry: { claimToken: 'token-1' } });
    const input = ddb.commandCalls(UpdateCommand)[0]?.args[0].input;
    expect(input?.UpdateExpression).toContain('#claimToken = :claimToken');
    expect(input?.ExpressionAttributeValues).toMatchObject({ ':claimToken': 'token-1' });
  });

  it('makes every write under a lease conditional on its token, not only on the owner', async () => {
    ddb.on(UpdateCommand).resolves({});
    const l = ledger();
    await l.markTransferred(REF, LEASE, { uploadId: 'up-1', plan: PLAN });
    await l.markCommitted(REF, LEASE, { version: { connector: 'ibinder', ids: { documentId: 'd', versionId: 'v' } } });
    await l.markRejected(REF, LEASE, []);
    const [transferred, committed, rejected] = ddb.commandCalls(UpdateCommand).map((c) => c.args[0].input);
    expect(transferred?.ConditionExpression).toBe('#state = :claimed AND #owner = :owner AND #claimToken = :claimToken');
    expect(committed?.ConditionExpression).toBe('#state = :claimed AND #owner = :owner AND #claimToken = :claimToken');
    // Only the claim's holder rejects: no rejection without a claim or over an expired one.
    expect(rejected?.ConditionExpression).toBe(
      '#state = :rejected OR (#state = :claimed AND #owner = :owner AND #claimToken = :claimToken)',
    );
    for (const input of [transferred, committed, rejected]) {
      expect(input?.ExpressionAttributeValues).toMatchObject({ ':owner': 'msg-1', ':claimToken': 'token-1' });
      const text = `${input?.UpdateExpression ?? ''} ${input?.ConditionExpression ?? ''}`;
      for (const name of Object.keys(input?.ExpressionAttributeNames ?? {})) expect(text, name).toMatch(new RegExp(`${name}\\b`));
      for (const value of Object.keys(input?.ExpressionAttributeValues ?? {})) expect(text, value).toMatch(new RegExp(`${value}\\b`));
    }
  });

  it('fails the late write of a superseded claim of the same message with a LedgerConflictError', async () => {
    ddb.on(UpdateCommand).rejects(conditionFailed());
    ddb.on(GetCommand).resolves({ Item: claimed('msg-1', NOW + 900_000, { claimToken: 'token-2' }) });
    const error = await ledger()
      .markTransferred(REF, LEASE, { uploadId: 'up-late', plan: PLAN })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LedgerConflictError);
    expect((error as Error).message).toContain('another claim took the object over');
    expect((error as Error).message).not.toContain('token-');
  });

  it('does not take a commit of another document version for success: a conflict naming both versions', async () => {
    ddb.on(UpdateCommand).rejects(conditionFailed());
    ddb.on(GetCommand).resolves({
      Item: {
        ...base(),
        state: 'committed',
        committedAt: 'x',
        connector: 'ibinder',
        versionIds: { documentId: 'doc-1', versionId: 'ver-1' },
      },
    });
    const error = await ledger()
      .markCommitted(REF, LEASE, { version: { connector: 'ibinder', ids: { documentId: 'doc-1', versionId: 'ver-2' } } })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LedgerConflictError);
    expect((error as Error).message).toMatch(/versionId=ver-2.*versionId=ver-1/);
    expect((error as LedgerConflictError).current).toMatchObject({ state: 'committed', versionIds: { versionId: 'ver-1' } });
  });
});

describe('IngestLedger state changes', () => {
  it("stores the upload id with the transferred flag, in one write after the transfer, only under the caller's claim", async () => {
    ddb.on(UpdateCommand).resolves({});
    await ledger().markTransferred(REF, LEASE, { uploadId: 'up-1', plan: PLAN });
    const [transferred] = ddb.commandCalls(UpdateCommand).map((c) => c.args[0].input);
    expect(ddb.commandCalls(UpdateCommand)).toHaveLength(1);
    expect(transferred?.ConditionExpression).toBe('#state = :claimed AND #owner = :owner AND #claimToken = :claimToken');
    expect(transferred?.ExpressionAttributeValues).toMatchObject({
      ':uploadId': 'up-1',
      ':true': true,
      ':owner': 'msg-1',
      ':claimToken': 'token-1',
    });
  });

  it('stores the commit plan and its connector with the upload id in one conditional update, and drops an earlier commit mark', async () => {
    ddb.on(UpdateCommand).resolves({});
    await ledger().markTransferred(REF, LEASE, { uploadId: 'up-1', plan: PLAN });
    const [withPlan] = ddb.commandCalls(UpdateCommand).map((c) => c.args[0].input);
    expect(withPlan?.ConditionExpression).toBe('#state = :claimed AND #owner = :owner AND #claimToken = :claimToken');
    expect(withPlan?.UpdateExpression).toContain('#commitPlan = :commitPlan');
    expect(withPlan?.UpdateExpression).toMatch(/ REMOVE #commitStarted$/);
    expect(withPlan?.ExpressionAttributeValues?.[':connector']).toBe('ibinder');
    // A map without undefined attributes (DynamoDB has no undefined), metadata as value ids.
    expect(withPlan?.ExpressionAttributeValues?.[':commitPlan']).toEqual({
      connector: 'ibinder',
      fileName: 'a b.pdf',
      target: { binderId: 'B', folderId: 'F' },
      labels: { folderPath: 'Drawings/Structural' },
      metadata: [{ id: 'discipline', value: 'd-struct' }],
    });
  });

  it('marks a commit under way only for the transferred upload it names, with its context', async () => {
    ddb.on(UpdateCommand).resolves({});
    await ledger().markCommitStarted(REF, LEASE, 'up-1', { versionCount: '3' });
    const input = ddb.commandCalls(UpdateCommand)[0]?.args[0].input;
    expect(input?.ConditionExpression).toBe(
      '#state = :claimed AND #owner = :owner AND #claimToken = :claimToken AND #uploadId = :uploadId AND #transferred = :true',
    );
    expect(input?.ExpressionAttributeValues?.[':mark']).toEqual({
      uploadId: 'up-1',
      at: new Date(NOW).toISOString(),
      context: { versionCount: '3' },
    });
    ddb.reset();
    ddb.on(GetCommand).resolves({
      Item: claimed('msg-1', NOW, { uploadId: 'up-1', transferred: true, commitPlan: PLAN, commitStarted: { uploadId: 'up-1', at: 'x' } }),
    });
    const entry = await ledger().get(REF);
    expect(entry?.state === 'claimed' ? entry.commitStarted : undefined).toEqual({ uploadId: 'up-1', at: 'x' });
  });

  it('reads the stored commit plan back through its schema; entries without one have none', async () => {
    // As DynamoDB returns it: no attribute for the absent version label.
    const { version: _absent, ...stored } = PLAN;
    ddb
      .on(GetCommand)
      .resolvesOnce({ Item: claimed('msg-1', NOW, { uploadId: 'up-1', transferred: true, commitPlan: stored }) })
      .resolvesOnce({ Item: claimed('msg-1', NOW, { uploadId: 'up-1', transferred: true }) })
      .resolvesOnce({ Item: claimed('msg-1', NOW, { uploadId: 'up-1', commitPlan: { target: { binderId: 'B' }, fileName: 'a.pdf' } }) });
    const l = ledger();
    const withPlan = await l.get(REF);
    expect(withPlan?.state === 'claimed' ? withPlan.commitPlan : 'not claimed').toEqual(PLAN);
    const old = await l.get(REF);
    expect(old?.state === 'claimed' ? old.commitPlan : 'not claimed').toBeUndefined();
    await expect(l.get(REF)).rejects.toThrow(/not a valid ingest ledger entry: commitPlan\.connector/);
  });

  it('keeps the commit plan of a taken-over claim (claim never writes it)', async () => {
    ddb
      .on(UpdateCommand)
      .resolves({ Attributes: claimed('msg-2', NOW + 900_000, { uploadId: 'up-1', transferred: true, commitPlan: PLAN }) });
    const result = await ledger().claim(REF, 'msg-2');
    expect(result).toMatchObject({ outcome: 'claimed', entry: { commitPlan: PLAN } });
    expect(ddb.commandCalls(UpdateCommand)[0]?.args[0].input.UpdateExpression).not.toContain('commitPlan');
  });

  it('throws LedgerConflictError when the claim was lost', async () => {
    ddb.on(UpdateCommand).rejects(conditionFailed());
    ddb.on(GetCommand).resolves({ Item: claimed('msg-other', NOW + 60_000) });
    const error = await ledger()
      .markTransferred(REF, LEASE, { uploadId: 'up-1', plan: PLAN })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LedgerConflictError);
    expect((error as Error).message).toContain('claimed by message msg-other');
  });

  it('records the commit, removes the lease and keeps the ids', async () => {
    ddb.on(UpdateCommand).resolves({});
    await ledger().markCommitted(REF, LEASE, {
      version: { connector: 'ibinder', ids: { documentId: 'doc-1', versionId: 'ver-1' }, versionLabel: 'A' },
      target: { binderId: 'B', folderId: 'F' },
    });
    const input = ddb.commandCalls(UpdateCommand)[0]?.args[0].input;
    expect(input?.ConditionExpression).toBe('#state = :claimed AND #owner = :owner AND #claimToken = :claimToken');
    expect(input?.UpdateExpression).toContain('REMOVE #lease');
    expect(input?.ExpressionAttributeValues).toMatchObject({
      ':committed': 'committed',
      ':connector': 'ibinder',
      ':versionIds': { documentId: 'doc-1', versionId: 'ver-1' },
      ':target': { binderId: 'B', folderId: 'F' },
      ':versionLabel': 'A',
      ':ttl': Math.floor(NOW / 1000) + 90 * 86_400,
    });
  });

  it('treats a commit already recorded by another consumer as success', async () => {
    ddb.on(UpdateCommand).rejects(conditionFailed());
    ddb.on(GetCommand).resolves({
      Item: {
        ...base(),
        state: 'committed',
        committedAt: 'x',
        connector: 'ibinder',
        versionIds: { documentId: 'doc-1', versionId: 'ver-1' },
      },
    });
    await expect(
      ledger().markCommitted(REF, LEASE, { version: { connector: 'ibinder', ids: { documentId: 'doc-1', versionId: 'ver-1' } } }),
    ).resolves.toBeUndefined();
  });

  it("records a rejection under the caller's claim, but not over a commit nor without a claim", async () => {
    ddb.on(UpdateCommand).resolvesOnce({}).rejects(conditionFailed());
    ddb
      .on(GetCommand)
      .resolvesOnce({
        Item: {
          ...base(),
          state: 'committed',
          committedAt: 'x',
          connector: 'ibinder',
          versionIds: { documentId: 'doc-1', versionId: 'ver-1' },
        },
      })
      .resolves({});
    const l = ledger();
    const reasons = [{ code: 'metadata' as const, field: 'ibinder:meta:x', message: 'm', fix: 'f' }];
    await l.markRejected(REF, LEASE, reasons, 'rejected/a b.pdf');
    const input = ddb.commandCalls(UpdateCommand)[0]?.args[0].input;
    expect(input?.ConditionExpression).toBe('#state = :rejected OR (#state = :claimed AND #owner = :owner AND #claimToken = :claimToken)');
    expect(input?.ExpressionAttributeValues).toMatchObject({
      ':reasons': reasons,
      ':rejectedKey': 'rejected/a b.pdf',
      ':claimToken': 'token-1',
    });
    await expect(l.markRejected(REF, LEASE, reasons)).rejects.toBeInstanceOf(LedgerConflictError);
    await expect(l.markRejected(REF, LEASE, reasons)).rejects.toThrow(
      /rejection of inbox-bucket\/inbox\/a b.pdf#v1: the ledger entry is missing/,
    );
  });

  it('uses every expression attribute name and value it declares (DynamoDB refuses unused ones)', async () => {
    ddb.on(UpdateCommand).resolves({ Attributes: claimed('msg-1', NOW + 900_000) });
    const l = ledger();
    const claim = await l.claim(REF, 'msg-1');
    if (claim.outcome !== 'claimed') throw new Error(`expected a claim, got ${claim.outcome}`);
    const { lease } = claim;
    await l.markTransferred(REF, lease, { uploadId: 'up-1', plan: PLAN });
    await l.markCommitStarted(REF, lease, 'up-1', { versionCount: '2' });
    await l.markCommitStarted(REF, lease, 'up-1');
    await l.markCommitted(REF, lease, { version: { connector: 'ibinder', ids: { documentId: 'd', versionId: 'v' } }, uploadId: 'up-1' });
    await l.markRejected(REF, lease, []);
    for (const call of ddb.commandCalls(UpdateCommand)) {
      const input = call.args[0].input;
      const text = `${input.UpdateExpression ?? ''} ${input.ConditionExpression ?? ''}`;
      for (const name of Object.keys(input.ExpressionAttributeNames ?? {})) expect(text, name).toMatch(new RegExp(`${name}\\b`));
      for (const value of Object.keys(input.ExpressionAttributeValues ?? {})) expect(text, value).toMatch(new RegExp(`${value}\\b`));
    }
  });

  it('refuses an item that is not a ledger entry with a message naming it', async () => {
    ddb.on(GetCommand).resolves({ Item: { pk: PK, state: 'weird' } });
    await expect(ledger().get(REF)).rejects.toThrow(/inbox-bucket\/inbox\/a b.pdf#v1 .* not a valid ingest ledger entry/);
  });
});

describe('unversioned uploads', () => {
  it('gives each upload of an unversioned key its own ledger key, stored as its objectVersionId', async () => {
    const upload = { bucket: 'b', key: 'k', upload: { id: 'seq:0055AED6DCD90281E5', eTag: '"e1"' } };
    expect(ledgerKey(upload)).toBe('b/k#null:seq:0055AED6DCD90281E5');
    expect(ledgerKey({ bucket: 'b', key: 'k', versionId: 'null:seq:0055AED6DCD90281E5' })).toBe(ledgerKey(upload));
    ddb.on(UpdateCommand).resolves({
      Attributes: { ...claimed('msg-1', NOW + 900_000), pk: ledgerKey(upload), objectVersionId: 'null:seq:0055AED6DCD90281E5' },
    });
    await ledger().claim(upload, 'msg-1');
    const input = ddb.commandCalls(UpdateCommand)[0]?.args[0].input;
    expect(input?.Key).toEqual({ pk: 'b/k#null:seq:0055AED6DCD90281E5' });
    expect(input?.ExpressionAttributeValues).toMatchObject({ ':objectVersionId': 'null:seq:0055AED6DCD90281E5' });
  });
});

describe('IngestLedger superseded entries', () => {
  it("records superseded only under the caller's claim, with both sequencers", async () => {
    ddb.on(UpdateCommand).resolves({});
    await ledger().markSuperseded(REF, LEASE, { sequencer: '0A', newerSequencer: '0B' });
    const input = ddb.commandCalls(UpdateCommand)[0]?.args[0].input;
    expect(input?.ConditionExpression).toBe(
      '#state = :superseded OR (#state = :claimed AND #owner = :owner AND #claimToken = :claimToken)',
    );
    expect(input?.ExpressionAttributeValues).toMatchObject({ ':sequencer': '0A', ':newerSequencer': '0B', ':claimToken': 'token-1' });
  });

  it('fails with a LedgerConflictError naming the entry when the claim was lost', async () => {
    ddb.on(UpdateCommand).rejects(conditionFailed());
    ddb.on(GetCommand).resolves({ Item: claimed('msg-other', NOW + 60_000) });
    await expect(ledger().markSuperseded(REF, LEASE, { sequencer: '0A', newerSequencer: '0B' })).rejects.toThrow(
      /cannot record .* as superseded by sequencer 0B: the ledger entry is claimed by message msg-other/,
    );
  });

  it('reports superseded to a later claim', async () => {
    ddb.on(UpdateCommand).rejects(conditionFailed());
    ddb.on(GetCommand).resolves({ Item: { ...base(), state: 'superseded', supersededAt: 'x', sequencer: '0A', newerSequencer: '0B' } });
    expect(await ledger().claim(REF, 'msg-1')).toMatchObject({ outcome: 'superseded', entry: { newerSequencer: '0B' } });
  });
});

describe('IngestLedger key order', () => {
  const KEY_PK = 'key#inbox-bucket#inbox/a b.pdf';

  it('takes the key commit lease with a conditional write on its own item and returns the newest committed sequencer', async () => {
    ddb.on(UpdateCommand).resolves({
      Attributes: { pk: KEY_PK, committedSequencer: '0A', leaseOwner: 'msg-1', leaseToken: 'token-1', leaseExpiresAt: NOW + 900_000 },
    });
    const result = await ledger().acquireKeyCommit(REF.bucket, REF.key, 'msg-1');
    expect(result).toEqual({
      outcome: 'acquired',
      committedSequencer: '0A',
      lease: { bucket: REF.bucket, key: REF.key, owner: 'msg-1', token: 'token-1' },
    });
    const input = ddb.commandCalls(UpdateCommand)[0]?.args[0].input;
    expect(input?.Key).toEqual({ pk: KEY_PK });
    expect(input?.ConditionExpression).toBe('attribute_not_exists(#leaseExpiresAt) OR #leaseExpiresAt < :now OR #leaseOwner = :owner');
    // The item carries no objectKey, so it stays out of the object index the CLI's status reads.
    expect(input?.UpdateExpression).not.toContain('objectKey');
  });

  it('reports busy with the holder and its expiry', async () => {
    ddb.on(UpdateCommand).rejects(conditionFailed());
    ddb.on(GetCommand).resolves({ Item: { pk: KEY_PK, leaseOwner: 'msg-other', leaseToken: 't', leaseExpiresAt: NOW + 5_000 } });
    expect(await ledger().acquireKeyCommit(REF.bucket, REF.key, 'msg-1')).toEqual({
      outcome: 'busy',
      owner: 'msg-other',
      leaseExpiresAt: NOW + 5_000,
    });
  });

  it("raises the sequencer only under the lease's token, and says what happened when the lease was taken over", async () => {
    ddb
      .on(UpdateCommand)
      .rejects(Object.assign(conditionFailed(), { Item: marshall({ pk: KEY_PK, leaseOwner: 'msg-2', leaseToken: 'token-2' }) }));
    const lease = { bucket: REF.bucket, key: REF.key, owner: 'msg-1', token: 'token-1' };
    await expect(ledger().raiseCommittedSequencer(lease, '0B')).rejects.toThrow(/commit lease of message msg-1 was taken over/);
    expect(ddb.commandCalls(UpdateCommand)[0]?.args[0].input).toMatchObject({
      ConditionExpression: '#leaseToken = :token',
      ExpressionAttributeValues: expect.objectContaining({ ':sequencer': '0B', ':token': 'token-1' }),
    });
  });

  it('releases and restores quietly when the lease is already gone', async () => {
    ddb
      .on(UpdateCommand)
      .rejects(Object.assign(conditionFailed(), { Item: marshall({ pk: KEY_PK, leaseOwner: 'msg-2', leaseToken: 'token-2' }) }));
    const lease = { bucket: REF.bucket, key: REF.key, owner: 'msg-1', token: 'token-1' };
    await expect(ledger().releaseKeyCommit(lease)).resolves.toBeUndefined();
    await expect(ledger().restoreCommittedSequencer(lease, '0B', '0A')).resolves.toBeUndefined();
    expect(ddb.commandCalls(UpdateCommand)[1]?.args[0].input.ConditionExpression).toBe(
      '#leaseToken = :token AND #committedSequencer = :sequencer',
    );
    expect(ddb.commandCalls(GetCommand)).toHaveLength(0);
  });

  it('releases and restores quietly against a server that returns no item with the failure (a local DynamoDB)', async () => {
    ddb.on(UpdateCommand).rejects(conditionFailed());
    ddb.on(GetCommand).resolves({});
    const lease = { bucket: REF.bucket, key: REF.key, owner: 'msg-1', token: 'token-1' };
    await expect(ledger().releaseKeyCommit(lease)).resolves.toBeUndefined();
    await expect(ledger().restoreCommittedSequencer(lease, '0B', undefined)).resolves.toBeUndefined();
    await expect(ledger().raiseCommittedSequencer(lease, '0B')).rejects.toBeInstanceOf(LedgerConflictError);
  });
});

describe('IngestLedger writes under a claim without a second read', () => {
  const KEY_PK = 'key#inbox-bucket#inbox/a b.pdf';
  const OTHER_CLAIM = claimed('msg-other', NOW + 60_000, { claimToken: 'token-9' });

  /** Every write fails its condition with the item as DynamoDB returns it (ALL_OLD); reads are not mocked. */
  function failWithCurrent(item: Record<string, unknown>): void {
    ddb.on(UpdateCommand).rejects(Object.assign(conditionFailed(), { Item: marshall(item) }));
  }

  function expectOneWriteAskingForTheCurrentItem(): void {
    const updates = ddb.commandCalls(UpdateCommand);
    expect(updates).toHaveLength(1);
    expect(updates[0]?.args[0].input.ReturnValuesOnConditionCheckFailure).toBe('ALL_OLD');
    expect(ddb.commandCalls(GetCommand)).toHaveLength(0);
  }

  it('records the transferred upload: a lost claim is a LedgerConflictError carrying the returned item', async () => {
    failWithCurrent(OTHER_CLAIM);
    const err = await ledger()
      .markTransferred(REF, LEASE, { uploadId: 'up-1', plan: PLAN })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LedgerConflictError);
    expect((err as LedgerConflictError).current).toMatchObject({ state: 'claimed', owner: 'msg-other' });
    expect((err as LedgerConflictError).message).toMatch(/record upload up-1 as transferred .* claimed by message msg-other/);
    expectOneWriteAskingForTheCurrentItem();
  });

  it('takes a commit already recorded with the same version, as returned by the failed write, for success', async () => {
    failWithCurrent({
      ...base(),
      state: 'committed',
      committedAt: 'x',
      connector: 'ibinder',
      versionIds: { documentId: 'doc-1', versionId: 'ver-1' },
    });
    await expect(
      ledger().markCommitted(REF, LEASE, { version: { connector: 'ibinder', ids: { documentId: 'doc-1', versionId: 'ver-1' } } }),
    ).resolves.toBeUndefined();
    expectOneWriteAskingForTheCurrentItem();
  });

  it('names both versions when the failed write returns a commit of another version', async () => {
    failWithCurrent({
      ...base(),
      state: 'committed',
      committedAt: 'x',
      connector: 'ibinder',
      versionIds: { documentId: 'doc-1', versionId: 'ver-1' },
    });
    const err = await ledger()
      .markCommitted(REF, LEASE, { version: { connector: 'ibinder', ids: { documentId: 'doc-1', versionId: 'ver-2' } } })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LedgerConflictError);
    expect((err as LedgerConflictError).message).toMatch(
      /versionId=ver-2: the ledger already records ibinder documentId=doc-1 versionId=ver-1/,
    );
    expect((err as LedgerConflictError).current).toMatchObject({ state: 'committed', versionIds: { versionId: 'ver-1' } });
    expectOneWriteAskingForTheCurrentItem();
  });

  it('takes a rejection already recorded, as returned by the failed write, for success; a commit is a conflict', async () => {
    failWithCurrent({ ...base(), state: 'rejected', rejectedAt: 'x', reasons: [] });
    await expect(ledger().markRejected(REF, LEASE, [])).resolves.toBeUndefined();
    expectOneWriteAskingForTheCurrentItem();
    ddb.reset();
    failWithCurrent({
      ...base(),
      state: 'committed',
      committedAt: 'x',
      connector: 'ibinder',
      versionIds: { documentId: 'doc-1', versionId: 'ver-1' },
    });
    const err = await ledger()
      .markRejected(REF, LEASE, [])
      .catch((e: unknown) => e);
    expect((err as LedgerConflictError).current).toMatchObject({ state: 'committed' });
    expect((err as LedgerConflictError).message).toMatch(
      /cannot record the rejection .* committed as ibinder documentId=doc-1 versionId=ver-1/,
    );
    expectOneWriteAskingForTheCurrentItem();
  });

  it('takes a superseded entry, as returned by the failed write, for success; a lost claim is a conflict', async () => {
    const order = { sequencer: '0A', newerSequencer: '0B' };
    failWithCurrent({ ...base(), state: 'superseded', supersededAt: 'x', sequencer: '0A', newerSequencer: '0B' });
    await expect(ledger().markSuperseded(REF, LEASE, order)).resolves.toBeUndefined();
    expectOneWriteAskingForTheCurrentItem();
    ddb.reset();
    failWithCurrent(OTHER_CLAIM);
    const err = await ledger()
      .markSuperseded(REF, LEASE, order)
      .catch((e: unknown) => e);
    expect((err as LedgerConflictError).current).toMatchObject({ state: 'claimed', owner: 'msg-other' });
    expectOneWriteAskingForTheCurrentItem();
  });

  it('reports the key commit lease busy with the holder the failed write returns', async () => {
    failWithCurrent({ pk: KEY_PK, leaseOwner: 'msg-other', leaseToken: 't', leaseExpiresAt: NOW + 5_000 });
    expect(await ledger().acquireKeyCommit(REF.bucket, REF.key, 'msg-1')).toEqual({
      outcome: 'busy',
      owner: 'msg-other',
      leaseExpiresAt: NOW + 5_000,
    });
    expectOneWriteAskingForTheCurrentItem();
  });
});

describe('IngestLedger claim without a second read', () => {
  it('takes the current item from the failed write (ALL_OLD) and reads nothing more', async () => {
    const committed = {
      ...base(),
      state: 'committed',
      committedAt: 'x',
      connector: 'ibinder',
      versionIds: { documentId: 'doc-1', versionId: 'ver-1' },
    };
    ddb.on(UpdateCommand).rejects(Object.assign(conditionFailed(), { Item: marshall(committed) }));
    const result = await ledger().claim(REF, 'msg-1');
    expect(result).toMatchObject({
      outcome: 'committed',
      entry: { connector: 'ibinder', versionIds: { documentId: 'doc-1', versionId: 'ver-1' } },
    });
    expect(ddb.commandCalls(UpdateCommand)[0]?.args[0].input.ReturnValuesOnConditionCheckFailure).toBe('ALL_OLD');
    expect(ddb.commandCalls(GetCommand)).toHaveLength(0);
  });
});

describe('IngestLedger.acquireKeyCommitInOrder', () => {
  const KEY_PK = 'key#inbox-bucket#inbox/a b.pdf';

  it('takes the lease and records the sequencer in one write for the first upload of a key', async () => {
    ddb.on(UpdateCommand).resolves({
      Attributes: { pk: KEY_PK, committedSequencer: '0B', leaseOwner: 'msg-1', leaseToken: 'token-1', leaseExpiresAt: NOW + 900_000 },
    });
    const result = await ledger().acquireKeyCommitInOrder(REF.bucket, REF.key, 'msg-1', '0B');
    expect(result).toEqual({
      outcome: 'acquired',
      lease: { bucket: REF.bucket, key: REF.key, owner: 'msg-1', token: 'token-1' },
      previousSequencer: undefined,
    });
    const calls = ddb.commandCalls(UpdateCommand);
    expect(calls).toHaveLength(1);
    expect(calls[0]?.args[0].input).toMatchObject({
      Key: { pk: KEY_PK },
      ConditionExpression:
        '(attribute_not_exists(#leaseExpiresAt) OR #leaseExpiresAt < :now OR #leaseOwner = :owner) AND attribute_not_exists(#committedSequencer)',
      ExpressionAttributeValues: expect.objectContaining({ ':sequencer': '0B', ':owner': 'msg-1' }),
    });
    expect(calls[0]?.args[0].input.UpdateExpression).toContain('#committedSequencer = :sequencer');
  });

  it('replaces an older committed sequencer with a second write conditional on it, and returns it for a restore', async () => {
    ddb
      .on(UpdateCommand)
      .rejectsOnce(Object.assign(conditionFailed(), { Item: marshall({ pk: KEY_PK, committedSequencer: '0A' }) }))
      .resolves({ Attributes: { pk: KEY_PK, committedSequencer: '0B' } });
    const result = await ledger().acquireKeyCommitInOrder(REF.bucket, REF.key, 'msg-1', '0B');
    expect(result).toMatchObject({ outcome: 'acquired', previousSequencer: '0A' });
    const second = ddb.commandCalls(UpdateCommand)[1]?.args[0].input;
    expect(second?.ConditionExpression).toContain('#committedSequencer = :expected');
    expect(second?.ExpressionAttributeValues).toMatchObject({ ':expected': '0A', ':sequencer': '0B' });
    expect(ddb.commandCalls(GetCommand)).toHaveLength(0);
  });

  it('reports superseded, writing nothing, when a newer upload is recorded (sequencers compared left-padded)', async () => {
    ddb.on(UpdateCommand).rejects(Object.assign(conditionFailed(), { Item: marshall({ pk: KEY_PK, committedSequencer: '100' }) }));
    expect(await ledger().acquireKeyCommitInOrder(REF.bucket, REF.key, 'msg-1', 'FF')).toEqual({
      outcome: 'superseded',
      newerSequencer: '100',
    });
    expect(ddb.commandCalls(UpdateCommand)).toHaveLength(1);
  });

  it('reports busy with the holder and its expiry while another upload holds the lease', async () => {
    ddb.on(UpdateCommand).rejects(
      Object.assign(conditionFailed(), {
        Item: marshall({ pk: KEY_PK, leaseOwner: 'msg-other', leaseToken: 't', leaseExpiresAt: NOW + 5_000 }),
      }),
    );
    expect(await ledger().acquireKeyCommitInOrder(REF.bucket, REF.key, 'msg-1', '0B')).toEqual({
      outcome: 'busy',
      owner: 'msg-other',
      leaseExpiresAt: NOW + 5_000,
    });
  });

  it('reads the item once where the server returns none with the failure (a local DynamoDB)', async () => {
    ddb.on(UpdateCommand).rejectsOnce(conditionFailed()).resolves({});
    ddb.on(GetCommand).resolves({ Item: { pk: KEY_PK, committedSequencer: '0A' } });
    expect(await ledger().acquireKeyCommitInOrder(REF.bucket, REF.key, 'msg-1', '0B')).toMatchObject({
      outcome: 'acquired',
      previousSequencer: '0A',
    });
    expect(ddb.commandCalls(GetCommand)).toHaveLength(1);
  });
});

describe('IngestLedger.markCommittedReleasingKeyCommit', () => {
  const KEY_LEASE = { bucket: REF.bucket, key: REF.key, owner: 'msg-1', token: 'key-token' };
  const COMMIT = { version: { connector: 'ibinder' as const, ids: { documentId: 'doc-1', versionId: 'ver-1' } } };

  it('records the commit and gives the key lease up in one transaction, each conditional on its own token', async () => {
    ddb.on(TransactWriteCommand).resolves({});
    await ledger().markCommittedReleasingKeyCommit(REF, LEASE, COMMIT, KEY_LEASE);
    const items = ddb.commandCalls(TransactWriteCommand)[0]?.args[0].input.TransactItems ?? [];
    expect(items[0]?.Update).toMatchObject({
      Key: { pk: PK },
      ConditionExpression: '#state = :claimed AND #owner = :owner AND #claimToken = :claimToken',
    });
    expect(items[1]?.Update).toMatchObject({ Key: { pk: 'key#inbox-bucket#inbox/a b.pdf' }, ConditionExpression: '#leaseToken = :token' });
    expect(ddb.commandCalls(UpdateCommand)).toHaveLength(0);
  });

  it('writes one item each where the endpoint has no transactions (a local DynamoDB), and remembers it', async () => {
    ddb.on(TransactWriteCommand).rejects(Object.assign(new Error('unknown operation'), { name: 'UnknownOperationException' }));
    ddb.on(UpdateCommand).resolves({});
    const l = ledger();
    await l.markCommittedReleasingKeyCommit(REF, LEASE, COMMIT, KEY_LEASE);
    await l.markCommittedReleasingKeyCommit(REF, LEASE, COMMIT, KEY_LEASE);
    expect(ddb.commandCalls(TransactWriteCommand)).toHaveLength(1);
    expect(
      ddb
        .commandCalls(UpdateCommand)
        .map((c) => c.args[0].input.Key?.pk)
        .sort(),
    ).toEqual([PK, PK, 'key#inbox-bucket#inbox/a b.pdf', 'key#inbox-bucket#inbox/a b.pdf']);
  });

  it('records the commit alone when the key lease is already gone', async () => {
    ddb.on(TransactWriteCommand).rejects(cancelled(['None', 'ConditionalCheckFailed']));
    ddb.on(UpdateCommand).resolves({});
    await ledger().markCommittedReleasingKeyCommit(REF, LEASE, COMMIT, KEY_LEASE);
    expect(ddb.commandCalls(UpdateCommand).map((c) => c.args[0].input.Key?.pk)).toEqual([PK]);
  });

  it("lets markCommitted decide when the commit record's own condition failed (the claim was lost)", async () => {
    ddb.on(TransactWriteCommand).rejects(cancelled(['ConditionalCheckFailed', 'None']));
    ddb.on(UpdateCommand).rejects(conditionFailed());
    ddb.on(GetCommand).resolves({ Item: claimed('msg-other', NOW + 60_000) });
    await expect(ledger().markCommittedReleasingKeyCommit(REF, LEASE, COMMIT, KEY_LEASE)).rejects.toBeInstanceOf(LedgerConflictError);
  });
});

function cancelled(codes: string[]): Error {
  return Object.assign(new Error('Transaction cancelled'), {
    name: 'TransactionCanceledException',
    CancellationReasons: codes.map((Code) => ({ Code })),
  });
}
