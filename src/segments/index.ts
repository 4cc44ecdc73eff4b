/**
 * Segments (客群): six ways of choosing customers — a fixed list, a rule over the filter grammar, a union /
 * intersection / difference of other segments, model-score thresholds, an imported CIF list, and a rule with
 * hand-picked additions and exclusions — counted and previewed in the caller's scope, frozen into snapshots for
 * campaigns, and re-counted on a schedule. See README.md in this folder.
 */
export {
  SEGMENT_METHODS, SCORE_FIELDS, SEGMENT_LIMITS, segmentDefinitionSchema, createSegmentSchema, updateSegmentSchema, describeDefinition,
  type SegmentDefinition, type SegmentMethod, type CreateSegment, type UpdateSegment, type MemberChanges,
} from './definition.js';
export { segmentSql, segmentSqlById, planSegment, planPredicate, type SegmentSqlOptions, type SegmentPlan, type MemberLists } from './compile.js';
export { countSegment, previewSegment, snapshotSegment, snapshotMembers, listSnapshots, type SegmentSource, type PreviewItem } from './query.js';
export { resolveCustomers, type MemberReport } from './members.js';
export { createSegment, updateSegment, deleteSegment, listSegments, type SegmentView, type WriteContext } from './store.js';
export { registerSegmentRoutes } from './routes.js';
export { defineSegmentJobs, scheduleSegmentJobs, refreshSegments, REFRESH_JOB, type SegmentJobDeps, type RefreshSummary } from './jobs.js';
export { parseCron, previousRun, isDue, cronProblem } from './cron.js';
