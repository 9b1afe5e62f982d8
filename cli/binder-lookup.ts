/**
 * "Unknown binder" is the most common mistake at the terminal (a typo in a 9-character id, a
 * binder of another tenant). iBinder answers it with a bare 404; the CLI answers it with the
 * list of binders the tenant can see, so the right id is one copy away.
 */
import { IBinderApiError } from '../shared/connectors/ibinder/index.js';
import type { Binder } from '../shared/connectors/ibinder/index.js';
import type { IBinderClient } from '../shared/connectors/ibinder/index.js';
import { UsageError } from './errors.js';

/** How many binders an error lists before "and N more". */
const LIST_LIMIT = 20;

/** Runs `operation` on a binder; a 404 or 403 from iBinder becomes an error that lists the known binders. */
export async function onKnownBinder<T>(
  client: Pick<IBinderClient, 'listBinders'>,
  binderId: string,
  operation: () => Promise<T>,
): Promise<T> {
  try {
    return await operation();
  } catch (err) {
    if (err instanceof IBinderApiError && (err.status === 404 || err.status === 403)) {
      throw await unknownBinderError(client, [binderId], err);
    }
    throw err;
  }
}

/** Checks ids against `GET /binders` up front (the export reads many pages per binder). */
export async function requireKnownBinders(client: Pick<IBinderClient, 'listBinders'>, binderIds: readonly string[]): Promise<Binder[]> {
  const binders = await client.listBinders();
  const unknown = binderIds.filter((id) => !binders.some((b) => b.id === id));
  if (unknown.length > 0) throw unknownBinderErrorFrom(binders, unknown);
  return binders;
}

export async function unknownBinderError(
  client: Pick<IBinderClient, 'listBinders'>,
  binderIds: readonly string[],
  cause?: unknown,
): Promise<UsageError> {
  let binders: Binder[];
  try {
    binders = await client.listBinders();
  } catch {
    return new UsageError(
      `unknown binder ${quoteList(binderIds)}: iBinder does not show it to this tenant`,
      "check the id (9 characters, from the binder's URL in iBinder); `ibinder-pipeline binders` lists the binders",
      { cause },
    );
  }
  return unknownBinderErrorFrom(binders, binderIds, cause);
}

function unknownBinderErrorFrom(binders: readonly Binder[], binderIds: readonly string[], cause?: unknown): UsageError {
  const shown = binders.slice(0, LIST_LIMIT).map((b) => `${b.id} (${b.name})`);
  const more = binders.length > LIST_LIMIT ? ` and ${binders.length - LIST_LIMIT} more (ibinder-pipeline binders)` : '';
  const noun = binderIds.length > 1 ? 'binders' : 'binder';
  return new UsageError(
    `unknown ${noun} ${quoteList(binderIds)}: this tenant cannot see ${binderIds.length > 1 ? 'them' : 'it'}`,
    binders.length > 0
      ? `use one of the binders this tenant can see: ${shown.join(', ')}${more}`
      : 'this tenant sees no binders at all: check the tenant id (--tenant / IBINDER_ORG_ID) and that the API client was given access',
    { cause },
  );
}

function quoteList(ids: readonly string[]): string {
  return ids.map((id) => `"${id}"`).join(', ');
}
