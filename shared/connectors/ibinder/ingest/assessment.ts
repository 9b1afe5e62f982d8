/**
 * The iBinder assessment (assess.ts, with its causes and what each knows) in the neutral shape
 * the ingest flow speaks (types.ts, `Assessment`): the plan as the ledger stores it, the target in
 * iBinder's terms (binder and folder ids, the folder path) and iBinder's refusal, if any.
 */
import type { Assessment, AssessmentRejected } from '../../types.js';
import { commitPlanOf, reportTargetOf } from '../plan.js';
import type { IngestAssessment, IngestRejected } from './assess.js';
import type { IBinderRefusal } from './types.js';

export function toAssessment(assessment: IngestAssessment): Assessment {
  switch (assessment.kind) {
    case 'accept':
      return {
        kind: 'accept',
        plan: commitPlanOf(assessment.plan, assessment.additionalMetadata),
        target: reportTargetOf(assessment.plan.target, assessment.plan.source),
      };
    case 'wait':
      return { kind: 'wait', graceEndsAt: assessment.graceEndsAt, rejectionAfterGrace: toRejection(assessment.rejectionAfterGrace) };
    case 'reject':
      return toRejection(assessment);
  }
}

/** The report names a target once one resolved; a half-known one (a binder without a folder) is left out. */
function toRejection(rejected: IngestRejected): AssessmentRejected {
  switch (rejected.cause) {
    case 'untagged':
      return { kind: 'reject', cause: 'untagged', problems: rejected.problems };
    case 'unresolved-target':
      return { kind: 'reject', cause: 'unresolved-target', problems: rejected.problems, refusal: refusal(rejected.ibinder) };
    case 'unknown-binder':
      return {
        kind: 'reject',
        cause: 'unknown-target',
        problems: rejected.problems,
        target: reportTargetOf(rejected.plan.target, rejected.plan.source),
        refusal: refusal(rejected.ibinder),
      };
    case 'invalid-request':
      return {
        kind: 'reject',
        cause: 'invalid-request',
        problems: rejected.problems,
        target: reportTargetOf(rejected.plan.target, rejected.plan.source),
      };
    case 'not-allowed':
      return {
        kind: 'reject',
        cause: 'not-allowed',
        problems: rejected.problems,
        target: reportTargetOf(rejected.target, rejected.target.source),
      };
  }
}

function refusal(ibinder: IBinderRefusal | undefined): AssessmentRejected['refusal'] {
  return ibinder === undefined
    ? undefined
    : { connector: 'ibinder', status: ibinder.status, title: ibinder.title, requestId: ibinder.traceId };
}
