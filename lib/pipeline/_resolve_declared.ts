/**
 * Resolving what a stage declares against its project, shared by the loaders
 * of `pipeline.ts` and `pivot.yaml`: a declared path becomes a project-relative
 * {@link ArtifactDef}, extra read permissions become absolute.
 *
 * @module
 */

import { isAbsolute, join, resolve } from "node:path";
import type { LoaderSpec } from "../model/loader_spec.ts";
import type { StagePermissions } from "../api/stage.ts";
import { PivotError } from "../errors.ts";
import { isInside, PIVOT_DIR, type Project, projectRelative } from "../model/project.ts";
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
 * @throws {PivotError} for an out outside the project, or any path inside
 * `.pivot/`.
 */
export function resolveArtifact(
  project: Project,
  dir: string,
  stage: string,
  decl: DeclaredArtifact,
  where: () => string,
): ArtifactDef {
  const abs = resolve(dir, decl.path);
  if (decl.what === "out" && !isInside(project.root, abs)) {
    throw new PivotError(
      `${where()}: stage '${stage}': out '${decl.name}' (${decl.path}) is outside the project ${project.root}: write outs inside it`,
    );
  }
  if (isInside(join(project.root, PIVOT_DIR), abs)) {
    throw new PivotError(
      `${where()}: stage '${stage}': ${decl.what} '${decl.name}' (${decl.path}) is inside ${PIVOT_DIR}/, which Pivot owns: use another path`,
    );
  }
  return {
    name: decl.name,
    path: projectRelative(project, abs),
    abs,
    isDir: decl.path.endsWith("/"),
    loader: decl.loader,
  };
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
