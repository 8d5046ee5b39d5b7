/**
 * `pivot gc [-n] [--all-commits]`: remove cache objects that no lock or
 * `.pvt` file refers to (in the workspace, or in every commit of every
 * branch and tag), with the run-cache entries, fingerprint analyses and
 * file-hash entries that nothing refers to any more (docs/gc.md).
 *
 * @module
 */

import { join } from "node:path";
import { PivotError } from "../../errors.ts";
import { type Command, noPositionals } from "../command.ts";
import { withProject } from "../project_session.ts";
import { formatBytes } from "../format_bytes.ts";
import type { GitNeed } from "../git_need.ts";

/** The `gc` command. */
export const gc: Command = {
  name: "gc",
  summary: "Remove cache objects (and state entries) that nothing refers to any more.",
  usage: "gc [options]",
  options: {
    "dry-run": { type: "boolean", short: "n", help: "only list what would be removed" },
    "all-commits": {
      type: "boolean",
      help: "keep what any commit of any branch or tag refers to, not only the workspace",
    },
    json: { type: "boolean", help: "print the report as JSON" },
  },
  async run({ values, positionals }, env) {
    noPositionals("gc", positionals);
    const dryRun = Boolean(values["dry-run"]);
    return await withProject(env, async ({ project, cache, state, skip }) => {
      const { liveExecLocks } = await import("../../storage/exec_lock.ts");
      const held = await liveExecLocks(join(project.tmpDir, "locks"));
      if (held.length > 0 && !dryRun) {
        throw new PivotError(
          `gc: another pivot process is running stage${held.length > 1 ? "s" : ""} ${
            held.map((lock) => `'${lock.name}'`).join(", ")
          }: run gc when it is done, so it does not remove what that run is storing`,
        );
      }
      const { collectGarbage, deleteKeys } = await import("../../storage/gc.ts");
      const { staleFingerprintKeys } = await import("../../fingerprint/fingerprint.ts");
      const listing = dryRun && !values.json && !env.output.quiet;
      const report = await collectGarbage({
        root: project.root,
        cache,
        state,
        allCommits: Boolean(values["all-commits"]),
        dryRun,
        skip,
        onObject: listing
          ? (hash, bytes) => env.output.line(`would remove  ${hash}  ${formatBytes(bytes)}`)
          : undefined,
        progress: (message) => env.output.status(message),
      });
      const fingerprints = await staleFingerprintKeys(state);
      if (!dryRun) await deleteKeys(state, fingerprints);
      env.output.clearStatus();
      const stateEntries = report.stateEntries + fingerprints.length;
      if (values.json) {
        env.output.line(JSON.stringify(
          {
            dry_run: dryRun,
            objects: report.objects.removed,
            bytes: report.objects.bytes,
            kept: report.objects.kept,
            leftovers: report.leftovers,
            run_cache: report.runCache,
            state_entries: stateEntries,
            references: report.references,
          },
          null,
          2,
        ));
        return 0;
      }
      if (env.output.quiet) return 0;
      const verb = dryRun ? "Would remove" : "Removed";
      const where = values["all-commits"]
        ? `${report.references.commits} commits and the workspace`
        : "the workspace";
      env.output.line(
        `${verb} ${report.objects.removed} cache object${
          report.objects.removed === 1 ? "" : "s"
        } (${
          formatBytes(report.objects.bytes)
        }); kept ${report.objects.kept}, referred to by ${where}.`,
      );
      const extra = [
        report.leftovers.removed > 0
          ? `${report.leftovers.removed} leftover file${
            report.leftovers.removed === 1 ? "" : "s"
          } (${formatBytes(report.leftovers.bytes)})`
          : "",
        report.runCache.removed > 0 ? `${report.runCache.removed} run-cache entries` : "",
        stateEntries > 0 ? `${stateEntries} state entries` : "",
      ].filter((part) => part !== "");
      if (extra.length > 0) env.output.line(`${verb} ${extra.join(", ")}.`);
      return 0;
    }, { git: values["all-commits"] ? ALL_COMMITS_NEED : undefined });
  },
};

/** Why `gc --all-commits` needs git. */
const ALL_COMMITS_NEED: GitNeed = {
  what: "gc --all-commits",
  why: "it keeps what any commit refers to",
  instead: "drop --all-commits to keep what the workspace refers to",
};
