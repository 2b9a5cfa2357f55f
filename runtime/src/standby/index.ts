/** `cloudsync standby`: a warm standby kept from a primary's change stream, periodic copies, or backups. */
export { runStandby, type StandbyOptions, type StandbyRun } from "./standby.js";
export { loadState, saveState, type StandbyMode, type StandbyState, type StandbyStatus } from "./state.js";
export { changeStreamUnavailable, currentResumeToken, followChanges, toWrite, type FollowOptions, type FollowResult } from "./follow.js";
export { backupPass, fullCopyPass, standbyNamespaces, type PassResult } from "./passes.js";
export { createReconciler, type ReconciledNamespace, type Reconciler } from "./reconcile.js";
