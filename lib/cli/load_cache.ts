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
 * environment variable while loading. A stamp modified within
 * `RACY_MS` (lib/storage/state.ts) of the load's start is not trusted: nothing is written.
 *
 * Anything uncertain is a miss: the normal load then runs (and rewrites the
 * cache). A damaged or foreign file is a miss, never an error.
 *
 * @module
 */

import type { Project } from "../model/project.ts";
import { escapesThroughLink } from "../model/project.ts";
import type { PipelineRef, StageDef } from "../model/stage_def.ts";
import type { LoadedStages } from "../pipeline/discovery.ts";
import { pipelineFileIn } from "../pipeline/find_project.ts";
import type { ParamsYaml } from "../pipeline/params.ts";
import { type FileStamp, isRacy, stampOf } from "../storage/state.ts";
import { PIVOT_IS_LOCAL, PIVOT_ROOT } from "../own_code.ts";
import { VERSION } from "../version.ts";
import { toFileUrl } from "../paths.ts";
import {
  type FingerprintOptions,
  type FingerprintSnapshot,
  fingerprintsFromSnapshot,
  fingerprintSnapshot,
  type StageFingerprint,
} from "../fingerprint/fingerprint.ts";
import {
  type GraphOptions,
  graphFromShape,
  type GraphShape,
  graphShape,
  type StageGraph,
} from "../graph/graph.ts";

/** Bumped when the file's layout or what the key covers changes. */
const FORMAT = 4;

/** The file, in the project's state directory. */
export function loadCachePath(project: Project): string {
  return `${project.stateDir}/load-cache.json`;
}

/** The key's parts that are not file stamps. */
interface Identity {
  readonly pivot: string;
  readonly root: string;
  readonly pipelineFile: string;
  readonly denoConfig: string | null;
  readonly params: string;
}

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
  /** Their fingerprints, when the key covers every module they depend on. */
  readonly fingerprints: FingerprintSnapshot | null;
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
}

/** What the normal load derived from the stages, kept beside them. */
export interface LoadDerived {
  readonly graph: StageGraph;
  readonly fingerprints: ReadonlyMap<string, StageFingerprint>;
}

/** What a normal load saw, for {@link writeLoadCache}. */
export interface LoadWitness {
  /** `Date.now()` before the load started: stamps after `since - RACY_MS` are not trusted. */
  readonly since: number;
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
  try {
    stored = JSON.parse(Deno.readTextFileSync(loadCachePath(project)));
  } catch {
    return { miss: "no readable cache" };
  }
  try {
    if (stored?.format !== FORMAT) return { miss: "another format" };
    const identity = identityOf(project, pipelineFile, denoConfig, paramsYaml);
    if (identity === undefined) return { miss: "Pivot is not local" };
    const was = stored.identity;
    for (const key of Object.keys(identity) as (keyof Identity)[]) {
      if (was[key] !== identity[key]) return { miss: `${key} changed` };
    }
    for (const [path, mtime, size, ino] of stored.files) {
      const now = statOf(path);
      if (now === undefined || now.mtime !== mtime || now.size !== size || now.ino !== ino) {
        return { miss: `${path} changed` };
      }
    }
    for (const path of stored.absent) {
      if (statOf(path) !== undefined) return { miss: `${path} appeared` };
    }
    for (const [dir, found] of stored.probed) {
      if ((pipelineFileIn(dir) ?? null) !== found) {
        return { miss: `${dir}: pipeline files changed` };
      }
    }
    const stages = decode(stored.stages, prefixesOf(project)) as StageDef[];
    if (!Array.isArray(stages) || stages.length < stored.mainCount) return { miss: "damaged" };
    // As resolving outs does: an out directory must not lead outside through a link.
    const realDirs = new Map<string, string>();
    const checked = new Set<string>();
    for (const stage of stages) {
      for (const out of stage.outs) {
        const dir = out.abs.slice(0, out.abs.lastIndexOf("/"));
        if (checked.has(dir)) continue;
        checked.add(dir);
        if (escapesThroughLink(project.root, out.abs, realDirs) !== undefined) {
          return { miss: `${out.path} leads outside the project` };
        }
      }
    }
    const pipelines: PipelineRef[] = [];
    for (const stage of stages) {
      if (!pipelines.includes(stage.pipeline)) pipelines.push(stage.pipeline);
    }
    const main = stages[0]?.pipeline;
    if (main === undefined || main.file !== pipelineFile) return { miss: "damaged" };
    const graph = graphFromShape(stages, stored.graph, graphOptions);
    const fingerprints = graph === undefined || stored.fingerprints === null
      ? undefined
      : fingerprintsFromSnapshot(stages, graph.order, stored.fingerprints);
    return {
      hit: {
        loaded: {
          main: { ref: main, stages: stages.slice(0, stored.mainCount) },
          stages,
          pipelines,
        },
        graph,
        fingerprints,
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
      const temp = `${path}.${Deno.pid}.tmp`;
      Deno.writeTextFileSync(temp, JSON.stringify(why));
      Deno.renameSync(temp, path);
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
  for (const ref of loaded.pipelines) {
    const modules = await registrationModules(ref.file, fingerprintOptions);
    if ("ineligible" in modules) return modules.ineligible;
    for (const path of modules.files) {
      const why = record(path, true);
      if (why !== undefined) return why;
    }
  }
  let stages: Encoded;
  try {
    stages = encode(loaded.stages, prefixesOf(project));
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
  return {
    format: FORMAT,
    identity,
    files,
    absent,
    probed: [...witness.probed].map(([dir, found]) => [dir, found ?? null]),
    mainCount: loaded.main.stages.length,
    stages,
    graph: graphShape(loaded.stages, derived.graph),
    fingerprints: fingerprintSnapshot(
      loaded.stages,
      derived.fingerprints,
      new Set(files.map(([path]) => path)),
    ) ?? null,
  };
}

/** Remove the cache (a pipeline that cannot be cached, or a test). */
export function removeLoadCache(project: Project): void {
  try {
    Deno.removeSync(loadCachePath(project));
  } catch {
    // none
  }
}

function identityOf(
  project: Project,
  pipelineFile: string,
  denoConfig: string | undefined,
  paramsYaml: ParamsYaml,
): Identity | undefined {
  if (!PIVOT_IS_LOCAL) return undefined;
  return {
    pivot: `${VERSION} ${FORMAT} ${PIVOT_ROOT}`,
    root: project.root,
    pipelineFile,
    denoConfig: denoConfig ?? null,
    params: JSON.stringify(paramsYaml),
  };
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
    `${PIVOT_ROOT}/lib/cli/session.ts`,
    `${PIVOT_ROOT}/lib/fingerprint/fingerprint.ts`,
    `${PIVOT_ROOT}/lib/fingerprint/_module_graph.ts`,
    `${PIVOT_ROOT}/lib/fingerprint/_registration_scan.ts`,
    `${PIVOT_ROOT}/lib/graph/graph.ts`,
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

function statOf(path: string): FileStamp | undefined {
  try {
    const info = Deno.statSync(path);
    return info.isFile ? stampOf(info) : undefined;
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------
// Encoding: exact for plain data. A plain object is [shape, ...values] where
// shape indexes a list of its keys (a key whose value is undefined is kept
// in the shape, marked with a leading "?", and has no value); an array is
// [-1, ...items]; the second and later appearances of one object or array
// are [-2, n], n counting objects and arrays in order of first appearance,
// so shared objects (a pipeline's ref, permissions) stay shared.

/** The encoded stages. */
interface Encoded {
  readonly shapes: string[][];
  readonly value: unknown;
}

/**
 * Encode `value`, refusing anything the decoder would not give back as it
 * is: class instances, functions, symbols, bigints, non-finite numbers, -0.
 */
function encode(value: unknown, prefixes: Prefixes): Encoded {
  const [path, url] = prefixes;
  const shapes: string[][] = [];
  const shapeIds = new Map<string, number>();
  const seen = new Map<object, number>();
  const open = new Set<object>();
  const walk = (item: unknown): unknown => {
    if (typeof item === "string") {
      // Paths and URLs under the project root are most of the file: stored relative.
      // Marked by a private-use character (stored as it is, where a control character
      // would be escaped in six); a string of the stages' that starts with one is refused.
      const first = item.charCodeAt(0);
      if (first === PATH_MARK || first === URL_MARK) {
        throw new Error("a stage holds a marked string");
      }
      if (item.startsWith(path)) return PATH_PREFIX + item.slice(path.length);
      if (item.startsWith(url)) return URL_PREFIX + item.slice(url.length);
      return item;
    }
    if (item === null || typeof item === "boolean") return item;
    if (typeof item === "number") {
      if (!Number.isFinite(item) || Object.is(item, -0)) {
        throw new Error(`a stage holds the number ${item}, which JSON cannot keep`);
      }
      return item;
    }
    if (typeof item !== "object") throw new Error(`a stage holds a ${typeof item}`);
    const known = seen.get(item);
    if (known !== undefined) {
      if (open.has(item)) throw new Error("a stage holds a cycle");
      return [-2, known];
    }
    seen.set(item, seen.size);
    open.add(item);
    try {
      return walkNew(item);
    } finally {
      open.delete(item);
    }
  };
  const walkNew = (item: object): unknown => {
    if (Array.isArray(item)) {
      if (Object.getPrototypeOf(item) !== Array.prototype) {
        throw new Error("a stage holds an array subclass");
      }
      const out: unknown[] = [-1];
      for (let i = 0; i < item.length; i++) {
        if (!(i in item) || item[i] === undefined) throw new Error("a stage holds a sparse array");
        out.push(walk(item[i]));
      }
      if (Object.keys(item).length !== item.length) throw new Error("an array with extra keys");
      return out;
    }
    const proto = Object.getPrototypeOf(item);
    if (proto !== Object.prototype && proto !== null) {
      throw new Error(`a stage holds a ${proto?.constructor?.name ?? "class"} instance`);
    }
    if (proto === null || Object.getOwnPropertySymbols(item).length > 0) {
      throw new Error("a stage holds an unusual object");
    }
    const keys: string[] = [];
    const values: unknown[] = [];
    for (const key of Object.keys(item)) {
      if (key === "__proto__") throw new Error("a stage holds a key '__proto__'");
      const descriptor = Object.getOwnPropertyDescriptor(item, key)!;
      if (!("value" in descriptor)) throw new Error(`a stage holds an accessor '${key}'`);
      if (descriptor.value === undefined) {
        keys.push(`?${key}`);
      } else {
        keys.push(`=${key}`);
        values.push(walk(descriptor.value));
      }
    }
    if (Object.getOwnPropertyNames(item).length !== keys.length) {
      throw new Error("a stage holds hidden properties");
    }
    const shape = JSON.stringify(keys);
    let id = shapeIds.get(shape);
    if (id === undefined) {
      shapeIds.set(shape, id = shapes.length);
      shapes.push(keys);
    }
    return [id, ...values];
  };
  return { shapes, value: walk(value) };
}

/** The value {@link encode} encoded. Throws on a damaged encoding. */
function decode(encoded: Encoded, prefixes: Prefixes): unknown {
  const [path, url] = prefixes;
  const objects: object[] = [];
  // One builder a shape, made once: an object literal with the shape's keys in
  // order, so that decoded objects are as fast to read as the ones a load makes.
  const builders = encoded.shapes.map((keys) => {
    let kept = 0;
    const fields = keys.map((key) => {
      // `"__proto__": v` in a literal sets the prototype; computed, it is an own key.
      const name = key.slice(1) === "__proto__" ? `["__proto__"]` : JSON.stringify(key.slice(1));
      return key[0] === "?" ? `${name}: undefined` : `${name}: walk(list[${++kept}])`;
    });
    // Checked before the literal is built: a list that does not fit is damage.
    return {
      length: kept + 1,
      // The source is made of JSON-quoted keys and indexes only: data never runs.
      build: new Function("walk", "list", `return { ${fields.join(", ")} };`) as (
        walk: (item: unknown) => unknown,
        list: unknown[],
      ) => Record<string, unknown>,
    };
  });
  const walk = (item: unknown): unknown => {
    if (typeof item === "string") {
      const first = item.charCodeAt(0);
      return first === PATH_MARK
        ? path + item.slice(1)
        : first === URL_MARK
        ? url + item.slice(1)
        : item;
    }
    if (typeof item !== "object" || item === null) return item;
    const list = item as unknown[];
    const tag = list[0] as number;
    if (tag === -2) {
      const object = objects[list[1] as number];
      if (object === undefined) throw new Error("a reference to nothing");
      return object;
    }
    if (tag === -1) {
      const array: unknown[] = [];
      objects.push(array);
      for (let i = 1; i < list.length; i++) array.push(walk(list[i]));
      return array;
    }
    const builder = builders[tag];
    if (builder === undefined || builder.length !== list.length) {
      throw new Error("an unknown shape, or one that does not fit");
    }
    // Its place is taken before its members are decoded, as the encoder counted.
    const at = objects.push(PLACEHOLDER) - 1;
    const object = builder.build(walk, list);
    objects[at] = object;
    return object;
  };
  return walk(encoded.value);
}

const PLACEHOLDER = Object.freeze({});

const PATH_MARK = 0xe000;
const URL_MARK = 0xe001;
const PATH_PREFIX = String.fromCharCode(PATH_MARK);
const URL_PREFIX = String.fromCharCode(URL_MARK);

/** The project root as a path and as a URL, each with a trailing slash. */
type Prefixes = readonly [string, string];

function prefixesOf(project: Project): Prefixes {
  return [`${project.root}/`, `${toFileUrl(project.root)}/`];
}

/** For tests: encode and decode, as the cache does. */
export function roundTrip(value: unknown, root = "/project"): unknown {
  const prefixes: Prefixes = [`${root}/`, `${toFileUrl(root)}/`];
  return decode(JSON.parse(JSON.stringify(encode(value, prefixes))), prefixes);
}
