/**
 * A 2xx body parsed with its schema, for the connectors' HTTP clients. A body that is not JSON
 * or does not fit becomes the client's own error (`fail`), whose message names the request (the
 * caller's `subject`) and the offending fields, never their values.
 */
import * as z from './zod.js';

export interface JsonBodyWording {
  /** Who answered what, e.g. `iBinder GET /binders (listing binders)`. */
  subject: string;
  /** What a body that parses but does not fit is said to do, e.g. `does not match the reference`. */
  mismatch: string;
  /** What to do about either, e.g. `the API may have changed ...; report it with the request`. */
  advice: string;
}

export function parseJsonBody<S extends z.core.$ZodType>(
  response: { status: number; text: string },
  schema: S,
  wording: JsonBodyWording,
  fail: (message: string, issues: string[]) => Error,
): z.output<S> {
  const { subject, mismatch, advice } = wording;
  let json: unknown;
  try {
    json = JSON.parse(response.text);
  } catch {
    throw fail(`${subject} answered ${response.status} with a body that is not JSON (${response.text.length} characters) — ${advice}`, [
      'body is not JSON',
    ]);
  }
  const result = z.safeParse(schema, json);
  if (result.success) return result.data;
  const issues = describeIssues(result.error.issues, []);
  const shown = issues.slice(0, 5).join('; ') + (issues.length > 5 ? `; and ${issues.length - 5} more` : '');
  throw fail(`${subject} answered ${response.status} with a body that ${mismatch} (${shown}) — ${advice}`, issues);
}

/**
 * Flattens zod issues into `path: message` lines. A union (e.g. binders as bare array or as
 * `{items}`) reports the branch that got furthest into the body, since "Invalid input" at the
 * root would not tell anyone which field is wrong.
 */
export function describeIssues(issues: readonly z.core.$ZodIssue[], prefix: PropertyKey[]): string[] {
  return issues.flatMap((issue) => {
    const path = [...prefix, ...issue.path];
    if (issue.code === 'invalid_union' && issue.errors.length > 0) {
      const depth = (branch: z.core.$ZodIssue[]) => Math.max(0, ...branch.map((i) => i.path.length));
      const best = issue.errors.reduce((a, b) => (depth(b) > depth(a) || (depth(b) === depth(a) && b.length < a.length) ? b : a));
      return describeIssues(best, path);
    }
    return [`${path.length > 0 ? path.map(String).join('.') : '(body)'}: ${issue.message}`];
  });
}
