/**
 * What a command wrote where it should not. Deno's permissions cannot
 * confine a subprocess, so a command stage may write anywhere; Pivot notices
 * afterwards what changed in the project that no stage declares, by
 * comparing two stamp snapshots (path → mtime, size, inode) of the project
 * tree taken before and after the command. Only stamps are read, never
 * content, and the walk leaves out what cannot be a mistake or would be
 * costly: `.git/`, `.pivot/`, `.dvc/`, `node_modules/`, Python's caches,
 * every declared out (a directory out is not entered), and whatever the
 * project's `.gitignore` files (and `.git/info/exclude`) ignore — data is
 * ignored there, as Pivot and DVC list outs and tracked files in
 * `.gitignore`. See docs/command-stages.md.
 *
 * @module
 */

import { join } from "../posix_path.ts";

/** A snapshot: project-relative POSIX path → stamp text. */
export type Snapshot = ReadonlyMap<string, string>;

/** Directory names never walked: tools' own state, dependencies, caches. */
const SKIPPED_DIRS = new Set([
  ".git",
  ".pivot",
  ".dvc",
  "node_modules",
  "__pycache__",
  ".venv",
  ".mypy_cache",
  ".pytest_cache",
  ".ipynb_checkpoints",
]);

/** File names whose changes are not reported: Pivot itself maintains them beside outs. */
const UNREPORTED_FILES = new Set([".gitignore"]);

/** What a snapshot leaves out besides ignored files. */
export interface SnapshotScope {
  /** Absolute project root. */
  readonly root: string;
  /** Project-relative paths of every declared out (files and directories). */
  readonly declared: ReadonlySet<string>;
}

interface IgnoreMatcher {
  test(path: string): { ignored: boolean; unignored: boolean };
}

type IgnoreFactory = () => { add(patterns: string): IgnoreMatcher } & IgnoreMatcher;

let loadIgnore: Promise<IgnoreFactory> | undefined;

/**
 * The stamps of the project's files (see the module doc for what is left
 * out). Needs read access to the project.
 */
export async function snapshotProject(scope: SnapshotScope): Promise<Snapshot> {
  // The gitignore matcher is imported only once a command stage runs.
  const ignore =
    await (loadIgnore ??= import("ignore").then((m) => m.default as unknown as IgnoreFactory));
  const result = new Map<string, string>();
  const levels: { base: string; matcher: IgnoreMatcher }[] = [];
  const exclude = readText(join(scope.root, ".git", "info", "exclude"));
  if (exclude !== undefined) levels.push({ base: "", matcher: ignore().add(exclude) });
  const ignored = (rel: string, isDir: boolean, stack: typeof levels) => {
    let verdict = false;
    for (const { base, matcher } of stack) {
      const local = base === "" ? rel : rel.slice(base.length + 1);
      const { ignored, unignored } = matcher.test(isDir ? `${local}/` : local);
      if (ignored) verdict = true;
      else if (unignored) verdict = false;
    }
    return verdict;
  };
  const walk = (dir: string, rel: string, stack: typeof levels) => {
    const gitignore = readText(join(dir, ".gitignore"));
    const here = gitignore === undefined ? stack : [...stack, {
      base: rel,
      matcher: ignore().add(gitignore),
    }];
    let entries: Deno.DirEntry[];
    try {
      entries = [...Deno.readDirSync(dir)];
    } catch {
      return; // gone, or unreadable: nothing to compare
    }
    for (const entry of entries) {
      const path = rel === "" ? entry.name : `${rel}/${entry.name}`;
      if (scope.declared.has(path)) continue;
      if (entry.isDirectory) {
        if (SKIPPED_DIRS.has(entry.name) || ignored(path, true, here)) continue;
        walk(join(dir, entry.name), path, here);
      } else if (!UNREPORTED_FILES.has(entry.name) && !ignored(path, false, here)) {
        try {
          const info = Deno.lstatSync(join(dir, entry.name));
          result.set(path, `${info.mtime?.getTime()}:${info.size}:${info.ino}`);
        } catch {
          // removed while walking
        }
      }
    }
  };
  walk(scope.root, "", levels);
  return result;
}

/**
 * Paths that were added, changed or removed between two snapshots, sorted.
 *
 * @example
 * ```ts
 * changedPaths(new Map([["a", "1"]]), new Map([["a", "2"], ["b", "1"]])); // ["a", "b"]
 * ```
 */
export function changedPaths(before: Snapshot, after: Snapshot): string[] {
  const changed = new Set<string>();
  for (const [path, stamp] of after) {
    if (before.get(path) !== stamp) changed.add(path);
  }
  for (const path of before.keys()) {
    if (!after.has(path)) changed.add(path);
  }
  return [...changed].sort();
}

function readText(path: string): string | undefined {
  try {
    return Deno.readTextFileSync(path);
  } catch {
    return undefined;
  }
}
