/**
 * Turning a failed run into one line a user can act on. Denied file access
 * (Deno's `NotCapable`) is the common case: it means the stage touched a path
 * it did not declare, and the fix is to declare it.
 *
 * @module
 */

import { relative } from "node:path";
import type { StageDef } from "../model/stage_def.ts";
import type { RunOutcome } from "../worker/pool.ts";
import type { RunDirs } from "../worker/staging.ts";

const DENIED = /Requires (\w+) access to "?([^",]+)"?/;

function shown(path: string, dirs: RunDirs, root: string): string {
  for (const dir of [dirs.outs, dirs.deps]) {
    if (path.startsWith(dir + "/")) return path.slice(dir.length + 1);
  }
  if (path.startsWith(dir(root))) return relative(root, path);
  return path;
}

function dir(path: string): string {
  return path.endsWith("/") ? path : path + "/";
}

/** The one-line message for a failed run of `stage`. */
export function explainFailure(
  stage: StageDef,
  outcome: Extract<RunOutcome, { status: "failed" }>,
  dirs: RunDirs,
  root: string,
): string {
  const { error, phase } = outcome;
  const denied = error.name === "NotCapable" ? DENIED.exec(error.message) : null;
  if (denied) {
    const [, access, rawPath] = denied;
    const path = shown(rawPath, dirs, root);
    if (access === "write") {
      const out = stage.outs.find((o) => o.abs === rawPath);
      if (out) {
        return `stage '${stage.name}' wrote '${path}' directly: write out '${out.name}' at ctx.outs.${out.name}`;
      }
      return `stage '${stage.name}' wrote to '${path}', which is not a declared out: declare it in outs (out("${path}")) or write scratch files to ctx.tmpDir`;
    }
    if (access === "read") {
      const dep = stage.deps.find((d) => d.abs === rawPath || rawPath.startsWith(dir(d.abs)));
      if (dep) {
        return `stage '${stage.name}' read '${path}' directly: use the value (or path) it receives as deps.${dep.name}`;
      }
      return `stage '${stage.name}' read '${path}', which is not a declared dep: declare it in deps (dep("${path}")) or in permissions.read`;
    }
    return `stage '${stage.name}' needs ${access} access to '${rawPath}': declare it in the stage's permissions (permissions: { ${access}: ["${rawPath}"] })`;
  }
  const message = stripStaging(`${error.name}: ${error.message}`, dirs, root);
  switch (phase) {
    case "import":
      return `stage '${stage.name}': could not load its code: ${message}`;
    case "load":
      return `stage '${stage.name}': could not load a dep: ${message}`;
    case "save":
      return `stage '${stage.name}': could not save an out: ${message}`;
    case "worker":
      return `stage '${stage.name}': its worker crashed: ${message}`;
    default:
      return `stage '${stage.name}' failed: ${message}`;
  }
}

function stripStaging(text: string, dirs: RunDirs, root: string): string {
  return text.replaceAll(dir(dirs.outs), "").replaceAll(dir(dirs.deps), "").replaceAll(
    dir(root),
    "",
  );
}
