/**
 * A project on disk: its root (the top-most directory holding `.pivot/`) and
 * the parts of `.pivot/` that Pivot owns. Finding one is the pipeline
 * loader's job (`lib/pipeline/find_project.ts`).
 *
 * @module
 */

import { dirname, isAbsolute, join, relative, sep } from "../posix_path.ts";

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
  if (normalAbsolute(dir) && normalAbsolute(path)) {
    return path === dir || (path.startsWith(dir) && (path[dir.length] === sep || dir === sep));
  }
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

// A segment `.` or `..`, or an empty one: an absolute path with none (and no
// trailing separator) is normalised.
const UNNORMAL = /(^|[/\\])\.{0,2}([/\\]|$)/;

/** True for an absolute, normalised path (`/` itself included). */
function normalAbsolute(path: string): boolean {
  return isAbsolute(path) && (path === sep || !UNNORMAL.test(path.slice(1)));
}

/**
 * `path` relative to `dir` when `path` is plainly below it (both absolute and
 * normalised, `path` starting with `dir` and a separator), else undefined: the
 * common case answered without `relative()`, which resolves both paths (a
 * tenth of loading a 10,000-stage pipeline).
 */
function plainlyUnder(dir: string, path: string): string | undefined {
  if (!path.startsWith(dir) || path[dir.length] !== sep) return undefined;
  return normalAbsolute(dir) && normalAbsolute(path) ? path.slice(dir.length + 1) : undefined;
}

/** `path` relative to the project root, with `/` separators. */
export function projectRelative(project: Project, path: string): string {
  const rel = plainlyUnder(project.root, path) ?? relative(project.root, path);
  return sep === "/" ? rel : rel.split(sep).join("/");
}
