/**
 * Binders whose folder ids are GUIDs, as iBinder's are: for tests of folder ids given by tag or
 * config (format checks, locating a folder by id, allowlist subtrees). One folder name is stored
 * in NFC ("Årsta") so that tests can ask for it in NFD.
 */
import type { FakeBinderSpec } from './fake-ibinder.js';
import { SCHEMA } from './ingest-factories.js';

export const PROJECT_ID = 'PrjAAAA01';
export const OTHER_PROJECT_ID = 'PrjBBBB02';

export const FOLDER = {
  drawings: '11111111-1111-4111-8111-111111111111',
  structural: '22222222-2222-4222-8222-222222222222',
  architecture: '33333333-3333-4333-8333-333333333333',
  reports: '44444444-4444-4444-8444-444444444444',
  arsta: '55555555-5555-4555-8555-555555555555',
  otherInbox: '66666666-6666-4666-8666-666666666666',
  /** Well-formed, but in no binder. */
  nowhere: '99999999-9999-4999-8999-999999999999',
} as const;

/** "Årsta" composed (NFC) and decomposed (NFD, as macOS writes it). */
export const ARSTA_NFC = 'Årsta'.normalize('NFC');
export const ARSTA_NFD = 'Årsta'.normalize('NFD');

export const GUID_BINDERS: FakeBinderSpec[] = [
  {
    id: PROJECT_ID,
    name: 'Project A',
    schema: SCHEMA,
    folders: [
      {
        id: FOLDER.drawings,
        name: 'Drawings',
        children: [
          { id: FOLDER.structural, name: 'Structural' },
          { id: FOLDER.architecture, name: 'Architecture', children: [{ id: FOLDER.arsta, name: ARSTA_NFC }] },
        ],
      },
      { id: FOLDER.reports, name: 'Reports' },
    ],
  },
  { id: OTHER_PROJECT_ID, name: 'Project B', schema: [], folders: [{ id: FOLDER.otherInbox, name: 'Inbox' }] },
];
