/**
 * Finding a DVC project's files: every `dvc.yaml` (a pipeline each) and
 * every `.dvc` file (tracked data) under a directory, and the matcher of its
 * `.dvcignore`.
 *
 * @module
 */

import { join } from "node:path";

/** DVC's files under a directory. */
export interface DvcProjectFiles {
  /** Absolute paths of `dvc.yaml` files, sorted. */
  readonly pipelines: readonly string[];
  /** Absolute paths of `.dvc` files, sorted. */
  readonly dataFiles: readonly string[];
}

/** Directories never searched: tools' own, dependencies, and hidden ones. */
function skipped(name: string): boolean {
  return name.startsWith(".") || name === "node_modules" || name === "__pycache__";
}

/**
 * Every `dvc.yaml` and `.dvc` file under `dir` (hidden directories,
 * `node_modules/` and `__pycache__/` are not searched; symlinks are not
 * followed).
 *
 * @example
 * ```ts
 * const { pipelines, dataFiles } = findDvcFiles("/work/project");
 * ```
 */
export function findDvcFiles(dir: string): DvcProjectFiles {
  const pipelines: string[] = [];
  const dataFiles: string[] = [];
  const walk = (at: string) => {
    let entries: Deno.DirEntry[];
    try {
      entries = [...Deno.readDirSync(at)];
    } catch {
      return;
    }
    for (const entry of entries) {
      const path = join(at, entry.name);
      if (entry.isDirectory) {
        if (!skipped(entry.name)) walk(path);
      } else if (entry.isFile && entry.name === "dvc.yaml") pipelines.push(path);
      else if (entry.isFile && entry.name.endsWith(".dvc") && entry.name !== ".dvc") {
        dataFiles.push(path);
      }
    }
  };
  walk(dir);
  return { pipelines: pipelines.sort(), dataFiles: dataFiles.sort() };
}

/**
 * What the project's root `.dvcignore` ignores (gitignore patterns): a
 * function of a project-relative path and whether it is a directory; one
 * that ignores nothing when there is no `.dvcignore`.
 */
export async function dvcIgnore(root: string): Promise<(path: string, isDir: boolean) => boolean> {
  let text: string;
  try {
    text = await Deno.readTextFile(join(root, ".dvcignore"));
  } catch {
    return () => false;
  }
  const ignore = (await import("ignore")).default as unknown as () => {
    add(patterns: string): { ignores(path: string): boolean };
  };
  const matcher = ignore().add(text);
  return (path, isDir) => matcher.ignores(isDir ? `${path}/` : path);
}
