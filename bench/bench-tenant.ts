/**
 * The emulator tenant of the bench: the default seed (the ingest targets one of its folders)
 * plus binders of the bench's own, so that each export measurement sees exactly the documents
 * it is about: one binder for the 2,000-document runs, one per large-version case.
 */
import { DEFAULT_SEED_IDS, defaultSeedData } from '../emulator/seed.js';
import type { SeedBinder, SeedData } from '../emulator/types.js';

/** Binder ids are 9-character NanoIds. */
export const BENCH_BINDERS = {
  bulk: 'BENCHBULK',
  exportSmall: 'BENCHX10M',
  exportLarge: 'BENCHX1GB',
} as const;

/** Where the ingest bench's files land, and the metadata the binder requires. */
export const INGEST_TAGS: Readonly<Record<string, string>> = {
  'ibinder:binder': DEFAULT_SEED_IDS.harbourOffice.binderId,
  'ibinder:folder': DEFAULT_SEED_IDS.harbourOffice.folders.structuralCalculations,
  'ibinder:version': '1',
  'ibinder:meta:discipline': 'STR',
};

export function benchSeed(): SeedData {
  const seed = defaultSeedData();
  const schema = seed.binders[0]?.metadataElements ?? [];
  const binder = (id: string, name: string): SeedBinder => ({
    id,
    name,
    type: 'Project',
    createdAt: '2025-01-01T00:00:00Z',
    metadataElements: schema,
    folders: [{ name: 'Documents' }, { name: 'Drawings' }],
  });
  return {
    binders: [
      ...seed.binders,
      binder(BENCH_BINDERS.bulk, 'Bench: 2,000 documents'),
      binder(BENCH_BINDERS.exportSmall, 'Bench: 10 MiB version'),
      binder(BENCH_BINDERS.exportLarge, 'Bench: 1 GiB version'),
    ],
  };
}
