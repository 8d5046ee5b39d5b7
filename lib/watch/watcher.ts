/**
 * File watching for `repro --watch`: `Deno.watchFs` on the directories that
 * hold what the pipeline reads, filtered to the paths that matter, debounced.
 *
 * Relevance decides, not an ignore list: a changed path starts a wave only if
 * it is a declared dep (or inside a dep directory), one of the pipeline's
 * local modules, or a definition file (`pipeline.ts`, `pivot.yaml`,
 * `params.yaml`, `deno.json`, `deno.lock`) — and is not any stage's out. So
 * the tool's own outputs, `.pivot/`, and editor temp files (`.file.swp`,
 * `file~`, `4913`) never start a wave, and an atomic save (write a temp file,
 * rename it over the target) counts as a change of the target.
 *
 * @module
 */

import { dirname } from "node:path";
import { mark } from "../trace.ts";

/** What the watcher watches, and how to classify what changed. */
export interface WatchSet {
  /** Dep files (absolute). */
  readonly depFiles: ReadonlySet<string>;
  /** Dep directories (absolute, no trailing slash): anything inside is a dep. */
  readonly depDirs: readonly string[];
  /** Local module files and definition files (absolute): a change reloads the pipeline. */
  readonly codeFiles: ReadonlySet<string>;
  /** Out files and directories (absolute): never relevant. */
  readonly outs: readonly string[];
}

/** A debounced batch of relevant changes. */
export interface ChangeBatch {
  /** Changed dep paths (absolute). */
  readonly data: readonly string[];
  /** Changed code or definition files (absolute). */
  readonly code: readonly string[];
  /** When the first change of the batch was seen (`performance.now()`). */
  readonly firstSeen: number;
  /** When the last change of the batch was seen (`performance.now()`). */
  readonly lastSeen: number;
}

function within(path: string, dir: string): boolean {
  return path === dir || path.startsWith(dir + "/");
}

/** Classify one path: `"data"`, `"code"` or undefined (irrelevant). */
function classify(set: WatchSet, path: string): "data" | "code" | undefined {
  if (set.outs.some((out) => within(path, out))) return undefined;
  if (set.codeFiles.has(path)) return "code";
  if (set.depFiles.has(path) || set.depDirs.some((dir) => within(path, dir))) return "data";
  return undefined;
}

/**
 * The directories to watch: recursively the dep directories, and (not
 * recursively) the directory of every dep file and code file — watching the
 * directory, not the file, is what makes atomic saves (a new inode) visible.
 */
function watchRoots(set: WatchSet): { recursive: string[]; flat: string[] } {
  const exists = (path: string) => {
    try {
      return Deno.statSync(path).isDirectory;
    } catch {
      return false;
    }
  };
  const recursive = [...new Set(set.depDirs)].filter(exists);
  const flat = new Set<string>();
  for (const file of [...set.depFiles, ...set.codeFiles]) {
    const dir = dirname(file);
    if (!recursive.some((root) => within(dir, root)) && exists(dir)) flat.add(dir);
  }
  return { recursive, flat: [...flat] };
}

/** Options of {@link Watcher}. */
export interface WatcherOptions {
  /** Quiet time before a batch is delivered (ms). */
  readonly debounceMs: number;
  /** Receives each batch. */
  readonly onBatch: (batch: ChangeBatch) => void;
  /**
   * Told at once, before the debounce ends, that code or definition files
   * changed (`changed`: those of the batch so far, absolute): the batch will
   * reload the pipeline, and what that needs can start now.
   */
  readonly onCodeSeen?: (changed: readonly string[]) => void;
  /**
   * Receives an error the operating system reported while watching (the
   * watch limit reached as new directories appear, say), after which
   * changes may go unseen. Called at most once.
   */
  readonly onError: (error: Error) => void;
}

/**
 * One line for a watching error, with what to do about the usual one (the
 * inotify watch limit).
 *
 * @example
 * ```ts
 * describeWatchError(new Error('OS file watch limit reached. about ["/p/data/d3"]'));
 * // "cannot watch /p/data/d3: the system's limit of watched directories is reached (…)"
 * ```
 */
export function describeWatchError(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const paths = /about (\[.*\])\s*$/.exec(message)?.[1];
  let where = "";
  try {
    const list = paths ? JSON.parse(paths) as string[] : [];
    if (list.length > 0) where = ` ${list.join(", ")}`;
  } catch {
    // no paths given
  }
  if (/watch limit/i.test(message)) {
    return `cannot watch${where}: the system's limit of watched directories is reached: raise it (sysctl fs.inotify.max_user_watches=524288) or depend on fewer directories`;
  }
  return `cannot watch${where}: ${message.replace(/\s*about \[.*\]\s*$/, "")}`;
}

/** Watches a {@link WatchSet}; replace the set with {@link Watcher.update}. */
export class Watcher {
  readonly #options: WatcherOptions;
  #set: WatchSet;
  #watchers: Deno.FsWatcher[] = [];
  #data = new Set<string>();
  #code = new Set<string>();
  #firstSeen = 0;
  #lastSeen = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** A call of `onCodeSeen` is queued. */
  #codeSeenQueued = false;
  #closed = false;

  /** Start watching `set`. */
  constructor(set: WatchSet, options: WatcherOptions) {
    this.#options = options;
    this.#set = set;
    this.#start();
  }

  /** Watch a new set (after the pipeline changed). Pending changes are kept. */
  update(set: WatchSet): void {
    this.#set = set;
    this.#stopWatchers();
    this.#start();
  }

  /** Stop watching; pending changes are dropped. */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#stopWatchers();
  }

  #stopWatchers(): void {
    for (const watcher of this.#watchers) {
      try {
        watcher.close();
      } catch {
        // already closed
      }
    }
    this.#watchers = [];
  }

  #start(): void {
    if (this.#closed) return;
    const roots = watchRoots(this.#set);
    try {
      if (roots.recursive.length > 0) {
        this.#consume(Deno.watchFs(roots.recursive, { recursive: true }));
      }
      if (roots.flat.length > 0) this.#consume(Deno.watchFs(roots.flat, { recursive: false }));
    } catch (error) {
      this.#fail(error);
    }
  }

  #consume(watcher: Deno.FsWatcher): void {
    this.#watchers.push(watcher);
    (async () => {
      try {
        for await (const event of watcher) {
          if (event.kind === "access" || event.kind === "other") continue;
          for (const path of event.paths) this.#seen(path);
        }
      } catch (error) {
        // Closing a watcher ends its loop quietly; anything else means
        // changes may now go unseen, which the user must hear about.
        if (!this.#closed && this.#watchers.includes(watcher)) this.#fail(error);
      }
    })();
  }

  #failed = false;

  #fail(error: unknown): void {
    if (this.#failed) return;
    this.#failed = true;
    this.#options.onError(error instanceof Error ? error : new Error(String(error)));
  }

  #seen(path: string): void {
    const kind = classify(this.#set, path);
    if (!kind) return;
    const now = performance.now();
    if (this.#data.size === 0 && this.#code.size === 0) this.#firstSeen = now;
    this.#lastSeen = now;
    (kind === "data" ? this.#data : this.#code).add(path);
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.#deliver(), this.#options.debounceMs);
    // Told after the debounce is armed, and in a task of its own: what it
    // starts (a worker's isolate) holds this thread for tens of ms, which
    // must neither push the batch back nor delay the events already queued
    // (one save is often two events).
    if (kind === "code" && !this.#codeSeenQueued) {
      this.#codeSeenQueued = true;
      setTimeout(() => {
        this.#codeSeenQueued = false;
        if (!this.#closed) this.#options.onCodeSeen?.([...this.#code]);
      }, 0);
    }
  }

  #deliver(): void {
    mark("watch: batch delivered");
    const batch: ChangeBatch = {
      data: [...this.#data],
      code: [...this.#code],
      firstSeen: this.#firstSeen,
      lastSeen: this.#lastSeen,
    };
    this.#data.clear();
    this.#code.clear();
    if (!this.#closed) this.#options.onBatch(batch);
  }
}
