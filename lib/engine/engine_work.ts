/**
 * What the engine needs only for a stage that is decided in full, run or
 * recorded. `engine.ts` loads this module with `import()` the first time a
 * wave needs it (`engineWork()`), so a wave whose every stage is verified
 * (a no-op) never loads it nor the ~25 modules behind it
 * (docs/performance.md, "Lazy engine modules").
 */

export { executeCommandStage } from "./command_stage.ts";
export { decide } from "./decide.ts";
export { recordRun } from "./record.ts";
export {
  lockCancelReason,
  lockErrorMessage,
  lockWaitMessage,
  tryStageLock,
  withStageLock,
} from "./stage_lock.ts";
export { commitStagedOuts, recacheOut, restoreOut } from "./workspace_outs.ts";
export { forgetRecentWalks } from "../storage/artifact_hash.ts";
export { trackFileOf } from "../storage/track_file.ts";
export { readFilesUnder } from "../storage/read_files.ts";
export { checkReturnedOuts, checkStagedOuts, linkDeps, prepareOuts } from "../worker/staging.ts";
