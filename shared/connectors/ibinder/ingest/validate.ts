/**
 * Checks an ingest request before any byte moves: the metadata against the binder's schema,
 * the file name and the size. Pure, so the CLI's `check` command can run the same rules a
 * producer will meet, and every problem is collected at once, so that a person fixes them all
 * in one go instead of one rejection at a time.
 */
import { FIVE_GIB } from '../../../config/runtime.js';
import { nfc } from '../../../config/unicode.js';
import type { DestinationMetadataValue } from '../destination-types.js';
import type { MetadataElement } from '../index.js';
import type { Problem } from '../../../ledger/types.js';
import { TAG } from '../tags.js';
import type { MetadataInput } from './types.js';

export const MAX_FILE_NAME_LENGTH = 255;
/** How many allowed values or element ids a problem lists before saying "and N more". */
const LIST_LIMIT = 15;

export interface IngestRequestToValidate {
  /** Used in messages ("required by binder X"). */
  binderId?: string | undefined;
  fileName: string;
  /** Where the file name came from, shown in problems. Default `ibinder:filename`. */
  fileNameField?: string | undefined;
  sizeBytes: number;
  metadata: readonly MetadataInput[];
  /** The binder's metadata elements; absent (binder unknown) skips the metadata checks. */
  schema?: readonly MetadataElement[] | undefined;
  /** Default 5 GiB: the most a single presigned PUT takes. */
  maxFileSizeBytes?: number | undefined;
  /**
   * Set when a routing rule's or default's metadata does not apply to this file (its tags name
   * another binder): why, said instead of advising to give a required value in the config.
   */
  configMetadataNotApplied?: string | undefined;
}

export interface ValidationResult {
  problems: Problem[];
  /** The metadata as the commit wants it: element ids with allowed value ids (labels mapped). */
  additionalMetadata: DestinationMetadataValue[];
}

export function validateIngestRequest(request: IngestRequestToValidate): ValidationResult {
  const problems = [
    ...validateFileName(request.fileName, request.fileNameField ?? TAG.fileName),
    ...validateSize(request.sizeBytes, request.maxFileSizeBytes ?? FIVE_GIB),
  ];
  if (!request.schema) return { problems, additionalMetadata: [] };
  const metadata = validateMetadata(request.metadata, request.schema, request.binderId, request.configMetadataNotApplied);
  return { problems: [...problems, ...metadata.problems], additionalMetadata: metadata.additionalMetadata };
}

/** A document name: not empty, at most 255 characters, no path separators or control characters. */
export function validateFileName(fileName: string, field: string = TAG.fileName): Problem[] {
  const fix =
    field === TAG.fileName
      ? `set the ${TAG.fileName} tag to a plain file name such as "report.pdf"`
      : `rename the object so that its last key segment is a plain file name, or set the ${TAG.fileName} tag`;
  const problems: Problem[] = [];
  const shown = JSON.stringify(fileName);
  if (fileName.trim() === '') {
    problems.push({ code: 'file-name', field, message: 'the file name is empty', fix });
    return problems;
  }
  if (fileName === '.' || fileName === '..') {
    problems.push({ code: 'file-name', field, message: `the file name ${shown} is not a file name`, fix });
  }
  if (/[/\\]/.test(fileName)) {
    problems.push({ code: 'file-name', field, message: `the file name ${shown} contains a path separator ("/" or "\\")`, fix });
  }
  // biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is what this check is for
  if (/[\u0000-\u001f\u007f-\u009f]/.test(fileName)) {
    problems.push({ code: 'file-name', field, message: `the file name ${shown} contains control characters`, fix });
  }
  if ([...fileName].length > MAX_FILE_NAME_LENGTH) {
    problems.push({
      code: 'file-name',
      field,
      message: `the file name is ${[...fileName].length} characters long; at most ${MAX_FILE_NAME_LENGTH} are allowed`,
      fix,
    });
  }
  return problems;
}

export function validateSize(sizeBytes: number, maxFileSizeBytes: number = FIVE_GIB): Problem[] {
  if (sizeBytes === 0) {
    return [
      {
        code: 'empty-file',
        field: 'size',
        message: 'the object is empty (0 bytes); iBinder does not store empty documents',
        fix: 'upload the file again with its content (check that the producer finished writing it before the upload)',
      },
    ];
  }
  if (sizeBytes > maxFileSizeBytes) {
    return [
      {
        code: 'too-large',
        field: 'size',
        message: `the object is ${formatBytes(sizeBytes)} (${sizeBytes} bytes); at most ${formatBytes(maxFileSizeBytes)} can be uploaded in one piece`,
        fix: 'split the file, or upload it to iBinder by hand',
      },
    ];
  }
  return [];
}

/**
 * Checks every value against its element (unknown element, value not allowed) and every
 * required element for presence. A value is accepted as an allowed value's id or its label
 * (exact, then case-insensitive when that is unambiguous) and committed as the id. Elements
 * without allowed values take any non-empty value as given.
 */
export function validateMetadata(
  metadata: readonly MetadataInput[],
  schema: readonly MetadataElement[],
  binderId?: string,
  configMetadataNotApplied?: string,
): ValidationResult {
  const problems: Problem[] = [];
  const additionalMetadata: DestinationMetadataValue[] = [];
  const byId = new Map(schema.map((e) => [e.id, e]));
  const inBinder = binderId ? ` of binder ${binderId}` : '';
  const given = new Set<string>();

  for (const input of metadata) {
    const field = input.field ?? `${TAG.metaPrefix}${input.elementId}`;
    const element = byId.get(input.elementId);
    if (!element) {
      problems.push({
        code: 'metadata',
        field,
        message:
          `"${input.elementId}" is not a metadata element${inBinder}` +
          (input.elementId.startsWith('GLOBAL_') ? ' (GLOBAL_ elements are reserved and set from the target binder and folder)' : ''),
        fix: `use one of the binder's element ids: ${listOf(schema.map((e) => `${e.id} (${e.label})`))}`,
      });
      continue;
    }
    given.add(element.id);
    const value = input.value.trim();
    if (value === '') {
      // An empty value counts as not given; a required element is reported below.
      given.delete(element.id);
      continue;
    }
    if (element.allowedValues.length === 0) {
      additionalMetadata.push({ metadataElementId: element.id, value });
      continue;
    }
    const match = matchAllowedValue(element, value);
    if (!match) {
      problems.push({
        code: 'metadata',
        field,
        message: `"${value}" is not an allowed value of "${element.label}" (${element.id})${inBinder}`,
        fix: `use one of these value ids (or their labels): ${listOf(element.allowedValues.map((v) => `${v.id} (${v.label})`))}`,
      });
      continue;
    }
    additionalMetadata.push({ metadataElementId: element.id, value: match });
  }

  for (const element of schema) {
    if (!element.required || given.has(element.id)) continue;
    problems.push({
      code: 'metadata',
      field: `${TAG.metaPrefix}${element.id}`,
      message: `"${element.label}" (${element.id}) is required${inBinder} but has no value`,
      fix:
        `tag the object with ${TAG.metaPrefix}${element.id}` +
        (element.allowedValues.length > 0 ? ` set to one of: ${listOf(element.allowedValues.map((v) => `${v.id} (${v.label})`))}` : '') +
        (configMetadataNotApplied === undefined
          ? ', or give it in the routing rule or default target of the environment config'
          : ` (${configMetadataNotApplied})`),
    });
  }
  return { problems, additionalMetadata };
}

/**
 * The allowed value id a value names, by id, then label, then a unique case-insensitive label;
 * compared in NFC, so a label typed on a Mac matches the schema's.
 */
function matchAllowedValue(element: MetadataElement, given: string): string | undefined {
  const value = nfc(given);
  const byId = element.allowedValues.find((v) => nfc(v.id) === value);
  if (byId) return byId.id;
  const byLabel = element.allowedValues.find((v) => nfc(v.label.trim()) === value);
  if (byLabel) return byLabel.id;
  const lower = value.toLowerCase();
  const loose = element.allowedValues.filter((v) => nfc(v.label.trim()).toLowerCase() === lower);
  return loose.length === 1 ? loose[0]?.id : undefined;
}

function listOf(items: readonly string[]): string {
  if (items.length === 0) return '(none)';
  const shown = items.slice(0, LIST_LIMIT).join(', ');
  return items.length > LIST_LIMIT ? `${shown} and ${items.length - LIST_LIMIT} more` : shown;
}

function formatBytes(bytes: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${bytes} bytes` : `${value.toFixed(value < 10 ? 2 : 1).replace(/\.?0+$/, '')} ${units[unit]}`;
}
