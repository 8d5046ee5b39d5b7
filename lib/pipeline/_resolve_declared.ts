/**
 * Resolving what a stage declares against its project, shared by the loaders
 * of `pipeline.ts` and `pivot.yaml`: a declared path becomes a project-relative
 * {@link ArtifactDef}, extra read permissions become absolute.
 *
 * @module
 */

import { isAbsolute, join, resolve, sep } from "../posix_path.ts";
import type { LoaderSpec } from "../model/loader_spec.ts";
import { isFilesSpec } from "../model/returned_files.ts";
import type { StagePermissions } from "../api/stage.ts";
import { PivotError } from "../errors.ts";
import {
  escapesThroughLink,
  isInside,
  PIVOT_DIR,
  type Project,
  projectRelative,
} from "../model/project.ts";

// Real paths of the directories holding outs, resolved once per process: a
// pipeline's outs share a few directories. (The engine checks again, afresh,
// before it writes an out: lib/engine/workspace_outs.ts.)
const realDirs = new Map<string, string>();
import type { ArtifactDef, ResolvedPermissions } from "../model/stage_def.ts";

/** What {@link resolveArtifact} needs to know about one declared path. */
export interface DeclaredArtifact {
  /** The key in the stage's deps or outs. */
  readonly name: string;
  /** The path as written, relative to the pipeline's directory (trailing `/`: a directory). */
  readonly path: string;
  /** A dep or an out (outs must be inside the project). */
  readonly what: "dep" | "out";
  /** The built-in loader's spec, or undefined for a custom loader. */
  readonly loader: LoaderSpec | undefined;
}

/**
 * Resolve a declared path of stage `stage` against the pipeline directory
 * `dir`: absolute and project-relative forms, directory flag, loader spec.
 *
 * @param where lazily gives the stage's site for messages (`pipeline.ts:12`):
 * formatting it for every stage would cost on the no-op path.
 * @param safeDirs directories of outs already found not to lead outside the
 * project, shared by the calls of one load (each is then checked once).
 * @throws {PivotError} for an out outside the project, or any path inside
 * `.pivot/`.
 */
export function resolveArtifact(
  project: Project,
  dir: string,
  stage: string,
  decl: DeclaredArtifact,
  where: () => string,
  safeDirs?: Set<string>,
): ArtifactDef {
  const abs = plainJoin(dir, decl.path) ?? resolve(dir, decl.path);
  // Project-relative, found by prefix when both paths are plain (the usual
  // case: thousands of stages each cost a few string operations, not
  // `node:path` normalisation); `undefined` outside the project.
  const rel = abs.startsWith(project.root) && abs[project.root.length] === "/" &&
      normalRoot(project.root)
    ? abs.slice(project.root.length + 1)
    : undefined;
  const inside = rel !== undefined || isInside(project.root, abs);
  if (decl.what === "out" && !inside) {
    throw new PivotError(
      `${where()}: stage '${stage}': out '${decl.name}' (${decl.path}) is outside the project ${project.root}: write outs inside it`,
    );
  }
  const inPivotDir = rel !== undefined
    ? rel === PIVOT_DIR || rel.startsWith(`${PIVOT_DIR}/`)
    : isInside(join(project.root, PIVOT_DIR), abs);
  if (inPivotDir) {
    throw new PivotError(
      `${where()}: stage '${stage}': ${decl.what} '${decl.name}' (${decl.path}) is inside ${PIVOT_DIR}/, which Pivot owns: use another path`,
    );
  }
  if (isFilesSpec(decl.loader) && !decl.path.endsWith("/")) {
    throw new PivotError(
      `${where()}: stage '${stage}': ${decl.what} '${decl.name}' (${decl.path}) uses loaders.files(), which is for a directory: end its path with '/'`,
    );
  }
  const path = rel ?? projectRelative(project, abs);
  if (decl.what === "out") {
    if (path.includes(".git") && `/${path}/`.includes("/.git/")) {
      throw new PivotError(
        `${where()}: stage '${stage}': out '${decl.name}' (${decl.path}) is inside a .git/ directory, which git owns: use another path`,
      );
    }
    // Whether a path escapes depends on its directory only: asked once per
    // directory in one load (a directory that does not exist yet is not
    // remembered in realDirs, and asking again cost a failed realpath per out).
    const dir = abs.slice(0, abs.lastIndexOf("/"));
    const really = safeDirs?.has(dir) ? undefined : escapesThroughLink(project.root, abs, realDirs);
    if (really === undefined) safeDirs?.add(dir);
    if (really !== undefined) {
      throw new PivotError(
        `${where()}: stage '${stage}': out '${decl.name}' (${decl.path}) leads outside the project through a symbolic link (it is really ${really}): write outs inside the project`,
      );
    }
  }
  return { name: decl.name, path, abs, isDir: decl.path.endsWith("/"), loader: decl.loader };
}

// A segment `.` or `..`, or an empty one.
const UNPLAIN = /(?:^|\/)\.{0,2}(?:\/|$)/;
let lastDir = "";
let lastDirNormal = false;

/** True when `dir` is absolute and normalised (remembered for the last one asked). */
function normalDir(dir: string): boolean {
  if (dir !== lastDir) {
    lastDir = dir;
    lastDirNormal = isAbsolute(dir) && (dir === "/" || !UNPLAIN.test(dir.slice(1)));
  }
  return lastDirNormal;
}

let lastRoot = "";
let lastRootNormal = false;

function normalRoot(root: string): boolean {
  if (root !== lastRoot) {
    lastRoot = root;
    lastRootNormal = isAbsolute(root) && root !== "/" && !UNPLAIN.test(root.slice(1));
  }
  return lastRootNormal;
}

/**
 * `resolve(dir, path)` without `node:path` when it is a plain concatenation:
 * POSIX, `dir` absolute and normalised, `path` relative with no empty, `.`
 * or `..` segment (a trailing `/` is dropped, as `resolve` drops it).
 * `undefined` otherwise.
 */
export function plainJoin(dir: string, path: string): string | undefined {
  if (sep !== "/" || path === "" || path[0] === "/" || !normalDir(dir)) return undefined;
  const body = path.endsWith("/") ? path.slice(0, -1) : path;
  if (body === "" || UNPLAIN.test(body)) return undefined;
  return dir === "/" ? `/${body}` : `${dir}/${body}`;
}

/** A stage's extra permissions with read paths made absolute against `dir`. */
export function resolvePermissions(
  permissions: StagePermissions,
  dir: string,
): ResolvedPermissions {
  return {
    read: (permissions.read ?? []).map((path) => isAbsolute(path) ? path : resolve(dir, path)),
    net: permissions.net ?? false,
    env: permissions.env ?? false,
    run: permissions.run ?? false,
    ffi: permissions.ffi ?? false,
    sys: permissions.sys ?? false,
  };
}

/** The lock file of stage `name` of the pipeline in `dir`: `<dir>/.pivot/stages/<name>.lock`. */
export function lockFileOf(dir: string, name: string): string {
  return join(dir, PIVOT_DIR, "stages", `${name}.lock`);
}
