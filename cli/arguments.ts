/**
 * Parsers of the arguments people type: binder ids, S3 locations, `--tag key=value`, dates.
 * A wrong one fails before any request, with what was expected and an example.
 */
import { Argument, InvalidArgumentError } from 'commander';
import { UsageError } from './errors.js';

export function binderIdArgument(): Argument {
  return new Argument('<binderId>', 'binder id (9 characters; see the binders command)');
}

export function parseDepth(value: string): number {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError('expected a whole number, e.g. --depth 1');
  return Number(value);
}

export function parsePositiveInteger(value: string): number {
  if (!/^[1-9]\d*$/.test(value)) throw new InvalidArgumentError('expected a whole number of at least 1');
  return Number(value);
}

/** Collects a repeatable option into a list. */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

export interface S3Location {
  bucket: string;
  key: string;
}

const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/**
 * `s3://bucket/key` or `bucket/key`. The key is taken as typed (no URL decoding: S3 keys may
 * hold "%" and "+"), except that an `s3://` URL copied from the console's address bar is not
 * expected here.
 */
export function parseS3Location(text: string, what = 'object'): S3Location {
  const example = 's3://my-inbox-bucket/inbox/scanner-3/report.pdf (or my-inbox-bucket/inbox/scanner-3/report.pdf)';
  const rest = text.startsWith('s3://') ? text.slice('s3://'.length) : text;
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(rest)) {
    throw new UsageError(`"${text}" is not an S3 location: only s3://bucket/key is understood`, `give the ${what} as ${example}`);
  }
  const slash = rest.indexOf('/');
  const bucket = slash < 0 ? rest : rest.slice(0, slash);
  const key = slash < 0 ? '' : rest.slice(slash + 1);
  if (!BUCKET_NAME.test(bucket)) {
    throw new UsageError(
      `"${text}" does not start with a valid bucket name ("${bucket}")`,
      `give the ${what} as ${example}; bucket names are 3-63 lowercase letters, digits, dots and hyphens`,
    );
  }
  if (key === '' || key.endsWith('/')) {
    throw new UsageError(
      `"${text}" names no object key${key.endsWith('/') ? ' (it ends with "/", a folder)' : ''}`,
      `give the ${what} as ${example}`,
    );
  }
  return { bucket, key };
}

/** True when the text looks like an S3 location rather than a local path. */
export function isS3Url(text: string): boolean {
  return text.startsWith('s3://');
}

/**
 * `--tag key=value` (the first "=" separates; a value may contain "="). `key=` with an empty
 * value removes the tag where tags are changed (reingest).
 */
export function parseTagOption(
  value: string,
  previous: Array<{ key: string; value: string }> | undefined,
): Array<{ key: string; value: string }> {
  const at = value.indexOf('=');
  if (at <= 0) {
    throw new InvalidArgumentError(`expected key=value, e.g. --tag ibinder:binder=PRJ0001AB (got "${value}")`);
  }
  return [...(previous ?? []), { key: value.slice(0, at), value: value.slice(at + 1) }];
}

/** A date (2024-05-01) or date-time (2024-05-01T02:00:00Z); a bare date is midnight UTC. */
export function parseSince(value: string): string {
  const dateOnly = /^\d{4}-\d{2}-\d{2}$/.test(value);
  const time = Date.parse(dateOnly ? `${value}T00:00:00Z` : value);
  if (!/^\d{4}-\d{2}-\d{2}/.test(value) || Number.isNaN(time)) {
    throw new InvalidArgumentError('expected an ISO 8601 date or date-time, e.g. 2024-05-01 or 2024-05-01T02:00:00+02:00');
  }
  return new Date(time).toISOString();
}
