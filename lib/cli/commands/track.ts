/**
 * `pivot track PATHS` and `pivot untrack PATHS`: cache data no stage
 * produces and record it in `PATH.pvt` (with a `.gitignore` line), or stop
 * (docs/track.md).
 *
 * @module
 */

import { resolve } from "node:path";
import { PivotError } from "../../errors.ts";
import { overlaps } from "../../model/overlap.ts";
import { PIVOT_DIR } from "../../model/project.ts";
import { statOrUndefined } from "../../paths.ts";
import type { TrackedData } from "../../storage/track_file.ts";
import type { Command, CommandEnv } from "../command.ts";
import { type ProjectSession, withProject } from "../project_session.ts";
import { formatBytes } from "../format_bytes.ts";

/** The `track` command. */
export const track: Command = {
  name: "track",
  summary: "Cache files or directories no stage produces, recorded in PATH.pvt for git.",
  usage: "track PATHS... [options]",
  options: {},
  async run({ positionals }, env) {
    if (positionals.length === 0) {
      throw new PivotError("track: name the files or directories to track: pivot track PATH...");
    }
    return await withProject(env, async (session) => {
      const { recordedAt } = await import("../../outputs/data_at.ts");
      const { trackedData, trackPath } = await import("../../storage/track.ts");
      const paths = positionals.map((name) => dataPath(session, env, name, "track"));
      const tracked = await trackedData(session.project.root, session.skip);
      const outs = await recordedAt({ kind: "workspace" }, {
        root: session.project.root,
        cache: session.cache,
        state: session.state,
        stages: [],
        skip: session.skip,
      });
      for (const { name, path, abs } of paths) {
        const info = statOrUndefined(abs);
        if (info === undefined) {
          throw new PivotError(`track: '${name}' does not exist: nothing to track`);
        }
        for (const [out, record] of outs) {
          if (record.kind === "out" && overlaps(out, true, path)) {
            throw new PivotError(
              `track: '${path}' is ${
                out === path ? "" : `inside or around `
              }an out of ${record.by} (${out}): Pivot caches it already; 'pivot checkout' restores it`,
            );
          }
        }
        for (const other of tracked) {
          if (other.path !== path && overlaps(other.path, true, path)) {
            throw new PivotError(
              `track: '${path}' overlaps tracked data '${other.path}' (${other.path}.pvt): untrack one first`,
            );
          }
        }
      }
      let changed = false;
      for (const { abs } of paths) {
        const result = await trackPath(abs, {
          root: session.project.root,
          cache: session.cache,
          state: session.state,
          link: session.checkoutMode === "hardlink",
        });
        changed ||= result.status !== "unchanged";
        if (env.output.quiet) continue;
        const { record } = result;
        const size = formatBytes(record.size) +
          (record.files === undefined ? "" : `, ${record.files} files`);
        env.output.line(`${result.status.padEnd(9)}  ${result.path}  (${size})`);
      }
      if (changed && !env.output.quiet) {
        const files = paths.flatMap(({ path }) => [`${path}.pvt`, gitignoreOf(path)]);
        env.output.line(`To record the change in git: git add ${[...new Set(files)].join(" ")}`);
      }
      return 0;
    });
  },
};

/** The `untrack` command. */
export const untrack: Command = {
  name: "untrack",
  summary: "Stop tracking data: remove its PATH.pvt and .gitignore line (the data stays).",
  usage: "untrack PATHS... [options]",
  options: {},
  async run({ positionals }, env) {
    if (positionals.length === 0) {
      throw new PivotError("untrack: name the tracked files or directories: pivot untrack PATH...");
    }
    return await withProject(env, async (session) => {
      const { readTrackFile } = await import("../../storage/track_file.ts");
      const { untrackPath } = await import("../../storage/track.ts");
      const found: TrackedData[] = [];
      for (const name of positionals) {
        const { path, abs } = dataPath(session, env, name.replace(/\.pvt$/, ""), "untrack");
        const data = await readTrackFile(`${abs}.pvt`, session.project.root);
        if (data === undefined) {
          throw new PivotError(`untrack: '${path}' is not tracked (there is no ${path}.pvt)`);
        }
        found.push(data);
      }
      for (const data of found) {
        untrackPath(data);
        if (!env.output.quiet) env.output.line(`untracked  ${data.path}`);
      }
      return 0;
    });
  },
};

/** `name` as data in the project: its project-relative and absolute paths, checked. */
function dataPath(
  session: ProjectSession,
  env: CommandEnv,
  name: string,
  command: string,
): { name: string; path: string; abs: string } {
  const root = session.project.root;
  const abs = resolve(env.cwd, name).replace(/\/+$/, "");
  if (abs === root || !abs.startsWith(root + "/")) {
    throw new PivotError(
      `${command}: '${name}' is ${
        abs === root ? "the project itself" : "outside the project"
      }: name a file or directory in ${root}`,
    );
  }
  const path = abs.slice(root.length + 1);
  const parts = path.split("/");
  if (parts.includes(PIVOT_DIR) || parts.includes(".git")) {
    throw new PivotError(
      `${command}: '${name}' is inside ${PIVOT_DIR}/ or .git/: track your data, not Pivot's or git's files`,
    );
  }
  if (path.endsWith(".pvt") && command === "track") {
    throw new PivotError(`track: '${name}' is a .pvt file: track the data it records instead`);
  }
  return { name, path, abs };
}

function gitignoreOf(path: string): string {
  const slash = path.lastIndexOf("/");
  return slash < 0 ? ".gitignore" : `${path.slice(0, slash)}/.gitignore`;
}
