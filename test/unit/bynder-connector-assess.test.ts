import { describe, expect, it } from 'vitest';
import { type BynderConfigInput, BynderConfigSchema } from '../../shared/connectors/bynder/config.js';
import { createBynderConnector } from '../../shared/connectors/bynder/connector.js';
import type { Assessment, AssessmentRejected } from '../../shared/connectors/types.js';
import type { S3Tag } from '../../shared/s3/tags.js';
import { brand, existingAsset, FakeBynder, selectProperty } from '../helpers/fake-bynder.js';

const NOW = new Date('2026-03-01T10:00:00Z');
const BRANDS = [brand('B-MKT', 'Marketing'), brand('B-SAL', 'Sales'), brand('B-HR', 'HR')];
const COLOURS = selectProperty(
  'mp-col',
  'Colours',
  [
    ['o-red', 'red', 'Red'],
    ['o-blue', 'blue', 'Blue'],
  ],
  { multi: true },
);
const REGION = selectProperty(
  'mp-reg',
  'Region',
  [
    ['o-eu', 'europe', 'Europe'],
    ['o-us', 'usa', 'USA'],
  ],
  { required: true },
);

function setup(config: Partial<BynderConfigInput> = {}, fake = new FakeBynder({ brands: BRANDS, metaproperties: [COLOURS, REGION] })) {
  const parsed = BynderConfigSchema.parse({ portalUrl: 'https://example.bynder.com', credentialsSecretName: 'bynder', ...config });
  const connector = createBynderConnector({ config: parsed, client: fake, now: () => NOW, untaggedGraceSeconds: 300 });
  const assess = (key: string, tags: S3Tag[], sizeBytes = 100): Promise<Assessment> =>
    connector.assess({ key, tags, sizeBytes, lastModified: NOW, now: NOW });
  return { fake, connector, assess };
}

function t(entries: Record<string, string>): S3Tag[] {
  return Object.entries(entries).map(([Key, Value]) => ({ Key, Value }));
}

function rejected(assessment: Assessment): AssessmentRejected {
  if (assessment.kind !== 'reject') throw new Error(`expected a rejection, got ${JSON.stringify(assessment)}`);
  return assessment;
}

describe('Bynder assessment: target', () => {
  it('accepts a brand by id and by name, with name, description, tags and metadata in the plan', async () => {
    const { assess } = setup();
    for (const given of ['B-MKT', 'marketing']) {
      const assessment = await assess(
        'inbox/x/hero.jpg',
        t({
          'bynder:brand': given,
          'bynder:name': 'Hero',
          'bynder:description': 'Spring',
          'bynder:tags': 'a+b',
          'bynder:meta:Colours': 'Red+blue',
          'bynder:meta:Region': 'europe',
        }),
        1234,
      );
      expect(assessment).toEqual({
        kind: 'accept',
        plan: {
          connector: 'bynder',
          fileName: 'hero.jpg',
          target: { brandId: 'B-MKT' },
          labels: { brandName: 'Marketing' },
          metadata: [
            { id: 'mp-col', value: 'o-red,o-blue' },
            { id: 'mp-reg', value: 'o-eu' },
          ],
          options: { name: 'Hero', description: 'Spring', tags: '["a","b"]', sizeBytes: '1234' },
        },
        target: { connector: 'bynder', ids: { brandId: 'B-MKT' }, labels: { brandName: 'Marketing' }, source: { kind: 'tags' } },
      });
    }
  });

  it('takes the rule over the default, the tag over the rule, and the rule metadata with tags winning', async () => {
    const { assess } = setup({
      defaultBrand: 'HR',
      unlistedPrefixes: 'any',
      routingRules: [
        {
          prefix: 'inbox/mkt/',
          brand: 'Marketing',
          metadata: { Region: 'usa', Colours: 'red' },
          tags: ['scan'],
          allowBrands: ['Marketing', 'B-SAL'],
        },
      ],
    });
    const byRule = await assess('inbox/mkt/a.pdf', []);
    expect(byRule.kind).toBe('accept');
    if (byRule.kind !== 'accept') return;
    expect(byRule.target.source).toEqual({ kind: 'rule', prefix: 'inbox/mkt/' });
    expect(byRule.plan.target).toEqual({ brandId: 'B-MKT' });
    expect(byRule.plan.metadata).toEqual([
      { id: 'mp-reg', value: 'o-us' },
      { id: 'mp-col', value: 'o-red' },
    ]);
    expect(byRule.plan.options?.tags).toBe('["scan"]');

    const byTag = await assess('inbox/mkt/a.pdf', t({ 'bynder:brand': 'Sales', 'bynder:meta:Region': 'europe', 'bynder:tags': 'x' }));
    expect(byTag.kind).toBe('accept');
    if (byTag.kind !== 'accept') return;
    expect(byTag.plan.target).toEqual({ brandId: 'B-SAL' });
    expect(byTag.plan.metadata).toEqual([
      { id: 'mp-reg', value: 'o-eu' },
      { id: 'mp-col', value: 'o-red' },
    ]);
    expect(byTag.plan.options?.tags).toBe('["scan","x"]');

    const byDefault = await assess('inbox/other/a.pdf', t({ 'bynder:meta:Region': 'usa' }));
    expect(byDefault.kind === 'accept' && byDefault.plan.target).toEqual({ brandId: 'B-HR' });
  });

  it('waits for tags within the grace period, then rejects an untagged object', async () => {
    const { connector } = setup();
    const early = await connector.assess({ key: 'inbox/a.pdf', tags: [], sizeBytes: 5, lastModified: NOW, now: NOW });
    expect(early.kind).toBe('wait');
    const late = await connector.assess({
      key: 'inbox/a.pdf',
      tags: [],
      sizeBytes: 5,
      lastModified: NOW,
      now: new Date(NOW.getTime() + 301_000),
    });
    expect(rejected(late).cause).toBe('untagged');
    expect(rejected(late).problems[0]?.code).toBe('untagged');
  });

  it('rejects an unknown brand, listing the brands, after a fresh listing', async () => {
    const { assess, fake } = setup();
    const result = rejected(await assess('inbox/a.pdf', t({ 'bynder:brand': 'Finance', 'bynder:meta:Region': 'europe' })));
    expect(result.cause).toBe('unknown-target');
    expect(result.problems[0]).toMatchObject({ code: 'target', field: 'bynder:brand' });
    expect(result.problems[0]?.fix).toContain('"Marketing" (id B-MKT)');
    expect(fake.callsOf('listBrands')).toHaveLength(2);
  });

  it('still checks the metadata (portal-wide) when the brand is unknown, so that one round of fixes is enough', async () => {
    const { assess } = setup();
    const result = rejected(await assess('inbox/a.pdf', t({ 'bynder:brand': 'Finance', 'bynder:meta:Colours': 'pink' })));
    expect(result.cause).toBe('unknown-target');
    expect(result.problems.map((p) => p.field)).toEqual(['bynder:brand', 'bynder:meta:Colours', 'bynder:meta:Region']);
  });

  it('finds a brand created after the listing was cached', async () => {
    const { assess, fake } = setup();
    expect((await assess('inbox/a.pdf', t({ 'bynder:brand': 'Marketing', 'bynder:meta:Region': 'europe' }))).kind).toBe('accept');
    fake.brandList = [...BRANDS, brand('B-NEW', 'Finance')];
    const result = await assess('inbox/a.pdf', t({ 'bynder:brand': 'Finance', 'bynder:meta:Region': 'europe' }));
    expect(result.kind === 'accept' && result.plan.target).toEqual({ brandId: 'B-NEW' });
  });

  it('reports every problem at once: tags, metadata, names and size', async () => {
    const { assess } = setup();
    const result = rejected(
      await assess(
        'inbox/a.pdf',
        t({ 'bynder:brand': 'Marketing', 'bynder:colour': 'x', 'bynder:meta:Colours': 'green', 'bynder:name': 'a\u0001' }),
        0,
      ),
    );
    expect(result.cause).toBe('invalid-request');
    expect(result.problems.map((p) => `${p.code}:${p.field}`).sort()).toEqual(
      [
        'empty-file:size',
        'file-name:bynder:name',
        'metadata:bynder:meta:Colours',
        'metadata:bynder:meta:Region',
        'tags:bynder:colour',
      ].sort(),
    );
  });

  it('believes a metadata problem only after reading the metaproperties again', async () => {
    const { assess, fake } = setup();
    expect((await assess('inbox/a.pdf', t({ 'bynder:brand': 'Marketing', 'bynder:meta:Region': 'europe' }))).kind).toBe('accept');
    fake.metapropertyList = [
      selectProperty(
        'mp-col',
        'Colours',
        [
          ['o-red', 'red'],
          ['o-green', 'green'],
        ],
        { multi: true },
      ),
      REGION,
    ];
    const result = await assess(
      'inbox/a.pdf',
      t({ 'bynder:brand': 'Marketing', 'bynder:meta:Region': 'europe', 'bynder:meta:Colours': 'green' }),
    );
    expect(result.kind === 'accept' && result.plan.metadata).toContainEqual({ id: 'mp-col', value: 'o-green' });
    expect(fake.callsOf('listMetaproperties')).toHaveLength(2);
  });
});

describe('Bynder assessment: allowlists', () => {
  it("refuses a brand outside the rule's allowBrands (default: its own brand) before reading anything in it", async () => {
    const { assess, fake } = setup({ routingRules: [{ prefix: 'inbox/mkt/', brand: 'B-MKT' }] });
    const result = rejected(await assess('inbox/mkt/a.pdf', t({ 'bynder:brand': 'Sales' })));
    expect(result.cause).toBe('not-allowed');
    expect(result.problems[0]).toMatchObject({ code: 'not-allowed', field: 'bynder:brand' });
    expect(result.problems[0]?.message).toContain('only its own brand');
    expect(result.target?.ids).toEqual({ brandId: 'B-SAL' });
    expect(fake.callsOf('listMetaproperties')).toHaveLength(0);
  });

  it('applies unlistedPrefixes to keys without a Bynder rule', async () => {
    const none = setup({ unlistedPrefixes: 'none' });
    const refused = rejected(await none.assess('inbox/a.pdf', t({ 'bynder:brand': 'Sales' })));
    expect(refused.problems[0]?.message).toContain('unlistedPrefixes is "none"');

    const list = setup({ unlistedPrefixes: ['Marketing'] });
    expect(rejected(await list.assess('inbox/a.pdf', t({ 'bynder:brand': 'Sales' }))).cause).toBe('not-allowed');
    expect((await list.assess('inbox/a.pdf', t({ 'bynder:brand': 'B-MKT', 'bynder:meta:Region': 'usa' }))).kind).toBe('accept');
  });

  it("refuses a bynder:asset in a brand the key's policy does not reach", async () => {
    const fake = new FakeBynder({ brands: BRANDS, metaproperties: [REGION], assets: [existingAsset('A-HR', 'payroll.pdf', 'B-HR')] });
    const { assess } = setup({ unlistedPrefixes: ['Marketing'] }, fake);
    const result = rejected(await assess('inbox/a.pdf', t({ 'bynder:asset': 'A-HR' })));
    expect(result.cause).toBe('not-allowed');
    expect(result.problems[0]).toMatchObject({
      field: 'bynder:asset',
      message: expect.stringContaining('asset A-HR "payroll.pdf" of brand "HR"'),
    });
  });
});

describe('Bynder assessment: new versions', () => {
  it('makes a bynder:asset file a new version of it, with no metadata required or applied', async () => {
    const fake = new FakeBynder({ brands: BRANDS, metaproperties: [REGION], assets: [existingAsset('A-1', 'Hero', 'B-MKT')] });
    const { assess } = setup({}, fake);
    const result = await assess('inbox/hero-v2.jpg', t({ 'bynder:asset': 'A-1' }));
    expect(result.kind).toBe('accept');
    if (result.kind !== 'accept') return;
    expect(result.plan.target).toEqual({ brandId: 'B-MKT', mediaId: 'A-1' });
    expect(result.plan.metadata).toEqual([]);
    expect(result.target.labels).toEqual({ brandName: 'Marketing', assetName: 'Hero' });
  });

  it('rejects an unknown bynder:asset, and one in another brand than bynder:brand', async () => {
    const fake = new FakeBynder({ brands: BRANDS, metaproperties: [REGION], assets: [existingAsset('A-1', 'Hero', 'B-MKT')] });
    const { assess } = setup({}, fake);
    const unknown = rejected(await assess('inbox/a.jpg', t({ 'bynder:asset': 'A-404' })));
    expect(unknown.cause).toBe('unknown-target');
    expect(unknown.problems[0]).toMatchObject({ field: 'bynder:asset', message: expect.stringContaining('no asset with id A-404') });
    const mismatch = rejected(await assess('inbox/a.jpg', t({ 'bynder:asset': 'A-1', 'bynder:brand': 'Sales' })));
    expect(mismatch.problems[0]?.field).toBe('bynder:brand, bynder:asset');
  });

  it('never looks up a malformed bynder:asset', async () => {
    const { assess, fake } = setup();
    const result = rejected(await assess('inbox/a.jpg', t({ 'bynder:asset': 'bad id' })));
    expect(result.problems[0]?.field).toBe('bynder:asset');
    expect(fake.callsOf('getMedia')).toHaveLength(0);
  });

  it('under sameNameIsNewVersion: no match is a new asset, one match a new version, two a rejection asking for bynder:asset', async () => {
    const fake = new FakeBynder({
      brands: BRANDS,
      metaproperties: [REGION],
      assets: [
        existingAsset('A-1', 'plan.pdf', 'B-MKT'),
        existingAsset('A-2', 'plan.pdf (old)', 'B-MKT'),
        existingAsset('A-3', 'plan.pdf', 'B-SAL'),
        existingAsset('A-4', 'twice.pdf', 'B-MKT'),
        existingAsset('A-5', 'twice.pdf', 'B-MKT'),
      ],
    });
    const { assess } = setup(
      { routingRules: [{ prefix: 'inbox/mkt/', brand: 'Marketing', sameNameIsNewVersion: true, metadata: { Region: 'europe' } }] },
      fake,
    );

    const none = await assess('inbox/mkt/new.pdf', []);
    expect(none.kind === 'accept' && none.plan.target).toEqual({ brandId: 'B-MKT' });

    const one = await assess('inbox/mkt/plan.pdf', []);
    expect(one.kind).toBe('accept');
    if (one.kind !== 'accept') return;
    expect(one.plan.target).toEqual({ brandId: 'B-MKT', mediaId: 'A-1' });
    expect(one.target.source).toEqual({ kind: 'rule', prefix: 'inbox/mkt/' });
    expect(one.plan.metadata).toEqual([]);

    const two = rejected(await assess('inbox/mkt/twice.pdf', []));
    expect(two.cause).toBe('unknown-target');
    expect(two.problems[0]).toMatchObject({ field: 'bynder:asset', message: expect.stringContaining('A-4, A-5') });
    expect(two.problems[0]?.fix).toContain('bynder:asset');

    const byName = await assess('inbox/mkt/x.pdf', t({ 'bynder:name': 'plan.pdf' }));
    expect(byName.kind === 'accept' && byName.plan.target).toEqual({ brandId: 'B-MKT', mediaId: 'A-1' });
  });

  it('tells the hooks which step reads what', async () => {
    const { connector } = setup();
    const steps: string[] = [];
    await connector.assess(
      { key: 'inbox/a.pdf', tags: t({ 'bynder:brand': 'Marketing', 'bynder:meta:Region': 'usa' }), sizeBytes: 3, now: NOW },
      { onStep: (s) => steps.push(s.name) },
    );
    expect(steps).toEqual(['resolve target', 'read brands', 'read metaproperties']);
  });
});
