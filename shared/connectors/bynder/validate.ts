/**
 * Checks a Bynder ingest request before any byte moves: metaproperties and options against the
 * portal's, the file name, the asset name and the size. Pure (the listings are handed in), so the
 * CLI's `check` runs the very rules a producer will meet, and every problem is collected at once,
 * so that one round of fixes is enough.
 *
 * Matching, as people write metadata: a metaproperty by id (exact), else by name, else by label
 * (NFC, without case, when only one matches); an option the same way, by id, name, then label.
 * What is committed is always ids (`metaproperty.<id>=<optionId>,...`): Bynder says option names
 * "will be deprecated" on save. Every problem names the tag key (or the routing rule's setting),
 * the value given, and the fix, listing the allowed options where there are some.
 */
import { FIVE_GIB } from '../../config/runtime.js';
import { nfc } from '../../config/unicode.js';
import type { Problem } from '../../ledger/types.js';
import type { BynderMetaproperty, BynderMetapropertyOption } from './client/types.js';
import { BYNDER_TAG, splitList, TAG_LIST_SEPARATOR } from './tags.js';

export const MAX_FILE_NAME_LENGTH = 255;
/** Bynder keeps longer names, but people and the pipeline's reports need to read them. */
export const MAX_ASSET_NAME_LENGTH = 255;
/** How many options or metaproperties a problem lists before saying "and N more". */
const LIST_LIMIT = 15;

/** One metaproperty value to check, from a tag or from a routing rule. */
export interface MetadataEntry {
  /** Where a person fixes it: `bynder:meta:Colours`, or `routingRules[prefix="x/"].metadata.Colours`. */
  field: string;
  /** The metaproperty's id, name or label as given. */
  metaproperty: string;
  /** The value as given, for messages and for free-text metaproperties. */
  value: string;
  /** Option ids, names or labels (split at commas; `+` is split here, see `expandPlus`). */
  values: readonly string[];
}

export interface MetadataToValidate {
  /** Entries from the object's tags: they win over the rule's, metaproperty by metaproperty. */
  tags: readonly MetadataEntry[];
  /** Entries from the routing rule (or none). */
  rule: readonly MetadataEntry[];
  metaproperties: readonly BynderMetaproperty[];
  /**
   * False for a new version: Bynder keeps the asset's metadata on a version save, so nothing is
   * required of the file (what it gives is still checked, so that its tags stay valid).
   */
  checkRequired: boolean;
  /** Where a required value may be given besides the tags (the rule that covers the key), for the fix text. */
  ruleField?: string | undefined;
}

export interface MetadataValidation {
  problems: Problem[];
  /** Metaproperty id -> option ids (or the free text), tags over rule; what the save sends. */
  metadata: { id: string; value: string }[];
}

/** Maps every entry to ids, tags over rule, and reports what does not map and what is missing. */
export function validateMetadata(request: MetadataToValidate): MetadataValidation {
  const problems: Problem[] = [];
  const chosen = new Map<string, string>();
  const given = new Set<string>();

  for (const [origin, entries] of [
    ['tags', request.tags],
    ['rule', request.rule],
  ] as const) {
    for (const entry of entries) {
      const found = matchMetaproperty(entry.metaproperty, request.metaproperties);
      if (found.kind !== 'found') {
        problems.push(unknownMetaproperty(entry, found, request.metaproperties));
        continue;
      }
      const metaproperty = found.metaproperty;
      // The tag wins: the rule's value for a metaproperty the tags set is not even checked.
      if (origin === 'rule' && given.has(metaproperty.id)) continue;
      given.add(metaproperty.id);
      const value = resolveValue(entry, metaproperty);
      if (value.kind === 'problem') problems.push(value.problem);
      else chosen.set(metaproperty.id, value.value);
    }
  }

  if (request.checkRequired) {
    for (const metaproperty of request.metaproperties) {
      if (!metaproperty.isRequired || given.has(metaproperty.id)) continue;
      problems.push({
        code: 'metadata',
        field: `${BYNDER_TAG.metaPrefix}${metaproperty.name}`,
        message: `the metaproperty ${describeMetaproperty(metaproperty)} is required in this portal but has no value`,
        fix:
          `tag the object with ${BYNDER_TAG.metaPrefix}${metaproperty.name}` +
          (isSelect(metaproperty)
            ? ` set to ${metaproperty.isMultiselect ? 'one or more of' : 'one of'}: ${listOptions(metaproperty.options)}`
            : '') +
          (request.ruleField !== undefined
            ? `, or give it in ${request.ruleField} of the environment config`
            : ", or give it in the metadata of a routing rule for the key's prefix"),
      });
    }
  }
  return { problems, metadata: [...chosen].map(([id, value]) => ({ id, value })) };
}

type MetapropertyMatch =
  | { kind: 'found'; metaproperty: BynderMetaproperty }
  | { kind: 'unknown' }
  | { kind: 'ambiguous'; matches: BynderMetaproperty[] };

/** By id, else name (exact, then without case), else label without case; a match must be unique. */
export function matchMetaproperty(given: string, metaproperties: readonly BynderMetaproperty[]): MetapropertyMatch {
  const value = nfc(given.trim());
  const byId = metaproperties.find((m) => m.id === value);
  if (byId) return { kind: 'found', metaproperty: byId };
  const match = uniqueByText(value, metaproperties, (m) => [m.name, m.label]);
  return match.kind === 'found' ? { kind: 'found', metaproperty: match.item } : match;
}

type TextMatch<T> = { kind: 'found'; item: T } | { kind: 'unknown' } | { kind: 'ambiguous'; matches: T[] };

/** The one item whose texts equal `value` (NFC), else the one that equals it without case. */
function uniqueByText<T>(value: string, items: readonly T[], texts: (item: T) => (string | undefined)[]): TextMatch<T> {
  const exact = items.filter((item) => texts(item).some((t) => t !== undefined && nfc(t.trim()) === value));
  if (exact.length === 1 && exact[0] !== undefined) return { kind: 'found', item: exact[0] };
  const lower = value.toLowerCase();
  const loose = items.filter((item) => texts(item).some((t) => t !== undefined && nfc(t.trim()).toLowerCase() === lower));
  if (loose.length === 1 && loose[0] !== undefined) return { kind: 'found', item: loose[0] };
  if (loose.length > 1) return { kind: 'ambiguous', matches: loose };
  return { kind: 'unknown' };
}

/** The option ids of an entry's values (or its free text), or the problem with it. */
function resolveValue(
  entry: MetadataEntry,
  metaproperty: BynderMetaproperty,
): { kind: 'value'; value: string } | { kind: 'problem'; problem: Problem } {
  const shown = describeMetaproperty(metaproperty);
  if (!isSelect(metaproperty)) return { kind: 'value', value: entry.value };

  const items = expandPlus(entry.values, metaproperty.options);
  if (!metaproperty.isMultiselect && items.length > 1) {
    return {
      kind: 'problem',
      problem: {
        code: 'metadata',
        field: entry.field,
        message: `${JSON.stringify(entry.value)} gives ${items.length} options, but ${shown} takes only one (it is single-select)`,
        fix: `keep one of them; the allowed options are: ${listOptions(metaproperty.options)}`,
      },
    };
  }
  const ids: string[] = [];
  const unknown: string[] = [];
  const ambiguous: string[] = [];
  for (const item of items) {
    const match = matchOption(item, metaproperty.options);
    if (match.kind === 'found') {
      if (!ids.includes(match.item.id)) ids.push(match.item.id);
    } else if (match.kind === 'ambiguous') ambiguous.push(item);
    else unknown.push(item);
  }
  if (unknown.length > 0 || ambiguous.length > 0) {
    const parts = [
      ...(unknown.length > 0
        ? [
            `${unknown.map((v) => JSON.stringify(v)).join(', ')} ${unknown.length === 1 ? 'is not an option' : 'are not options'} of ${shown}`,
          ]
        : []),
      ...(ambiguous.length > 0
        ? [
            `${ambiguous.map((v) => JSON.stringify(v)).join(', ')} ${ambiguous.length === 1 ? 'matches' : 'match'} several options of ${shown} without case`,
          ]
        : []),
    ];
    return {
      kind: 'problem',
      problem: {
        code: 'metadata',
        field: entry.field,
        message: `in ${JSON.stringify(entry.value)}: ${parts.join('; ')}`,
        fix: `use ${metaproperty.isMultiselect ? `option names or ids, separated by "${TAG_LIST_SEPARATOR}",` : 'one option name or id'} from: ${listOptions(metaproperty.options)}${ambiguous.length > 0 ? ' (give the id where names differ only in case)' : ''}`,
      },
    };
  }
  return { kind: 'value', value: ids.join(',') };
}

/**
 * The items of a select value: a comma-separated item that names an option as a whole stays one
 * ("A+" is an option); otherwise it is split at `+`, the separator S3 tag values allow.
 */
function expandPlus(values: readonly string[], options: readonly BynderMetapropertyOption[]): string[] {
  const items: string[] = [];
  for (const value of values) {
    const parts = matchOption(value, options).kind === 'found' || !value.includes('+') ? [value] : splitList(value, '+');
    for (const part of parts) if (!items.includes(part)) items.push(part);
  }
  return items;
}

/** An option by id, else by name, else by label (see `uniqueByText`). */
function matchOption(given: string, options: readonly BynderMetapropertyOption[]): TextMatch<BynderMetapropertyOption> {
  const value = nfc(given.trim());
  const byId = options.find((o) => o.id === value);
  if (byId) return { kind: 'found', item: byId };
  return uniqueByText(value, options, (o) => [o.name, o.label]);
}

function unknownMetaproperty(
  entry: MetadataEntry,
  found: Exclude<MetapropertyMatch, { kind: 'found' }>,
  metaproperties: readonly BynderMetaproperty[],
): Problem {
  if (found.kind === 'ambiguous') {
    return {
      code: 'metadata',
      field: entry.field,
      message: `"${entry.metaproperty}" matches several metaproperties without case: ${found.matches.map(describeMetaproperty).join(', ')}`,
      fix: `name the metaproperty exactly as the portal spells it, or by its id`,
    };
  }
  return {
    code: 'metadata',
    field: entry.field,
    message: `"${entry.metaproperty}" (given ${JSON.stringify(entry.value)}) is not a metaproperty of this Bynder portal`,
    fix: `use one of the portal's metaproperty names (or ids): ${listOf(metaproperties.map((m) => `${m.name} (${m.id})`))}`,
  };
}

/** Select-type metaproperties have options; their values must be option ids. */
function isSelect(metaproperty: BynderMetaproperty): boolean {
  return metaproperty.options.length > 0 || /select/i.test(metaproperty.type ?? '');
}

function describeMetaproperty(metaproperty: BynderMetaproperty): string {
  const label = metaproperty.label !== undefined && metaproperty.label !== metaproperty.name ? ` "${metaproperty.label}"` : '';
  return `"${metaproperty.name}"${label} (id ${metaproperty.id})`;
}

function listOptions(options: readonly BynderMetapropertyOption[]): string {
  return listOf(
    options.map((o) => (o.label !== undefined && o.label !== o.name ? `${o.name} "${o.label}" (${o.id})` : `${o.name} (${o.id})`)),
  );
}

function listOf(items: readonly string[]): string {
  if (items.length === 0) return '(none)';
  const shown = items.slice(0, LIST_LIMIT).join(', ');
  return items.length > LIST_LIMIT ? `${shown} and ${items.length - LIST_LIMIT} more` : shown;
}

/** The upload's file name (Bynder derives the asset's type from its extension): a plain file name. */
export function validateFileName(fileName: string, field: string): Problem[] {
  const fix = 'rename the object so that its last key segment is a plain file name with an extension, such as "hero.jpg"';
  const shown = JSON.stringify(fileName);
  if (fileName.trim() === '') return [{ code: 'file-name', field, message: "the file name (the key's last segment) is empty", fix }];
  const problems: Problem[] = [];
  if (fileName === '.' || fileName === '..')
    problems.push({ code: 'file-name', field, message: `the file name ${shown} is not a file name`, fix });
  if (/\\/.test(fileName))
    problems.push({ code: 'file-name', field, message: `the file name ${shown} contains a path separator ("\\")`, fix });
  // biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is what this check is for
  if (/[\u0000-\u001f\u007f-\u009f]/.test(fileName))
    problems.push({ code: 'file-name', field, message: `the file name ${shown} contains control characters`, fix });
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

/** The asset's name (`bynder:name`, or the file name): not empty, no control characters, not too long. */
export function validateAssetName(name: string, field: string): Problem[] {
  const fix =
    field === BYNDER_TAG.name ? `set ${BYNDER_TAG.name} to the name the asset should have` : `set ${BYNDER_TAG.name}, or rename the object`;
  if (name.trim() === '') return [{ code: 'file-name', field, message: "the asset's name is empty", fix }];
  const problems: Problem[] = [];
  // biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is what this check is for
  if (/[\u0000-\u001f\u007f-\u009f]/.test(name))
    problems.push({ code: 'file-name', field, message: `the name ${JSON.stringify(name)} contains control characters`, fix });
  if ([...name].length > MAX_ASSET_NAME_LENGTH) {
    problems.push({
      code: 'file-name',
      field,
      message: `the name is ${[...name].length} characters long; at most ${MAX_ASSET_NAME_LENGTH} are allowed`,
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
        message: 'the object is empty (0 bytes); Bynder does not store empty assets',
        fix: 'upload the file again with its content (check that the producer finished writing it before the upload)',
      },
    ];
  }
  if (sizeBytes > maxFileSizeBytes) {
    return [
      {
        code: 'too-large',
        field: 'size',
        message: `the object is ${sizeBytes} bytes; this environment uploads at most ${maxFileSizeBytes} bytes to Bynder`,
        fix: 'split or compress the file, or upload it to Bynder by hand',
      },
    ];
  }
  return [];
}
