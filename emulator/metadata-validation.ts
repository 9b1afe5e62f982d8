/**
 * Checks metadata given with a commit (or by a seed/helper) against a binder's schema, the
 * way iBinder's validation does: every problem is reported at once, keyed by the offending
 * field (`additionalMetadata[1].value`), so a client can tell the producer exactly what to fix.
 * A `List` element accepts an allowed value's id or (case-insensitively) its label and stores
 * the id.
 */
import type { FieldErrors } from './problem.js';
import type { MetadataElementRecord, MetadataValueRecord } from './types.js';

export interface MetadataInput {
  metadataElementId: string;
  value: string;
}

const MAX_TEXT_VALUE_LENGTH = 1000;

function addError(errors: FieldErrors, field: string, message: string): void {
  (errors[field] ??= []).push(message);
}

export function resolveMetadata(
  binderId: string,
  elements: readonly MetadataElementRecord[],
  input: readonly MetadataInput[],
  field = 'additionalMetadata',
): { values: MetadataValueRecord[]; errors: FieldErrors } {
  const errors: FieldErrors = {};
  const values: MetadataValueRecord[] = [];
  const seen = new Set<string>();
  const byId = new Map(elements.map((e) => [e.id, e]));

  input.forEach((entry, i) => {
    const idField = `${field}[${i}].metadataElementId`;
    const valueField = `${field}[${i}].value`;
    const elementId = entry.metadataElementId.trim();
    if (elementId === '') {
      addError(errors, idField, 'The metadataElementId field is required.');
      return;
    }
    if (elementId.startsWith('GLOBAL_')) {
      addError(errors, idField, `'${elementId}' is reserved: iBinder sets GLOBAL_ metadata from the target binder and folder.`);
      return;
    }
    const element = byId.get(elementId);
    if (!element) {
      const known = elements.map((e) => e.id).join(', ') || '(none)';
      addError(errors, idField, `Metadata element '${elementId}' is not defined on binder ${binderId}. Defined elements: ${known}.`);
      return;
    }
    if (seen.has(element.id)) {
      addError(errors, idField, `Metadata element '${element.id}' is given more than once.`);
      return;
    }
    seen.add(element.id);
    const value = entry.value.trim();
    if (value === '') {
      addError(errors, valueField, `The value of metadata element '${element.id}' (${element.label}) must not be empty.`);
      return;
    }
    if (element.dataType === 'List') {
      const match =
        element.allowedValues.find((v) => v.id === value) ??
        element.allowedValues.find((v) => v.label.toLowerCase() === value.toLowerCase());
      if (!match) {
        const allowed = element.allowedValues.map((v) => `${v.id} (${v.label})`).join(', ');
        addError(
          errors,
          valueField,
          `'${value}' is not an allowed value of metadata element '${element.id}' (${element.label}). Allowed values: ${allowed}.`,
        );
        return;
      }
      values.push({ metadataElementId: element.id, valueId: match.id });
      return;
    }
    if (value.length > MAX_TEXT_VALUE_LENGTH) {
      addError(
        errors,
        valueField,
        `The value of metadata element '${element.id}' is ${value.length} characters long; at most ${MAX_TEXT_VALUE_LENGTH} are allowed.`,
      );
      return;
    }
    values.push({ metadataElementId: element.id, valueId: value });
  });

  for (const element of elements) {
    if (element.required && !seen.has(element.id)) {
      addError(errors, field, `Metadata element '${element.id}' (${element.label}) is required on binder ${binderId}.`);
    }
  }
  return { values, errors };
}

/** iBinder-like file-name rules; returns the problems, empty when the name is acceptable. */
export function fileNameProblems(fileName: string): string[] {
  const problems: string[] = [];
  if (fileName.trim() === '') return ['The fileName field is required.'];
  if (fileName.length > 255) problems.push(`The file name is ${fileName.length} characters long; at most 255 are allowed.`);
  if (/[/\\]/.test(fileName)) problems.push('The file name must not contain / or \\; choose the folder with the folder id instead.');
  // biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is what this check is for
  if (/[\u0000-\u001f\u007f]/.test(fileName)) problems.push('The file name must not contain control characters.');
  if (fileName === '.' || fileName === '..') problems.push(`'${fileName}' is not a file name.`);
  return problems;
}
