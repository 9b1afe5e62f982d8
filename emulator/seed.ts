/**
 * Seed data: the default tenant (two construction projects with realistic folder trees,
 * metadata schemas and a few documents), the loader that turns any `SeedData` into state, and
 * a bulk generator for benchmarks. Ids in the default seed are derived from names, so they are
 * the same on every run and can be written into demo configs and tests.
 */
import { createHash, randomUUID } from 'node:crypto';
import { SyntheticBlob } from './blobs.js';
import { StateError, type EmulatorState } from './state.js';
import type { MetadataElementRecord, SeedBinder, SeedData, SeedFolder } from './types.js';

/** A GUID derived from a name (the UUID v5 layout over SHA-1), stable across runs. */
export function deterministicGuid(name: string): string {
  const bytes = createHash('sha1').update('ibinder-emulator:').update(name).digest().subarray(0, 16);
  bytes[6] = ((bytes[6] ?? 0) & 0x0f) | 0x50;
  bytes[8] = ((bytes[8] ?? 0) & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

const DISCIPLINES = [
  { id: 'ARC', label: 'Architecture' },
  { id: 'STR', label: 'Structural' },
  { id: 'HVAC', label: 'HVAC' },
  { id: 'ELE', label: 'Electrical' },
];

const STATUSES = [
  { id: 'FOR_REVIEW', label: 'For review' },
  { id: 'APPROVED', label: 'Approved' },
];

/** Ids of the default seed, for tests, demo configs and docs. */
export const DEFAULT_SEED_IDS = {
  harbourOffice: {
    binderId: 'PRJ0001AB',
    folders: {
      architecture: deterministicGuid('PRJ0001AB/01 Architecture'),
      architectureDrawings: deterministicGuid('PRJ0001AB/01 Architecture/Drawings'),
      floorPlans: deterministicGuid('PRJ0001AB/01 Architecture/Drawings/Floor plans'),
      specifications: deterministicGuid('PRJ0001AB/01 Architecture/Specifications'),
      structural: deterministicGuid('PRJ0001AB/02 Structural'),
      structuralCalculations: deterministicGuid('PRJ0001AB/02 Structural/Calculations'),
      structuralDrawings: deterministicGuid('PRJ0001AB/02 Structural/Drawings'),
      mep: deterministicGuid('PRJ0001AB/03 MEP'),
      hvac: deterministicGuid('PRJ0001AB/03 MEP/HVAC'),
      electrical: deterministicGuid('PRJ0001AB/03 MEP/Electrical'),
      contracts: deterministicGuid('PRJ0001AB/Contracts'),
      contractsSigned: deterministicGuid('PRJ0001AB/Contracts/Signed'),
      contractsDrafts: deterministicGuid('PRJ0001AB/Contracts/Drafts'),
    },
  },
  riversideHousing: {
    binderId: 'PRJ0002KT',
    folders: {
      design: deterministicGuid('PRJ0002KT/01 Design'),
      designArchitecture: deterministicGuid('PRJ0002KT/01 Design/Architecture'),
      designLandscape: deterministicGuid('PRJ0002KT/01 Design/Landscape'),
      site: deterministicGuid('PRJ0002KT/02 Site'),
      sitePhotos: deterministicGuid('PRJ0002KT/02 Site/Photos'),
      siteInspections: deterministicGuid('PRJ0002KT/02 Site/Inspections'),
      siteInspections2024: deterministicGuid('PRJ0002KT/02 Site/Inspections/2024'),
      handover: deterministicGuid('PRJ0002KT/Handover'),
      handoverManuals: deterministicGuid('PRJ0002KT/Handover/O&M manuals'),
    },
  },
} as const;

function standardSchema(extraDisciplines: { id: string; label: string }[] = []): SeedBinder['metadataElements'] {
  return [
    { id: 'discipline', label: 'Discipline', dataType: 'List', required: true, allowedValues: [...DISCIPLINES, ...extraDisciplines] },
    { id: 'documentNumber', label: 'Document number', dataType: 'Text', required: false, allowedValues: [] },
    { id: 'status', label: 'Status', dataType: 'List', required: false, allowedValues: STATUSES },
  ];
}

function text(lines: string[]): string {
  return `${lines.join('\n')}\n`;
}

/** The default tenant. Contents are small text files standing in for PDFs and drawings. */
export function defaultSeedData(): SeedData {
  return {
    binders: [
      {
        id: DEFAULT_SEED_IDS.harbourOffice.binderId,
        name: 'Harbour Office Building',
        type: 'Project',
        createdAt: '2024-01-15T08:30:00Z',
        metadataElements: standardSchema(),
        folders: [
          {
            name: '01 Architecture',
            folders: [
              {
                name: 'Drawings',
                folders: [
                  {
                    name: 'Floor plans',
                    documents: [
                      {
                        fileName: 'A-101 Ground floor plan.pdf',
                        versions: [
                          {
                            createdAt: '2024-02-01T09:00:00Z',
                            version: 'A',
                            content: text(['A-101 Ground floor plan', 'Revision A']),
                            metadata: { discipline: 'ARC', documentNumber: 'A-101', status: 'FOR_REVIEW' },
                          },
                          {
                            createdAt: '2024-02-20T09:00:00Z',
                            version: 'B',
                            content: text(['A-101 Ground floor plan', 'Revision B', 'Stair core moved 600 mm east']),
                            metadata: { discipline: 'ARC', documentNumber: 'A-101', status: 'FOR_REVIEW' },
                          },
                          {
                            createdAt: '2024-03-05T09:00:00Z',
                            version: 'C',
                            content: text(['A-101 Ground floor plan', 'Revision C', 'Approved for construction']),
                            metadata: { discipline: 'ARC', documentNumber: 'A-101', status: 'APPROVED' },
                          },
                        ],
                      },
                    ],
                  },
                ],
                documents: [
                  {
                    fileName: 'A-201 Sections.pdf',
                    versions: [
                      {
                        createdAt: '2024-02-02T10:00:00Z',
                        version: 'A',
                        content: text(['A-201 Sections', 'Revision A']),
                        metadata: { discipline: 'ARC', documentNumber: 'A-201' },
                      },
                    ],
                  },
                ],
              },
              {
                name: 'Specifications',
                documents: [
                  {
                    fileName: 'Facade specification.docx',
                    versions: [
                      {
                        createdAt: '2024-02-10T12:00:00Z',
                        content: text(['Facade specification', 'Curtain wall system, U-value 1.0']),
                        metadata: { discipline: 'Architecture' },
                      },
                    ],
                  },
                ],
              },
            ],
          },
          {
            name: '02 Structural',
            folders: [
              {
                name: 'Calculations',
                documents: [
                  {
                    fileName: 'S-CALC-001 Foundations.pdf',
                    versions: [
                      {
                        createdAt: '2024-02-05T08:00:00Z',
                        version: '1',
                        content: text(['Foundation design calculation', 'Piles 400x400, 18 m']),
                        metadata: { discipline: 'STR', documentNumber: 'S-CALC-001', status: 'FOR_REVIEW' },
                      },
                      {
                        createdAt: '2024-02-25T08:00:00Z',
                        version: '2',
                        content: text(['Foundation design calculation', 'Piles 400x400, 21 m after soil report']),
                        metadata: { discipline: 'STR', documentNumber: 'S-CALC-001', status: 'APPROVED' },
                      },
                    ],
                  },
                ],
              },
              { name: 'Drawings' },
            ],
          },
          {
            name: '03 MEP',
            folders: [
              {
                name: 'HVAC',
                documents: [
                  {
                    fileName: 'M-301 Ventilation schematic.dwg',
                    versions: [
                      {
                        createdAt: '2024-02-12T14:00:00Z',
                        version: 'A',
                        content: text(['AC1032', 'M-301 Ventilation schematic']),
                        metadata: { discipline: 'HVAC', documentNumber: 'M-301' },
                      },
                    ],
                  },
                ],
              },
              { name: 'Electrical' },
            ],
          },
          {
            name: 'Contracts',
            folders: [
              {
                name: 'Signed',
                documents: [
                  {
                    fileName: 'Main contract.pdf',
                    versions: [
                      {
                        createdAt: '2024-01-20T16:00:00Z',
                        content: text(['Main contract', 'Signed by both parties']),
                        metadata: { discipline: 'ARC', status: 'APPROVED' },
                      },
                    ],
                  },
                ],
              },
              { name: 'Drafts' },
            ],
          },
        ],
      },
      {
        id: DEFAULT_SEED_IDS.riversideHousing.binderId,
        name: 'Riverside Housing Block C',
        type: 'Project',
        createdAt: '2024-03-01T07:00:00Z',
        metadataElements: standardSchema([{ id: 'GEO', label: 'Geotechnical' }]),
        folders: [
          {
            name: '01 Design',
            folders: [
              {
                name: 'Architecture',
                documents: [
                  {
                    fileName: 'C-A-100 Site plan.pdf',
                    versions: [
                      {
                        createdAt: '2024-03-10T09:00:00Z',
                        version: '01',
                        content: text(['C-A-100 Site plan', 'Issue 01']),
                        metadata: { discipline: 'ARC', documentNumber: 'C-A-100' },
                      },
                      {
                        createdAt: '2024-04-02T09:00:00Z',
                        version: '02',
                        content: text(['C-A-100 Site plan', 'Issue 02', 'Bicycle shelter added']),
                        metadata: { discipline: 'ARC', documentNumber: 'C-A-100', status: 'APPROVED' },
                      },
                    ],
                  },
                ],
              },
              { name: 'Landscape' },
            ],
          },
          {
            name: '02 Site',
            folders: [
              { name: 'Photos' },
              {
                name: 'Inspections',
                folders: [
                  {
                    name: '2024',
                    documents: [
                      {
                        fileName: 'Ground investigation report.pdf',
                        versions: [
                          {
                            createdAt: '2024-03-15T11:00:00Z',
                            content: text(['Ground investigation report', 'Boreholes BH1-BH6']),
                            metadata: { discipline: 'GEO', status: 'For review' },
                          },
                        ],
                      },
                    ],
                  },
                ],
              },
            ],
          },
          { name: 'Handover', folders: [{ name: 'O&M manuals' }] },
        ],
      },
    ],
  };
}

/** Loads seed data into a state; folder and document ids default to name-derived GUIDs. */
export function applySeed(state: EmulatorState, seed: SeedData): void {
  for (const binder of seed.binders) {
    const elements: MetadataElementRecord[] = binder.metadataElements.map((e) => ({
      id: e.id,
      label: e.label,
      dataType: e.dataType ?? ((e.allowedValues?.length ?? 0) > 0 ? 'List' : 'Text'),
      allowedValues: e.allowedValues ?? [],
      required: e.required ?? false,
    }));
    state.addBinder(
      { id: binder.id, name: binder.name, type: binder.type ?? 'Project', createdAt: binder.createdAt ?? '2024-01-01T00:00:00Z' },
      elements,
    );
    for (const folder of binder.folders) addSeedFolder(state, binder.id, folder, null, binder.id);
  }
}

function addSeedFolder(state: EmulatorState, binderId: string, seedFolder: SeedFolder, parentId: string | null, parentPath: string): void {
  const path = `${parentPath}/${seedFolder.name}`;
  const folder = state.addFolder({ binderId, name: seedFolder.name, parentId, id: seedFolder.id ?? deterministicGuid(path) });
  for (const doc of seedFolder.documents ?? []) {
    const [first, ...rest] = doc.versions;
    if (!first) throw new StateError(`Seed document '${doc.fileName}' in ${path} has no versions`);
    const docPath = `${path}/${doc.fileName}`;
    const { document } = state.addDocument({
      binderId,
      folderId: folder.id,
      fileName: doc.fileName,
      id: doc.id ?? deterministicGuid(docPath),
      versionId: first.id ?? deterministicGuid(`${docPath}#1`),
      content: first.content,
      ...(first.version === undefined ? {} : { versionLabel: first.version }),
      ...(first.metadata === undefined ? {} : { metadata: first.metadata }),
      ...(first.createdAt === undefined ? {} : { createdAt: Date.parse(first.createdAt) }),
      ...(first.description === undefined ? {} : { description: first.description }),
    });
    rest.forEach((v, i) => {
      state.addVersion(document.id, {
        id: v.id ?? deterministicGuid(`${docPath}#${i + 2}`),
        content: v.content,
        ...(v.version === undefined ? {} : { versionLabel: v.version }),
        ...(v.metadata === undefined ? {} : { metadata: v.metadata }),
        ...(v.createdAt === undefined ? {} : { createdAt: Date.parse(v.createdAt) }),
        ...(v.description === undefined ? {} : { description: v.description }),
      });
    });
  }
  for (const child of seedFolder.folders ?? []) addSeedFolder(state, binderId, child, folder.id, path);
}

export interface BulkSeedOptions {
  binderId: string;
  count: number;
  versionsPerDocument?: number;
  bytesPerVersion?: number;
  /** Spread over these folders; default every folder of the binder. */
  folderIds?: string[];
  /** File names are `${prefix}-000001.pdf`... Default `bulk`. */
  fileNamePrefix?: string;
}

export interface BulkSeedResult {
  documentIds: string[];
  versionCount: number;
  totalBytes: number;
}

/**
 * Adds `count` documents with synthetic versions (size + seed, bytes generated on read), spread
 * round-robin over the binder's folders, with the binder's required metadata filled from the
 * first allowed values. Cheap: a hundred thousand documents fit in a few hundred MB of heap.
 */
export function seedBulkDocuments(state: EmulatorState, options: BulkSeedOptions): BulkSeedResult {
  const versionsPerDocument = options.versionsPerDocument ?? 1;
  const bytesPerVersion = options.bytesPerVersion ?? 1024;
  if (!state.getBinder(options.binderId)) throw new StateError(`Binder ${options.binderId} does not exist`);
  if (!Number.isInteger(options.count) || options.count < 0)
    throw new StateError(`count must be a non-negative integer, got ${options.count}`);
  if (!Number.isInteger(versionsPerDocument) || versionsPerDocument < 1)
    throw new StateError(`versionsPerDocument must be at least 1, got ${versionsPerDocument}`);
  const folderIds = options.folderIds ?? state.allFolders(options.binderId).map((f) => f.id);
  if (folderIds.length === 0) throw new StateError(`Binder ${options.binderId} has no folders to put bulk documents in`);
  const elements = state.metadataElements(options.binderId);
  const prefix = options.fileNamePrefix ?? 'bulk';
  const documentIds: string[] = [];
  let versionCount = 0;
  for (let i = 0; i < options.count; i++) {
    const metadata: Record<string, string> = {};
    for (const element of elements) {
      if (!element.required) continue;
      const allowed = element.allowedValues;
      metadata[element.id] = allowed.length > 0 ? (allowed[i % allowed.length]?.id ?? '') : `value-${i}`;
    }
    const folderId = folderIds[i % folderIds.length] as string;
    const fileName = `${prefix}-${String(i + 1).padStart(6, '0')}.pdf`;
    const documentId = randomUUID();
    const { document } = state.addDocument({
      binderId: options.binderId,
      folderId,
      fileName,
      id: documentId,
      blob: new SyntheticBlob(bytesPerVersion, `${documentId}:1`),
      metadata,
    });
    versionCount++;
    for (let v = 2; v <= versionsPerDocument; v++) {
      state.addSyntheticVersion(document.id, bytesPerVersion, { seed: `${document.id}:${v}` });
      versionCount++;
    }
    documentIds.push(document.id);
  }
  return { documentIds, versionCount, totalBytes: versionCount * bytesPerVersion };
}
