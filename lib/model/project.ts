/**
 * A project on disk: its root (the top-most directory holding `.pivot/`) and
 * the parts of `.pivot/` that Pivot owns. Finding one is the pipeline
 * loader's job (`lib/pipeline/find_project.ts`).
 *
 * @module
 */

import { dirname, isAbsolute, join, relative, sep } from "node:path";

/** The name of the directory that marks a project's root and holds Pivot's files. */
export const PIVOT_DIR = ".pivot";

/** A project on disk. */
export interface Project {
  /** Absolute root: the top-most directory holding `.pivot/`. */
  readonly root: string;
  /** `<root>/.pivot`. */
  readonly pivotDir: string;
  /** Deno KV state (`.pivot/state`). */
  readonly stateDir: string;
  /** Content-addressed cache (`.pivot/cache`). */
  readonly cacheDir: string;
  /** Scratch space for staging and execution locks (`.pivot/tmp`). */
  readonly tmpDir: string;
}

/** The project rooted at `root` (absolute). */
export function projectAt(root: string): Project {
  const pivotDir = join(root, PIVOT_DIR);
  return {
    root,
    pivotDir,
    stateDir: join(pivotDir, "state"),
    cacheDir: join(pivotDir, "cache"),
    tmpDir: join(pivotDir, "tmp"),
  };
}

/** True when `path` is `dir` or inside it. */
export function isInside(dir: string, path: string): boolean {
  const rel = relative(dir, path);
  return rel !== ".." && !rel.startsWith(`..${sep}`) && !isAbsolute(rel);
}

/**
 * Where `abs` (lexically inside `root`) really is when a symbolic link on
 * the way leads outside `root`: the real path of its nearest existing
 * ancestor directory, joined with the rest; undefined when it stays inside.
 * A write to such a path would land outside the project.
 *
 * `realRoots` memoises real paths of directories (one `realpath` per
 * directory for a whole pipeline); pass a fresh map for a fresh answer.
 */
export function escapesThroughLink(
  root: string,
  abs: string,
  realRoots: Map<string, string> = new Map(),
): string | undefined {
  const real = (dir: string): string | undefined => {
    const known = realRoots.get(dir);
    if (known !== undefined) return known;
    try {
      const path = Deno.realPathSync(dir);
      realRoots.set(dir, path);
      return path;
    } catch (error) {
      if (error instanceof Deno.errors.NotFound || error instanceof Deno.errors.NotADirectory) {
        return undefined;
      }
      throw error;
    }
  };
  const realRoot = real(root) ?? root;
  let dir = dirname(abs);
  while (dir !== root && isInside(root, dir)) {
    const realDir = real(dir);
    if (realDir !== undefined) {
      return isInside(realRoot, realDir) ? undefined : join(realDir, relative(dir, abs));
    }
    dir = dirname(dir);
  }
  return undefined;
}

/** `path` relative to the project root, with `/` separators. */
export function projectRelative(project: Project, path: string): string {
  return relative(project.root, path).split(sep).join("/");
}
