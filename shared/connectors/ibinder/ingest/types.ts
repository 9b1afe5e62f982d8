/**
 * Shapes of the iBinder connector's ingest decision: what an object asks for (the request, the
 * plan) and what iBinder said when it refused a lookup.
 */
import type { TargetSource } from '../../types.js';
import type { ResolvedTarget } from '../destination-types.js';

export type { TargetSource } from '../../types.js';

/** One metadata value as given (a value id or label), with where it was given. */
export interface MetadataInput {
  elementId: string;
  value: string;
  /** The tag key or config path it came from, shown in problems. Default `ibinder:meta:<elementId>`. */
  field?: string | undefined;
}

/** The file-level part of a request: known even when the target cannot be resolved. */
export interface FileRequest {
  fileName: string;
  /** `ibinder:filename` when tagged, else `key` (the name comes from the object key). */
  fileNameField: string;
  version?: string | undefined;
  metadata: MetadataInput[];
}

/** Everything needed to upload: where to, under which name, with which metadata. */
export interface IngestPlan extends FileRequest {
  target: ResolvedTarget;
  source: TargetSource;
}

/** iBinder's side of a refusal, kept for the report: support asks for the traceId. */
export interface IBinderRefusal {
  status: number;
  title?: string | undefined;
  traceId?: string | undefined;
}
