/**
 * Temporary files and folders, and cleaning up after processes that were
 * killed before they could.
 *
 * Pivot writes every file it places (cache objects, lock files, outs copied
 * into the workspace) to a temporary name beside it and renames it into
 * place, so a crash never leaves a half-written file under a real name. A
 * crash does leave the temporary file, though (`model.json.4242-881273.3.tmp`
 * after a `checkout --mode copy` was killed), and a run's staging folders
 * (`.pivot/tmp/run-…`). Nothing else would ever remove them.
 *
 * So each process marks what it leaves with its token (pid and start time,
 * `lib/process_identity.ts`) and, before its first temporary file in a
 * directory, notes the directory in a journal,
 * `.pivot/tmp/journal-<token>`: one line per directory, written before the
 * file exists. The next `pivot` command on the project
 * ({@link cleanLeftovers}) finds the journals and staging folders of
 * processes that have ended, removes the temporary files named with their
 * tokens from the directories they noted, and the folders. A process that
 * still runs is never touched; a token names one process only, even after a
 * pid is reused. Cost when nothing was left behind: one directory listing.
 *
 * @module
 */

import { dirname, join } from "../posix_path.ts";
import { selfToken, tokenState } from "../process_identity.ts";

/** The journal of the running process, once {@link useTempJournal} is called. */
interface Journal {
  /** The directory it goes in (`.pivot/tmp`). */
  readonly tmpDir: string;
  /** Directories already noted. */
  readonly dirs: Set<string>;
}

/** The journal's file (the token costs two small reads: only made when a file is noted). */
function journalFile(journal: Journal): string {
  return join(journal.tmpDir, `${JOURNAL}${selfToken()}`);
}

let journal: Journal | undefined;
let counter = 0;

/**
 * Note temporary files of this process in a journal in `tmpDir` (a project's
 * `.pivot/tmp`) from now on, so that if the process is killed the next
 * command can remove them. Without a journal (unit tests, tools),
 * {@link tempPath} still works; only the cleanup does not know.
 */
export function useTempJournal(tmpDir: string): void {
  if (journal?.tmpDir !== tmpDir) journal = { tmpDir, dirs: new Set() };
}

/**
 * Remove this process's journal: call when every temporary file it made has
 * been renamed into place or removed (the end of a command).
 */
export function closeTempJournal(): void {
  if (journal === undefined) return;
  const closing = journal;
  journal = undefined;
  if (closing.dirs.size === 0) return;
  try {
    Deno.removeSync(journalFile(closing));
  } catch {
    // never written, or already cleaned
  }
}

/**
 * A unique temporary name beside `path` (same directory, so a rename is
 * atomic), marked with this process's token; its directory is noted in the
 * journal first (see the module doc).
 *
 * @example
 * ```ts
 * tempPath("/p/out/model.json"); // "/p/out/model.json.4242-881273.1.tmp"
 * ```
 */
export function tempPath(path: string): string {
  note(dirname(path));
  return `${path}.${selfToken()}.${++counter}.tmp`;
}

/**
 * Write `text` to `path` through a {@link tempPath} sibling renamed over it,
 * so a reader sees the old file or the whole new one, never half of one. A
 * failed write removes the temporary file and throws. Synchronous: meant for
 * Pivot's own small files (lock, `.pvt`, config files).
 *
 * @example
 * ```ts
 * writeTextAtomically("/p/.pivot/config.yaml", "core:\n  remote: origin\n");
 * ```
 */
export function writeTextAtomically(path: string, text: string): void {
  const temp = tempPath(path);
  try {
    Deno.writeTextFileSync(temp, text);
    Deno.renameSync(temp, path);
  } catch (error) {
    try {
      Deno.removeSync(temp);
    } catch {
      // never created
    }
    throw error;
  }
}

/**
 * {@link writeTextAtomically} on Deno's blocking pool: the calling thread
 * does not wait for the file system meanwhile (creating a file waits for the
 * journal on a busy disk). For writes off the critical path, such as a lock
 * file recorded while the stages below run.
 */
export async function writeTextAtomicallyAsync(path: string, text: string): Promise<void> {
  const temp = tempPath(path);
  try {
    await Deno.writeTextFile(temp, text);
    await Deno.rename(temp, path);
  } catch (error) {
    await Deno.remove(temp).catch(() => {});
    throw error;
  }
}

/**
 * The name of the staging folders of the `n`-th worker pool of this process,
 * under `tmpDir`: `run-<token>.<n>`, each worker's folders being
 * `run-<token>.<n>.w<k>` and `run-<token>.<n>.d<k>` (lib/worker/staging.ts),
 * named so that {@link cleanLeftovers} can tell when their owner has ended.
 */
export function stagingRootPath(tmpDir: string, n: number): string {
  return join(tmpDir, `${RUN}${selfToken()}.${n}`);
}

/** What {@link cleanLeftovers} removed. */
export interface Cleaned {
  /** Temporary files removed. */
  readonly files: number;
  /** Staging folders removed. */
  readonly folders: number;
}

/**
 * Remove what processes that have ended left in `tmpDir` (a project's
 * `.pivot/tmp`): the temporary files their journals point at, their
 * journals, and their staging folders. Entries of running processes, and
 * anything not named as Pivot names them, are left alone.
 *
 * Needs read and write permission for `tmpDir` and the directories the
 * journals name.
 */
export function cleanLeftovers(tmpDir: string): Cleaned {
  let entries: Deno.DirEntry[];
  try {
    entries = [...Deno.readDirSync(tmpDir)];
  } catch {
    return { files: 0, folders: 0 };
  }
  let files = 0;
  let folders = 0;
  for (const entry of entries) {
    if (entry.isFile && entry.name.startsWith(JOURNAL)) {
      const token = entry.name.slice(JOURNAL.length);
      if (tokenState(token) !== "gone") continue;
      files += removeJournaled(join(tmpDir, entry.name), token);
    } else if (entry.isDirectory && entry.name.startsWith(RUN)) {
      if (!stagingOwnerGone(entry.name.slice(RUN.length))) continue;
      try {
        Deno.removeSync(join(tmpDir, entry.name), { recursive: true });
        folders++;
      } catch {
        // another process cleaned it first
      }
    }
  }
  return { files, folders };
}

const JOURNAL = "journal-";
const RUN = "run-";

function note(dir: string): void {
  if (journal === undefined || journal.dirs.has(dir)) return;
  journal.dirs.add(dir);
  try {
    Deno.writeTextFileSync(journalFile(journal), dir + "\n", { append: true });
  } catch {
    // No journal (the project's .pivot/tmp is unwritable): the write that
    // follows will say what is wrong; only the cleanup loses track.
  }
}

/** Remove the temporary files of `token` in the directories its journal names; then the journal. */
function removeJournaled(file: string, token: string): number {
  let removed = 0;
  let text = "";
  try {
    text = Deno.readTextFileSync(file);
  } catch {
    return 0;
  }
  const mine = new RegExp(`\\.${token.replace(/-/g, "\\-")}\\.\\d+\\.tmp$`);
  for (const dir of new Set(text.split("\n").filter((line) => line !== ""))) {
    let names: string[];
    try {
      names = [...Deno.readDirSync(dir)].map((entry) => entry.name);
    } catch {
      continue; // the directory is gone
    }
    for (const name of names) {
      if (!mine.test(name)) continue;
      try {
        Deno.removeSync(join(dir, name), { recursive: true });
        removed++;
      } catch {
        // removed meanwhile
      }
    }
  }
  try {
    Deno.removeSync(file);
  } catch {
    // another process cleaned it first
  }
  return removed;
}

/**
 * Whether the owner of a staging folder has ended: a worker's
 * `run-<token>.<n>.w<k>` or `run-<token>.<n>.d<k>`, a pool's
 * `run-<token>.<n>` (its workers' folders inside, as Pivot made them until
 * the fifteenth session of issue 16), or `run-<pid>-<time>` as Pivot named
 * them before tokens (by pid only).
 */
function stagingOwnerGone(rest: string): boolean {
  const current = /^([\d-]+)\.\d+(?:\.[wd]\d+)?$/.exec(rest);
  if (current) return tokenState(current[1]) === "gone";
  const legacy = /^(\d+)-[0-9a-z]+$/.exec(rest);
  return legacy !== null && tokenState(legacy[1]) === "gone";
}
