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
  // A module a stage imports at run time that Pivot did not grant: Deno
  // reports it as a TypeError that suggests --allow-read.
  const deniedImport = error.name === "TypeError" ? DENIED.exec(error.message) : null;
  if (deniedImport?.[1] === "read") {
    return deniedImportMessage(stage, shown(deniedImport[2], dirs, root), root);
  }
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
    case "save":
      return artifactFailure(stage, phase, error.artifact, message);
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

/**
 * A dep that its loader could not read, or an out it could not write: the
 * stage, the dep or out, its path and the loader, since the usual cause is a
 * loader that does not fit the file (`loaders.jsonl()` on a JSON document).
 */
function artifactFailure(
  stage: StageDef,
  phase: "load" | "save",
  name: string | undefined,
  message: string,
): string {
  const what = phase === "load" ? "dep" : "out";
  const artifact = phase === "load"
    ? stage.deps.find((d) => d.name === name)
    : stage.outs.find((o) => o.name === name);
  if (artifact === undefined) {
    return `stage '${stage.name}': could not ${phase} ${
      phase === "load" ? "a dep" : "an out"
    }: ${message}`;
  }
  const loader = artifact.loader === undefined
    ? "its custom loader"
    : `loaders.${artifact.loader.kind}()`;
  return `stage '${stage.name}': could not ${phase} ${what} '${artifact.name}' (${artifact.path}) with ${loader}: ${message}${
    phase === "load" ? ": does the loader match the file's format?" : ""
  }`;
}

/**
 * A stage imported a module it may not read: one Pivot did not find in the
 * pipeline's module graph, because the specifier was computed
 * (`import(name)`), so it is neither granted nor part of the fingerprint.
 */
function deniedImportMessage(stage: StageDef, path: string, root: string): string {
  const outside = path.startsWith("/") && !path.startsWith(dir(root));
  return `stage '${stage.name}' imported '${path}'${
    outside ? ", outside the project," : ","
  } which Pivot cannot see in the pipeline's imports: import it with a literal specifier (await import("${
    outside ? path : `./${path}`
  }")) so that Pivot tracks it, or declare it in the stage's permissions.read`;
}
