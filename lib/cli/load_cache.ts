/**
 * The load cache: the stages a pipeline registered, kept with the stamps of
 * everything registering them could read, so that a command on an unchanged
 * pipeline (a no-op `repro`, `status`, `list`) gets them without importing
 * the user's modules: what git's index is to the work tree, for the
 * pipeline. Importing a 10,000-stage `pipeline.ts` and resolving its stages
 * costs ~330 ms; reading this file, a few stats and a JSON parse.
 *
 * Correct only when registering the stages reads nothing but module
 * sources, so a pipeline is cached only when that is proven, at the time
 * the cache is written (after a normal load):
 * - every pipeline loaded (the main one and those producers were included
 *   from) is a `pipeline.ts`, and every module of their static import graphs
 *   is a local file importing only local modules and Pivot's API, with no
 *   dynamic `import()`, no `import.meta` and no ambient global that does
 *   I/O or is not deterministic (`registrationModules`,
 *   lib/fingerprint/_registration_scan.ts);
 * - the stages are plain data (plain objects, arrays, strings, finite
 *   numbers, booleans, null, undefined), which this file encodes exactly:
 *   key order, undefined-valued keys and shared objects are kept.
 *
 * The key, all compared on every read:
 * - the stamps (mtime, size, inode) of every module of those graphs, of the
 *   user's Deno config inputs (deno.json, deno.lock, an import map, a
 *   package.json: present or absent), and of Pivot's own loading code
 *   (mod.ts, lib/api, lib/model, lib/pipeline, this file, …) with Pivot's
 *   version and root: an upgrade or an edit of Pivot misses;
 * - the project root, the pipeline file and the Deno config used;
 * - the `params.yaml` overrides the stages were resolved with (compared as
 *   parsed, which the state store caches by the file's stamp);
 * - every directory looked in for another pipeline file (multi-pipeline
 *   discovery) and what it held;
 * and, after a hit, out directories are checked again for symbolic links
 * leading outside the project (as resolving outs does). Pivot reads no
 * environment variable while loading. A racy stamp (`isRacy`,
 * lib/storage/state.ts: modified after the clock marker) is not trusted: nothing is written.
 *
 * Beside the stages, under the same key, what a load derives from them: the
 * graph's order and edges (a function of the stages, but for which input
 * deps exist: those are checked again on every hit, and when one is gone
 * the graph is built the normal way, which says which) and the stages' code
 * fingerprints (a function of each stage's cache key and of the contents of
 * its entry modules' graphs and the config inputs, all stamped in the key;
 * not kept when a stage's code is in a module outside it), and with the
 * fingerprints each stage's digest for the verified index (a function of the
 * stage and its fingerprint's manifest; lib/engine/verified.ts is among the
 * files stamped). A hit so neither builds the graph, fingerprints nor
 * digests, nor checks for outs over the pipeline's code
 * (`refuseOutsOverCode`, a function of the stages and fingerprints that the
 * load which wrote the cache passed).
 *
 * Anything uncertain is a miss: the normal load then runs (and rewrites the
 * cache). A damaged or foreign file is a miss, never an error.
 *
 * @module
 */

import type { Project } from "../model/project.ts";
import type { PipelineRef, StageDef } from "../model/stage_def.ts";
import type { LoadedStages } from "../pipeline/discovery.ts";
import type { ParamsYaml } from "../pipeline/params.ts";
import { type FileStamp, isRacy, type RacyClock } from "../storage/state.ts";
import { writeTextAtomically } from "../storage/temp_files.ts";
import { PIVOT_ROOT } from "../own_code.ts";
import { toFileUrl } from "../paths.ts";
import {
  FORMAT,
  type Identity,
  identityOf,
  type LoadCacheKey,
  loadCacheKeyDiffers,
  loadCachePath,
  loadCacheStamp,
  statOf,
} from "./load_cache_key.ts";

export { type LoadCacheKey, loadCacheKeyDiffers, loadCachePath, loadCacheStamp };
import {
  type FingerprintOptions,
  fingerprintsFromSnapshot,
  type FingerprintSnapshot,
  fingerprintSnapshot,
  type StageFingerprint,
} from "../fingerprint/fingerprint.ts";
import {
  graphFromShape,
  type GraphOptions,
  type GraphShape,
  graphShape,
  type StageGraph,
} from "../graph/graph.ts";

/** The cache as stored. */
interface Stored {
  readonly format: number;
  readonly identity: Identity;
  /** Files that must still have these stamps: path, mtime, size, inode. */
  readonly files: [string, number, number, number][];
  /** Files that must still be absent. */
  readonly absent: string[];
  /** Directories looked in for another pipeline file, and what was there. */
  readonly probed: [string, string | null][];
  /** How many of the stages are the main pipeline's (the first ones). */
  readonly mainCount: number;
  /** The stages, encoded (see {@link encode}). */
  readonly stages: Encoded;
  /** Their graph (lib/graph/graph.ts). */
  readonly graph: GraphShape;
  /** One out (absolute path, path) in each directory the stages' outs are in. */
  readonly outDirs: [string, string][];
  /** Their fingerprints, when the key covers every module they depend on. */
  readonly fingerprints: FingerprintSnapshot | null;
  /**
   * With the fingerprints, each stage's digest for the verified index
   * (`stageDigests`, lib/engine/verified.ts), in the stages' order; else null.
   */
  readonly digests: string[] | null;
}

/** A cached load, as the normal load returns it. */
export interface CachedLoad {
  readonly loaded: LoadedStages;
  /**
   * The graph of the stages, as `buildGraph` gives it; undefined when an
   * input dep no longer exists (`buildGraph` then says which).
   */
  readonly graph: StageGraph | undefined;
  /**
   * The stages' fingerprints, as `fingerprintStages` gives them for the
   * graph's order; undefined when not kept (or without the graph).
   */
  readonly fingerprints: Map<string, StageFingerprint> | undefined;
  /**
   * With the fingerprints, what the cache holds as the stages' digests for
   * the verified index, unchecked: `seedDigests` (lib/engine/verified.ts)
   * takes it only when it is one string a stage.
   */
  readonly digests: unknown;
  /** The cache's key, which the stages, graph and fingerprints are a function of. */
  readonly key: LoadCacheKey;
  /** The cache file's stamp, taken before it was read ({@link loadCacheStamp}). */
  readonly file: FileStamp | undefined;
}

/** What the normal load derived from the stages, kept beside them. */
export interface LoadDerived {
  readonly graph: StageGraph;
  readonly fingerprints: ReadonlyMap<string, StageFingerprint>;
  /** The stages' digests for the verified index, in their order (`stageDigests`). */
  readonly digests?: readonly string[];
}

/** What a normal load saw, for {@link writeLoadCache}. */
export interface LoadWitness {
  /** The racy clock (`racyClock`) read before the load started: what its stamps are judged by. */
  readonly since: RacyClock;
  /** Directories discovery looked in for other pipeline files. */
  readonly probed: ReadonlyMap<string, string | undefined>;
}

/**
 * The stages cached for `pipelineFile` when every part of the key still
 * holds, else undefined (with why, for the trace).
 */
export function readLoadCache(
  project: Project,
  pipelineFile: string,
  denoConfig: string | undefined,
  paramsYaml: ParamsYaml,
  graphOptions: GraphOptions,
): { hit: CachedLoad } | { miss: string } {
  let stored: Stored;
  // Taken before the read: a file replaced meanwhile has another stamp (see CachedLoad.file).
  const file = loadCacheStamp(project);
  try {
    stored = JSON.parse(Deno.readTextFileSync(loadCachePath(project)));
  } catch {
    return { miss: "no readable cache" };
  }
  try {
    // The key first, by the code a no-op's record checks it with: nothing is decoded before.
    const differs = loadCacheKeyDiffers(project, pipelineFile, denoConfig, paramsYaml, stored);
    if (differs !== undefined) return { miss: differs };
    const stages = decode(stored.stages, prefixesOf(project)) as StageDef[];
    if (!Array.isArray(stages) || stages.length < stored.mainCount) return { miss: "damaged" };
    const pipelines: PipelineRef[] = [];
    for (const stage of stages) {
      if (!pipelines.includes(stage.pipeline)) pipelines.push(stage.pipeline);
    }
    const main = stages[0]?.pipeline;
    if (main === undefined || main.file !== pipelineFile) return { miss: "damaged" };
    const graph = graphFromShape(stages, stored.graph, graphOptions);
    const fingerprints = graph === undefined || stored.fingerprints === null
      ? undefined
      : fingerprintsFromSnapshot(stages, stored.graph.order, stored.fingerprints);
    const { format, identity, files, absent, probed, outDirs } = stored;
    return {
      hit: {
        loaded: {
          main: { ref: main, stages: stages.slice(0, stored.mainCount) },
          stages,
          pipelines,
        },
        graph,
        fingerprints,
        digests: fingerprints === undefined ? undefined : stored.digests,
        key: { format, identity, files, absent, probed, outDirs },
        file,
      },
    };
  } catch (error) {
    // A damaged file (a wrong shape, say) is a miss, never a crash.
    return { miss: `damaged (${error instanceof Error ? error.message : String(error)})` };
  }
}

/**
 * Write the cache of `loaded`, just loaded the normal way, when the
 * pipeline is eligible (see the module's documentation); else remove any
 * cache. Returns why not, or undefined when written. Never throws for an
 * ineligible pipeline or an unwritable file.
 */
export async function writeLoadCache(
  project: Project,
  pipelineFile: string,
  paramsYaml: ParamsYaml,
  loaded: LoadedStages,
  derived: LoadDerived,
  witness: LoadWitness,
  fingerprintOptions: FingerprintOptions,
): Promise<string | undefined> {
  const path = loadCachePath(project);
  const why = await eligibleStore(
    project,
    pipelineFile,
    paramsYaml,
    loaded,
    derived,
    witness,
    fingerprintOptions,
  );
  try {
    if (typeof why === "string") {
      Deno.removeSync(path);
    } else {
      Deno.mkdirSync(project.stateDir, { recursive: true });
      writeTextAtomically(path, JSON.stringify(why));
      return undefined;
    }
  } catch {
    // A cache: never fail a command over it.
  }
  return typeof why === "string" ? why : "not written";
}

async function eligibleStore(
  project: Project,
  pipelineFile: string,
  paramsYaml: ParamsYaml,
  loaded: LoadedStages,
  derived: LoadDerived,
  witness: LoadWitness,
  fingerprintOptions: FingerprintOptions,
): Promise<Stored | string> {
  const identity = identityOf(project, pipelineFile, fingerprintOptions.denoConfig, paramsYaml);
  if (identity === undefined) return "Pivot is not local";
  if (loaded.stages.length === 0) return "no stages";
  if (loaded.main.ref.file !== pipelineFile) return "another main pipeline";
  for (const ref of loaded.pipelines) {
    if (!ref.file.endsWith(".ts")) return `${ref.file} is not a pipeline.ts`;
  }
  for (const stage of loaded.stages) {
    if (stage.code.kind !== "registered") {
      return `stage ${stage.name} is not registered from TypeScript`;
    }
  }
  const { configInputs, registrationModules } = await import("../fingerprint/fingerprint.ts");
  const files: Stored["files"] = [];
  const absent: string[] = [];
  const recorded = new Set<string>();
  /** Record the stamp of `path`; why not, when it cannot be trusted. */
  const record = (path: string, required: boolean): string | undefined => {
    if (recorded.has(path)) return undefined;
    recorded.add(path);
    const stamp = statOf(path);
    if (stamp === undefined) {
      if (required) return `${path} is gone`;
      absent.push(path);
      return undefined;
    }
    if (isRacy(stamp, witness.since)) return `${path} was modified too recently to trust its stamp`;
    files.push([path, stamp.mtime, stamp.size, stamp.ino]);
    return undefined;
  };
  // The cheap parts first: a pipeline just written (or a Pivot just edited) is not scanned.
  for (const ref of loaded.pipelines) {
    const why = record(ref.file, true);
    if (why !== undefined) return why;
  }
  for (const path of ownLoadingFiles()) {
    const why = record(path, true);
    if (why !== undefined) return why;
  }
  for (const path of await configInputs(fingerprintOptions.denoConfig, project.root)) {
    const why = record(path, false);
    if (why !== undefined) return why;
  }
  // The pipelines' modules: what the stages' code, and so their fingerprints, can be in.
  const modulesOfPipelines = new Set<string>();
  for (const ref of loaded.pipelines) {
    const modules = await registrationModules(ref.file, fingerprintOptions);
    if ("ineligible" in modules) return modules.ineligible;
    for (const path of modules.files) {
      const why = record(path, true);
      if (why !== undefined) return why;
      modulesOfPipelines.add(path);
    }
  }
  try {
    const fingerprints = fingerprintSnapshot(
      loaded.stages,
      derived.fingerprints,
      modulesOfPipelines,
    ) ?? null;
    return {
      format: FORMAT,
      identity,
      files,
      absent,
      probed: [...witness.probed].map(([dir, found]) => [dir, found ?? null]),
      mainCount: loaded.main.stages.length,
      stages: encode(loaded.stages, prefixesOf(project)),
      graph: graphShape(loaded.stages, derived.graph),
      outDirs: outDirsOf(loaded.stages),
      fingerprints,
      digests: fingerprints === null || derived.digests?.length !== loaded.stages.length
        ? null
        : [...derived.digests],
    };
  } catch (error) {
    // Stages that are not plain data (the encoder says why), or anything unforeseen: no cache.
    return error instanceof Error ? error.message : String(error);
  }
}

/** The first out of the stages in each directory outs are in. */
function outDirsOf(stages: readonly StageDef[]): [string, string][] {
  const dirs = new Map<string, [string, string]>();
  for (const stage of stages) {
    for (const out of stage.outs) {
      const dir = out.abs.slice(0, out.abs.lastIndexOf("/"));
      if (!dirs.has(dir)) dirs.set(dir, [out.abs, out.path]);
    }
  }
  return [...dirs.values()];
}

/** Remove the cache (a pipeline that cannot be cached, or a test). */
export function removeLoadCache(project: Project): void {
  try {
    Deno.removeSync(loadCachePath(project));
  } catch {
    // none
  }
}

/**
 * Pivot's own files that take part in loading a pipeline or in this cache:
 * a change to any (an upgrade, an edit in a checkout) misses.
 */
function ownLoadingFiles(): string[] {
  const files = [
    `${PIVOT_ROOT}/mod.ts`,
    `${PIVOT_ROOT}/deno.json`,
    `${PIVOT_ROOT}/lib/version.ts`,
    `${PIVOT_ROOT}/lib/cli/load_cache.ts`,
    `${PIVOT_ROOT}/lib/cli/load_cache_key.ts`,
    `${PIVOT_ROOT}/lib/cli/session.ts`,
    `${PIVOT_ROOT}/lib/fingerprint/fingerprint.ts`,
    `${PIVOT_ROOT}/lib/fingerprint/_module_graph.ts`,
    `${PIVOT_ROOT}/lib/fingerprint/_registration_scan.ts`,
    `${PIVOT_ROOT}/lib/graph/graph.ts`,
    // The digests kept beside the stages are its.
    `${PIVOT_ROOT}/lib/engine/verified.ts`,
  ];
  for (const dir of ["lib/api", "lib/model", "lib/pipeline"]) {
    for (const entry of Deno.readDirSync(`${PIVOT_ROOT}/${dir}`)) {
      if (entry.isFile && entry.name.endsWith(".ts")) {
        files.push(`${PIVOT_ROOT}/${dir}/${entry.name}`);
      }
    }
  }
  return files.sort();
}

// ---------------------------------------------------------------------------
// Encoding: exact for plain data, and quick to decode. Stages are alike, so
// each top-level item (a stage) is stored as a skeleton, shared by the items
// of its structure, and its leaves. A skeleton is a tree: a plain object is
// [shape, keep, ...values] where shape indexes a list of its keys (a key whose
// value is undefined is kept in the shape, marked with a leading "?", and has
// no value); an array is [-1, keep, ...items]; a leaf is STRING (its leaf is
// an index into the strings), LITERAL (its leaf is the number, boolean or
// null) or SHARED (its leaf numbers an object or array met before). Objects
// and arrays met more than once are kept (keep = 1) and numbered in the order
// they are completed, so that shared objects (a pipeline's ref, permissions)
// stay shared. Strings are stored once each, behind a kind: "=" as they are,
// "/" under the project root's path, ":" under its URL (paths and URLs under
// the root are most of the file).

/** The encoded stages. */
interface Encoded {
  readonly strings: string[];
  readonly shapes: string[][];
  readonly skeletons: Skeleton[];
  /** Per top-level item: its skeleton. */
  readonly items: number[];
  /** The leaves of every item, in order. */
  readonly leaves: (number | boolean | null)[];
}

type Skeleton =
  | typeof STRING
  | typeof LITERAL
  | typeof SHARED
  | [typeof FIXED_STRING | typeof FIXED_SHARED, number]
  | [typeof FIXED_LITERAL, number | boolean | null]
  | [number, 0 | 1, ...Skeleton[]];

const STRING = 0;
const LITERAL = 1;
const SHARED = 2;
const ARRAY = -1;
// A leaf with one value in every item of its skeleton is kept in the
// skeleton, not in each item's leaves: [FIXED_STRING, index of the string],
// [FIXED_LITERAL, value] or [FIXED_SHARED, number of the object].
const FIXED_STRING = -2;
const FIXED_LITERAL = -3;
const FIXED_SHARED = -4;

/**
 * Encode the items of `value`, refusing anything the decoder would not give
 * back as it is: class instances, functions, symbols, bigints, non-finite
 * numbers, -0, cycles.
 */
function encode(value: readonly unknown[], prefixes: Prefixes): Encoded {
  const [path, url] = prefixes;
  // First pass: check everything, and count how often each object is met.
  const met = new Map<object, number>();
  const open = new Set<object>();
  const check = (item: unknown): void => {
    if (typeof item === "string" || item === null || typeof item === "boolean") return;
    if (typeof item === "number") {
      if (!Number.isFinite(item) || Object.is(item, -0)) {
        throw new Error(`a stage holds the number ${item}, which JSON cannot keep`);
      }
      return;
    }
    if (typeof item !== "object") throw new Error(`a stage holds a ${typeof item}`);
    if (open.has(item)) throw new Error("a stage holds a cycle");
    const times = met.get(item);
    met.set(item, (times ?? 0) + 1);
    if (times !== undefined) return;
    open.add(item);
    for (const member of membersOf(item)) check(member);
    open.delete(item);
  };
  check(value);
  if (!Array.isArray(value)) throw new Error("not a list");

  const strings: string[] = [];
  const stringIds = new Map<string, number>();
  const shapes: string[][] = [];
  const shapeIds = new Map<string, number>();
  const skeletons: Skeleton[] = [];
  const skeletonIds = new Map<string, number>();
  const items: number[] = [];
  const leaves: (number | boolean | null)[] = [];
  const kept = new Map<object, number>();
  const stringId = (item: string): number => {
    let id = stringIds.get(item);
    if (id === undefined) {
      const stored = item.startsWith(path)
        ? "/" + item.slice(path.length)
        : item.startsWith(url)
        ? ":" + item.slice(url.length)
        : "=" + item;
      stringIds.set(item, id = strings.push(stored) - 1);
    }
    return id;
  };
  const walk = (item: unknown): Skeleton => {
    if (typeof item === "string") {
      leaves.push(stringId(item));
      return STRING;
    }
    if (typeof item !== "object" || item === null) {
      leaves.push(item as number | boolean | null);
      return LITERAL;
    }
    const id = kept.get(item);
    if (id !== undefined) {
      leaves.push(id);
      return SHARED;
    }
    let node: Skeleton;
    if (Array.isArray(item)) {
      node = [ARRAY, 0, ...item.map(walk)];
    } else {
      const keys: string[] = [];
      const values: Skeleton[] = [];
      for (const key of Object.keys(item)) {
        const member = (item as Record<string, unknown>)[key];
        if (member === undefined) {
          keys.push(`?${key}`);
        } else {
          keys.push(`=${key}`);
          values.push(walk(member));
        }
      }
      const shape = JSON.stringify(keys);
      let shapeId = shapeIds.get(shape);
      if (shapeId === undefined) shapeIds.set(shape, shapeId = shapes.push(keys) - 1);
      node = [shapeId, 0, ...values];
    }
    // Numbered when complete, as the decoder's literals complete.
    if (met.get(item)! > 1) {
      node[1] = 1;
      kept.set(item, kept.size);
    }
    return node;
  };
  for (const item of value) {
    const skeleton = walk(item);
    const key = JSON.stringify(skeleton);
    let id = skeletonIds.get(key);
    if (id === undefined) skeletonIds.set(key, id = skeletons.push(skeleton) - 1);
    items.push(id);
  }
  const fixed = fixLeaves(skeletons, items, leaves);
  return { strings, shapes, skeletons: fixed.skeletons, items, leaves: fixed.leaves };
}

/**
 * The skeletons with each leaf that has one value in all of a skeleton's
 * items (two or more) kept in the skeleton, and the leaves left.
 */
function fixLeaves(
  skeletons: readonly Skeleton[],
  items: readonly number[],
  leaves: readonly (number | boolean | null)[],
): { skeletons: Skeleton[]; leaves: (number | boolean | null)[] } {
  const kindsOf = (node: Skeleton, kinds: number[]): number[] => {
    if (typeof node === "number") kinds.push(node);
    else for (let i = 2; i < node.length; i++) kindsOf(node[i] as Skeleton, kinds);
    return kinds;
  };
  const kinds = skeletons.map((skeleton) => kindsOf(skeleton, []));
  // Per skeleton: where its first item's leaves start, and which leaves are the same in all.
  const first: (number | undefined)[] = skeletons.map(() => undefined);
  const same = kinds.map((list) => list.map(() => true));
  const uses = skeletons.map(() => 0);
  let at = 0;
  for (const id of items) {
    uses[id]++;
    const start = first[id];
    if (start === undefined) {
      first[id] = at;
    } else {
      const mask = same[id];
      for (let j = 0; j < mask.length; j++) {
        if (mask[j] && leaves[at + j] !== leaves[start + j]) mask[j] = false;
      }
    }
    at += kinds[id].length;
  }
  const fixedKind = [FIXED_STRING, FIXED_LITERAL, FIXED_SHARED] as const;
  const rewritten = skeletons.map((skeleton, id) => {
    if (uses[id] < 2) return skeleton;
    let j = 0;
    const rewrite = (node: Skeleton): Skeleton => {
      if (typeof node === "number") {
        const k = j++;
        if (!same[id][k]) return node;
        const value = leaves[first[id]! + k];
        return [fixedKind[node], value] as Skeleton;
      }
      const [tag, keep, ...members] = node as [number, 0 | 1, ...Skeleton[]];
      return [tag, keep, ...members.map(rewrite)];
    };
    return rewrite(skeleton);
  });
  const kept: (number | boolean | null)[] = [];
  at = 0;
  for (const id of items) {
    const mask = uses[id] < 2 ? undefined : same[id];
    for (let j = 0; j < kinds[id].length; j++) {
      if (mask === undefined || !mask[j]) kept.push(leaves[at + j]);
    }
    at += kinds[id].length;
  }
  return { skeletons: rewritten, leaves: kept };
}

/** The members of a plain object or array, checked to be only that. */
function membersOf(item: object): unknown[] {
  if (Array.isArray(item)) {
    if (Object.getPrototypeOf(item) !== Array.prototype) {
      throw new Error("a stage holds an array subclass");
    }
    for (let i = 0; i < item.length; i++) {
      if (!(i in item) || item[i] === undefined) throw new Error("a stage holds a sparse array");
    }
    if (Object.getOwnPropertyNames(item).length !== item.length + 1) {
      throw new Error("an array with extra keys");
    }
    if (Object.getOwnPropertySymbols(item).length > 0) throw new Error("an array with symbols");
    return item;
  }
  const proto = Object.getPrototypeOf(item);
  if (proto !== Object.prototype && proto !== null) {
    throw new Error(`a stage holds a ${proto?.constructor?.name ?? "class"} instance`);
  }
  if (proto === null || Object.getOwnPropertySymbols(item).length > 0) {
    throw new Error("a stage holds an unusual object");
  }
  const members: unknown[] = [];
  const keys = Object.keys(item);
  for (const key of keys) {
    if (key === "__proto__") throw new Error("a stage holds a key '__proto__'");
    const descriptor = Object.getOwnPropertyDescriptor(item, key)!;
    if (!("value" in descriptor)) throw new Error(`a stage holds an accessor '${key}'`);
    if (descriptor.value !== undefined) members.push(descriptor.value);
  }
  if (Object.getOwnPropertyNames(item).length !== keys.length) {
    throw new Error("a stage holds hidden properties");
  }
  return members;
}

/**
 * A skeleton is compiled into a builder when at least this many items have
 * it; compiling costs about what building a few items the generic way does.
 */
const COMPILE_FROM = 4;

/** The items {@link encode} encoded. Throws on a damaged encoding. */
function decode(encoded: Encoded, prefixes: Prefixes, compileFrom = COMPILE_FROM): unknown[] {
  const [path, url] = prefixes;
  const { shapes, leaves } = encoded;
  const strings = encoded.strings.map((stored) => {
    const kind = stored[0];
    const rest = stored.slice(1);
    if (kind === "=") return rest;
    if (kind === "/") return path + rest;
    if (kind === ":") return url + rest;
    throw new Error("a string of no kind");
  });
  /** Throws unless `node` is a fixed leaf that can be. */
  const checkFixed = (node: unknown[]): void => {
    const [tag, value] = node;
    if (tag === FIXED_LITERAL) {
      if (value === null || typeof value === "boolean") return;
      if (typeof value === "number" && Number.isFinite(value)) return;
    } else if (Number.isInteger(value) && (value as number) >= 0) {
      if (tag === FIXED_STRING && (value as number) < strings.length) return;
      if (tag === FIXED_SHARED) return;
    }
    throw new Error("a damaged leaf");
  };
  /** The value of a fixed leaf. */
  const fixedLeaf = (node: unknown[]): unknown => {
    checkFixed(node);
    const [tag, value] = node as [number, number];
    return tag === FIXED_LITERAL ? value : tag === FIXED_STRING ? strings[value] : shared(value);
  };
  const kept: object[] = [];
  const keep = <T extends object>(object: T): T => {
    kept.push(object);
    return object;
  };
  const shared = (id: number): object => {
    const object = kept[id];
    if (object === undefined) throw new Error("a reference to nothing");
    return object;
  };
  const uses = encoded.skeletons.map(() => 0);
  for (const id of encoded.items) {
    if (uses[id] === undefined) throw new Error("an unknown skeleton");
    uses[id]++;
  }
  // One builder a common skeleton, made once: nested literals with the
  // shapes' keys in order, so that decoded objects are as fast to read as the
  // ones a load makes, and an item is built by one call. A rare skeleton is
  // walked instead.
  const builders = encoded.skeletons.map((skeleton, id) => {
    if (uses[id] < compileFrom) return undefined;
    let count = 0;
    const source = (node: Skeleton): string => {
      if (node === STRING) return `S[L[o + ${count++}]]`;
      if (node === LITERAL) return `L[o + ${count++}]`;
      if (node === SHARED) return `R(L[o + ${count++}])`;
      if (Array.isArray(node) && node.length === 2 && node[0] <= FIXED_STRING) {
        checkFixed(node);
        // Only a number, a boolean or null is written in, or an index: data never runs.
        if (node[0] === FIXED_LITERAL) return JSON.stringify(node[1]);
        return node[0] === FIXED_STRING ? `S[${node[1]}]` : `R(${node[1]})`;
      }
      if (!Array.isArray(node) || (node[1] !== 0 && node[1] !== 1)) {
        throw new Error("a damaged skeleton");
      }
      const [tag, kept, ...members] = node;
      let literal: string;
      if (tag === ARRAY) {
        literal = `[${members.map(source).join(", ")}]`;
      } else {
        const keys = shapes[tag];
        if (!Number.isInteger(tag) || !Array.isArray(keys)) throw new Error("an unknown shape");
        let next = 0;
        const fields = keys.map((key) => {
          if (typeof key !== "string" || (key[0] !== "?" && key[0] !== "=")) {
            throw new Error("a damaged shape");
          }
          // `"__proto__": v` in a literal sets the prototype; computed, it is an own key.
          const name = key.slice(1) === "__proto__"
            ? `["__proto__"]`
            : JSON.stringify(key.slice(1));
          if (key[0] === "?") return `${name}: undefined`;
          if (next === members.length) throw new Error("a shape that does not fit");
          return `${name}: ${source(members[next++])}`;
        });
        if (next !== members.length) throw new Error("a shape that does not fit");
        literal = `{ ${fields.join(", ")} }`;
      }
      return kept === 1 ? `K(${literal})` : literal;
    };
    const body = source(skeleton);
    return {
      leaves: count,
      // The source is made of JSON-quoted keys and numbers only: data never runs.
      build: new Function("S", "L", "o", "K", "R", `return ${body};`) as (
        strings: string[],
        leaves: Encoded["leaves"],
        at: number,
        keep: <T extends object>(object: T) => T,
        shared: (id: number) => object,
      ) => unknown,
    };
  });
  let at = 0;
  // What a builder's literals do, key by key.
  const walk = (node: Skeleton): unknown => {
    if (node === STRING) return strings[leaves[at++] as number];
    if (node === LITERAL) return leaves[at++];
    if (node === SHARED) return shared(leaves[at++] as number);
    if (Array.isArray(node) && node.length === 2 && node[0] <= FIXED_STRING) {
      return fixedLeaf(node);
    }
    if (!Array.isArray(node) || (node[1] !== 0 && node[1] !== 1)) {
      throw new Error("a damaged skeleton");
    }
    let value: object;
    if (node[0] === ARRAY) {
      const array: unknown[] = [];
      for (let i = 2; i < node.length; i++) array.push(walk(node[i] as Skeleton));
      value = array;
    } else {
      const keys = shapes[node[0]];
      if (!Number.isInteger(node[0]) || !Array.isArray(keys)) throw new Error("an unknown shape");
      const object: Record<string, unknown> = {};
      let next = 2;
      for (const key of keys) {
        if (typeof key !== "string" || (key[0] !== "?" && key[0] !== "=")) {
          throw new Error("a damaged shape");
        }
        if (key[0] === "=" && next === node.length) throw new Error("a shape that does not fit");
        const member = key[0] === "?" ? undefined : walk(node[next++] as Skeleton);
        // As a literal's key: an own property, even `__proto__`.
        Object.defineProperty(object, key.slice(1), {
          value: member,
          writable: true,
          enumerable: true,
          configurable: true,
        });
      }
      if (next !== node.length) throw new Error("a shape that does not fit");
      value = object;
    }
    return node[1] === 1 ? keep(value) : value;
  };
  const items: unknown[] = [];
  for (const id of encoded.items) {
    const builder = builders[id];
    if (builder === undefined) {
      items.push(walk(encoded.skeletons[id]));
    } else {
      items.push(builder.build(strings, leaves, at, keep, shared));
      at += builder.leaves;
    }
  }
  if (at !== leaves.length) throw new Error("leaves that do not fit");
  return items;
}

/** The project root as a path and as a URL, each with a trailing slash. */
type Prefixes = readonly [string, string];

function prefixesOf(project: Project): Prefixes {
  return [`${project.root}/`, `${toFileUrl(project.root)}/`];
}

/**
 * For tests: encode and decode, as the cache does; `compileFrom` 1 compiles
 * every skeleton, `Infinity` none.
 */
export function roundTrip(
  value: readonly unknown[],
  root = "/project",
  compileFrom = COMPILE_FROM,
): unknown[] {
  const prefixes: Prefixes = [`${root}/`, `${toFileUrl(root)}/`];
  return decode(JSON.parse(JSON.stringify(encode(value, prefixes))), prefixes, compileFrom);
}
