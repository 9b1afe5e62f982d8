/**
 * What became of the drill's files, counted from what the systems hold rather than from what
 * the ingest reported: the emulator's documents and versions in the drill's folder, the
 * ingest ledger, and the dead-letter queue. A file is expected to be exactly one version with
 * its own bytes, and the ledger to say so.
 */
import { basename } from 'node:path';
import pLimit from 'p-limit';
import type { EmulatorState } from '../emulator/state.js';
import type { IngestLedgerStore } from '../shared/ledger/types.js';

/** One file the drill dropped into the inbox. */
export interface DrillFile {
  key: string;
  versionId: string | undefined;
  /** SHA-256 (hex) of the bytes dropped. */
  sha256: string;
}

/** What became of one file, when it is not simply "one version". */
export interface FileFinding {
  key: string;
  versions: number;
  /** The ledger's state of the object version (`none` when it has no entry). */
  ledger: string;
}

export interface DrillOutcome {
  /** Every version in the drill's folder. */
  versionsCreated: number;
  /** Versions beyond one per file, plus every version of a document that matches no file. */
  duplicateVersions: number;
  /** No version and no rejection. */
  lostFiles: FileFinding[];
  /** Refused by the ingest although every file is valid. */
  rejectedFiles: FileFinding[];
  /** Files at least one of whose messages ended in the dead-letter queue. */
  deadLetteredFiles: string[];
  /** Files with more than one version. */
  duplicatedFiles: FileFinding[];
  /** Files whose first version's bytes differ from the file's. */
  contentMismatches: string[];
  /** Files whose ledger does not say committed although a version exists, or the other way round. */
  ledgerDisagreements: FileFinding[];
}

export interface DrillOutcomeInput {
  state: EmulatorState;
  ledger: Pick<IngestLedgerStore, 'get'>;
  /** The inbox bucket the files were dropped into. */
  bucket: string;
  /** The folder every file was tagged for; each file becomes the document named by its key's last segment. */
  folderId: string;
  files: readonly DrillFile[];
  deadLetters: readonly { messageId: string }[];
  /** Every message sent for a file, first deliveries and duplicates: message id -> key. */
  keyOfMessage: ReadonlyMap<string, string>;
}

export async function countDrillOutcome(input: DrillOutcomeInput): Promise<DrillOutcome> {
  const { state, ledger, folderId, files } = input;
  const expectedNames = new Set(files.map((f) => basename(f.key)));
  let versionsCreated = 0;
  let duplicateVersions = 0;
  for (const document of state.documentsInFolder(folderId)) {
    const versions = state.listVersions(document.id).length;
    versionsCreated += versions;
    // A document no file explains is surplus as a whole.
    duplicateVersions += expectedNames.has(document.fileName) ? Math.max(0, versions - 1) : versions;
  }

  const lostFiles: FileFinding[] = [];
  const rejectedFiles: FileFinding[] = [];
  const duplicatedFiles: FileFinding[] = [];
  const contentMismatches: string[] = [];
  const ledgerDisagreements: FileFinding[] = [];
  const limit = pLimit(8);
  await Promise.all(
    files.map((file) =>
      limit(async () => {
        const document = state.findDocumentByName(folderId, basename(file.key));
        const versions = document ? state.listVersions(document.id) : [];
        const entry = await ledger.get({ bucket: input.bucket, key: file.key, versionId: file.versionId });
        const finding: FileFinding = { key: file.key, versions: versions.length, ledger: entry?.state ?? 'none' };
        if (entry?.state === 'rejected') rejectedFiles.push(finding);
        else if (versions.length === 0) lostFiles.push(finding);
        if (versions.length > 1) duplicatedFiles.push(finding);
        const first = versions[0];
        if (first && (await state.versionContent(first.id)).sha256 !== file.sha256) contentMismatches.push(file.key);
        const recorded = entry?.state === 'committed' ? entry.versionIds.versionId : undefined;
        if ((recorded !== undefined) !== versions.length > 0 || (recorded !== undefined && !versions.some((v) => v.id === recorded))) {
          ledgerDisagreements.push(finding);
        }
      }),
    ),
  );

  const deadLettered = new Set(input.deadLetters.map((d) => input.keyOfMessage.get(d.messageId) ?? `(unknown message ${d.messageId})`));
  const byKey = (a: FileFinding, b: FileFinding): number => a.key.localeCompare(b.key);
  return {
    versionsCreated,
    duplicateVersions,
    lostFiles: lostFiles.sort(byKey),
    rejectedFiles: rejectedFiles.sort(byKey),
    deadLetteredFiles: [...deadLettered].sort(),
    duplicatedFiles: duplicatedFiles.sort(byKey),
    contentMismatches: contentMismatches.sort(),
    ledgerDisagreements: ledgerDisagreements.sort(byKey),
  };
}
