/**
 * Executing a command stage (`cmd:` in `pivot.yaml`, SPEC §12), the engine's
 * side: what `dvc repro` does around a command, with Pivot's checks.
 *
 * 1. Outs are removed from the workspace before the command runs (it
 *    writes them where they belong: there is no staging area for a
 *    process), except `persist` ones, which are kept (or restored from the
 *    cache) as writable copies; the outs' parent directories are made.
 * 2. The commands run (`lib/worker/command.ts`), their output streamed with
 *    the stage's prefix.
 * 3. Every declared out must exist; then the outs are hashed and cached and
 *    the lock file written, as for any stage. A failed command writes no
 *    lock file and caches nothing (what it wrote stays in the workspace,
 *    as with DVC).
 * 4. Files the command changed in the project that no stage declares are
 *    reported as a warning (a stamp snapshot before and after:
 *    `lib/worker/workspace_snapshot.ts`).
 *
 * A frozen stage never runs its command: its outs must be in the workspace,
 * and are recorded as they are.
 *
 * @module
 */

import { dirname, join } from "../posix_path.ts";
import { OutputError } from "../errors.ts";
import type { OutDef, StageDef } from "../model/stage_def.ts";
import { listFiles } from "../storage/artifact_hash.ts";
import { tempPath } from "../storage/cache.ts";
import { ensureDir, removePath } from "../storage/ensure_dir.ts";
import { statOrUndefined } from "../paths.ts";
import { type CommandOutcome, runCommands } from "../worker/command.ts";
import { changedPaths, snapshotProject } from "../worker/workspace_snapshot.ts";
import type { EngineContext } from "./context.ts";
import type { Decision } from "./decide.ts";
import type { EngineEvent, StageStatus } from "./events.ts";
import { recordRun } from "./record.ts";
import { restoreOut, storeWorkspaceOuts } from "./workspace_outs.ts";

/** How a command stage ended. */
export interface CommandStageOutcome {
  readonly status: StageStatus;
  readonly reason: string;
  readonly error?: string;
}

/** What {@link executeCommandStage} needs from the wave. */
export interface CommandStageRequest {
  /** Run without writing locks, cache or state. */
  readonly noCommit: boolean;
  /** Fires on cancellation. */
  readonly signal?: AbortSignal;
  /** How long a cancelled command may take to stop (ms) before it is terminated, then killed. */
  readonly graceMs: number;
  /** Emits the stage's events (start, log lines, warnings). */
  readonly emit: (event: EngineEvent) => void;
}

// Command stages running now, and started so far: a snapshot diff taken
// while another command ran may include that command's writes.
let running = 0;
let started = 0;

/**
 * Run the command stage `decision.stage` (or record a frozen one): see the
 * module doc. Resolves with how it ended; never throws for a failed command.
 */
export async function executeCommandStage(
  context: EngineContext,
  decision: Decision,
  request: CommandStageRequest,
): Promise<CommandStageOutcome> {
  const { stage } = decision;
  const reason = decision.reasons.join(",");
  if (stage.frozen) return await recordFrozen(context, decision);
  if (stage.code.kind !== "command") {
    throw new Error(`stage '${stage.name}' is not a command stage`);
  }
  if (request.signal?.aborted) {
    return { status: "cancelled", reason: "cancelled before it started" };
  }
  const code = stage.code;

  await prepareOuts(context, decision);
  const declared = new Set(context.graph.order.flatMap((s) => s.outs.map((o) => o.path)));
  const scope = { root: context.project.root, declared };
  const before = await snapshotProject(scope);
  request.emit({ type: "stage-start", stage: stage.name });
  const startedBefore = started++;
  let overlapped = ++running > 1;
  let outcome: CommandOutcome;
  try {
    outcome = await runCommands(
      {
        stage: stage.name,
        commands: code.commands,
        cwd: code.wdir,
        projectRoot: context.project.root,
        graceMs: request.graceMs,
      },
      (stream, text) => request.emit({ type: "log", stage: stage.name, stream, text }),
      request.signal,
    );
  } finally {
    overlapped ||= started !== startedBefore + 1;
    running--;
  }
  if (outcome.status === "cancelled") return { status: "cancelled", reason: "cancelled" };
  if (outcome.status === "failed") {
    return { status: "failed", reason, error: commandFailure(stage, outcome) };
  }

  const written = checkWrittenOuts(stage);
  if (typeof written === "string") return { status: "failed", reason, error: written };
  const undeclared = changedPaths(before, await snapshotProject(scope));
  if (undeclared.length > 0) {
    request.emit({
      type: "warning",
      message: undeclaredMessage(stage, undeclared, overlapped),
    });
  }
  if (request.noCommit) return { status: "ran", reason };
  const done = { ...decision, stage: written };
  await recordRun(context, done, await storeWorkspaceOuts(context, written));
  return { status: "ran", reason };
}

/**
 * Before the command: remove its outs (they are its to write), except
 * `persist` ones, which become writable copies (restored from the cache
 * when missing); make the outs' parent directories.
 */
async function prepareOuts(context: EngineContext, decision: Decision): Promise<void> {
  for (const out of decision.stage.outs) {
    const keep = out.persist === true || out.kind === "incremental";
    if (!keep) removePath(out.abs);
    else if (statOrUndefined(out.abs) === undefined) {
      const locked = decision.lock?.outs.find((o) => o.path === out.path);
      if (locked) await restoreOut(context, out, locked, "copy");
    } else unprotect(out.abs);
    ensureDir(dirname(out.abs));
  }
}

/**
 * Make the file (or every file of the directory) at `abs` a private,
 * writable copy, if it is a link: a command appending to a persisted out
 * must not write into the cache through a hard link or a symbolic link.
 */
function unprotect(abs: string): void {
  const info = Deno.lstatSync(abs);
  const files = info.isDirectory ? listFiles(abs).map((rel) => join(abs, rel)) : [abs];
  for (const file of files) {
    const stat = Deno.lstatSync(file);
    if (!stat.isSymlink && (stat.nlink ?? 1) <= 1) continue;
    const temp = tempPath(file);
    Deno.copyFileSync(file, temp);
    Deno.chmodSync(temp, 0o644);
    Deno.renameSync(temp, file);
  }
}

/**
 * The stage with each out's kind as written by the command (a path without a
 * trailing `/` is whatever was made), or a failure message naming the first
 * out that is missing or of the declared other kind.
 */
function checkWrittenOuts(stage: StageDef): StageDef | string {
  const outs: OutDef[] = [];
  for (const out of stage.outs) {
    const info = statOrUndefined(out.abs);
    const what = out.kind === "out" || out.kind === "incremental" ? "outs" : `${out.kind}s`;
    if (info === undefined) {
      return `stage '${stage.name}': the command did not write '${out.path}' (declared in ${what}): make it write the path, or remove it from ${what}`;
    }
    if (info.isDirectory !== out.isDir) {
      if (!out.kindInferred) {
        return `stage '${stage.name}': '${out.path}' is ${
          info.isDirectory ? "a directory" : "a file"
        }, declared as ${
          out.isDir ? "a directory (trailing '/')" : "a file"
        }: fix the path in ${what}`;
      }
      outs.push({ ...out, isDir: info.isDirectory });
      continue;
    }
    outs.push(out);
  }
  return { ...stage, outs };
}

/** A frozen stage: nothing runs; its outs, as they are, are recorded if they all exist. */
async function recordFrozen(
  context: EngineContext,
  decision: Decision,
): Promise<CommandStageOutcome> {
  const { stage } = decision;
  const written = checkWrittenOuts(stage);
  if (typeof written === "string") {
    const missing = stage.outs.find((out) => statOrUndefined(out.abs) === undefined);
    return {
      status: "failed",
      reason: decision.reasons.join(","),
      error: missing
        ? `stage '${stage.name}' is frozen and its out '${missing.path}' is missing (and not in the cache): unfreeze it (frozen: false) to run it, or restore the file`
        : written,
    };
  }
  try {
    await recordRun(
      context,
      { ...decision, stage: written },
      await storeWorkspaceOuts(context, written),
    );
  } catch (error) {
    if (error instanceof OutputError) {
      return { status: "failed", reason: decision.reasons.join(","), error: error.message };
    }
    throw error;
  }
  return { status: "restored", reason: "frozen: outs recorded as they are" };
}

function commandFailure(stage: StageDef, outcome: Extract<CommandOutcome, { status: "failed" }>) {
  const how = outcome.error !== undefined
    ? `could not start: ${outcome.error}`
    : outcome.signal !== undefined
    ? `was killed by ${outcome.signal}`
    : `failed with exit code ${outcome.code}`;
  return `stage '${stage.name}': command ${how}: ${outcome.command}`;
}

const LISTED = 5;

function undeclaredMessage(stage: StageDef, paths: readonly string[], overlapped: boolean): string {
  const listed = paths.slice(0, LISTED).join(", ") +
    (paths.length > LISTED ? ` and ${paths.length - LISTED} more` : "");
  const one = paths.length === 1;
  const files = one ? "a file" : `${paths.length} files`;
  const them = one ? "it" : "them";
  const what = overlapped
    ? `${files} that no stage declares changed while stage '${stage.name}' ran (beside other commands)`
    : `stage '${stage.name}' changed ${files} that no stage declares`;
  return `${what}: ${listed}: declare ${them} as outs (or metrics, plots), or git-ignore ${them}`;
}
