/**
 * `.gitignore` lines for the data Pivot manages: each cached out (and each
 * tracked file) is listed as `/<name>` in the `.gitignore` of the directory
 * that holds it, as DVC does, so `git add -A` never adds data (SPEC §5).
 * Outs declared `cache: false` (metrics meant for git) are not listed.
 *
 * Adding is idempotent (a line already there is never added again) and
 * appends one line with `O_APPEND`, so other lines of the file, the user's,
 * are kept as they are. A process remembers the lines it has checked, and
 * the lines of each `.gitignore` it read with the file's stamp, so a run
 * placing thousands of outs in one directory reads its `.gitignore` once
 * (then a stat before and after each append), not once per out: reading it
 * each time cost time quadratic in the number of outs.
 *
 * @module
 */

import { basename, dirname, join } from "../posix_path.ts";
import { type FileStamp, sameStamp, stampOf } from "./state.ts";

const known = new Set<string>();

/** What this process last saw of a `.gitignore`: its stamp then and its lines. */
interface Seen {
  readonly stamp: FileStamp;
  readonly lines: Set<string>;
  /** The text ends with a newline (or is empty): the next line needs none before it. */
  readonly endsClean: boolean;
}

const seen = new Map<string, Seen>();

function stampOrUndefined(path: string): FileStamp | undefined {
  try {
    return stampOf(Deno.statSync(path));
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
}

/** The lines of `file` now (undefined: no file), from what was seen when its stamp is unchanged. */
function current(file: string): Seen | undefined {
  const stamp = stampOrUndefined(file);
  if (stamp === undefined) {
    seen.delete(file);
    return undefined;
  }
  const before = seen.get(file);
  if (before !== undefined && sameStamp(before.stamp, stamp)) return before;
  const lines = linesOf(file);
  if (lines === undefined) return undefined;
  const now = { stamp, lines: new Set(lines), endsClean: lines.at(-1) === "" };
  seen.set(file, now);
  return now;
}

/**
 * The `.gitignore` pattern that matches exactly the entry `name` of the
 * directory holding the file: anchored with `/`, special characters escaped
 * (gitignore(5)).
 */
export function ignorePattern(name: string): string {
  const escaped = name.replace(/[\\*?[\]]/g, (c) => `\\${c}`).replace(/ $/, "\\ ");
  return `/${escaped}`;
}

function linesOf(path: string): string[] | undefined {
  try {
    return Deno.readTextFileSync(path).split(/\r?\n/);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
}

/**
 * List the file or directory at `abs` in the `.gitignore` beside it (in its
 * parent directory, which must exist), unless it is already listed there.
 * `abs` must be inside `root` (the project root) and not be `root` itself.
 *
 * Needs read and write permission for the parent directory.
 *
 * @example
 * ```ts ignore
 * ignoreInGit("/work/project", "/work/project/models/model.json");
 * // models/.gitignore now holds the line "/model.json"
 * ```
 */
export function ignoreInGit(root: string, abs: string): void {
  const dir = insideDir(root, abs);
  const file = join(dir, ".gitignore");
  const line = ignorePattern(basename(abs));
  const id = `${file}\n${line}`;
  if (known.has(id)) return;
  const before = current(file);
  if (!before?.lines.has(line)) {
    const needsNewline = before !== undefined && !before.endsClean;
    Deno.writeTextFileSync(file, `${needsNewline ? "\n" : ""}${line}\n`, {
      append: true,
      create: true,
    });
    // Ours is the last write: what is there is what was seen, plus the line.
    const stamp = stampOrUndefined(file);
    if (stamp !== undefined) {
      const lines = before?.lines ?? new Set([""]);
      lines.add(line);
      seen.set(file, { stamp, lines, endsClean: true });
    }
  }
  known.add(id);
}

/** The directory holding `abs`, which must be inside `root` and not `root` itself. */
function insideDir(root: string, abs: string): string {
  const dir = dirname(abs);
  if (abs === root || !(dir === root || dir.startsWith(root + "/"))) {
    throw new Error(`${abs} is not inside the project ${root}`);
  }
  return dir;
}

/** Lines {@link ignoreInGitLater} queued, in the order they were asked for. */
const queued: [root: string, abs: string][] = [];

/**
 * {@link ignoreInGit}, later: queue the line, to be written by the next
 * {@link writeQueuedIgnores} (of this process) in the order lines were
 * queued. For the engine, which places a stage's outs on a chain's path and
 * records the run after the stages below it started: the lines are written
 * before the run's lock file, so no lock file names an out git would show.
 */
export function ignoreInGitLater(root: string, abs: string): void {
  insideDir(root, abs);
  queued.push([root, abs]);
}

/** Write every line {@link ignoreInGitLater} queued, in order (see {@link ignoreInGit}). */
export function writeQueuedIgnores(): void {
  while (queued.length > 0) {
    const [root, abs] = queued[0];
    ignoreInGit(root, abs);
    queued.shift();
  }
}

/**
 * Remove the line listing `abs` from the `.gitignore` beside it (for
 * `untrack`); the file is removed when nothing else is left in it. Nothing
 * happens when the line is not there.
 *
 * @example
 * ```ts ignore
 * unignoreInGit("/work/project/data/images");
 * ```
 */
export function unignoreInGit(abs: string): void {
  const file = join(dirname(abs), ".gitignore");
  const line = ignorePattern(basename(abs));
  known.delete(`${file}\n${line}`);
  seen.delete(file);
  const lines = linesOf(file);
  if (!lines?.includes(line)) return;
  const kept = lines.filter((l) => l !== line);
  if (kept.every((l) => l.trim() === "")) {
    Deno.removeSync(file);
    return;
  }
  const temp = `${file}.${Deno.pid}.tmp`;
  Deno.writeTextFileSync(temp, kept.join("\n"));
  Deno.renameSync(temp, file);
}
