// Retention: pure planning and its execution against a destination.
export { DEFAULT_ORPHAN_GRACE_MS, dayKey, formatDuration, isoWeekKey, monthKey, parseDuration, planPrune, type PrunePlan, type RetentionCandidate, type RetentionPolicy } from "./plan.js";
export { DEFAULT_KEEP_WITHIN, retentionPolicyOf } from "./policy.js";
export { executePrune, planDestinationPrune, type DestinationPrunePlan, type PruneOutcome } from "./prune.js";
export { planSlicePrune, type SlicePruneInput, type SlicePrunePlan, type SliceRemoval } from "./slices.js";
