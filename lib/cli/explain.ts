/**
 * Rendering decisions: the `status` table, the `--explain` detail, and the
 * `status --json` shape (SPEC §6).
 *
 * @module
 */

import type { Decision, FileChanges } from "../engine/decide.ts";

/**
 * What {@link statusJson} and {@link printStatusTable} show of a decision: a
 * {@link Decision}, or a stage up to date by the record of the last no-op
 * (lib/cli/noop_record.ts, `upToDate`).
 */
export type ShownDecision =
  & Pick<Decision, "status" | "reasons" | "changes" | "restore" | "runCache">
  & { readonly stage: { readonly name: string } };
import type { StageDef } from "../model/stage_def.ts";
import type { Output } from "./output.ts";

/** The SPEC §6 `list --json` document of `stages`. */
export function listJson(stages: readonly StageDef[]): { stages: Record<string, unknown>[] } {
  return {
    stages: stages.map((s) => ({
      name: s.name,
      deps: s.deps.map((d) => d.path + (d.isDir ? "/" : "")),
      outs: s.outs.map((o) => o.path + (o.isDir ? "/" : "")),
      mutex: s.mutex,
      ...(s.variant !== undefined ? { variant: s.variant } : {}),
      // Which pipeline defines it: stages may come from several (docs/multi-pipeline.md).
      pipeline: s.pipeline.name,
    })),
  };
}

/** The SPEC §6 `status --json` entry of a decision. */
export function statusJson(decision: ShownDecision): Record<string, unknown> {
  return {
    name: decision.stage.name,
    status: decision.status,
    reasons: decision.reasons,
    changes: decision.changes,
    ...(decision.restore.length > 0 ? { restore: decision.restore.map((o) => o.path) } : {}),
    ...(decision.runCache ? { run_cache: true } : {}),
  };
}

// Files named per kind of change in a directory; `--json` has them all.
const SHOWN_FILES = 10;

function printFileChanges(output: Output, files: FileChanges): void {
  for (
    const [label, paths] of [
      ["modified", files.modified],
      ["added", files.added],
      ["removed", files.removed],
    ] as const
  ) {
    for (const path of paths.slice(0, SHOWN_FILES)) output.line(`      ${label}: ${path}`);
    if (paths.length > SHOWN_FILES) {
      output.line(`      … and ${paths.length - SHOWN_FILES} more ${label} (see --json)`);
    }
  }
}

function short(hash: string | null): string {
  return hash === null ? "(none)" : hash.slice(0, 8);
}

function value(v: unknown): string {
  return v === null || v === undefined ? "(none)" : JSON.stringify(v);
}

/**
 * One line per stage: name, status, reasons. Written in one piece (10,000
 * stages are 10,000 lines: a write each cost more than deciding them).
 */
export function printStatusTable(output: Output, decisions: readonly ShownDecision[]): void {
  let width = 5;
  for (const d of decisions) width = Math.max(width, d.stage.name.length);
  width += 2;
  const lines: string[] = [];
  for (const d of decisions) {
    const status = d.status === "will-run"
      ? output.paint("yellow", "will run")
      : output.paint("green", "up to date");
    const notes = [
      ...(d.reasons.length > 0 ? [d.reasons.join(", ")] : []),
      ...(d.restore.length > 0 ? [`restore ${d.restore.map((o) => o.path).join(", ")}`] : []),
      ...(d.runCache ? ["outs in run cache"] : []),
    ];
    lines.push(
      `${d.stage.name.padEnd(width)}${status}${notes.length ? `  (${notes.join("; ")})` : ""}\n`,
    );
  }
  if (lines.length > 0) output.raw(lines.join(""));
}

/** The detailed explanation of each decision. */
export function printExplanation(output: Output, decisions: readonly Decision[]): void {
  for (const d of decisions) {
    output.line(output.paint("bold", `Stage: ${d.stage.name}`));
    output.line(`  Status: ${d.status === "will-run" ? "WILL RUN" : "up to date"}`);
    if (d.reasons.length > 0) output.line(`  Reasons: ${d.reasons.join(", ")}`);
    if (d.restore.length > 0) {
      output.line(`  Restores from cache: ${d.restore.map((o) => o.path).join(", ")}`);
    }
    if (d.runCache) output.line(`  Outs for these inputs are in the run cache: restored, not run`);
    if (d.changes.code.length > 0) {
      output.line("  Code changes:");
      for (const c of d.changes.code) {
        const where = c.file ? `  ${c.file}${c.line ? `:${c.line}` : ""}` : "";
        output.line(`    ${c.key}  ${short(c.old)} -> ${short(c.new)}${where}`);
      }
      // A command stage's code is its command line: show what runs now.
      const code = d.stage.code;
      if (code.kind === "command") {
        for (const command of code.commands) output.line(`      now: ${command}`);
      }
    }
    if (d.stage.frozen) output.line("  Frozen: its command never runs; changes to it are ignored");
    if (d.stage.alwaysChanged) output.line("  Always changed: it runs on every repro");
    if (d.changes.params.length > 0) {
      output.line("  Param changes:");
      for (const p of d.changes.params) {
        output.line(`    ${p.key}: ${value(p.old)} -> ${value(p.new)}`);
      }
    }
    if (d.changes.deps.length > 0) {
      output.line("  Dep changes:");
      for (const c of d.changes.deps) {
        output.line(`    ${c.path}: ${short(c.old)} -> ${short(c.new)}`);
        if (c.files) printFileChanges(output, c.files);
      }
    }
    output.line();
  }
}
