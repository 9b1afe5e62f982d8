/**
 * The files the demo drops into the inbox, each showing one behaviour of the ingest: the ids,
 * folder names and metadata values are the emulators' default seeds (emulator/seed.ts,
 * emulator/bynder/seed.ts), so the accepted ones land in real folders and assets and the rejected
 * ones are refused for real reasons. Files tagged `bynder:` go to the Bynder portal, beside iBinder.
 */
import { DEFAULT_BYNDER_SEED_IDS } from '../emulator/bynder/seed.js';
import { DEFAULT_SEED_IDS } from '../emulator/seed.js';
import type { RoutingRule } from '../shared/config/target.js';
import { samplePdf } from './sample-pdf.js';

const HARBOUR = DEFAULT_SEED_IDS.harbourOffice;
const RIVERSIDE = DEFAULT_SEED_IDS.riversideHousing;

export interface DemoSample {
  /** The system the file goes to (by its tags' namespace). */
  connector: 'ibinder' | 'bynder';
  /** Short name for the report. */
  label: string;
  /** What the sample demonstrates. */
  shows: string;
  key: string;
  content: Buffer;
  contentType: string;
  /** Tags sent with the PutObject (`x-amz-tagging`). */
  tags?: Readonly<Record<string, string>>;
  /** Tags set by a second call after the first delivery: the ObjectCreated event beat them. */
  tagsAfterFirstDelivery?: Readonly<Record<string, string>>;
  /** The notification is delivered a second time after the first has been processed. */
  duplicateDelivery?: boolean;
  expected: 'accepted' | 'rejected';
  /** A rejected sample: the tag change that fixes it, as the operator passes it to `check` and `reingest`. */
  fix?: { key: string; value: string };
}

/** The Bynder sample whose option is not allowed, and its fix (an option the portal has). */
export const BYNDER_REJECTED_FIX = { key: 'bynder:meta:region', value: 'Nordics' } as const;

/** The routing rule of the demo environment: a site scanner that cannot set tags. */
export const DEMO_ROUTING_RULES: RoutingRule[] = [
  {
    prefix: 'inbox/scanner-3/',
    target: {
      binderId: RIVERSIDE.binderId,
      folderPath: 'Handover/O&M manuals',
      metadata: { discipline: 'ELE', status: 'FOR_REVIEW' },
    },
  },
];

export function demoSamples(): DemoSample[] {
  const ibinder: Omit<DemoSample, 'connector'>[] = [
    {
      label: 'drawing, folder by path',
      shows: 'tags name the binder and a folder by its path; metadata by value id',
      key: 'inbox/cad-export/A-102 First floor plan.pdf',
      content: samplePdf('A-102 First floor plan', ['Harbour Office Building', 'Revision A', 'Scale 1:100']),
      contentType: 'application/pdf',
      tags: {
        'ibinder:binder': HARBOUR.binderId,
        'ibinder:folder-path': '01 Architecture/Drawings/Floor plans',
        'ibinder:version': 'A',
        'ibinder:meta:discipline': 'ARC',
        'ibinder:meta:documentNumber': 'A-102',
      },
      duplicateDelivery: true,
      expected: 'accepted',
    },
    {
      label: 'calculation, folder by id',
      shows: 'a folder by its id; metadata by value label',
      key: 'inbox/erp/S-CALC-014 Pile caps.pdf',
      content: samplePdf('S-CALC-014 Pile caps', ['Harbour Office Building', 'Design calculation', 'Issue 1']),
      contentType: 'application/pdf',
      tags: {
        'ibinder:binder': HARBOUR.binderId,
        'ibinder:folder': HARBOUR.folders.structuralCalculations,
        'ibinder:version': '1',
        'ibinder:meta:discipline': 'Structural',
        'ibinder:meta:status': 'For review',
      },
      expected: 'accepted',
    },
    {
      label: 'spaces and unicode in the key',
      shows: 'a key S3 URL-encodes in the event (spaces as +, UTF-8 percent-encoded)',
      key: 'inbox/site/Befaring uke 12 – Blokk C (rev ø+1).pdf',
      content: samplePdf('Befaring uke 12 - Blokk C', [
        'Riverside Housing Block C',
        'Site inspection, week 12',
        'Settlement at grid C4 within tolerance',
      ]),
      contentType: 'application/pdf',
      tags: {
        'ibinder:binder': RIVERSIDE.binderId,
        'ibinder:folder-path': '02 Site/Inspections/2024',
        'ibinder:meta:discipline': 'GEO',
      },
      expected: 'accepted',
    },
    {
      label: 'scanner, routed by prefix',
      shows: 'no tags at all: the routing rule for inbox/scanner-3/ decides',
      key: 'inbox/scanner-3/SCAN_20240611_0042.pdf',
      content: samplePdf('SCAN 0042', ['Riverside Housing Block C', 'O&M manual, main switchboard']),
      contentType: 'application/pdf',
      expected: 'accepted',
    },
    {
      label: 'value not allowed',
      shows: 'a metadata value outside the allowed list: rejected with a report',
      key: 'inbox/cad-export/P-501 Drainage plan.pdf',
      content: samplePdf('P-501 Drainage plan', ['Harbour Office Building', 'Revision A']),
      contentType: 'application/pdf',
      tags: {
        'ibinder:binder': HARBOUR.binderId,
        'ibinder:folder-path': '03 MEP',
        'ibinder:meta:discipline': 'PLUMBING',
      },
      expected: 'rejected',
      fix: { key: 'ibinder:meta:discipline', value: 'HVAC' },
    },
    {
      label: 'tagged a moment later',
      shows: 'uploaded first, tagged by a second call: retried within the grace period',
      key: 'inbox/erp/E-401 Lighting layout.pdf',
      content: samplePdf('E-401 Lighting layout', ['Harbour Office Building', 'Revision A']),
      contentType: 'application/pdf',
      tagsAfterFirstDelivery: {
        'ibinder:binder': HARBOUR.binderId,
        'ibinder:folder': HARBOUR.folders.electrical,
        'ibinder:version': 'A',
        'ibinder:meta:discipline': 'ELE',
      },
      expected: 'accepted',
    },
  ];
  return [...ibinder.map((sample): DemoSample => ({ connector: 'ibinder', ...sample })), ...bynderSamples()];
}

/** Files for the Bynder portal: a new asset with metaproperties, a new version, and a refused option. */
function bynderSamples(): DemoSample[] {
  return [
    {
      connector: 'bynder',
      label: 'Bynder: new asset',
      shows: 'bynder: tags name the brand by its name, metaproperties and options by name (a multi-select joined by "+")',
      key: 'inbox/marketing/Harbour terrace at dusk.jpg',
      content: sampleImage('Harbour terrace at dusk'),
      contentType: 'image/jpeg',
      tags: {
        'bynder:brand': 'Harbour Living',
        'bynder:name': 'Harbour terrace at dusk',
        'bynder:meta:region': 'Nordics',
        'bynder:meta:colours': 'Red+Blue',
        'bynder:tags': 'terrace+exterior',
      },
      duplicateDelivery: true,
      expected: 'accepted',
    },
    {
      connector: 'bynder',
      label: 'Bynder: new version',
      shows: 'bynder:asset names an existing asset: the file becomes its next version',
      key: 'inbox/marketing/lobby-final-v4.png',
      content: sampleImage('Lobby render, final v4'),
      contentType: 'image/png',
      tags: { 'bynder:asset': DEFAULT_BYNDER_SEED_IDS.assets.lobbyRender },
      expected: 'accepted',
    },
    {
      connector: 'bynder',
      label: 'Bynder: option not allowed',
      shows: 'a region the portal does not have: rejected, the report lists the allowed options',
      key: 'inbox/marketing/Riverside spring brochure.pdf',
      content: samplePdf('Riverside spring brochure', ['Riverside Estates', 'Spring campaign']),
      contentType: 'application/pdf',
      tags: { 'bynder:brand': 'Riverside Estates', 'bynder:meta:region': 'Scandinavia' },
      expected: 'rejected',
      fix: BYNDER_REJECTED_FIX,
    },
  ];
}

/** A few bytes standing in for an image: the emulator stores and checksums them, nothing renders them. */
function sampleImage(title: string): Buffer {
  return Buffer.from(`demo image: ${title}\n`, 'utf8');
}

/** `k=v&k2=v2`, URL-encoded, as the `x-amz-tagging` header wants it. */
export function taggingHeader(tags: Readonly<Record<string, string>>): string {
  return new URLSearchParams(Object.entries(tags)).toString();
}

/** The tag set of PutObjectTagging. */
export function tagSet(tags: Readonly<Record<string, string>>): Array<{ Key: string; Value: string }> {
  return Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));
}
