/**
 * Code fingerprints of stages: for each stage, a manifest of every piece of
 * code its run function reaches (and its loaders), each hashed after
 * normalisation, so that a change to what runs re-runs the stage and a change
 * to how it is written does not. See docs/fingerprinting.md for the design,
 * the key names and the limits.
 *
 * Three caches keep repeated runs cheap, all in the state store:
 * - module summaries, keyed by file content hash and, for a module not in
 *   `.ts` syntax, its extension (a module is parsed once per version),
 *   behind which sits the user-global analysis cache
 *   (`_user_cache.ts`, when {@link FingerprintOptions.userCache} names
 *   one): a module this user's Pivot analysed in any project is not parsed
 *   again;
 * - module graphs per entry module, valid while the config, the lock file
 *   and every module's import specifiers are unchanged (`deno info` runs
 *   only when imports change);
 * - the last result, valid while no local module, config or lock file
 *   changed and the stages are the same: checked by file stamps and one
 *   digest of the stages' cache keys, without importing TypeScript, and
 *   read as one compact record whatever the number of stages.
 *
 * Writes are deferred: they are committed by the store's `flush()` or
 * `close()`, which the caller does.
 *
 * @module
 */

import type { CommandRef, StageDef } from "../model/stage_def.ts";
import { NS, type StateStore } from "../storage/state.ts";
import { keyPart, readBlob, writeBlob } from "./_blob.ts";
import { configInputs } from "./_config_inputs.ts";
import { ProjectFiles } from "./_files.ts";
import type { ModuleGraph } from "./_module_graph.ts";
import { fromFileUrl, toFileUrl } from "../paths.ts";
import { ownCodePrefixes } from "../own_code.ts";
import { resolvePath } from "./_paths.ts";
import { jsrUrl } from "../jsr.ts";
import { ANALYSIS_VERSION, type ModuleSummary } from "./_summary.ts";
import { mark } from "../trace.ts";
import type { ScanResult } from "./_registration_scan.ts";
import type { UserAnalysisCache } from "./_user_cache.ts";

/** The Deno config inputs a module graph depends on (for the load cache's key). */
export { configInputs };

// The cold path's modules (TypeScript analysis, `deno info`, resolution) are
// imported on first use: a warm run loads none of them.
const analysis = () => import("./_analyze.ts");
const graphs = () => import("./_module_graph.ts");
const resolution = () => import("./_resolve.ts");
const userCaches = () => import("./_user_cache.ts");

/**
 * Load what analysing a changed module needs (TypeScript, ~180 ms of the
 * calling thread once a process, and the analysis modules) ahead of a
 * fingerprint that will need it: watch mode, during the debounce of a
 * change to `paths` (absolute). Only if one of them is a module whose
 * current text has no analysis in the project's state or the user cache
 * (new text: the usual edit); an undo finds its analysis and loads nothing.
 * Reads the files without recording their hashes. Never rejects.
 */
export async function prepareAnalysis(
  options: FingerprintOptions,
  paths: readonly string[],
): Promise<void> {
  try {
    let missing = false;
    for (const path of paths) {
      if (await analysisMissing(options, path)) {
        missing = true;
        break;
      }
    }
    if (!missing) return;
    const [{ loadTypeScript }] = await Promise.all([
      analysis(),
      import("./_registration_scan.ts"),
    ]);
    await loadTypeScript();
  } catch {
    // The fingerprint itself will say what is wrong.
  }
}

/** True when `path` is a module whose current text has no kept analysis. */
async function analysisMissing(options: FingerprintOptions, path: string): Promise<boolean> {
  if (!/\.(?:[cm]?[jt]s|[jt]sx)$/i.test(path)) return false;
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch {
    return false; // gone: nothing to analyse
  }
  const { hashBytes } = await import("../storage/hash.ts");
  const hash = await hashBytes(bytes);
  if (await readBlob<ModuleSummary>(options.state, analysisKey("summary", hash, path))) {
    return false;
  }
  const folder = options.userCache?.();
  if (folder === undefined) return true;
  const { openUserCache } = await userCaches();
  const user = await openUserCache(folder, { analysis: V, rules: SCAN_RULES });
  return user?.summary(hash, path) === undefined;
}

/** What fingerprinting needs to know about the project. */
export interface FingerprintOptions {
  /** Absolute path of the project root (manifest locations are relative to it). */
  projectRoot: string;
  /**
   * Absolute path of the user's `deno.json`/`deno.jsonc`, or undefined for
   * none (then `deno info` runs in `projectRoot` and finds what `deno run` would).
   */
  denoConfig: string | undefined;
  /**
   * Absolute directory of Pivot's own source (the one holding `mod.ts`), or
   * its URL: modules under it are Pivot's API and never tracked.
   */
  pivotRoot: string;
  /** The project's state store, for the caches. */
  state: StateStore;
  /** The `deno` executable that runs `deno info` (default: `Deno.execPath()`). */
  deno?: string;
  /** Filled in with what the call did, for tests and `--verbose`. */
  stats?: FingerprintStats;
  /**
   * Told when `deno info` is about to run (a cold module graph), and then
   * given the graph it found, before any module is summarised: what a
   * command may start ahead of the fingerprint (the first stage worker,
   * whose read permissions are these module files). Awaited.
   */
  coldGraph?: {
    readonly starting: () => void;
    readonly found: (entry: string, graph: ModuleGraph) => Promise<void>;
  };
  /**
   * The folder of the user-global analysis cache (absolute, checked to be
   * this user's), asked for once, when a module's summary or scan is first
   * missing from the project's state; undefined, or a function that returns
   * undefined: no such cache. A warm run never calls it.
   */
  userCache?: () => string | undefined;
}

/** Counters of one fingerprinting call. */
export interface FingerprintStats {
  /** Modules parsed with TypeScript (module-summary cache misses). */
  analysed: number;
  /** `deno info` runs (module-graph cache misses). */
  graphRuns: number;
  /** Stages whose fingerprint came whole from the cache of the last result. */
  cachedStages: number;
  /**
   * Module summaries and scans taken from the user-global analysis cache
   * (set once one is).
   */
  userCacheHits?: number;
}

/** Where a manifest entry's code is, for `status --explain`. */
export interface ManifestLocation {
  /** Project-relative path. */
  file: string;
  /** 1-based line. */
  line: number;
}

/** A stage's code fingerprint. */
export interface StageFingerprint {
  /** Key → 16-hex-digit xxhash64, keys sorted (see docs/fingerprinting.md for keys). */
  manifest: Record<string, string>;
  /** Key → where that code is. */
  locations: Record<string, ManifestLocation>;
  /**
   * The project-relative files its locations name, each once: what
   * `refuseOutsOverCode` needs without building every stage's locations.
   * Stages of one shape share the same frozen array.
   */
  readonly files: readonly string[];
}

const V = ANALYSIS_VERSION;

/**
 * The registration scan's rules (lib/fingerprint/_registration_scan.ts),
 * stored with each cached scan: bumped when they change, so that a module
 * refused (or accepted) by older rules is scanned again.
 */
const SCAN_RULES = 2;

/**
 * The last result: the files it was computed from, by content hash, and the
 * fingerprints of the stages it was computed for. A warm run stats those
 * files and reads this record alone, whatever the number of stages.
 */
interface TopRecord {
  /** Project-relative path → content hash (null: did not exist). */
  readonly files: Record<string, string | null>;
  /** The stages' fingerprints (absent in a record of an older layout: a miss). */
  readonly stages?: Snapshot;
}

/**
 * The fingerprints of one list of stages, compact. `digest` names the list:
 * every stage's cache key (where its code is, its loaders), in order, or
 * their hash when long. Manifest entries and files are stored once each; a stage is a
 * shape (which entries, located where) and an anchor line (its run
 * function's), so the stages of one template (a loop, a generated pipeline
 * file) share their shape and cost two small numbers each.
 */
interface Snapshot {
  readonly digest: string;
  /** Distinct manifest entries: key and hash. */
  readonly entries: [string, string][];
  /** Distinct location files (project-relative). */
  readonly files: string[];
  /**
   * Distinct shapes: per manifest entry (in key order), three numbers: the
   * entry, the file and the line; a negative file `-1 - f` says file `f`
   * with the line relative to the stage's anchor.
   */
  readonly shapes: number[][];
  /** Per stage: its shape. */
  readonly stages: number[];
  /** Per stage: its anchor line minus the previous stage's (the first: minus 0). */
  readonly anchors: number[];
}

/** A cached module graph and what it was computed from. */
interface GraphRecord {
  readonly graph: ModuleGraph;
  /** Config, lock and import map: absolute path → content hash. */
  readonly inputs: Record<string, string | null>;
  /** Per local module: content hash and the specifiers it imported then. */
  readonly modules: Record<string, { readonly hash: string | null; readonly specs: string[] }>;
}

/**
 * Fingerprint stages: for each, the manifest of the code it reaches. Stages
 * are keyed by name in the result.
 *
 * Needs read access to the project, and `--allow-run` for `deno info` on a
 * cold cache. When no local module, config or lock file changed since the
 * last call, it only stats files and reads the state store.
 *
 * @example
 * ```ts
 * const fingerprints = await fingerprintStages(stages, {
 *   projectRoot, denoConfig: `${projectRoot}/deno.json`, pivotRoot, state,
 * });
 * console.log(fingerprints.get("train")?.manifest); // { "func:helper": "…", "self:run": "…" }
 * ```
 */
export async function fingerprintStages(
  stages: readonly StageDef[],
  options: FingerprintOptions,
): Promise<Map<string, StageFingerprint>> {
  return await new FingerprintRun(options).fingerprint(stages);
}

/**
 * Absolute paths of every local module in the module graph of `entry` (an
 * absolute path or `file:` URL), Pivot's own modules excepted: what watch
 * mode watches for code changes. Uses the same graph cache as
 * {@link fingerprintStages}.
 *
 * @example
 * ```ts
 * const files = await localModuleFiles(`${projectRoot}/pipeline.ts`, options);
 * ```
 */
export async function localModuleFiles(
  entry: string,
  options: FingerprintOptions,
): Promise<string[]> {
  return (await codeAccessOf(entry, options)).files;
}

/**
 * What a worker running stages of the pipeline in `entry` must be allowed to
 * load: the local module files (dynamic `import()` needs read access) and
 * the hosts of its remote modules (the JSR registry's for `jsr:` packages). Served from
 * the cached module graph.
 */
export async function codeAccessOf(
  entry: string,
  options: FingerprintOptions,
): Promise<{ files: string[]; hosts: string[] }> {
  const run = new FingerprintRun(options);
  const url = entry.startsWith("file:") ? entry : toFileUrl(entry);
  const graph = await run.graph(url);
  const files: string[] = [];
  for (const module of Object.values(graph)) {
    if (await run.files.hash(module.path) !== null) files.push(module.path);
  }
  return { files: files.sort(), hosts: importHostsOf(graph) };
}

/**
 * The hosts a worker must be allowed to import the remote modules of
 * `graph` from (the JSR registry's for `jsr:` packages), sorted.
 */
export function importHostsOf(graph: ModuleGraph): string[] {
  const hosts = new Set<string>();
  for (const module of Object.values(graph)) {
    for (const target of Object.values(module.deps)) {
      if (target.kind !== "package") continue;
      if (target.key.startsWith("jsr:")) hosts.add(new URL(jsrUrl()).host);
      else if (target.key.startsWith("mod:")) {
        try {
          hosts.add(new URL(target.key.slice(4)).host);
        } catch {
          // not a URL
        }
      }
    }
  }
  return [...hosts].sort();
}

/** What {@link registrationModules} found. */
export type RegistrationModules =
  | {
    /** Absolute paths of every local module of the graph, the entry first. */
    readonly files: string[];
  }
  | {
    /** Why registering the pipeline may read something else than these modules. */
    readonly ineligible: string;
  };

/**
 * The modules a pipeline's registration can read, when it reads nothing
 * else: every module of the graph of `entry` (a pipeline file) is local and
 * passes the registration scan (`_registration_scan.ts`), and imports
 * nothing but local modules and Pivot's API. Otherwise why not. Scans are
 * cached by module content, as summaries are: a module is parsed once per
 * version. For the load cache (lib/cli/load_cache.ts).
 */
export async function registrationModules(
  entry: string,
  options: FingerprintOptions,
): Promise<RegistrationModules> {
  const run = new FingerprintRun(options);
  const url = entry.startsWith("file:") ? entry : toFileUrl(entry);
  const graph = await run.graph(url);
  if (!Object.hasOwn(graph, url)) return { ineligible: `${entry} is not in its own module graph` };
  const files = [graph[url].path];
  for (const [moduleUrl, module] of Object.entries(graph)) {
    if (moduleUrl !== url) files.push(module.path);
    if (module.error !== undefined) return { ineligible: `${module.path}: ${module.error}` };
    if (module.own === undefined) return { ineligible: `${module.path}: graph of an older layout` };
    const hash = await run.files.hash(module.path);
    if (hash === null) return { ineligible: `${module.path}: not readable` };
    const scan = await run.registrationScan(module.path, hash);
    if (!scan.ok) return { ineligible: scan.reason };
    for (const [spec, target] of Object.entries(module.deps)) {
      if (target.kind !== "local") return { ineligible: `${module.path}: imports ${spec}` };
    }
    for (const spec of scan.specifiers) {
      if (!Object.hasOwn(module.deps, spec) && !module.own.includes(spec)) {
        return { ineligible: `${module.path}: imports ${spec}` };
      }
    }
  }
  return { files };
}

/**
 * What a module's summary and scan are stored under: its content hash, and
 * for a module not in TypeScript's own syntax (`.ts`, `.mts`, `.cts`) its
 * extension after a colon, since the extension picks the parser (the same
 * text is another program as `.tsx`, `.js` or JSON).
 */
function analysisId(hash: string, path: string): string {
  const ext = /\.([^./]+)$/.exec(path)?.[1].toLowerCase() ?? "";
  return ext === "ts" || ext === "mts" || ext === "cts" ? hash : `${hash}:${ext}`;
}

/** The state key of a module version's summary or registration scan. */
function analysisKey(kind: "summary" | "registration", hash: string, path: string): Deno.KvKey {
  return [NS.fingerprint, kind, V, analysisId(hash, path)];
}

/** One fingerprinting call: memoises file hashes and summaries. */
class FingerprintRun {
  readonly options: FingerprintOptions;
  readonly files: ProjectFiles;
  readonly #state: StateStore;
  readonly #stats: FingerprintStats;
  readonly #ignored: string[];
  readonly #summaries = new Map<string, Promise<ModuleSummary>>();
  #inputs: Promise<string[]> | undefined;
  #userCache: Promise<UserAnalysisCache | undefined> | undefined;

  constructor(options: FingerprintOptions) {
    this.options = options;
    this.#state = options.state;
    this.files = new ProjectFiles(options.state, options.projectRoot);
    this.#stats = options.stats ?? { analysed: 0, graphRuns: 0, cachedStages: 0 };
    this.#ignored = ownCodePrefixes(options.pivotRoot);
  }

  async fingerprint(all: readonly StageDef[]): Promise<Map<string, StageFingerprint>> {
    const result = new Map<string, StageFingerprint>();
    // A command stage's code is its command line: hashed when the pipeline
    // file was parsed, nothing to analyse.
    for (const stage of all) {
      if (stage.code.kind === "command") result.set(stage.name, commandFingerprint(stage.code));
    }
    const stages = all.filter((stage) => stage.code.kind !== "command");
    if (stages.length === 0) return result;
    const entries = entryModules(stages);
    const topKey = [NS.fingerprint, "top", V, await keyPart([this.#identity(), entries])];
    const digest = await digestOf(stages);

    // Warm: no file changed since the last result, which was for these stages.
    const top = await readBlob<TopRecord>(this.#state, topKey);
    if (top?.stages?.digest === digest && await this.#unchanged(top.files)) {
      const cached = decodeSnapshot(top.stages);
      stages.forEach((stage, i) => result.set(stage.name, cached[i]));
      this.#stats.cachedStages += stages.length;
      return result;
    }

    // Cold: resolve the graph, summarise modules, resolve each stage.
    const graph: ModuleGraph = {};
    for (const entry of entries) {
      if (!Object.hasOwn(graph, entry)) Object.assign(graph, await this.graph(entry));
    }
    mark("fingerprint: graph resolved");
    const summaries = new Map<string, ModuleSummary>();
    const contentHashes = new Map<string, string>();
    const files: Record<string, string | null> = {};
    for (const [url, module] of Object.entries(graph)) {
      const hash = await this.files.hash(module.path);
      files[this.files.relative(module.path)] = hash;
      if (hash === null) continue;
      contentHashes.set(url, hash);
      summaries.set(url, await this.#summary(module.path, hash));
    }
    for (const input of await this.#configInputs()) {
      files[this.files.relative(input)] = await this.files.hash(input);
    }
    if (this.#stats.userCacheHits) {
      mark(`fingerprint: ${this.#stats.userCacheHits} analyses from the user cache`);
    }
    mark("fingerprint: modules summarised");
    const input = {
      graph,
      summaries,
      contentHashes,
      relativePath: (url: string) =>
        url.startsWith("file:") ? this.files.relative(graph[url]?.path ?? fromFileUrl(url)) : url,
    };
    const { resolveStage } = await resolution();
    const fresh: StageFingerprint[] = [];
    for (const stage of stages) {
      const fingerprint = toFingerprint(await resolveStage(stage, input));
      fresh.push(fingerprint);
      result.set(stage.name, fingerprint);
    }

    const sortedFiles = Object.fromEntries(Object.keys(files).sort().map((f) => [f, files[f]]));
    writeBlob(
      this.#state,
      topKey,
      {
        files: sortedFiles,
        stages: encodeSnapshot(digest, fresh),
      } satisfies TopRecord,
    );
    return result;
  }

  /** The local module graph of `entry` (a `file:` URL), cached while its imports are unchanged. */
  async graph(entry: string): Promise<ModuleGraph> {
    const key = [NS.fingerprint, "graph", V, await keyPart([this.#identity(), entry])];
    const record = await readBlob<GraphRecord>(this.#state, key);
    // A graph recorded before modules listed their imports of Pivot's API
    // (`own`) is made again once, so the load cache can judge it.
    if (
      record && Object.values(record.graph).every((module) => module.own !== undefined) &&
      await this.#graphStillValid(record)
    ) return record.graph;

    const { moduleGraph } = await graphs();
    mark("fingerprint: deno info");
    this.options.coldGraph?.starting();
    // The cold path's next modules, loaded while the main thread waits for `deno info`.
    void resolution().catch(() => {});
    if (this.options.userCache !== undefined) void userCaches().catch(() => {});
    const graph = await moduleGraph(fromFileUrl(entry), {
      deno: this.options.deno ?? Deno.execPath(),
      cwd: this.options.projectRoot,
      denoConfig: this.options.denoConfig,
      ignoredPrefixes: this.#ignored,
    });
    this.#stats.graphRuns++;
    mark("fingerprint: deno info done");
    await this.options.coldGraph?.found(entry, graph);
    const inputs: Record<string, string | null> = {};
    for (const path of await this.#configInputs()) {
      this.files.forget(path); // `deno info` may have just written the lock file
      inputs[path] = await this.files.hash(path);
    }
    const modules: GraphRecord["modules"] = {};
    for (const [url, module] of Object.entries(graph)) {
      const hash = await this.files.hash(module.path);
      const specs = hash === null ? [] : (await this.#summary(module.path, hash)).specifiers;
      modules[url] = { hash, specs };
    }
    writeBlob(this.#state, key, { graph, inputs, modules } satisfies GraphRecord);
    return graph;
  }

  /**
   * A graph stays valid while its config inputs are unchanged and every
   * module still exists (or is still missing) with the same import
   * specifiers: a body edit does not need `deno info` again.
   */
  async #graphStillValid(record: GraphRecord): Promise<boolean> {
    for (const [path, hash] of Object.entries(record.inputs)) {
      if (await this.files.hash(path) !== hash) return false;
    }
    for (const [url, { hash, specs }] of Object.entries(record.modules)) {
      const module = record.graph[url];
      const current = await this.files.hash(module.path);
      if (current === hash) continue;
      if (current === null || hash === null || module.error !== undefined) return false;
      const now = (await this.#summary(module.path, current)).specifiers;
      if (now.length !== specs.length || now.some((s, i) => s !== specs[i])) return false;
    }
    return true;
  }

  async #unchanged(files: Record<string, string | null>): Promise<boolean> {
    // One at a time: the first lookup loads the store's file-hash table, and
    // concurrent first lookups would each load it again.
    for (const [rel, hash] of Object.entries(files)) {
      if (await this.files.hash(resolvePath(this.options.projectRoot, rel)) !== hash) return false;
    }
    return true;
  }

  /** The summary of a module version: from the cache, or parsed now. */
  #summary(path: string, hash: string): Promise<ModuleSummary> {
    const id = analysisId(hash, path);
    let summary = this.#summaries.get(id);
    if (!summary) {
      summary = this.#summarize(path, hash);
      this.#summaries.set(id, summary);
    }
    return summary;
  }

  async #summarize(path: string, hash: string): Promise<ModuleSummary> {
    const key = analysisKey("summary", hash, path);
    const cached = await readBlob<ModuleSummary>(this.#state, key);
    if (cached) return cached;
    const json = /\.json$/i.test(path);
    const user = await this.#user();
    const kept = user?.summary(hash, path);
    if (kept) {
      this.#userHit();
      writeBlob(this.#state, key, kept);
      // The scan made with it, for the load cache: a JSON module needs none.
      const scan = json ? undefined : user!.scan(hash, path);
      if (scan) this.#keepScan(hash, path, scan);
      return kept;
    }
    const read = await this.files.read(path);
    if (read === null) throw new Error(`${path}: vanished while being fingerprinted`);
    const [{ analyzeModule, loadTypeScript }, { RegistrationScanner }] = await Promise.all([
      analysis(),
      import("./_registration_scan.ts"),
    ]);
    const ts = await loadTypeScript();
    // The load cache's registration scan on the same trees: one parse of a
    // long pipeline instead of two (a JSON module needs no scan).
    const scanner = json ? undefined : new RegistrationScanner(ts, path);
    const summary = await analyzeModule(ts, path, read.text, undefined, scanner);
    this.#stats.analysed++;
    // Stored under the hash of the text analysed, which is `hash` unless the file just changed.
    writeBlob(this.#state, analysisKey("summary", read.hash, path), summary);
    user?.putSummary(read.hash, path, summary);
    if (scanner) {
      const scan = scanner.result();
      this.#keepScan(read.hash, path, scan);
      user?.putScan(read.hash, path, scan);
    }
    return summary;
  }

  /** The registration scan of a module version: from the cache, or parsed now. */
  async registrationScan(path: string, hash: string): Promise<ScanResult> {
    const cached = await readBlob<ScanResult & { rules?: number }>(
      this.#state,
      analysisKey("registration", hash, path),
    );
    if (cached?.rules === SCAN_RULES) {
      const { rules: _, ...scan } = cached;
      return scan;
    }
    const user = await this.#user();
    const kept = user?.scan(hash, path);
    if (kept) {
      this.#userHit();
      this.#keepScan(hash, path, kept);
      return kept;
    }
    const read = await this.files.read(path);
    if (read === null) return { ok: false, reason: `${path}: vanished while being scanned` };
    const [{ loadTypeScript }, { scanRegistration }] = await Promise.all([
      analysis(),
      import("./_registration_scan.ts"),
    ]);
    const scan = scanRegistration(await loadTypeScript(), path, read.text);
    this.#keepScan(read.hash, path, scan);
    user?.putScan(read.hash, path, scan);
    return read.hash === hash ? scan : { ok: false, reason: `${path}: changed while scanned` };
  }

  /** The user-global analysis cache, opened on the first module the project's state lacks. */
  #user(): Promise<UserAnalysisCache | undefined> {
    return this.#userCache ??= (async () => {
      const folder = this.options.userCache?.();
      if (folder === undefined) return undefined;
      const { openUserCache } = await userCaches();
      return await openUserCache(folder, { analysis: V, rules: SCAN_RULES });
    })();
  }

  /** Store a module version's registration scan in the project's state, with its rules' version. */
  #keepScan(hash: string, path: string, scan: ScanResult): void {
    writeBlob(this.#state, analysisKey("registration", hash, path), { ...scan, rules: SCAN_RULES });
  }

  #userHit(): void {
    this.#stats.userCacheHits = (this.#stats.userCacheHits ?? 0) + 1;
  }

  #configInputs(): Promise<string[]> {
    return this.#inputs ??= configInputs(this.options.denoConfig, this.options.projectRoot);
  }

  #identity(): (string | null)[] {
    const { projectRoot, denoConfig } = this.options;
    return [projectRoot, denoConfig ?? null, ...this.#ignored];
  }
}

/** The fingerprints of a list of stages as plain data (see {@link fingerprintSnapshot}). */
export type FingerprintSnapshot = Snapshot;

/**
 * The fingerprints of `stages` (each in `fingerprints`, none a command
 * stage) as plain data, for the load cache (lib/cli/load_cache.ts), which
 * keeps them under its own key; undefined when a module the stages' code is
 * in is not one of `covered` (absolute paths of the local modules of the
 * pipelines' graphs, whose stamps that key holds, as it holds the config
 * inputs'), or a stage has no fingerprint. A stage's fingerprint is a
 * function of its cache key (part of the stage) and of the contents of its
 * entry modules' graphs (parts of the pipelines' graphs) and of the config
 * inputs.
 */
export function fingerprintSnapshot(
  stages: readonly StageDef[],
  fingerprints: ReadonlyMap<string, StageFingerprint>,
  covered: ReadonlySet<string>,
): FingerprintSnapshot | undefined {
  const list: StageFingerprint[] = [];
  for (const stage of stages) {
    const fingerprint = fingerprints.get(stage.name);
    if (stage.code.kind === "command" || fingerprint === undefined) return undefined;
    list.push(fingerprint);
  }
  for (const url of entryModules(stages)) {
    if (!covered.has(fromFileUrl(url))) return undefined;
  }
  return encodeSnapshot("", list);
}

/**
 * The fingerprints {@link fingerprintSnapshot} kept for `stages` (the same
 * list), keyed by name in the graph's order (`order`: indexes into
 * `stages`, each once), as {@link fingerprintStages} returns them. Throws on
 * a damaged snapshot.
 */
export function fingerprintsFromSnapshot(
  stages: readonly StageDef[],
  order: readonly number[],
  snapshot: FingerprintSnapshot,
): Map<string, StageFingerprint> {
  if (snapshot.stages.length !== stages.length || snapshot.anchors.length !== stages.length) {
    throw new Error("fingerprints of another stage list");
  }
  const decoded = decodeSnapshot(snapshot);
  const result = new Map<string, StageFingerprint>();
  for (const i of order) {
    const fingerprint = decoded[i];
    if (fingerprint?.manifest === undefined) throw new Error("a fingerprint of no shape");
    result.set(stages[i].name, fingerprint);
  }
  if (result.size !== stages.length) throw new Error("fingerprints of another stage list");
  return result;
}

/** The `file:` modules stages live in: pipeline files first (they import the rest). */
function entryModules(stages: readonly StageDef[]): string[] {
  const first = new Set<string>();
  const then = new Set<string>();
  // Stages come in runs from one module: skip the set for a run's repeats.
  let last: string | undefined;
  for (const { code } of stages) {
    if (code.kind === "registered") {
      if (code.site.url !== last) first.add(last = code.site.url);
      // A stage without a line may fall back to its pipeline module.
      if (code.site.line === 0 && code.moduleUrl !== last) first.add(code.moduleUrl);
      if (code.definitionSite) then.add(code.definitionSite.url);
    } else if (code.kind === "export") {
      then.add(code.moduleUrl);
    }
  }
  return [...first, ...[...then].filter((url) => !first.has(url))]
    .filter((url) => url.startsWith("file:"));
}

/**
 * The name of a list of stages for the cache of the last result: every
 * stage's cache key, in order (their xxhash64 when long). A stage's fingerprint is a function of
 * the project's files and its cache key, so an unchanged list over unchanged
 * files has the fingerprints it had.
 */
async function digestOf(stages: readonly StageDef[]): Promise<string> {
  // Each key parses alone (length prefixes, JSON, numbers): joined, they stay unambiguous.
  const keys = stages.map(cacheKeyOf).join("\n");
  // A short list is its own name: no hasher to compile (a few ms of a small no-op).
  if (keys.length <= SHORT_KEYS) return `${SNAPSHOT_LAYOUT}:${keys}`;
  const { hashBytesSync } = await import("../storage/hash.ts");
  return `${SNAPSHOT_LAYOUT}:${stages.length}:${hashBytesSync(keys)}`;
}

/** Up to how many characters the cache keys of all stages are stored as they are. */
const SHORT_KEYS = 32 * 1024;

/**
 * What a stage's fingerprint depends on besides the code: where it is and its
 * loaders, as text that parses alone: names are length-prefixed (`5:train`),
 * options and definition sites JSON, and URLs hold no tab. Built by hand,
 * with as few calls as can be: this runs for every stage of every warm run.
 * (Key order in loader options is as given; a different order only misses
 * the cache.)
 */
function cacheKeyOf(stage: StageDef): string {
  const code = stage.code;
  let key: string;
  if (code.kind === "registered") {
    const site = code.site;
    key = "r" + site.url + "\t" + site.line + "\t" + site.column + "\t";
    if (code.definitionSite) key += JSON.stringify(code.definitionSite);
    // A site without a line is found by the stage's name: the name is part of where it is.
    if (site.line === 0) key += "\t" + stage.name.length + ":" + stage.name;
  } else if (code.kind === "export") {
    key = "e" + code.moduleUrl + "\t" + code.exportName.length + ":" + code.exportName;
  } else {
    key = "c" + code.hash;
  }
  return key + "\t" + loadersKey(stage.deps) + "\t" + loadersKey(stage.outs);
}

/** Names and loaders of deps or outs, for {@link cacheKeyOf}. */
function loadersKey(artifacts: StageDef["deps"]): string {
  let key = "";
  for (const { name, loader } of artifacts) {
    key += name.length + ":" + name;
    if (loader === undefined) {
      key += "-";
    } else {
      key += loader.kind.length + ":" + loader.kind;
      key += isEmpty(loader.options) ? "{}" : JSON.stringify(loader.options);
    }
  }
  return key;
}

function isEmpty(object: object): boolean {
  for (const _ in object) return false;
  return true;
}

/**
 * A command stage's fingerprint: one entry, `cmd`, the hash of its command
 * line (after interpolation) and working directory, located at the stage's
 * declaration. Its params and deps are compared as every stage's are.
 */
function commandFingerprint(code: CommandRef): StageFingerprint {
  return {
    manifest: { [COMMAND_KEY]: code.hash },
    locations: { [COMMAND_KEY]: { file: code.site.file, line: code.site.line } },
    files: [code.site.file],
  };
}

/** The manifest key of a command stage's command line. */
export const COMMAND_KEY = "cmd";

/** Bump when {@link Snapshot} changes: a snapshot of another layout is a miss. */
const SNAPSHOT_LAYOUT = 2;

/** The manifest key of the run function: where a stage's anchor line is. */
const RUN_KEY = "self:run";

/** Encode the fingerprints of a list of stages (named by `digest`), in order. */
function encodeSnapshot(digest: string, fingerprints: readonly StageFingerprint[]): Snapshot {
  const snapshot: Snapshot = {
    digest,
    entries: [],
    files: [],
    shapes: [],
    stages: [],
    anchors: [],
  };
  const entryIds = new Map<string, number>();
  const fileIds = new Map<string, number>();
  const shapeIds = new Map<string, number>();
  const intern = <T>(ids: Map<string, number>, list: T[], id: string, value: T) => {
    let i = ids.get(id);
    if (i === undefined) ids.set(id, i = list.push(value) - 1);
    return i;
  };
  let previous = 0;
  for (const { manifest, locations } of fingerprints) {
    const run = locations[RUN_KEY];
    const anchor = run?.line ?? 0;
    const shape: number[] = [];
    for (const [key, hash] of Object.entries(manifest)) {
      const { file, line } = locations[key];
      const entry = intern(entryIds, snapshot.entries, `${key}\n${hash}`, [key, hash]);
      const id = intern(fileIds, snapshot.files, file, file);
      // The stage's own code (its run function, its loaders) lies near its
      // anchor; helpers lie where they lie, the same for every stage.
      const own = file === run?.file && (key.startsWith("self:") || key.startsWith("loader:"));
      shape.push(entry, own ? -1 - id : id, own ? line - anchor : line);
    }
    snapshot.stages.push(intern(shapeIds, snapshot.shapes, shape.join(), shape));
    snapshot.anchors.push(anchor - previous);
    previous = anchor;
  }
  return snapshot;
}

/**
 * The fingerprints of a snapshot, in stage order. Stages of one shape share
 * their manifest (frozen: nobody may edit it); locations, which only
 * `--explain` and a few checks read, are built when first asked for.
 */
function decodeSnapshot(snapshot: Snapshot): StageFingerprint[] {
  const { entries, files, shapes, anchors } = snapshot;
  const manifests = shapes.map((shape) => {
    const manifest: Record<string, string> = {};
    for (let i = 0; i < shape.length; i += 3) manifest[entries[shape[i]][0]] = entries[shape[i]][1];
    return Object.freeze(manifest);
  });
  // A location's file does not depend on the stage's anchor: one list a shape.
  const shapeFiles = shapes.map((shape) => {
    const named = new Set<string>();
    for (let i = 0; i < shape.length; i += 3) {
      const file = shape[i + 1];
      named.add(files[file >= 0 ? file : -1 - file]);
    }
    return Object.freeze([...named]);
  });
  const locate = (shape: number[], anchor: number) => {
    const locations: Record<string, ManifestLocation> = {};
    for (let i = 0; i < shape.length; i += 3) {
      const file = shape[i + 1];
      locations[entries[shape[i]][0]] = file >= 0
        ? { file: files[file], line: shape[i + 2] }
        : { file: files[-1 - file], line: anchor + shape[i + 2] };
    }
    return locations;
  };
  let anchor = 0;
  return snapshot.stages.map((id, i) => {
    const at = anchor += anchors[i];
    let locations: Record<string, ManifestLocation> | undefined;
    return {
      manifest: manifests[id],
      files: shapeFiles[id],
      get locations() {
        return locations ??= locate(shapes[id], at);
      },
    };
  });
}

function toFingerprint(
  entries: Map<string, { hash: string; location: ManifestLocation }>,
): StageFingerprint {
  const manifest: Record<string, string> = {};
  const locations: Record<string, ManifestLocation> = {};
  for (const key of [...entries.keys()].sort()) {
    const entry = entries.get(key)!;
    manifest[key] = entry.hash;
    locations[key] = { file: entry.location.file, line: entry.location.line };
  }
  const files = [...new Set(Object.values(locations).map((location) => location.file))];
  return { manifest, locations, files };
}

/**
 * The fingerprint caches' entries that nothing refers to any more (for
 * `pivot gc`): module summaries of file versions that no last result lists
 * (a module graph keeps the import specifiers it checks in its own record,
 * so it needs no summary), stage results of the older layout (now part of
 * the last result), and everything written by an older version of the
 * analysis. The last results and module graphs themselves are kept (one per
 * pipeline entry point): they are what makes the next run warm.
 *
 * @example
 * ```ts
 * const keys = await staleFingerprintKeys(state);
 * ```
 */
export async function staleFingerprintKeys(state: StateStore): Promise<Deno.KvKey[]> {
  const entries = await state.list<unknown>([NS.fingerprint]);
  const summaries = new Set<string>();
  for (const { key } of entries) {
    if (key.length !== 4 || key[2] !== V) continue;
    if (key[1] === "top") {
      const top = await readBlob<TopRecord>(state, key);
      if (top === undefined) continue;
      for (const hash of Object.values(top.files)) if (hash !== null) summaries.add(hash);
    }
  }
  return entries.map(({ key }) => key).filter((key) => {
    if (key[2] !== V) return true;
    if (key[1] === "summary" || key[1] === "registration") {
      return !summaries.has((key[3] as string).split(":")[0]);
    }
    return key[1] === "stages";
  });
}
