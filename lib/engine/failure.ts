/**
 * Turning a failed run into one line a user can act on, and the stack to
 * show with `-v`. The line names the user's file:line:col where the error
 * was thrown: the first frame of its stack in the user's own code (Deno maps
 * a TypeScript module's frames to its `.ts` lines), not in Pivot, an npm or
 * remote package, or Deno itself.
 *
 * Denied file access (Deno's `NotCapable`) is the common case: it means the
 * stage touched a path it did not declare, and the fix is to declare it.
 *
 * @module
 */

import { relative } from "../posix_path.ts";
import type { StageDef } from "../model/stage_def.ts";
import { isOwnCode } from "../own_code.ts";
import { fromFileUrl } from "../paths.ts";
import type { RunOutcome } from "../worker/pool.ts";
import { type RunDirs, unstagedOutPath } from "../worker/staging.ts";

const DENIED = /Requires (\w+) access to "?([^",]+)"?/;

/** A stack frame's location: `(file:///a/b.ts:3:9)` or `at file:///a/b.ts:3:9`. */
const FRAME = /^\s*at (?:.*?\()?((?:file|https?|jsr|npm|ext|node):[^\s()]*?):(\d+):(\d+)\)?\s*$/;

/** A failed run as the user sees it. */
export interface FailureReport {
  /** One line: what failed, where, and the error. */
  readonly message: string;
  /** The error's stack in project-relative paths without Pivot's and Deno's frames (`-v`). */
  readonly stack: string | undefined;
}

function shown(path: string, dirs: RunDirs, root: string): string {
  const out = unstagedOutPath(dirs.outs, path);
  if (out !== undefined) return out;
  if (path.startsWith(dirs.deps + "/")) return path.slice(dirs.deps.length + 1);
  if (path.startsWith(dir(root))) return relative(root, path);
  return path;
}

function dir(path: string): string {
  return path.endsWith("/") ? path : path + "/";
}

/** A module URL as the user knows it: project-relative inside the project, else a path or the URL. */
function displayUrl(url: string, root: string): string {
  if (!url.startsWith("file:")) return url;
  const path = fromFileUrl(url);
  return path.startsWith(dir(root)) ? path.slice(dir(root).length) : path;
}

/** True for a module of the user's: a local file that is not Pivot's, nor a package's. */
function isUserCode(url: string): boolean {
  return url.startsWith("file:") && !isOwnCode(url) &&
    !/\/node_modules\/|\/deno\/(npm|remote)\//.test(url);
}

/**
 * The first frame of `stack` in the user's code, as `path:line:col`
 * (project-relative inside `root`), or undefined.
 *
 * @example
 * ```ts ignore
 * userLocation("TypeError: x\n    at f (file:///p/lib/model.ts:9:16)", "/p"); // "lib/model.ts:9:16"
 * ```
 */
export function userLocation(stack: string | undefined, root: string): string | undefined {
  for (const line of stack?.split("\n") ?? []) {
    const frame = FRAME.exec(line);
    if (frame && isUserCode(frame[1])) {
      return `${displayUrl(frame[1], root)}:${frame[2]}:${frame[3]}`;
    }
  }
  return undefined;
}

/**
 * `stack` for `-v`: its message, then the frames of the user's code and of
 * packages, with project files shown relative to `root`. Pivot's own frames
 * and Deno's internal ones (`ext:`) are left out. Undefined when no frame is
 * left.
 */
export function userStack(stack: string | undefined, root: string): string | undefined {
  if (stack === undefined) return undefined;
  const lines = stack.split("\n");
  const firstFrame = lines.findIndex((line) => /^\s+at /.test(line));
  if (firstFrame < 0) return undefined;
  const frames: string[] = [];
  let located = 0;
  for (const line of lines.slice(firstFrame)) {
    const frame = FRAME.exec(line);
    if (frame === null) {
      // `at async Promise.all (index 0)` and the like.
      if (!/ext:|node:internal/.test(line)) frames.push(line.trim());
      continue;
    }
    const url = frame[1];
    if (url.startsWith("ext:") || url.startsWith("node:") || isOwnCode(url)) continue;
    frames.push(line.trim().replace(url, displayUrl(url, root)));
    located++;
  }
  if (located === 0) return undefined;
  return [...lines.slice(0, firstFrame), ...frames.map((line) => `    ${line}`)].join("\n");
}

/** The one-line message for a failed run of `stage`, and its stack for `-v`. */
export function explainFailure(
  stage: StageDef,
  outcome: Extract<RunOutcome, { status: "failed" }>,
  dirs: RunDirs,
  root: string,
): FailureReport {
  const { error, phase } = outcome;
  const location = userLocation(error.stack, root);
  const stack = userStack(error.stack, root);
  const at = location === undefined ? "" : ` at ${location}`;
  // A module a stage imports at run time that Pivot did not grant: Deno
  // reports it as a TypeError that suggests --allow-read.
  const deniedImport = error.name === "TypeError" ? DENIED.exec(error.message) : null;
  if (deniedImport?.[1] === "read") {
    return { message: deniedImportMessage(stage, shown(deniedImport[2], dirs, root), root), stack };
  }
  const denied = error.name === "NotCapable" ? DENIED.exec(error.message) : null;
  if (denied) {
    return { message: explainDenied(stage, denied[1], denied[2], dirs, root, at), stack };
  }
  const text = stripStaging(`${error.name}: ${error.message}`, dirs, root);
  const name = stage.name;
  switch (phase) {
    case "import":
      return { message: `stage '${name}': could not load its code${at}: ${text}`, stack };
    case "load":
    case "save":
      return { message: artifactFailure(stage, phase, error.artifact, text, at), stack };
    case "worker":
      return { message: `stage '${name}': its worker crashed: ${text}`, stack };
    case "exit": {
      const code = outcome.exitCode === undefined ? "" : ` (exit code ${outcome.exitCode})`;
      return {
        message:
          `stage '${name}' called ${error.message}${at}${code}: a stage must return or throw instead`,
        stack,
      };
    }
    default: {
      const how = outcome.uncaught === "error"
        ? " (uncaught, in a callback the stage left running)"
        : outcome.uncaught === "rejection"
        ? " (a promise rejected with no handler)"
        : "";
      return { message: `stage '${name}' failed${at}: ${text}${how}`, stack };
    }
  }
}

function explainDenied(
  stage: StageDef,
  access: string,
  rawPath: string,
  dirs: RunDirs,
  root: string,
  at: string,
): string {
  const path = shown(rawPath, dirs, root);
  if (access === "write") {
    const out = stage.outs.find((o) => o.abs === rawPath);
    if (out) {
      return `stage '${stage.name}' wrote '${path}' directly${at}: write out '${out.name}' at ctx.outs.${out.name}`;
    }
    return `stage '${stage.name}' wrote to '${path}'${at}, which is not a declared out: declare it in outs (out("${path}")) or write scratch files to ctx.tmpDir`;
  }
  if (access === "read") {
    const dep = stage.deps.find((d) => d.abs === rawPath || rawPath.startsWith(dir(d.abs)));
    if (dep) {
      return `stage '${stage.name}' read '${path}' directly${at}: use the value (or path) it receives as deps.${dep.name}`;
    }
    return `stage '${stage.name}' read '${path}'${at}, which is not a declared dep: declare it in deps (dep("${path}")) or in permissions.read`;
  }
  if (access === "all") {
    // Deno's rule for device paths (/dev, /proc, /sys): no grant but
    // --allow-all opens them, and a stage never gets that.
    return `stage '${stage.name}' opened '${rawPath}'${at}, a device or system path that Deno lets no sandboxed stage open: read it with a command stage, or copy it into the project and declare it as a dep`;
  }
  return `stage '${stage.name}' needs ${access} access to '${rawPath}'${at}: declare it in the stage's permissions (permissions: { ${access}: ["${rawPath}"] })`;
}

function stripStaging(text: string, dirs: RunDirs, root: string): string {
  // An out's staged path is `<outs>/x` or `<outs>~x` (lib/worker/staging.ts).
  const prefixes = [dir(dirs.outs), `${dirs.outs}~`, dir(dirs.deps), dir(root)];
  return prefixes.reduce((shown, prefix) => shown.replaceAll(prefix, ""), text);
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
  at: string,
): string {
  const what = phase === "load" ? "dep" : "out";
  const artifact = phase === "load"
    ? stage.deps.find((d) => d.name === name)
    : stage.outs.find((o) => o.name === name);
  if (artifact === undefined) {
    return `stage '${stage.name}': could not ${phase} ${
      phase === "load" ? "a dep" : "an out"
    }${at}: ${message}`;
  }
  const loader = artifact.loader === undefined
    ? "its custom loader"
    : `loaders.${artifact.loader.kind}()`;
  const path = artifact.isDir ? `${artifact.path}/` : artifact.path;
  return `stage '${stage.name}': could not ${phase} ${what} '${artifact.name}' (${path}) with ${loader}${at}: ${message}${
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
