/**
 * How `pivot history` and `pivot show` print recorded runs: JSON in the
 * shape of SPEC §6 (`history --json`), a table of runs, and one run in
 * detail. Tables are `table.ts`'s.
 *
 * @module
 */

import type { RunHeader, RunRecord } from "../storage/run_history.ts";
import { formatTable } from "./table.ts";

/**
 * A run as JSON: `{"id", "started", "command", "duration_ms", "counts",
 * "stages": [{"name", "status", "reason", "duration_ms"}]}`.
 *
 * @example
 * ```ts
 * JSON.stringify(runJson(run));
 * ```
 */
export function runJson(run: RunRecord): Record<string, unknown> {
  return {
    id: run.id,
    started: run.started,
    command: run.command,
    duration_ms: run.duration_ms,
    counts: run.counts,
    stages: run.stages.map((stage) => ({
      name: stage.name,
      status: stage.status,
      reason: stage.reason,
      duration_ms: stage.duration_ms,
      ...(stage.error !== undefined ? { error: stage.error } : {}),
    })),
  };
}

/**
 * A table of runs: Id, Started (local time), Duration, Stages (counts by
 * status), Command.
 *
 * @example
 * ```ts
 * output.raw(runsTable(await listRuns(state, 20)));
 * ```
 */
export function runsTable(runs: readonly RunHeader[]): string {
  const rows = runs.map((run) => [
    run.id,
    localTime(run.started),
    seconds(run.duration_ms),
    countsText(run.counts),
    run.command,
  ]);
  return formatTable(["Id", "Started", "Duration", "Stages", "Command"], rows, "text");
}

/**
 * One run in detail: its id, command, start and duration, then a table of
 * its stages (Stage, Status, Duration, Reason), and each failure's message.
 *
 * @example
 * ```ts
 * output.raw(runDetail(await readRun(state)));
 * ```
 */
export function runDetail(run: RunRecord): string {
  const head = [
    `Run      ${run.id}`,
    `Command  ${run.command}`,
    `Started  ${localTime(run.started)}`,
    `Duration ${seconds(run.duration_ms)} (${countsText(run.counts)})`,
    "",
  ].join("\n") + "\n";
  if (run.stages.length === 0) return head + "No stages ran.\n";
  const rows = run.stages.map((stage) => [
    stage.name,
    stage.status,
    seconds(stage.duration_ms),
    stage.reason,
  ]);
  const failures = run.stages.filter((stage) => stage.error !== undefined)
    .map((stage) => `\n${stage.name}: ${stage.error}\n`);
  return head + formatTable(["Stage", "Status", "Duration", "Reason"], rows, "text") +
    failures.join("");
}

function countsText(counts: Readonly<Record<string, number>>): string {
  const order = ["ran", "restored", "skipped", "failed", "blocked", "cancelled"];
  const parts = order.filter((status) => counts[status]).map((status) =>
    `${counts[status]} ${status}`
  );
  return parts.length > 0 ? parts.join(", ") : "none";
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(2)}s`;
}

/** An ISO timestamp as local `YYYY-MM-DD HH:MM:SS`. */
function localTime(iso: string): string {
  const date = new Date(iso);
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ${
    pad(date.getHours())
  }:${pad(date.getMinutes())}:${pad(date.getSeconds())}`;
}
