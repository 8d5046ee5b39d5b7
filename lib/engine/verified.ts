/**
 * The verified index: what git's index is to `git status`, for a no-op
 * `repro` or `status`. When a full decision ({@link decide}) finds a stage
 * plainly up to date, the stamps (mtime, size, inode) of its lock file, deps
 * and outs, taken before it hashed them, are recorded with the hashes it
 * compared and a digest of what else it compared (code manifest, params, the
 * declared paths, whether outs are cached, `frozen`). Later, the stage is up
 * to date without reading its lock file or any hash when every one of those
 * paths still has its stamp, its cached outs' objects exist, and the digest
 * is the same: one stat a path, nothing parsed. Any difference sends the
 * stage through the full decision, which records it again.
 *
 * The whole index is one JSON document stored in chunks under
 * `[verified, n]` (a KV value holds 64 KiB): one range read at start-up,
 * whatever the number of stages. Each chunk carries the generation it was
 * written with; an index whose chunks disagree (two processes saving at
 * once) is read as empty, which costs time, never correctness.
 *
 * Only stages whose deps and outs are all declared (their kind not
 * inferred) are indexed, and not stages that always run. A directory's
 * "stamp" is the digest of its files' stamps (lib/dir_walk.ts), recorded
 * with its hash when every file was settled; only the launcher's no-op gate
 * walks a directory to compare it (lib/noop_stamps.ts): without the gate's
 * walk a directory stage is left to the full decision, whose own walk
 * through the directory index costs the same (a changed directory is never
 * walked twice in one process). A stamp is recorded
 * only when it is not racy ({@link isRacy}: the file was last modified
 * before the clock marker of the run that took it, git's racily clean
 * entries): a later rewrite then changes it. Entries of stages no longer in
 * the pipeline are dropped when their lock file is gone.
 *
 * @module
 */

import type { OutKind, StageDef } from "../model/stage_def.ts";
import { mark } from "../trace.ts";
import { notedListing } from "../dir_walk.ts";
import { canonicalJson, hashBytesSync } from "../storage/hash.ts";
import {
  type FileStamp,
  isRacy,
  NS,
  type RacyClock,
  racyClock,
  stampOf,
  type StateStore,
} from "../storage/state.ts";
import type { LockData } from "../storage/lock_file.ts";
import { type EngineContext, stageKey } from "./context.ts";
import {
  type GateStamps,
  hasNoopStamps,
  NoopStamps,
  type Rehashed,
  snapshotStale,
  type SnapshotStamp,
  takeGateStamps,
} from "../noop_stamps.ts";

/**
 * One stage's entry, in one flat array (it parses several times faster than
 * nested ones; docs/performance.md): the definition digest; the lock file's
 * stamp; the number of declared deps, then each one's stamp and hash (in
 * declared order); the number of declared outs, then each one's stamp,
 * locked hash, locked kind, and 1 when it is cached (else 0). A stamp is
 * three numbers: mtime in ms after the index's {@link Stored.base}, size,
 * inode (with the base, mtimes are small integers, not heap numbers). A
 * directory's stamp is its walk's digest (a string: what tells the two
 * apart), its file count and total size.
 */
type Entry = (string | number)[];

/** Where an entry's parts are: see {@link Entry}. */
const LOCK = 1;
const DEPS = 4;
const DEP_WIDTH = 4;
const OUT_WIDTH = 6;

/** The index of an entry's count of outs. */
function outsAt(entry: Entry): number {
  return DEPS + 1 + DEP_WIDTH * (entry[DEPS] as number);
}

/** The hashes of `entry`'s outs kept in the cache, in declared order. */
function cachedHashesOf(entry: Entry): string[] {
  const hashes: string[] = [];
  const at = outsAt(entry);
  for (let i = 0; i < (entry[at] as number); i++) {
    const out = at + 1 + OUT_WIDTH * i;
    if (entry[out + 5] === 1) hashes.push(entry[out + 3] as string);
  }
  return hashes;
}

/** The index as stored: stages' entries by stage key, and cache directories' stamps. */
interface Stored {
  /** Entries' mtimes are ms after this. */
  readonly base: number;
  readonly stages: Record<string, Entry>;
  /**
   * Stamps (mtime, inode) of the cache's object directories (`files/ab`)
   * taken before every object of the index's entries in them was found
   * there: while a directory keeps its stamp, no entry was added to or
   * removed from it, so those objects are still there (one stat a
   * directory, not one an object).
   */
  readonly objectDirs: Record<string, [number, number]>;
}

/** What the index says of a stage whose paths all still have their stamps. */
export class Verified {
  readonly #entry: Entry;

  /** The lock file's stamp now. */
  readonly lockStamp: FileStamp;

  constructor(entry: Entry, lockStamp: FileStamp) {
    this.#entry = entry;
    this.lockStamp = lockStamp;
  }

  /** Each declared dep's hash, in declared order. */
  get depHashes(): string[] {
    const entry = this.#entry;
    const hashes: string[] = [];
    for (let i = 0; i < (entry[DEPS] as number); i++) {
      hashes.push(entry[DEPS + 1 + DEP_WIDTH * i + 3] as string);
    }
    return hashes;
  }

  /** For each declared dep, its file count and size when it is a directory. */
  get depDirs(): ({ files: number; size: number } | undefined)[] {
    const entry = this.#entry;
    const dirs: ({ files: number; size: number } | undefined)[] = [];
    for (let i = 0; i < (entry[DEPS] as number); i++) {
      const at = DEPS + 1 + DEP_WIDTH * i;
      dirs.push(
        typeof entry[at] === "string"
          ? { files: entry[at + 1] as number, size: entry[at + 2] as number }
          : undefined,
      );
    }
    return dirs;
  }

  /** Each declared out's locked hash and kind, in declared order. */
  get outs(): { hash: string; kind: OutKind }[] {
    const entry = this.#entry;
    const at = outsAt(entry);
    const outs: { hash: string; kind: OutKind }[] = [];
    for (let i = 0; i < (entry[at] as number); i++) {
      const out = at + 1 + OUT_WIDTH * i;
      outs.push({ hash: entry[out + 3] as string, kind: entry[out + 4] as OutKind });
    }
    return outs;
  }
}

/**
 * Stamps taken before a full decision, to record if it finds the stage up
 * to date; undefined for a directory (its stamp comes with its hash:
 * {@link DirStamp}).
 */
export interface StampsBefore {
  readonly lock: FileStamp;
  readonly deps: readonly (FileStamp | undefined)[];
  readonly outs: readonly (FileStamp | undefined)[];
}

/**
 * What a full decision's walk found of a directory: the digest of its
 * files' stamps when all were settled (`DirHash.stamps`, lib/storage/
 * artifact_hash.ts), and its file count and size.
 */
export interface DirStamp {
  readonly stamps?: string;
  readonly files: number;
  readonly size: number;
}

/**
 * A path's stamp now, as a check compares it: a file's stamp, a
 * directory's walk digest (from the launcher's gate), or undefined.
 */
type StampNow = FileStamp | string | undefined;

/** Bumped when the entry layout or the digest's input changes. */
const VERSION = 5;
/** Bytes of JSON per KV value, under its 64 KiB limit. */
const CHUNK_BYTES = 60_000;
/** See {@link VerifiedIndex.noopWitness}. */
export interface NoopWitness {
  /** Chunk 0's generation (`[NS.verified, 0]`), which names the index read. */
  readonly generation: string;
  readonly snapshot: SnapshotStamp;
  /** Each object directory checked: its name under the cache, mtime, inode. */
  readonly objectDirs: readonly (readonly [string, number, number])[];
}

/** How long a {@link VerifiedIndex.check} may be reused by the next wave of this process. */
const REUSE_MS = 1_000;

/** What a check asks for: the stages it may answer, their entries, the paths to stat. */
interface Asked {
  readonly stages: StageDef[];
  readonly entries: Entry[];
  /** Each path once. */
  readonly paths: readonly string[];
  /** Per stage in turn: the index in `paths` of its lock file, each dep, each out. */
  readonly slots: number[];
}

interface Chunk {
  readonly version: number;
  readonly generation: string;
  readonly count: number;
  readonly bytes: Uint8Array;
}

const indexes = new WeakMap<StateStore, Promise<VerifiedIndex>>();

/** The verified index of `state`'s project, loaded once per store. */
export function verifiedIndexOf(state: StateStore): Promise<VerifiedIndex> {
  let index = indexes.get(state);
  if (index === undefined) {
    index = VerifiedIndex.load(state);
    indexes.set(state, index);
  }
  return index;
}

/** The index of one project, in memory; {@link save} queues it for the next flush. */
export class VerifiedIndex {
  readonly #entries: Map<string, Entry>;
  readonly #objectDirs: Map<string, [number, number]>;
  /** Entries' mtimes are ms after this (see {@link Entry}). */
  readonly #base: number;
  /**
   * How many chunk keys held data when read (those of a longer index
   * written earlier included): a save clears those past its own, or every
   * later read would read them too.
   */
  #dataKeys = 0;
  /** How many chunk keys this index's own chunks take in the store. */
  #keptKeys = 0;
  #dirty = false;
  /** Keys of the entries {@link record} set since the last {@link save}. */
  #recorded: string[] = [];
  /** The generation of the chunks this index was read from (chunk 0's); undefined when none. */
  #generation: string | undefined;
  /**
   * What the last {@link check} rests on besides the index, for a no-op's
   * record ({@link noopWitness}): the snapshot of the launcher's gate whose
   * stamps it compared (none touched), and the cache's object directories
   * it found with their recorded stamps; undefined when it stat-ed the paths
   * itself, or settled a directory otherwise.
   */
  #witness:
    | { snapshot: SnapshotStamp; objectDirs: Map<string, [number, number]> | undefined }
    | undefined;
  #recent:
    | {
      readonly context: EngineContext;
      readonly at: number;
      readonly fresh: Map<string, Verified>;
      readonly shared: boolean;
    }
    | undefined;

  private constructor(stored: Stored = { base: Date.now(), stages: {}, objectDirs: {} }) {
    this.#base = stored.base;
    // Not `Object.entries`: at 10,000 stages, 10,000 pairs made only to be dropped.
    const entries = new Map<string, Entry>();
    for (const key in stored.stages) entries.set(key, stored.stages[key]);
    this.#entries = entries;
    this.#objectDirs = new Map(Object.entries(stored.objectDirs));
  }

  /** Read the index of `state` (one range read); empty when none or torn. */
  static async load(state: StateStore): Promise<VerifiedIndex> {
    const chunks: (Chunk | null)[] = [];
    const list = state.kv.list<Chunk | null>({ prefix: [NS.verified] }, { batchSize: 1000 });
    for await (const item of list) chunks[item.key[1] as number] = item.value;
    const index = VerifiedIndex.#read(chunks);
    index.#dataKeys = chunks.findLastIndex((chunk) => chunk != null) + 1;
    return index;
  }

  /** The index `chunks` hold; empty when none, of another layout, or torn. */
  static #read(chunks: readonly (Chunk | null)[]): VerifiedIndex {
    const first = chunks[0];
    if (first == null || first.version !== VERSION) return new VerifiedIndex();
    const parts: Uint8Array[] = [];
    for (let n = 0; n < first.count; n++) {
      const chunk = chunks[n];
      if (chunk?.generation !== first.generation || chunk.count !== first.count) {
        return new VerifiedIndex();
      }
      parts.push(chunk.bytes);
    }
    const text = new TextDecoder().decode(concat(parts));
    try {
      const stored = JSON.parse(text) as Stored;
      if (typeof stored.base !== "number") return new VerifiedIndex();
      const index = new VerifiedIndex(stored);
      index.#keptKeys = first.count;
      index.#generation = first.generation;
      return index;
    } catch {
      return new VerifiedIndex();
    }
  }

  /**
   * The stages of `stages` that the index shows up to date now, each with
   * what it recorded; every path is stat-ed once, however many stages name
   * it. With `reuse`, the answer is kept for {@link takeRecent}: only a
   * caller that starts a wave right after (`repro`'s lock check) may pass it;
   * a prediction (`status`, watch mode's UI and agent) must not, or a wave
   * started within {@link REUSE_MS} would skip a stage whose dep was edited
   * after the prediction. With `shared` too, it is also kept for
   * {@link peekRecent} until taken: the session of a command opened from the
   * load cache (lib/cli/session.ts), whose prediction and wave follow at once.
   */
  check(
    context: EngineContext,
    stages: readonly StageDef[],
    reuse = false,
    shared = false,
  ): Map<string, Verified> {
    // In the launcher's attempt, the stamps its no-op gate took moments ago (lib/noop_stamps.ts).
    const gate = takeGateStamps();
    const byGate = gate === undefined ? undefined : this.#askGate(context, stages, gate);
    this.#witness = byGate !== undefined && gate?.snapshot !== undefined &&
        (gate.rehashed === undefined || gate.rehashed.size === 0)
      ? { snapshot: gate.snapshot, objectDirs: new Map() }
      : undefined;
    if (byGate !== undefined) {
      const stamps = new GateTable(gate!.stamps, gate!.dirs);
      return this.#answer(context, byGate, stamps, reuse, shared, gate?.rehashed);
    }
    if (gate !== undefined) mark("verified: the gate's layout does not fit the stages: stat-ing");
    // A directory's path has no file stamp: its stage is left to the full decision.
    const asked = this.#ask(context, stages);
    return this.#answer(context, asked, new StatTable(asked.paths.map(fileStamp)), reuse, shared);
  }

  /**
   * The stages of `stages` the index has an entry of the same shape for,
   * and the paths to stat for them: each one's lock file (its own), then
   * each distinct dep and out path.
   */
  #ask(context: EngineContext, stages: readonly StageDef[]): Asked {
    const paths: string[] = [];
    const asked: Asked = { stages: [], entries: [], paths, slots: [] };
    const { slots } = asked;
    const slotOf = new Map<string, number>();
    const slot = (abs: string) => {
      let at = slotOf.get(abs);
      if (at === undefined) {
        at = paths.length;
        paths.push(abs);
        slotOf.set(abs, at);
      }
      slots.push(at);
    };
    for (const stage of stages) {
      if (!indexable(stage)) continue;
      const entry = this.#entries.get(stageKey(context, stage));
      if (entry === undefined) continue;
      if (
        entry[DEPS] !== stage.deps.length || entry[outsAt(entry)] !== stage.outs.length
      ) continue;
      asked.stages.push(stage);
      asked.entries.push(entry);
      // A lock file is its stage's alone: not looked up among the others.
      slots.push(paths.length);
      paths.push(stage.lockFile);
      for (const dep of stage.deps) slot(dep.abs);
      for (const out of stage.outs) slot(out.abs);
    }
    return asked;
  }

  /**
   * As {@link #ask}, from the paths and stamps the launcher's no-op gate saw
   * (lib/noop_stamps.ts) when its snapshot's layout places every path of
   * `stages` (the graph's order, as when it was written): each path found
   * there is compared with the stage's own, so only the stats of the files
   * are taken from the gate, never what the snapshot says. Undefined when
   * the layout does not fit: the check then looks every path up and stats
   * it.
   */
  #askGate(
    context: EngineContext,
    stages: readonly StageDef[],
    gate: GateStamps,
  ): Asked | undefined {
    const { paths, layout } = gate;
    const asked: Asked = { stages: [], entries: [], paths, slots: [] };
    const placed = (at: number, abs: string) => paths[layout[at]] === abs;
    let at = 0;
    for (const stage of stages) {
      const { deps, outs } = stage;
      const first = at;
      if (at + 1 + deps.length + outs.length > layout.length) return undefined;
      if (!placed(at++, stage.lockFile)) return undefined;
      for (let i = 0; i < deps.length; i++) if (!placed(at++, deps[i].abs)) return undefined;
      for (let i = 0; i < outs.length; i++) if (!placed(at++, outs[i].abs)) return undefined;
      if (!indexable(stage)) continue;
      const entry = this.#entries.get(stageKey(context, stage));
      if (entry === undefined) continue;
      if (entry[DEPS] !== deps.length || entry[outsAt(entry)] !== outs.length) continue;
      asked.stages.push(stage);
      asked.entries.push(entry);
      for (let k = first; k < at; k++) asked.slots.push(layout[k]);
    }
    return at === layout.length ? asked : undefined;
  }

  /**
   * What {@link check} answers, given the stamps of `asked.paths` now and,
   * from the launcher's gate, the hashes of the `rehashed` files among them
   * (touched: their stamps changed, not their size): a file whose hash is
   * the one its entry recorded holds, and its entry takes its new stamp
   * when that was settled (lib/noop_stamps.ts, {@link Rehashed}).
   */
  #answer(
    context: EngineContext,
    asked: Asked,
    stamps: StampTable,
    reuse: boolean,
    shared: boolean,
    rehashed?: ReadonlyMap<number, Rehashed>,
  ): Map<string, Verified> {
    const fresh = new Map<string, Verified>();
    const { stages, entries, slots } = asked;
    const present = this.#objectsPresent(context);
    const base = this.#base;
    const touched: number[] = [];
    let at = 0;
    for (let n = 0; n < stages.length; n++) {
      const stage = stages[n];
      const entry = entries[n];
      const first = at;
      at += 1 + stage.deps.length + stage.outs.length;
      if (!stamps.holdsFile(slots[first], entry, LOCK, base)) continue;
      touched.length = 0;
      if (!stampsHold(entry, stamps, slots, first + 1, base, rehashed, touched)) continue;
      if (entry[0] !== digestOf(context, stage)) continue;
      if (!cachedOutsPresent(stage, entry, present)) continue;
      fresh.set(stage.name, new Verified(entry, stamps.at(slots[first]) as FileStamp));
      for (let k = 0; k < touched.length; k += 2) {
        this.#settleTouched(context, stage, entry, touched[k], stamps.at(slots[touched[k + 1]]));
      }
    }
    this.#recent = reuse ? { context, at: performance.now(), fresh, shared } : undefined;
    return fresh;
  }

  /**
   * A touched file of `stage` held by its hash, read by the launcher at
   * `now`, a settled stamp: the part of `entry` at `where` (a dep's or an
   * out's, see {@link Entry}) takes that stamp and the state's file-hash
   * cache learns it, so that the next command passes the gate and a full
   * decision reads the file no more.
   */
  #settleTouched(
    context: EngineContext,
    stage: StageDef,
    entry: Entry,
    where: number,
    now: StampNow,
  ): void {
    if (typeof now !== "object") return;
    const deps = DEPS + 1 + DEP_WIDTH * stage.deps.length;
    const rel = where < deps
      ? stage.deps[(where - DEPS - 1) / DEP_WIDTH].path
      : stage.outs[(where - deps - 1) / OUT_WIDTH].path;
    context.state.noteFileHash(rel, now, entry[where + 3] as string);
    entry[where] = now.mtime - this.#base;
    entry[where + 2] = now.ino;
    this.#dirty = true;
  }

  /**
   * The answer of the last {@link check}, when it was made with `reuse` by
   * this process on `context` in the last second, once (a wave started right
   * after `repro` checked its lock files): nothing was written meanwhile.
   */
  takeRecent(context: EngineContext): Map<string, Verified> | undefined {
    const recent = this.#recent;
    this.#recent = undefined;
    if (recent === undefined || recent.context !== context) return undefined;
    return performance.now() - recent.at <= REUSE_MS ? recent.fresh : undefined;
  }

  /**
   * As {@link takeRecent}, but only a shared answer, kept for the next
   * taker: the check of every stage made by a session opened from the load
   * cache (lib/cli/session.ts), for the checks its command makes before any
   * write (its prediction, the one before its wave). The wave takes it.
   */
  peekRecent(context: EngineContext): Map<string, Verified> | undefined {
    const recent = this.#recent;
    if (recent === undefined || !recent.shared || recent.context !== context) return undefined;
    return performance.now() - recent.at <= REUSE_MS ? recent.fresh : undefined;
  }

  /**
   * Whether the cache object `hash` of an entry's cached out is there: by
   * the stamp of its directory when it kept the one recorded, else (the
   * directory changed: objects were added or removed) by checking every
   * entry's objects in that directory, after which the directory's stamp is
   * recorded again (unless it changed too recently to tell) and entries
   * whose object is gone are dropped.
   */
  #objectsPresent(context: EngineContext): (hash: string) => boolean {
    // An object's directory is named by the first two characters of its hash.
    const named = new Map<string, string>();
    const dirOf = (hash: string) => {
      const prefix = hash.slice(0, 2);
      let dir = named.get(prefix);
      if (dir === undefined) {
        const path = context.cache.objectPath(hash);
        named.set(prefix, dir = path.slice(0, path.lastIndexOf("/")));
      }
      return dir;
    };
    /**
     * Per directory, by its prefix: null when unsettled (ask the cache),
     * else the objects found missing.
     */
    const dirs = new Map<number | string, Set<string> | null>();
    let byDir: Map<string, [string, string][]> | undefined;
    return (hash) => {
      // The prefix as a number: no two-character string a stage (10,000 at 10,000 stages).
      const key = hash.length >= 2 ? hash.charCodeAt(0) * 65_536 + hash.charCodeAt(1) : hash;
      let missing = dirs.get(key);
      if (missing === undefined) {
        const dir = dirOf(hash);
        // Listed only when a directory lost its recorded stamp: a no-op lists nothing.
        const objects = () => (byDir ??= this.#cachedObjectsByDir(dirOf)).get(dir) ?? [];
        missing = this.#checkObjectDir(context, dir, objects) ?? null;
        dirs.set(key, missing);
      }
      if (missing === null) return context.cache.has(hash);
      return missing.size === 0 || !missing.has(hash);
    };
  }

  /** Each entry's cached objects (stage key, hash), by cache directory. */
  #cachedObjectsByDir(dirOf: (hash: string) => string): Map<string, [string, string][]> {
    const byDir = new Map<string, [string, string][]>();
    for (const [key, entry] of this.#entries) {
      for (const hash of cachedHashesOf(entry)) {
        const dir = dirOf(hash);
        let list = byDir.get(dir);
        if (list === undefined) byDir.set(dir, list = []);
        list.push([key, hash]);
      }
    }
    return byDir;
  }

  /**
   * Settle the cache directory `dir` holding `objects()` (stage key, hash):
   * the objects missing from it (none when its stamp is the recorded one),
   * or undefined when it cannot be settled (gone, or changed too recently).
   */
  #checkObjectDir(
    context: EngineContext,
    dir: string,
    objects: () => readonly [string, string][],
  ): Set<string> | undefined {
    const name = dir.slice(context.cache.dir.length);
    const clock = racyClock();
    // Taken before the objects are looked at: a later change changes it.
    const info = dirInfo(dir);
    if (info === undefined) {
      // Settled otherwise: no no-op's record rests on it.
      if (this.#witness !== undefined) this.#witness.objectDirs = undefined;
      return undefined;
    }
    const stamp: [number, number] = [info.mtime, info.ino];
    const recorded = this.#objectDirs.get(name);
    if (recorded !== undefined && recorded[0] === stamp[0] && recorded[1] === stamp[1]) {
      this.#witness?.objectDirs?.set(name, stamp);
      return new Set();
    }
    // Settled otherwise: no no-op's record rests on it.
    if (this.#witness !== undefined) this.#witness.objectDirs = undefined;
    if (isRacy(info, clock)) return undefined;
    const missing = new Set<string>();
    for (const [key, hash] of objects()) {
      if (missing.has(hash) || !context.cache.has(hash)) {
        missing.add(hash);
        this.#entries.delete(key);
      }
    }
    this.#objectDirs.set(name, stamp);
    this.#dirty = true;
    return missing;
  }

  /**
   * The stamps of `stage`'s deps and outs now, before a full decision hashes
   * them, with `lock`, the stamp its lock file had when it was read (after
   * `clock` was read); undefined when the stage is not indexed, or a path is
   * missing, not a file, or modified too recently to tell versions apart. A
   * directory's stamp is left undefined: its walk gives it ({@link record}).
   */
  stampsBefore(stage: StageDef, lock: FileStamp, clock: RacyClock): StampsBefore | undefined {
    if (!indexable(stage) || isRacy(lock, clock)) return undefined;
    const settled = (abs: string) => {
      const stamp = fileStamp(abs);
      return stamp === undefined || isRacy(stamp, clock) ? undefined : stamp;
    };
    const deps: (FileStamp | undefined)[] = [];
    for (const dep of stage.deps) {
      if (dep.isDir) {
        deps.push(undefined);
        continue;
      }
      const stamp = settled(dep.abs);
      if (stamp === undefined) return undefined;
      deps.push(stamp);
    }
    const outs: (FileStamp | undefined)[] = [];
    for (const out of stage.outs) {
      if (out.isDir) {
        outs.push(undefined);
        continue;
      }
      const stamp = settled(out.abs);
      if (stamp === undefined) return undefined;
      outs.push(stamp);
    }
    return { lock, deps, outs };
  }

  /**
   * Record that a full decision found `stage` plainly up to date against
   * `lock`, with the paths at `before`; `depHashes` are the hashes it found,
   * in declared order; `dirs`, what its walks found of its directories (by
   * absolute path), whose digest is their stamp. A lock whose deps or outs
   * are not exactly the declared ones is not recorded (the full decision
   * tolerates some differences that the index does not describe), nor a
   * directory that had a racy file.
   */
  record(
    context: EngineContext,
    stage: StageDef,
    before: StampsBefore,
    lock: LockData,
    depHashes: readonly string[],
    dirs: ReadonlyMap<string, DirStamp>,
  ): void {
    if (lock.deps.length !== stage.deps.length || lock.outs.length !== stage.outs.length) return;
    const lockedDeps = new Map(lock.deps.map((dep) => [dep.path, dep.hash]));
    const lockedOuts = new Map(lock.outs.map((out) => [out.path, out]));
    const base = this.#base;
    const stamp = (abs: string, file: FileStamp | undefined): (string | number)[] | undefined => {
      if (file !== undefined) return stored(file, base);
      const dir = dirs.get(abs);
      return dir?.stamps === undefined ? undefined : [dir.stamps, dir.files, dir.size];
    };
    const entry: Entry = [digestOf(context, stage), ...stored(before.lock, base)];
    entry.push(stage.deps.length);
    for (const [i, dep] of stage.deps.entries()) {
      const hash = depHashes[i];
      const now = stamp(dep.abs, before.deps[i]);
      if (hash === undefined || now === undefined || lockedDeps.get(dep.path) !== hash) return;
      entry.push(...now, hash);
    }
    entry.push(stage.outs.length);
    for (const [i, out] of stage.outs.entries()) {
      const locked = lockedOuts.get(out.path);
      const now = stamp(out.abs, before.outs[i]);
      if (locked === undefined || now === undefined) return;
      entry.push(...now, locked.hash, locked.kind, out.cache ? 1 : 0);
    }
    const key = stageKey(context, stage);
    const old = this.#entries.get(key);
    if (old !== undefined && old.length === entry.length && old.every((x, i) => x === entry[i])) {
      return;
    }
    this.#entries.set(key, entry);
    this.#recorded.push(key);
    this.#dirty = true;
  }

  /**
   * What a no-op's record (lib/cli/noop_record.ts) is bound to, when the
   * last {@link check} compared the launcher's gate's stamps, none touched,
   * and found each cached out's object directory with the stamp the index
   * recorded, and the index is unchanged since it was read (its generation
   * names it): that generation, the gate's snapshot, and those directories
   * (name under the cache, mtime, inode). Else undefined.
   */
  noopWitness(): NoopWitness | undefined {
    const witness = this.#witness;
    if (
      this.#dirty || this.#generation === undefined || witness === undefined ||
      witness.objectDirs === undefined
    ) return undefined;
    return {
      generation: this.#generation,
      snapshot: witness.snapshot,
      objectDirs: [...witness.objectDirs].map(([name, [mtime, ino]]) => [name, mtime, ino]),
    };
  }

  /** Forget `stage` (it is not up to date). */
  forget(context: EngineContext, stage: StageDef): void {
    if (this.#entries.delete(stageKey(context, stage))) this.#dirty = true;
  }

  /**
   * Queue the index for `state`'s next flush, if it changed. Entries of
   * stages not in `context`'s graph stay while their lock file exists
   * (another pipeline's stages, say).
   */
  save(context: EngineContext): void {
    this.#settleRecordedObjectDirs(context);
    // The launcher's gate (lib/noop_stamps.ts): what a no-op of this graph would compare.
    if (this.#dirty || snapshotStale() || !hasNoopStamps(context.project.stateDir)) {
      this.#writeNoopStamps(context);
    }
    if (!this.#dirty) {
      // An index read whole and unchanged: only what lies past it is cleared.
      if (this.#keptKeys > 0) this.#clearPast(context, this.#keptKeys);
      return;
    }
    this.#dirty = false;
    const known = new Set(context.graph.order.map((stage) => stageKey(context, stage)));
    const root = context.project.root;
    for (const key of this.#entries.keys()) {
      if (!known.has(key) && fileStamp(`${root}/${key}`) === undefined) this.#entries.delete(key);
    }
    const stored: Stored = {
      base: this.#base,
      stages: Object.fromEntries(this.#entries),
      objectDirs: Object.fromEntries(this.#objectDirs),
    };
    const bytes = new TextEncoder().encode(JSON.stringify(stored));
    const generation = crypto.randomUUID();
    const count = Math.max(1, Math.ceil(bytes.length / CHUNK_BYTES));
    for (let n = 0; n < count; n++) {
      const chunk: Chunk = {
        version: VERSION,
        generation,
        count,
        // A copy: a view would be stored with the whole buffer it views.
        bytes: bytes.slice(n * CHUNK_BYTES, (n + 1) * CHUNK_BYTES),
      };
      // The size given: a flush then commits a few chunks at a time (KV takes 800 KB a commit).
      context.state.defer([NS.verified, n], chunk, chunk.bytes.length + 200);
    }
    this.#keptKeys = count;
    this.#clearPast(context, count);
  }

  /**
   * Settle now the cache directories of the objects of the entries recorded
   * since the last save (a full decision's), as the next check would: their
   * stamps are recorded unless they changed too recently to tell (a run
   * that just cached objects there), and entries whose object is gone are
   * dropped. Else the next no-op, its stages all verified, would record the
   * directories itself, changing the index, and could not write the record
   * of a verified no-op (lib/cli/noop_record.ts): that would wait one more
   * no-op. The work is the one the next check would do, done once, earlier.
   */
  #settleRecordedObjectDirs(context: EngineContext): void {
    if (this.#recorded.length === 0) return;
    const present = this.#objectsPresent(context);
    for (const key of this.#recorded) {
      const entry = this.#entries.get(key);
      if (entry !== undefined) { for (const hash of cachedHashesOf(entry)) present(hash); }
    }
    this.#recorded = [];
  }

  /**
   * Write the stamps every stage of `context`'s graph would be checked
   * against (lib/noop_stamps.ts): its lock file's, its deps' and its outs',
   * as its entry holds them. The deps no stage writes come first (the
   * user's edits are there, and the gate stops at the first difference),
   * lock files last.
   */
  #writeNoopStamps(context: EngineContext): void {
    const stamps = new NoopStamps();
    const base = this.#base;
    const order = context.graph.order;
    const entries: Entry[] = [];
    for (const stage of order) {
      const entry = indexable(stage) ? this.#entries.get(stageKey(context, stage)) : undefined;
      if (
        entry === undefined || entry[DEPS] !== stage.deps.length ||
        entry[outsAt(entry)] !== stage.outs.length
      ) {
        stamps.incomplete();
        stamps.write(context.project.stateDir);
        return;
      }
      entries.push(entry);
    }
    // A dep's or out's file hash (after its stamp) is the gate's hint for a touched file.
    const add = (abs: string, entry: Entry, at: number, hashed = true) =>
      typeof entry[at] === "string"
        ? stamps.addDir(abs, entry[at] as string, entry[at + 1] as number, notedListing(abs))
        : stamps.add(
          abs,
          base + (entry[at] as number),
          entry[at + 1] as number,
          entry[at + 2] as number,
          hashed ? entry[at + 3] as string : undefined,
        );
    const written = new Set<string>();
    for (const stage of order) for (const out of stage.outs) written.add(out.abs);
    for (let n = 0; n < order.length; n++) {
      const deps = order[n].deps;
      for (let i = 0; i < deps.length; i++) {
        if (!written.has(deps[i].abs)) add(deps[i].abs, entries[n], DEPS + 1 + DEP_WIDTH * i);
      }
    }
    for (let n = 0; n < order.length; n++) {
      const { deps, outs } = order[n];
      const entry = entries[n];
      for (let i = 0; i < deps.length; i++) add(deps[i].abs, entry, DEPS + 1 + DEP_WIDTH * i);
      const at = outsAt(entry) + 1;
      for (let i = 0; i < outs.length; i++) add(outs[i].abs, entry, at + OUT_WIDTH * i);
    }
    // Only Pivot writes lock files: last.
    for (let n = 0; n < order.length; n++) add(order[n].lockFile, entries[n], LOCK, false);
    // Where each stage's paths are, in the order of the check's paths (see #askGate).
    for (const stage of order) {
      stamps.lay(stage.lockFile);
      for (const dep of stage.deps) stamps.lay(dep.abs);
      for (const out of stage.outs) stamps.lay(out.abs);
    }
    stamps.write(context.project.stateDir);
  }

  /** Clear the chunk keys past the first `count` that still hold data. */
  #clearPast(context: EngineContext, count: number): void {
    for (let n = count; n < this.#dataKeys; n++) context.state.defer([NS.verified, n], null, 16);
    this.#dataKeys = Math.min(this.#dataKeys, count);
  }
}

/**
 * The stamps of a check's paths now, by index among them: {@link StatTable}
 * (stat-ed by the check) or {@link GateTable} (the launcher's gate's).
 */
interface StampTable {
  /** The stamp of path `n`. */
  at(n: number): StampNow;
  /** Whether path `n` has the stamp `entry` holds at `where` (see {@link matches}). */
  holds(n: number, entry: Entry, where: number, base: number): boolean;
  /** As {@link holds}, for a path that must be a file (a lock file). */
  holdsFile(n: number, entry: Entry, where: number, base: number): boolean;
}

/** Stamps the check took itself, one a path. */
class StatTable implements StampTable {
  readonly #stamps: readonly StampNow[];

  constructor(stamps: readonly StampNow[]) {
    this.#stamps = stamps;
  }

  at(n: number): StampNow {
    return this.#stamps[n];
  }

  holds(n: number, entry: Entry, where: number, base: number): boolean {
    const now = this.#stamps[n];
    return now !== undefined && matches(now, entry, where, base);
  }

  holdsFile(n: number, entry: Entry, where: number, base: number): boolean {
    const now = this.#stamps[n];
    return typeof now === "object" && matches(now, entry, where, base);
  }
}

/**
 * The stamps the launcher's no-op gate took (lib/noop_stamps.ts,
 * {@link GateStamps}), read where its stats left them: three numbers a file
 * (its stamp object is made only when asked for, for a lock file a
 * {@link Verified} keeps), a walk digest a directory.
 */
class GateTable implements StampTable {
  readonly #numbers: readonly number[];
  readonly #dirs: ReadonlyMap<number, string> | undefined;

  constructor(numbers: readonly number[], dirs: ReadonlyMap<number, string>) {
    this.#numbers = numbers;
    this.#dirs = dirs.size > 0 ? dirs : undefined;
  }

  at(n: number): StampNow {
    const numbers = this.#numbers;
    return this.#dirs?.get(n) ??
      { mtime: numbers[3 * n], size: numbers[3 * n + 1], ino: numbers[3 * n + 2] };
  }

  holds(n: number, entry: Entry, where: number, base: number): boolean {
    const dir = this.#dirs?.get(n);
    if (dir !== undefined) return dir === entry[where];
    const numbers = this.#numbers;
    return numbers[3 * n] - base === entry[where] && numbers[3 * n + 1] === entry[where + 1] &&
      numbers[3 * n + 2] === entry[where + 2];
  }

  holdsFile(n: number, entry: Entry, where: number, base: number): boolean {
    return this.#dirs?.has(n) !== true && this.holds(n, entry, where, base);
  }
}

/**
 * Whether the deps and outs of an entry have the stamps it recorded: their
 * stamps now are `stamps` at the indexes `slots` holds from `from` on. A
 * file among `rehashed` (by index in `stamps`) whose stamp differs holds
 * when the launcher's hash of it is the entry's and its size the same; each
 * such one whose stamp was settled is pushed on `touched` (its place in the
 * entry, its index in `slots`), for the entry to take its new stamp.
 */
function stampsHold(
  entry: Entry,
  stamps: StampTable,
  slots: readonly number[],
  from: number,
  base: number,
  rehashed: ReadonlyMap<number, Rehashed> | undefined,
  touched: number[],
): boolean {
  const deps = entry[DEPS] as number;
  const outs = outsAt(entry);
  const files = deps + (entry[outs] as number);
  for (let i = 0, at = from; i < files; i++, at++) {
    const where = i < deps ? DEPS + 1 + DEP_WIDTH * i : outs + 1 + OUT_WIDTH * (i - deps);
    if (
      !stamps.holds(slots[at], entry, where, base) &&
      !rehashHolds(entry, where, stamps.at(slots[at]), slots, at, rehashed, touched)
    ) {
      return false;
    }
  }
  return true;
}

/**
 * Whether the file at `slots[slot]`, whose stamp `now` is not the one
 * `entry` holds at `where`, holds by the launcher's hash of it (see
 * {@link stampsHold}).
 */
function rehashHolds(
  entry: Entry,
  where: number,
  now: StampNow,
  slots: readonly number[],
  slot: number,
  rehashed: ReadonlyMap<number, Rehashed> | undefined,
  touched: number[],
): boolean {
  const file = rehashed?.get(slots[slot]);
  if (
    file === undefined || typeof now !== "object" || typeof entry[where] !== "number" ||
    now.size !== entry[where + 1] || file.hash !== entry[where + 3]
  ) return false;
  if (file.settled) touched.push(where, slot);
  return true;
}

/** Whether the objects of `stage`'s cached outs are there (a full decision re-caches one gone). */
function cachedOutsPresent(
  stage: StageDef,
  entry: Entry,
  present: (hash: string) => boolean,
): boolean {
  const at = outsAt(entry);
  for (let i = 0; i < stage.outs.length; i++) {
    if (stage.outs[i].cache && !present(entry[at + 1 + OUT_WIDTH * i + 3] as string)) return false;
  }
  return true;
}

/**
 * Stages the index describes: every dep and out a declared file or
 * directory (not of an inferred kind), and not always run.
 */
function indexable(stage: StageDef): boolean {
  if (stage.alwaysChanged === true) return false;
  for (const dep of stage.deps) if (dep.kindInferred) return false;
  for (const out of stage.outs) if (out.kindInferred) return false;
  return true;
}

const digests = new WeakMap<StageDef, { manifest: object | undefined; digest: string }>();
/** Manifests' own digests: stages of one shape share one frozen manifest, hashed once. */
const manifestDigests = new WeakMap<object, string>();

/**
 * A digest of what a decision compares besides hashes: the code manifest,
 * params, declared paths, cached outs and `frozen`. Plain JSON, not
 * canonical: the same values in another key order give another digest,
 * which only sends the stage through the full decision.
 */
function digestOf(context: EngineContext, stage: StageDef): string {
  return digestWith(context.fingerprints.get(stage.name)?.manifest, stage);
}

/**
 * The digests of `stages` ({@link digestOf}) with `fingerprints`, in order:
 * for the load cache (lib/cli/load_cache.ts) to keep beside the stages and
 * fingerprints they are a function of, so that its hit does not compute
 * them again ({@link seedDigests}). Its key stamps this file: an edit of the
 * digest misses.
 */
export function stageDigests(
  stages: readonly StageDef[],
  fingerprints: ReadonlyMap<string, { readonly manifest: object }>,
): string[] {
  return stages.map((stage) => digestWith(fingerprints.get(stage.name)?.manifest, stage));
}

/**
 * Take `kept`, the {@link stageDigests} of `stages` with `fingerprints` that
 * a load cache kept, as what {@link digestOf} gives for them (for those
 * stage and manifest objects only: a stage fingerprinted again computes its
 * own). Nothing when `kept` is not one digest string a stage.
 */
export function seedDigests(
  stages: readonly StageDef[],
  fingerprints: ReadonlyMap<string, { readonly manifest: object }>,
  kept: unknown,
): void {
  if (!Array.isArray(kept) || kept.length !== stages.length) return;
  if (!kept.every((digest) => typeof digest === "string")) return;
  for (let n = 0; n < stages.length; n++) {
    digests.set(stages[n], {
      manifest: fingerprints.get(stages[n].name)?.manifest,
      digest: kept[n],
    });
  }
}

function digestWith(manifest: object | undefined, stage: StageDef): string {
  const known = digests.get(stage);
  if (known !== undefined && known.manifest === manifest) return known.digest;
  let code: string | null = null;
  if (manifest !== undefined) {
    code = manifestDigests.get(manifest) ?? null;
    if (code === null) {
      code = hashBytesSync(JSON.stringify(manifest));
      manifestDigests.set(manifest, code);
    }
  }
  let params = JSON.stringify(stage.params);
  // `null` is also how JSON writes NaN and ±Infinity: tell them apart (rare, so only then).
  if (params.includes("null")) params = canonicalJson(stage.params);
  const digest = hashBytesSync(JSON.stringify([
    VERSION,
    stage.frozen === true,
    code,
    params,
    stage.deps.map((dep) => dep.path),
    stage.outs.map((out) => [out.path, out.cache]),
  ]));
  digests.set(stage, { manifest, digest });
  return digest;
}

/** The stamp of the file at `abs` (following a symlink), or undefined when it is not a file. */
function fileStamp(abs: string): FileStamp | undefined {
  try {
    const info = Deno.statSync(abs);
    return info.isFile ? stampOf(info) : undefined;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound || error instanceof Deno.errors.NotADirectory) {
      return undefined;
    }
    throw error;
  }
}

/** The stamp of the directory at `abs`, or undefined when there is none. */
function dirInfo(abs: string): FileStamp | undefined {
  try {
    const info = Deno.statSync(abs);
    return info.isDirectory ? stampOf(info) : undefined;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound || error instanceof Deno.errors.NotADirectory) {
      return undefined;
    }
    throw error;
  }
}

/**
 * Whether `stamp` is the one `entry` holds at `at` (a file's mtime after
 * `base`; a directory's walk digest).
 */
function matches(stamp: FileStamp | string, entry: Entry, at: number, base: number): boolean {
  if (typeof stamp === "string") return stamp === entry[at];
  return stamp.mtime - base === entry[at] && stamp.size === entry[at + 1] &&
    stamp.ino === entry[at + 2];
}

/** `stamp` as an entry holds it: mtime after `base`, size, inode. */
function stored(stamp: FileStamp, base: number): [number, number, number] {
  return [stamp.mtime - base, stamp.size, stamp.ino];
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0];
  const all = new Uint8Array(parts.reduce((n, part) => n + part.length, 0));
  let at = 0;
  for (const part of parts) {
    all.set(part, at);
    at += part.length;
  }
  return all;
}
