/**
 * Skip detection: compare a stage's code manifest, params and dep hashes with
 * its lock file, and check its outs in the workspace and the cache. Used by
 * `status` (a prediction) and by `repro` (at dispatch time, after upstream
 * stages finished, so dep hashes are real).
 *
 * @module
 */

import { PivotError } from "../errors.ts";
import type { ArtifactDef, StageDef } from "../model/stage_def.ts";
import { statOrUndefined } from "../paths.ts";
import {
  type ArtifactHash,
  type DirHash,
  dirManifest,
  hashArtifact,
} from "../storage/artifact_hash.ts";
import type { DirManifest } from "../storage/cache.ts";
import { canonicalJson, type Hash } from "../storage/hash.ts";
import {
  type LockData,
  type LockDep,
  type LockOut,
  readLockStamped,
} from "../storage/lock_file.ts";
import { type FileStamp, NS, racyClock, sameStamp, stampOf } from "../storage/state.ts";
import { type EngineContext, stageKey } from "./context.ts";
import { inputHashOf } from "./input_hash.ts";
import type { Reason } from "./events.ts";
import { verifiedIndexOf } from "./verified.ts";

/** A changed code manifest entry. */
export interface CodeChange {
  /** Manifest key. */
  readonly key: string;
  /** Hash in the lock file (null: new entry). */
  readonly old: Hash | null;
  /** Hash now (null: entry gone). */
  readonly new: Hash | null;
  /** Project-relative file of the code now (or before, if gone). */
  readonly file: string | null;
  /** 1-based line. */
  readonly line: number | null;
}

/** A changed param (dotted key for nested values). */
export interface ParamChange {
  /** Key. */
  readonly key: string;
  /** Value in the lock file (undefined → null in JSON: new key). */
  readonly old: unknown;
  /** Value now. */
  readonly new: unknown;
}

/** A changed dep. */
export interface DepChange {
  /** Project-relative path. */
  readonly path: string;
  /** Hash in the lock file (null: new dep). */
  readonly old: Hash | null;
  /** Hash now (null: missing or no longer a dep). */
  readonly new: Hash | null;
  /**
   * For a directory whose old and new manifests are both known: the files
   * (paths inside it) added, removed and modified.
   */
  readonly files?: FileChanges;
}

/** How the files of a directory changed between two manifests. */
export interface FileChanges {
  /** Paths only in the new manifest. */
  readonly added: string[];
  /** Paths only in the old manifest. */
  readonly removed: string[];
  /** Paths in both, with different hashes. */
  readonly modified: string[];
}

/** All changes of a stage against its lock file. */
export interface Changes {
  /** Code manifest changes. */
  readonly code: CodeChange[];
  /** Param changes. */
  readonly params: ParamChange[];
  /** Dep changes. */
  readonly deps: DepChange[];
}

/** Outs a run produced, as remembered in the run cache. */
export interface RunCacheEntry {
  /** The outs, with whether each is a directory. */
  readonly outs: readonly (LockOut & { readonly isDir: boolean })[];
}

/** What to do with a stage. */
export interface Decision {
  /** The stage. */
  readonly stage: StageDef;
  /** Up to date (possibly after restoring outs) or will run. */
  readonly status: "up-to-date" | "will-run";
  /** Why it will run (empty when up to date). */
  readonly reasons: Reason[];
  /** What changed. */
  readonly changes: Changes;
  /** The lock file, if any. */
  readonly lock: LockData | undefined;
  /** The lock file's stamp when read (undefined: there was none). */
  readonly lockStamp: FileStamp | undefined;
  /** The current code manifest. */
  readonly manifest: Readonly<Record<string, Hash>>;
  /** Current dep hashes (missing deps absent). */
  readonly deps: readonly LockDep[];
  /** Locked outs to restore from the cache before the stage counts as done. */
  readonly restore: readonly LockOut[];
  /** Locked outs whose workspace copy is fine but whose cache object is missing. */
  readonly recache: readonly LockOut[];
  /**
   * The hash of the stage's inputs (code, params, deps): the run-cache key.
   * Computed on demand: an up-to-date stage never needs it.
   */
  readonly inputHash: () => Promise<Hash>;
  /** A run-cache entry that can stand in for running, if any. */
  readonly runCache: RunCacheEntry | undefined;
  /**
   * True when a directory dep's hash was taken from a walk made moments
   * ago, not now ({@link DecideOptions.reuseWalks}): such a decision, made
   * under the stage's lock, is kept only when it is a plain skip. Not for a
   * hash Pivot placed under a lock this process still holds (`DirHash.vouched`).
   */
  readonly reusedWalk?: boolean;
}

/** Options of {@link decide}. */
export interface DecideOptions {
  /** Run regardless (`--force`). */
  readonly forced: boolean;
  /** An upstream stage will run (prediction for `status`). */
  readonly upstreamWillRun: boolean;
  /**
   * Hashes that missing deps will have once upstream outs are restored
   * (prediction for `status`), by project-relative path.
   */
  readonly restoredOuts?: ReadonlyMap<string, Hash>;
  /**
   * Reuse a walk of a directory dep made moments ago (an upstream's out),
   * once (`HashOptions.reuse`); the decision then says so
   * ({@link Decision.reusedWalk}). Made without the stage's lock, the
   * decision is checked again under it with fresh walks (`depsUnchanged`).
   * Made under it, it may be kept only when it is a plain skip (nothing is
   * written; the verified index records the walk's own stamps, so a change
   * after the walk is seen next time, as one after a fresh walk would be);
   * one that would run or restore must be made again without reuse, so that
   * a lock file never records a walk older than the lock (a `checkout`,
   * which holds this lock while it replaces a dep, may have run between).
   * The exception is a directory this process placed as an upstream's out
   * under that stage's lock, still held (`PlacementLease`): a `checkout`
   * needs that lock too, so none can have run between.
   */
  readonly reuseWalks?: boolean;
  /**
   * Name the files that changed in each changed directory dep
   * ({@link DepChange.files}: the locked manifest read and diffed with the
   * current one, ~0.1 s at 100,000 files). Default true; false where nothing
   * shows the decision's explanation (a run: the engine's own decisions).
   */
  readonly nameFiles?: boolean;
  /**
   * The caller found the lock file absent moments ago (a listing of its
   * directory): decide as if it were, without a `stat` of it. Only for the
   * first decision, made without the stage's lock: the check under the lock
   * sees a lock file made since.
   */
  readonly lockAbsent?: boolean;
}

/** Run-cache entries kept in memory when there are no more (`StateStore.getInSmall`). */
const RUN_CACHE_KEPT = 500;

/** Decide what to do with `stage`. */
export async function decide(
  context: EngineContext,
  stage: StageDef,
  options: DecideOptions,
): Promise<Decision> {
  const key = stageKey(context, stage);
  const index = await verifiedIndexOf(context.state);
  // Read before the lock file's and the paths' stats (see isRacy).
  const clock = racyClock();
  const locked = options.lockAbsent
    ? undefined
    : await readLockStamped(stage.lockFile, key, context.state, context.cache);
  // Taken before anything is hashed: recorded if the stage is plainly up to date.
  const before = options.forced || options.upstreamWillRun || locked === undefined
    ? undefined
    : index.stampsBefore(stage, locked.stamp, clock);
  const lock = locked?.data;
  const fingerprint = context.fingerprints.get(stage.name);
  const manifest = fingerprint?.manifest ?? {};
  const deps: LockDep[] = [];
  const dirs = new Map<string, DirHash>();
  let reusedWalk = false;
  for (const dep of stage.deps) {
    const hashed = await hashDeclared(dep, context, options.reuseWalks);
    if (hashed) {
      if (hashed.isDir) {
        dirs.set(dep.path, hashed);
        // A placement vouched for by its lease is as good as a walk now.
        if (hashed.reused && !hashed.vouched) reusedWalk = true;
      }
      deps.push(
        hashed.isDir
          ? { path: dep.path, hash: hashed.hash, files: hashed.files, size: hashed.size }
          : { path: dep.path, hash: hashed.hash },
      );
    } else {
      wrongKind(stage, dep);
      const predicted = options.restoredOuts?.get(dep.path);
      if (predicted) deps.push({ path: dep.path, hash: predicted });
    }
  }
  const inputHash = inputHashOf(manifest, stage, deps);

  const changes: Changes = {
    code: codeChanges(lock?.code_manifest ?? {}, manifest, fingerprint?.locations ?? {}),
    params: paramChanges(lock?.params ?? {}, stage.params),
    deps: options.nameFiles === false
      ? depChanges(lock?.deps ?? [], deps, stage)
      : await withFileChanges(context, depChanges(lock?.deps ?? [], deps, stage), dirs),
  };
  const reasons: Reason[] = [];
  // `always_changed: true` (a command stage) runs every time, as if forced.
  const forced = options.forced || stage.alwaysChanged === true;
  if (forced && !stage.frozen) reasons.push("forced");
  if (!lock) reasons.push("never-run");
  else if (!stage.frozen) {
    // A frozen stage (a command stage's `frozen: true`) ignores what changed.
    if (changes.code.length > 0) reasons.push("code");
    if (changes.params.length > 0) reasons.push("params");
    if (changes.deps.length > 0) reasons.push("deps");
  }
  if (options.upstreamWillRun) reasons.push("upstream");

  const restore: LockOut[] = [];
  const recache: LockOut[] = [];
  // Directories' walks by absolute path (the outs', then the deps'): for the verified index.
  const walks = new Map<string, DirHash>();
  if (lock && reasons.length === 0) {
    let missing = false;
    for (const out of stage.outs) {
      const locked = lock.outs.find((o) => o.path === out.path);
      if (!locked) {
        missing = true;
        break;
      }
      const now = await hashDeclared(out, context);
      if (now?.isDir) walks.set(out.abs, now);
      if (now?.hash === locked.hash) {
        if (out.cache && !context.cache.has(locked.hash)) recache.push(locked);
        continue;
      }
      if (out.cache && await restorable(context, locked.hash, out.isDir)) restore.push(locked);
      else {
        missing = true;
        break;
      }
    }
    if (missing) reasons.push("outs-missing");
  }

  let runCache: RunCacheEntry | undefined;
  if (reasons.length > 0 && !forced && !options.upstreamWillRun && !stage.frozen) {
    // A project's first runs have an empty run cache: one listing, then no
    // KV read a stage (one on the main thread before each stage starts).
    const entry = await context.state.getInSmall<RunCacheEntry>(
      [NS.run],
      [NS.run, key, await inputHash()],
      RUN_CACHE_KEPT,
    );
    if (entry && await allRestorable(context, entry, stage)) runCache = entry;
  }

  if (reasons.length > 0) index.forget(context, stage);
  else if (before && lock && restore.length === 0 && recache.length === 0) {
    for (const dep of stage.deps) {
      const walk = dirs.get(dep.path);
      if (walk !== undefined) walks.set(dep.abs, walk);
    }
    index.record(context, stage, before, lock, deps.map((dep) => dep.hash), walks);
  }

  return {
    stage,
    status: reasons.length === 0 ? "up-to-date" : "will-run",
    reasons,
    changes,
    lock,
    lockStamp: locked?.stamp,
    manifest,
    deps,
    restore: reasons.length === 0 ? restore : [],
    recache: reasons.length === 0 ? recache : [],
    inputHash,
    runCache,
    ...(reusedWalk ? { reusedWalk } : {}),
  };
}

/**
 * The hash of a declared dep or out as it is now. A command stage's path
 * whose kind was inferred (no trailing `/`) is hashed as whatever is there:
 * it may have become a directory since the stage was loaded.
 */
async function hashDeclared(
  artifact: ArtifactDef,
  context: EngineContext,
  reuse = false,
): Promise<ArtifactHash | undefined> {
  const hashed = await hashArtifact(
    artifact.abs,
    artifact.path,
    artifact.isDir,
    context.state,
    context.cache,
    { reuse },
  );
  if (hashed !== undefined || !artifact.kindInferred) return hashed;
  return await hashArtifact(
    artifact.abs,
    artifact.path,
    !artifact.isDir,
    context.state,
    context.cache,
  );
}

/**
 * Throws when a dep that could not be hashed exists as the other kind (a
 * directory declared without its trailing `/`, or a file declared with one):
 * left out of the lock, its changes would never re-run the stage.
 */
function wrongKind(stage: StageDef, dep: ArtifactDef): void {
  if (dep.kindInferred) return;
  const info = statOrUndefined(dep.abs);
  if (info === undefined || (dep.isDir ? !info.isFile : !info.isDirectory)) return;
  throw new PivotError(
    dep.isDir
      ? `stage '${stage.name}': dep '${dep.name}' (${dep.path}/) is declared as a directory but is a file: declare it without the trailing '/'`
      : `stage '${stage.name}': dep '${dep.name}' (${dep.path}) is declared as a file but is a directory: declare it with a trailing '/' (dep("${dep.path}/"))`,
  );
}

/**
 * True when the locked content `hash` can be restored from the cache: its
 * objects exist and are intact. Objects are checked by their remembered
 * stamps (a stat each), so an object written in place through a hard link
 * or symlink is noticed, reported and treated as missing, never restored.
 */
export async function restorable(
  context: EngineContext,
  hash: Hash,
  isDir: boolean,
): Promise<boolean> {
  const { cache, state, warn } = context;
  if (!isDir) return await cache.verify(hash, state, warn);
  const manifest = await cache.readManifest(hash);
  if (!manifest) return false;
  await state.loadObjectChunks(hash);
  for (const file of manifest.files) {
    if (!(await cache.verify(file.hash, state, warn))) return false;
  }
  return true;
}

/**
 * The locked outs of an up-to-date stage that are in the workspace but not
 * whole in the cache: those `decide` found missing ({@link Decision.recache}:
 * a file's object, a directory's manifest), and each directory whose
 * manifest is there but not every one of its files' objects (removed by
 * hand, or moved aside as corrupt). `decide` looks no further than the
 * manifest, as a no-op `repro` must not look for every object of a large
 * directory; `verify` and `commit` call this to look.
 */
export async function missingFromCache(
  cache: EngineContext["cache"],
  decision: Decision,
): Promise<LockOut[]> {
  const missing = [...decision.recache];
  const settled = new Set([...decision.recache, ...decision.restore].map((out) => out.path));
  for (const out of decision.stage.outs) {
    if (!out.cache || !out.isDir || settled.has(out.path)) continue;
    const locked = decision.lock?.outs.find((o) => o.path === out.path);
    if (locked === undefined) continue;
    if (!(await cache.hasWhole(locked.hash, true))) missing.push(locked);
  }
  return missing;
}

async function allRestorable(
  context: EngineContext,
  entry: RunCacheEntry,
  stage: StageDef,
): Promise<boolean> {
  const declared = new Set(stage.outs.map((o) => o.path));
  if (entry.outs.length !== declared.size) return false;
  for (const out of entry.outs) {
    if (!declared.has(out.path) || !(await restorable(context, out.hash, out.isDir))) return false;
  }
  return true;
}

function codeChanges(
  old: Readonly<Record<string, Hash>>,
  now: Readonly<Record<string, Hash>>,
  locations: Readonly<Record<string, { file: string; line: number }>>,
): CodeChange[] {
  const keys = [...new Set([...Object.keys(old), ...Object.keys(now)])].sort();
  return keys.filter((key) => old[key] !== now[key]).map((key) => ({
    key,
    old: old[key] ?? null,
    new: now[key] ?? null,
    file: locations[key]?.file ?? null,
    line: locations[key]?.line ?? null,
  }));
}

/** The leaves of nested params by dotted key (`optimizer.lr`); an empty object has none. */
function paramLeaves(
  value: Readonly<Record<string, unknown>>,
  prefix = "",
  into: Map<string, unknown> = new Map(),
): Map<string, unknown> {
  for (const [key, v] of Object.entries(value)) {
    const dotted = prefix ? `${prefix}.${key}` : key;
    if (v !== null && typeof v === "object" && !Array.isArray(v)) {
      paramLeaves(v as Record<string, unknown>, dotted, into);
    } else into.set(dotted, v);
  }
  return into;
}

function paramChanges(
  old: Readonly<Record<string, unknown>>,
  now: Readonly<Record<string, unknown>>,
): ParamChange[] {
  if (canonicalJson(old) === canonicalJson(now)) return [];
  const before = paramLeaves(old);
  const after = paramLeaves(now);
  const keys = [...new Set([...before.keys(), ...after.keys()])].sort();
  return keys
    .filter((key) => canonicalJson(before.get(key)) !== canonicalJson(after.get(key)))
    .map((key) => ({ key, old: before.get(key) ?? null, new: after.get(key) ?? null }));
}

function depChanges(
  old: readonly LockDep[],
  now: readonly LockDep[],
  stage: StageDef,
): DepChange[] {
  const before = new Map(old.map((d) => [d.path, d.hash]));
  const after = new Map(now.map((d) => [d.path, d.hash]));
  const paths = [...new Set([...stage.deps.map((d) => d.path), ...before.keys()])];
  return paths
    .filter((path) => before.get(path) !== after.get(path))
    .map((path) => ({ path, old: before.get(path) ?? null, new: after.get(path) ?? null }));
}

/**
 * Name the files that changed in each changed directory dep, by diffing its
 * locked manifest (a cache object) with the current one.
 */
async function withFileChanges(
  context: EngineContext,
  changes: DepChange[],
  dirs: ReadonlyMap<string, DirHash>,
): Promise<DepChange[]> {
  const result: DepChange[] = [];
  for (const change of changes) {
    const now = dirs.get(change.path);
    if (!now || change.old === null) {
      result.push(change);
      continue;
    }
    const before = await context.cache.readManifest(change.old);
    const after = await dirManifest(now, context.cache);
    result.push(before && after ? { ...change, files: diffManifests(before, after) } : change);
  }
  return result;
}

/**
 * The files added, removed and modified from manifest `before` to `after`:
 * one merge of the two lists when both are sorted (as Pivot writes them),
 * else through a map (a map of 100,000 paths cost ~0.15 s of the run when
 * one file of a 100,000-file dep changed).
 */
function diffManifests(before: DirManifest, after: DirManifest): FileChanges {
  return diffSorted(before.files, after.files) ?? diffByMap(before, after);
}

/** {@link diffManifests} of two lists sorted by path; undefined when either is not. */
function diffSorted(
  before: DirManifest["files"],
  after: DirManifest["files"],
): FileChanges | undefined {
  const changes: FileChanges = { added: [], removed: [], modified: [] };
  let i = 0;
  let j = 0;
  let last = "";
  while (i < before.length || j < after.length) {
    const a = before[i];
    const b = after[j];
    const path = b === undefined || (a !== undefined && a.path < b.path) ? a.path : b.path;
    if ((i > 0 || j > 0) && path <= last) return undefined;
    last = path;
    if (a !== undefined && a.path === path) {
      if (b !== undefined && b.path === path) {
        if (a.hash !== b.hash) changes.modified.push(path);
        j++;
      } else changes.removed.push(path);
      i++;
    } else {
      changes.added.push(path);
      j++;
    }
  }
  return changes;
}

function diffByMap(before: DirManifest, after: DirManifest): FileChanges {
  const old = new Map(before.files.map((f) => [f.path, f.hash]));
  const changes: FileChanges = { added: [], removed: [], modified: [] };
  for (const { path, hash } of after.files) {
    const was = old.get(path);
    if (was === undefined) changes.added.push(path);
    else if (was !== hash) changes.modified.push(path);
    old.delete(path);
  }
  changes.removed.push(...old.keys());
  return changes;
}

/**
 * True when every dep of `decision.stage` still has the hash `decision`
 * saw (a stat each, through the state store's hash cache).
 */
export async function depsUnchanged(context: EngineContext, decision: Decision): Promise<boolean> {
  const seen = new Map(decision.deps.map((d) => [d.path, d.hash]));
  for (const dep of decision.stage.deps) {
    const now = await hashArtifact(dep.abs, dep.path, dep.isDir, context.state, context.cache);
    if (now?.hash !== seen.get(dep.path)) return false;
  }
  return true;
}

/**
 * True when the stage's lock file is as it was when `decision` was made:
 * no other process has run or committed the stage since.
 */
export function lockUnchanged(decision: Decision): boolean {
  let now: FileStamp | undefined;
  try {
    now = stampOf(Deno.statSync(decision.stage.lockFile));
  } catch {
    now = undefined;
  }
  const then = decision.lockStamp;
  return now === undefined || then === undefined ? now === then : sameStamp(now, then);
}
