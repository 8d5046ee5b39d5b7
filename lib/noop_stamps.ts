/**
 * The no-op gate: a compact snapshot of every path and stamp (mtime, size,
 * inode) that a no-op decided by the verified index (lib/engine/verified.ts)
 * compares, written beside the load cache (`.pivot/state/noop-stamps.json`)
 * whenever the index is saved. The launcher (lib/cli/launcher.ts) stats
 * those paths before it attempts a command in its own process and hands the
 * command to its child at the first difference: an edited or touched dep
 * would make the attempt fail after it loaded the command's modules, read
 * the load cache and checked every stage, all of which the child then does
 * again (docs/performance.md, "A cheap miss").
 *
 * A directory dep or out is held by the digest of its files' stamps, which
 * the gate checks by walking it (lib/dir_walk.ts: one `stat` a file, as
 * `git status`), once the files' stamps held; only while the snapshot's
 * directories hold at most {@link MAX_GATE_FILES} files in all.
 *
 * A file whose stamp changed but not its size (touched: `touch`, a checkout
 * that wrote the same bytes) may still hold its content. Asked to
 * ({@link GateOptions.touched}), the gate collects such files instead of
 * stopping; the launcher hashes them (lib/cli/gate_rehash.ts) and compares
 * each hash with the one the snapshot's hints ({@link NOOP_HASHES_FILE}) say
 * the entry recorded (a hint only:
 * the verified index's check compares with the entry itself). When all are
 * equal the gate holds with the files' new stamps and hashes
 * ({@link holdTouched}), and the attempt answers the no-op.
 *
 * Only a gate: a snapshot that holds lets the attempt go on, whose own checks
 * (the load cache's, the verified index's) decide; one that is stale, torn or
 * missing only sends the command to the child sooner. The stamps the gate
 * took are kept for the attempt's verified-index check ({@link takeGateStamps}),
 * which compares them with what the index recorded instead of stat-ing every
 * path a second time: what the snapshot says is never trusted, only what the
 * files' stats said, a moment earlier in the same command. It imports
 * nothing, for the launcher's start-up.
 *
 * @module
 */

import type { Listing } from "./dir_walk.ts";
import { threshold } from "./test_thresholds.ts";

/** The snapshot's file name, in the project's state directory. */
export const NOOP_STAMPS_FILE = "noop-stamps.json";

const VERSION = 5;

/**
 * The most files the snapshot's directories may hold for the gate to walk
 * them: past it the snapshot is incomplete (the child decides). A walk that
 * finds a directory changed is done again by the child's decision, and past
 * this size the child's walk runs on two threads (lib/storage/
 * stat_many.ts) while the second Deno start it saves weighs little.
 */
export const MAX_GATE_FILES = threshold(16_384, 512);

/** The snapshot as stored. */
interface Snapshot {
  readonly version: number;
  /**
   * False when some stage has no entry in the verified index (it always
   * runs, it has a directory dep, it never ran): no no-op is decided from
   * the index alone, so the gate always hands over.
   */
  readonly complete: boolean;
  /** Absolute paths, each once. */
  readonly paths: readonly string[];
  /** Three numbers a path, in `paths` order: mtime (ms since the epoch), size, inode. */
  readonly stamps: readonly number[];
  /**
   * For each stage in the graph's order, the index in `paths` of its lock
   * file, each dep and each out (see {@link GateStamps.layout}).
   */
  readonly layout: readonly number[];
  /**
   * The directories among `paths`: each one's index there, its files'
   * stamps' digest, and the last listing of it (lib/dir_walk.ts), if the
   * process that wrote the snapshot noted one: while it holds, the gate
   * reads no directory.
   */
  readonly dirs: readonly (readonly [number, string, Listing | null])[];
  /** Names the hints written with this snapshot (see {@link NOOP_HASHES_FILE}). */
  readonly generation?: string;
}

/**
 * The hints' file, beside the snapshot: the snapshot's generation, a
 * newline, then the hash each path's entry recorded, {@link HASH_WIDTH}
 * characters a path in `paths` order ({@link NO_HASH} for a lock file or a
 * directory). Read only when the gate meets a touched file (see
 * {@link touchedFiles}), so that a no-op reads none of it; only a hint: the
 * verified index's own entry decides.
 */
export const NOOP_HASHES_FILE = "noop-hashes.txt";

/** The length of a file's hash (16 hex digits, lib/storage/hash.ts). */
const HASH_WIDTH = 16;
/** What the hints hold for a path with no file hash. */
const NO_HASH = "-".repeat(HASH_WIDTH);

/** The hints of the snapshot of `generation` in `stateDir`; "" when there are none. */
function readHints(stateDir: string, generation: string | undefined): string {
  if (generation === undefined) return "";
  let text: string;
  try {
    text = Deno.readTextFileSync(`${stateDir}/${NOOP_HASHES_FILE}`);
  } catch {
    return "";
  }
  const line = text.indexOf("\n");
  return line >= 0 && text.slice(0, line) === generation ? text.slice(line + 1) : "";
}

/** Write `text` to `stateDir/name` whole, by a rename; a failure is ignored (only a gate). */
function writeWhole(stateDir: string, name: string, text: string): void {
  const path = `${stateDir}/${name}`;
  const temp = `${path}.${Deno.pid}.tmp`;
  try {
    Deno.writeTextFileSync(temp, text);
    Deno.renameSync(temp, path);
  } catch {
    try {
      Deno.removeSync(temp);
    } catch {
      // never written
    }
  }
}

/**
 * Set by the launcher in the environment of the child it starts when the
 * gate found the snapshot stale: the child's first save of the verified
 * index writes it again even when the index itself did not change (it may
 * have been recorded without a snapshot, by an older Pivot, say), or every
 * later command would be handed over for nothing.
 */
export const STALE_ENV = "PIVOT_NOOP_STAMPS_STALE";

let rewritten = false;

/**
 * Set by the launcher in the environment of the child it starts for a
 * `repro` or `status` of every stage when the gate found a path's stamp
 * changed: that path, which the child will hash; it starts at once
 * (lib/storage/prehash.ts).
 */
export const PREHASH_ENV = "PIVOT_PREHASH";

/** The path {@link noopStampsDiffer} last found changed (a file whose stamp differs). */
let changed: string | undefined;

/**
 * The file whose changed stamp the last {@link noopStampsDiffer} of this
 * process stopped at, if that is why it did not hold.
 */
export function gateChangedPath(): string | undefined {
  return changed;
}

/**
 * What {@link noopStampsDiffer} says of a snapshot written while some stage
 * had no entry in the verified index (a directory dep or out, say): the
 * snapshot is right, only no no-op can be decided from it.
 */
export const INCOMPLETE = "a stage is not in the verified index";

/**
 * True, once per process, when this process was started by a launcher whose
 * gate found the snapshot stale (see {@link STALE_ENV}).
 */
export function snapshotStale(): boolean {
  if (rewritten || Deno.env.get(STALE_ENV) !== "1") return false;
  rewritten = true;
  return true;
}

/**
 * What a gate that held saw: its paths, each once, and their stamps, three
 * numbers a path in `paths` order (mtime, size, inode), each found equal to
 * what the path's stat said.
 */
export interface GateStamps {
  readonly paths: readonly string[];
  readonly stamps: readonly number[];
  /**
   * Where the snapshot says each stage's paths are in `paths`: for each
   * stage in the graph's order, the index of its lock file, each dep and
   * each out. Only a guess (the verified index compares the path found
   * there with the stage's before it takes that stamp), so that its check
   * needs no lookup by path.
   */
  readonly layout: readonly number[];
  /**
   * The directories among `paths`, by index there: the digest of their
   * files' stamps, as the gate's walk found it (its three numbers in
   * `stamps` mean nothing).
   */
  readonly dirs: ReadonlyMap<number, string>;
  /**
   * The touched files among `paths`, by index there (see {@link touchedFiles}):
   * their stamps in `stamps` are the new ones, and these, the hashes the
   * launcher read from them at those stamps, and whether those stamps were
   * settled (not racy) when taken, so that the index may record them.
   */
  readonly rehashed?: ReadonlyMap<number, Rehashed>;
  /**
   * The snapshot file these stamps were compared with: its own stamp (the
   * same before and after it was read) and generation; undefined when it
   * changed meanwhile or has no generation. A no-op's record
   * (lib/cli/noop_record.ts) is bound to it.
   */
  readonly snapshot?: SnapshotStamp;
}

/** A snapshot file's stamp (mtime, size, inode) and generation (see {@link GateStamps.snapshot}). */
export interface SnapshotStamp {
  readonly mtime: number;
  readonly size: number;
  readonly ino: number;
  readonly generation: string;
}

/** A touched file's hash, read by the launcher (see {@link holdTouched}). */
export interface Rehashed {
  readonly hash: string;
  /** The stamp was not racy (lib/storage/state.ts, `isRacy`): the index may record it. */
  readonly settled: boolean;
}

/** A touched file as the launcher hashed it (see {@link holdTouched}). */
export interface TouchedHash extends Rehashed {
  readonly path: string;
  readonly mtime: number;
  readonly size: number;
  readonly ino: number;
}

/** Options of {@link noopStampsDiffer}. */
export interface GateOptions {
  /**
   * Collect up to this many touched files (a regular file whose stamp
   * changed but not its size: maybe only its mtime did) instead of stopping
   * at the first: when every other path holds, the gate answers
   * {@link TOUCHED} and the launcher may hash them ({@link touchedFiles},
   * {@link holdTouched}). Default 0: the first difference stops the gate.
   */
  readonly touched?: number;
}

/**
 * What {@link noopStampsDiffer} answers when every path holds but some
 * touched files, whose content only a hash can tell (see {@link touchedFiles}).
 */
export const TOUCHED = "a file was touched";

/** What a gate that found only touched files saw, until {@link holdTouched}. */
let touchedGate:
  | {
    readonly gate: GateStamps;
    readonly files: readonly { readonly n: number; readonly hint: string }[];
  }
  | undefined;

/**
 * The touched files the last {@link noopStampsDiffer} of this process found
 * (when it answered {@link TOUCHED}), each with the hash the snapshot says
 * the verified index recorded for it: a hint, to hash no further once one
 * file's content differs.
 */
export function touchedFiles(): { path: string; hint: string }[] {
  if (touchedGate === undefined) return [];
  const { paths } = touchedGate.gate;
  return touchedGate.files.map(({ n, hint }) => ({ path: paths[n], hint }));
}

/**
 * Let the gate that found only the touched files of {@link touchedFiles}
 * hold, with `hashed`: each of those files' hash and the stamp it was read
 * at (same size as recorded), each equal to its hint. Undefined when it
 * holds (its stamps, the new ones of the touched files with their hashes,
 * are then kept for {@link takeGateStamps}: the verified index's check
 * compares each hash with the one its entry recorded); else why not.
 */
export function holdTouched(hashed: readonly TouchedHash[]): string | undefined {
  const found = touchedGate;
  touchedGate = undefined;
  if (found === undefined) return "no touched files";
  const { gate, files } = found;
  const byPath = new Map(hashed.map((file) => [file.path, file]));
  const stamps = [...gate.stamps];
  const rehashed = new Map<number, Rehashed>();
  for (const { n, hint } of files) {
    const path = gate.paths[n];
    const file = byPath.get(path);
    if (file === undefined || file.hash !== hint || file.size !== stamps[3 * n + 1]) {
      return `${path} changed`;
    }
    stamps[3 * n] = file.mtime;
    stamps[3 * n + 2] = file.ino;
    rehashed.set(n, { hash: file.hash, settled: file.settled });
  }
  taken = { ...gate, stamps, rehashed };
  return undefined;
}

/** The stamps of the last gate that held, until taken. */
let taken: GateStamps | undefined;

/**
 * The stamps of the last {@link noopStampsDiffer} of this process that found
 * every path unchanged, none touched, without taking them: for a no-op's
 * record (lib/cli/noop_record.ts), which leaves them to the verified
 * index's check when it does not answer.
 */
export function peekGateStamps(): GateStamps | undefined {
  return taken;
}

/**
 * Why a no-op's record (lib/cli/noop_record.ts) cannot answer after this
 * process's gate, or undefined when it may: it answers only a gate that held
 * with a snapshot and no touched file re-hashed. A touched file's new stamp
 * is for the verified index's check to record (lib/engine/verified.ts),
 * which the record skips. Asked before the record's modules load and its
 * state opens: an answer known from the gate alone costs nothing more.
 */
export function gateBarsRecord(): string | undefined {
  if ((taken?.rehashed?.size ?? 0) > 0) return "touched files re-hashed";
  return taken?.snapshot === undefined ? "no gate" : undefined;
}

/**
 * The stamps taken by the last {@link noopStampsDiffer} of this process that
 * found every path unchanged, once (then undefined): for the verified
 * index's check of the attempt that follows it.
 */
export function takeGateStamps(): GateStamps | undefined {
  const stamps = taken;
  taken = undefined;
  return stamps;
}

/** Collects a snapshot: {@link add} each path's recorded stamp, then {@link write}. */
export class NoopStamps {
  readonly #at = new Map<string, number>();
  readonly #paths: string[] = [];
  readonly #stamps: number[] = [];
  readonly #hashes: string[] = [];
  readonly #layout: number[] = [];
  /** Directories: index in {@link #paths}, digest. */
  readonly #dirs = new Map<number, string>();
  readonly #listings = new Map<number, Listing>();
  #dirFiles = 0;
  #complete = true;

  /** A stage the index cannot answer: the snapshot will never let an attempt through. */
  incomplete(): void {
    this.#complete = false;
  }

  /**
   * Record `abs` with the stamp an entry holds, and the file hash it holds
   * if any (a dep's or out's, not a lock file's); two entries disagreeing
   * make it incomplete.
   */
  add(abs: string, mtime: number, size: number, ino: number, hash?: string): void {
    const at = this.#at.get(abs);
    if (at !== undefined) {
      if (this.#dirs.has(at / 3)) this.#complete = false;
      const stamps = this.#stamps;
      if (stamps[at] !== mtime || stamps[at + 1] !== size || stamps[at + 2] !== ino) {
        this.#complete = false;
      }
      return;
    }
    this.#at.set(abs, this.#stamps.length);
    this.#paths.push(abs);
    this.#stamps.push(mtime, size, ino);
    this.#hashes.push(hash?.length === HASH_WIDTH ? hash : NO_HASH);
  }

  /**
   * Record the directory `abs` with the digest of its `files` files'
   * stamps an entry holds (lib/dir_walk.ts), and its last `listing`; as
   * {@link add}.
   */
  addDir(abs: string, digest: string, files: number, listing?: Listing): void {
    const at = this.#at.get(abs);
    if (at !== undefined) {
      if (this.#dirs.get(at / 3) !== digest) this.#complete = false;
      return;
    }
    this.#dirFiles += files;
    if (this.#dirFiles > MAX_GATE_FILES) this.#complete = false;
    this.#at.set(abs, this.#stamps.length);
    this.#dirs.set(this.#paths.length, digest);
    if (listing !== undefined) this.#listings.set(this.#paths.length, listing);
    this.#paths.push(abs);
    this.#stamps.push(0, files, 0);
    this.#hashes.push(NO_HASH);
  }

  /**
   * Say that the next path of the stages' layout (see {@link GateStamps.layout})
   * is `abs`, {@link add}ed before.
   */
  lay(abs: string): void {
    const at = this.#at.get(abs);
    this.#layout.push(at === undefined ? -1 : at / 3);
  }

  /** Write the snapshot to `stateDir` (whole, by a rename); a failure is ignored (only a gate). */
  write(stateDir: string): void {
    const snapshot: Snapshot = {
      version: VERSION,
      complete: this.#complete,
      paths: this.#complete ? this.#paths : [],
      stamps: this.#complete ? this.#stamps : [],
      layout: this.#complete ? this.#layout : [],
      dirs: this.#complete
        ? [...this.#dirs].map(([n, digest]) => [n, digest, this.#listings.get(n) ?? null])
        : [],
      ...(this.#complete ? { generation: crypto.randomUUID() } : {}),
    };
    // The hints first: a snapshot names only hints written before it.
    if (snapshot.generation !== undefined) {
      writeWhole(stateDir, NOOP_HASHES_FILE, `${snapshot.generation}\n${this.#hashes.join("")}`);
    }
    writeWhole(stateDir, NOOP_STAMPS_FILE, JSON.stringify(snapshot));
  }
}

/** True when `stateDir` has a snapshot (of any kind). */
export function hasNoopStamps(stateDir: string): boolean {
  try {
    Deno.statSync(`${stateDir}/${NOOP_STAMPS_FILE}`);
    return true;
  } catch {
    return false;
  }
}

/**
 * Undefined when every path of `stateDir`'s snapshot still has its stamp;
 * else why not, in a few words (the first path that differs, or why there
 * is no usable snapshot). Stops at the first difference.
 *
 * @example
 * ```ts
 * import { noopStampsDiffer } from "./noop_stamps.ts";
 *
 * const why = await noopStampsDiffer("/nonexistent/.pivot/state"); // "no snapshot"
 * ```
 */
export async function noopStampsDiffer(
  stateDir: string,
  options: GateOptions = {},
): Promise<string | undefined> {
  changed = undefined;
  touchedGate = undefined;
  taken = undefined;
  const most = options.touched ?? 0;
  const file = `${stateDir}/${NOOP_STAMPS_FILE}`;
  let text: string;
  let before: Deno.FileInfo;
  try {
    before = Deno.statSync(file);
    text = Deno.readTextFileSync(file);
  } catch {
    return "no snapshot";
  }
  let snapshot: Snapshot | undefined;
  try {
    snapshot = JSON.parse(text);
  } catch {
    // Torn or damaged
  }
  if (
    snapshot?.version !== VERSION || !Array.isArray(snapshot.paths) ||
    !Array.isArray(snapshot.stamps) || snapshot.stamps.length !== 3 * snapshot.paths.length ||
    !Array.isArray(snapshot.layout) || !Array.isArray(snapshot.dirs) ||
    !snapshot.dirs.every(Array.isArray)
  ) {
    // Removed, so that the next save of the verified index writes it again.
    try {
      Deno.removeSync(file);
    } catch {
      // gone already
    }
    return "unreadable snapshot";
  }
  if (snapshot.complete !== true) return INCOMPLETE;
  const { paths, stamps, layout } = snapshot;
  let hints: string | undefined;
  const touched: { n: number; hint: string }[] = [];
  const dirs = new Map<number, string>();
  const listings = new Map<number, Listing>();
  for (const [n, digest, listing] of snapshot.dirs) {
    dirs.set(n, digest);
    if (listing != null) listings.set(n, listing);
  }
  for (let n = 0; n < paths.length; n++) {
    if (dirs.has(n)) continue;
    let info: Deno.FileInfo;
    try {
      info = Deno.statSync(paths[n]);
    } catch {
      return `${paths[n]} is gone`;
    }
    // What the stat said is the snapshot's stamp: the numbers are kept, not copied.
    if (
      !info.isFile || (info.mtime?.getTime() ?? 0) !== stamps[3 * n] ||
      info.size !== stamps[3 * n + 1] || (info.ino ?? 0) !== stamps[3 * n + 2]
    ) {
      // Touched? Only a file whose entry holds a hash to compare with (not a lock file).
      if (info.isFile && info.size === stamps[3 * n + 1] && touched.length < most) {
        hints ??= readHints(stateDir, snapshot.generation);
        const hint = hints.slice(HASH_WIDTH * n, HASH_WIDTH * (n + 1));
        if (hint.length === HASH_WIDTH && hint !== NO_HASH) {
          touched.push({ n, hint });
          continue;
        }
      }
      if (info.isFile) changed = paths[n];
      return `${paths[n]} changed`;
    }
  }
  if (dirs.size > 0) {
    // Loaded only here: most snapshots hold no directory.
    const { walkDigest } = await import("./dir_walk.ts");
    for (const [n, digest] of dirs) {
      // A listing from the snapshot is used only while its directories' stamps hold.
      const now = await walkDigest(paths[n], listings.get(n));
      if (now?.digest !== digest) return `${paths[n]} changed`;
    }
  }
  if (touched.length > 0) {
    touchedGate = { gate: { paths, stamps, layout, dirs }, files: touched };
    return TOUCHED;
  }
  taken = {
    paths,
    stamps,
    layout,
    dirs,
    snapshot: snapshotStamp(file, before, snapshot.generation),
  };
  return undefined;
}

/**
 * The stamp and generation of the snapshot `file`, read after `before` was
 * taken: undefined when it has no generation or its stamp is not `before`'s
 * now (replaced while read).
 */
function snapshotStamp(
  file: string,
  before: Deno.FileInfo,
  generation: string | undefined,
): SnapshotStamp | undefined {
  if (typeof generation !== "string") return undefined;
  let after: Deno.FileInfo;
  try {
    after = Deno.statSync(file);
  } catch {
    return undefined;
  }
  const mtime = after.mtime?.getTime() ?? 0;
  if (
    mtime !== (before.mtime?.getTime() ?? 0) || after.size !== before.size ||
    after.ino !== before.ino || after.ino === null
  ) return undefined;
  return { mtime, size: after.size, ino: after.ino, generation };
}
