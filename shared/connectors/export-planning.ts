/**
 * The export planner's way to the planners connectors bring of their own: iBinder's runs page
 * through binders over the export source interface (functions/export-planner/plan.ts); a
 * connector with a change feed of its own plans its runs in its folder, and the planner reaches
 * it here, never in the connector's internals.
 */
export { planBynderExport } from './bynder/export/plan.js';
