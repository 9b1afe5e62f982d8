/**
 * When an import counts as converted: the save endpoint documents a 303 "Import not converted
 * yet, please poll", and the legacy flow polls until `itemsDone`. By default an import is ready
 * at once; `importConversion` makes it wait for N polls or N milliseconds, whichever comes first.
 */
import type { BynderContext } from './context.js';
import type { ImportRecord } from './state.js';

export function isImportConverted(ctx: BynderContext, record: ImportRecord): boolean {
  const { polls, ms } = ctx.options.importConversion;
  if (polls === undefined && ms === undefined) return true;
  if (polls !== undefined && record.polls >= polls) return true;
  if (ms !== undefined && ctx.now() - record.finalisedAt >= ms) return true;
  return false;
}
