/**
 * Finding the project: its root (the top-most directory holding `.pivot/`),
 * its pipeline file, and the user's Deno configuration.
 *
 * @module
 */

import { isDirectory, isFile } from "../paths.ts";
import { dirname, join, relative } from "../posix_path.ts";
import { PivotError } from "../errors.ts";
import { isInside, PIVOT_DIR, type Project, projectAt } from "../model/project.ts";

export { findDenoConfig } from "./deno_config.ts";

/** Pipeline file names, in the order they are looked for. */
export const PIPELINE_FILES = ["pivot.yaml", "pivot.yml", "pipeline.ts"] as const;

/** Directories from `start` up to the filesystem root. */
function* ancestors(start: string): Generator<string> {
  let dir = start;
  while (true) {
    yield dir;
    const parent = dirname(dir);
    if (parent === dir) return;
    dir = parent;
  }
}

/**
 * The project holding `cwd`: the top-most ancestor with a `.pivot/`
 * directory, so that a nested pipeline shares its parent's project.
 */
export function findProject(cwd: string): Project {
  let root: string | undefined;
  for (const dir of ancestors(cwd)) {
    if (isDirectory(join(dir, PIVOT_DIR))) root = dir;
  }
  if (root === undefined) {
    if (!isDirectory(cwd)) {
      throw new PivotError(`${cwd} is not a directory: check --cwd (or where the command runs)`);
    }
    throw new PivotError(
      `no ${PIVOT_DIR}/ directory in ${cwd} or any parent: run 'pivot init' in your project's root`,
    );
  }
  return projectAt(root);
}

/** The pipeline file in `dir`, if any; two kinds in one directory is an error. */
export function pipelineFileIn(dir: string): string | undefined {
  const found = PIPELINE_FILES.map((name) => join(dir, name)).filter(isFile);
  const yaml = found.filter((file) => !file.endsWith(".ts"));
  if (yaml.length > 0 && found.length > yaml.length) {
    throw new PivotError(
      `${dir} holds both ${
        found.map((f) => relative(dir, f)).join(" and ")
      }: keep one pipeline definition per directory`,
    );
  }
  if (yaml.length > 1) {
    throw new PivotError(`${dir} holds both pivot.yaml and pivot.yml: keep one`);
  }
  return found[0];
}

/**
 * The pipeline file for a command run in `cwd`: the nearest `pivot.yaml`,
 * `pivot.yml` or `pipeline.ts` from `cwd` up to the project root.
 */
export function findPipelineFile(project: Project, cwd: string): string {
  const file = nearestPipelineFile(project, cwd);
  if (file !== undefined) return file;
  throw new PivotError(
    `no pipeline.ts or pivot.yaml in ${cwd} or above it up to ${project.root}: ` +
      `create one (pivot init --example writes a starter pipeline.ts)`,
  );
}

/**
 * The pipeline file for a command run in `cwd`, as {@link findPipelineFile}
 * finds it, or undefined when there is none up to the project root.
 *
 * @throws {PivotError} for a directory holding two pipeline files.
 */
export function nearestPipelineFile(project: Project, cwd: string): string | undefined {
  for (const dir of ancestors(cwd)) {
    const file = pipelineFileIn(dir);
    if (file) return file;
    if (dir === project.root || !isInside(project.root, dir)) break;
  }
  return undefined;
}

/** Directories never searched for pipelines: Pivot's, git's, npm's, and hidden ones. */
function skipped(name: string): boolean {
  return name.startsWith(".") || name === "node_modules";
}

/**
 * Every pipeline file of the project: a walk of the tree from the root,
 * skipping hidden directories and `node_modules/`, symlinks not followed.
 * For the rare questions about the whole project (does any pipeline have a
 * stage of this name?); commands otherwise load only the pipeline they run
 * in and its producers.
 */
export function findPipelineFiles(project: Project): string[] {
  const found: string[] = [];
  const walk = (dir: string) => {
    const file = pipelineFileIn(dir);
    if (file !== undefined) found.push(file);
    let entries: Deno.DirEntry[];
    try {
      entries = [...Deno.readDirSync(dir)];
    } catch {
      return;
    }
    for (const entry of entries) {
      if (entry.isDirectory && !skipped(entry.name)) walk(join(dir, entry.name));
    }
  };
  walk(project.root);
  return found.sort();
}
