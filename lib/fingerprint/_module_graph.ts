/**
 * The module graph of a pipeline, from the Deno CLI's own resolver
 * (`deno info --json`), so import maps, workspaces, `npm:` and `jsr:`
 * specifiers resolve exactly as they do when the pipeline runs, with the
 * package versions of the lock file.
 *
 * Only local modules are kept, each with what its specifiers resolve to.
 * Packages are leaves: an `npm:` or `jsr:` package is identified by its
 * resolved version, not analysed.
 *
 * @module
 */

import { PivotError } from "../errors.ts";
import { jsrModuleOf } from "../jsr.ts";
import { hashBytes } from "../storage/hash.ts";
import { fromFileUrl } from "../paths.ts";
import { PIVOT_PACKAGE } from "../own_code.ts";

/** What a specifier of a local module resolves to. */
export type Target =
  | {
    /** A local module, analysed. */
    readonly kind: "local";
    /** Its `file:` URL. */
    readonly url: string;
  }
  | {
    /** A package or remote module: tracked by identity, not analysed. */
    readonly kind: "package";
    /** Manifest key: `npm:<name>`, `jsr:<name>` or `mod:<url>`. */
    readonly key: string;
    /** Hash of its resolved identity (for npm, with its resolved dependencies). */
    readonly hash: string;
  };

/** A local module of the graph. */
export interface GraphModule {
  /** Absolute file path. */
  readonly path: string;
  /** Deno could not load it (missing, unreadable, not parseable). */
  readonly error?: string;
  /** What each of its specifiers resolves to; built-ins and Pivot's API are left out. */
  readonly deps: Record<string, Target>;
  /**
   * The specifiers left out of {@link deps} because they resolve to Pivot's
   * own API (not built-ins): what the load cache (lib/cli/load_cache.ts)
   * accepts besides local modules. Absent in graphs cached before it existed.
   */
  readonly own?: string[];
}

/** Local modules by URL. */
export type ModuleGraph = Record<string, GraphModule>;

/** How to run `deno info`. */
export interface GraphOptions {
  /** The `deno` executable. */
  readonly deno: string;
  /** Working directory. */
  readonly cwd: string;
  /** The user's `deno.json`, or undefined to let Deno discover its configuration from `cwd`. */
  readonly denoConfig: string | undefined;
  /** URL prefixes (ending in `/`) of Pivot's own modules, which are not tracked. */
  readonly ignoredPrefixes: readonly string[];
}

interface InfoDependency {
  specifier: string;
  code?: { specifier: string };
}

interface InfoModule {
  specifier: string;
  kind?: string;
  local?: string;
  error?: string;
  npmPackage?: string;
  dependencies?: InfoDependency[];
}

interface InfoOutput {
  modules: InfoModule[];
  redirects?: Record<string, string>;
  npmPackages?: Record<string, { name: string; version: string; dependencies?: string[] }>;
}

/** The graph of `entry` (absolute path), as `deno info --json` resolves it. */
export async function moduleGraph(entry: string, options: GraphOptions): Promise<ModuleGraph> {
  const args = ["info", "--json"];
  // Without a deno.json, let Deno discover what it would for `deno run` (a
  // package.json, say): `--no-config` would turn that off too.
  if (options.denoConfig) args.push("--config", options.denoConfig);
  args.push(entry);
  const output = await new Deno.Command(options.deno, {
    args,
    cwd: options.cwd,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1" },
  }).output();
  if (!output.success) {
    const message = new TextDecoder().decode(output.stderr).trim().split("\n")[0];
    throw new PivotError(`cannot resolve the module graph of ${entry}: ${message}`);
  }
  const info = JSON.parse(new TextDecoder().decode(output.stdout)) as InfoOutput;
  return await graphFromInfo(info, options.ignoredPrefixes);
}

/** Build the graph from `deno info --json` output. */
async function graphFromInfo(
  info: InfoOutput,
  ignoredPrefixes: readonly string[],
): Promise<ModuleGraph> {
  const byUrl = new Map(info.modules.map((m) => [m.specifier, m]));
  const redirects = info.redirects ?? {};
  const npmHashes = new Map<string, Promise<string>>();
  const isIgnored = (url: string) => ignoredPrefixes.some((prefix) => url.startsWith(prefix));

  const npmHash = (id: string): Promise<string> => {
    let hash = npmHashes.get(id);
    if (!hash) {
      // A package's behaviour depends on the versions of its own dependencies.
      const closure = new Set<string>();
      const queue = [id];
      while (queue.length > 0) {
        const next = queue.pop()!;
        if (closure.has(next)) continue;
        closure.add(next);
        queue.push(...(info.npmPackages?.[next]?.dependencies ?? []));
      }
      hash = hashBytes([...closure].sort().join("\n"));
      npmHashes.set(id, hash);
    }
    return hash;
  };

  const target = async (written: string, resolved: string): Promise<Target | undefined> => {
    let url = resolved;
    for (let hops = 0; redirects[url] !== undefined && hops < 10; hops++) url = redirects[url];
    const module = byUrl.get(url);
    if (url.startsWith("node:") || module?.kind === "node") return undefined;
    const npmId = module?.npmPackage ?? npmIdOf(url);
    if (npmId !== undefined) {
      return { kind: "package", key: `npm:${packageName(npmId)}`, hash: await npmHash(npmId) };
    }
    if (isIgnored(url)) return undefined;
    const installed = url.startsWith("file:") ? await nodeModulesPackage(url) : undefined;
    if (installed) {
      return { kind: "package", key: `npm:${installed.name}`, hash: await hashBytes(installed.id) };
    }
    if (url.startsWith("file:")) return { kind: "local", url };
    const jsr = jsrIdOf(url) ?? jsrIdOf(written);
    if (jsr !== undefined) {
      if (jsr.name === PIVOT_PACKAGE) return undefined; // Pivot's own API, from another registry
      return {
        kind: "package",
        key: `jsr:${jsr.name}`,
        hash: await hashBytes(`${jsr.name}@${jsr.version}`),
      };
    }
    if (/^https?:/.test(url)) {
      return { kind: "package", key: `mod:${url}`, hash: await hashBytes(url) };
    }
    return undefined;
  };

  /** Whether a left-out target is Pivot's API (not a built-in, nor anything else). */
  const isOwnApi = (resolved: string): boolean => {
    let url = resolved;
    for (let hops = 0; redirects[url] !== undefined && hops < 10; hops++) url = redirects[url];
    if (url.startsWith("node:") || byUrl.get(url)?.kind === "node") return false;
    return isIgnored(url) || jsrIdOf(url)?.name === PIVOT_PACKAGE;
  };

  const graph: ModuleGraph = {};
  for (const module of info.modules) {
    const url = module.specifier;
    if (!url.startsWith("file:") || isIgnored(url) || url.includes("/node_modules/")) continue;
    if (module.kind === "npm" || module.kind === "node") continue;
    const deps: Record<string, Target> = {};
    const own: string[] = [];
    for (const dep of module.dependencies ?? []) {
      if (!dep.code) continue; // type-only
      const resolved = await target(dep.specifier, dep.code.specifier);
      if (resolved) deps[dep.specifier] = resolved;
      else if (isOwnApi(dep.code.specifier)) own.push(dep.specifier);
    }
    const path = module.local ?? fromFileUrl(url);
    graph[url] = module.error ? { path, error: module.error, deps, own } : { path, deps, own };
  }
  return graph;
}

/**
 * A package installed in a `node_modules` directory (a `package.json`
 * project): its name, and an id with its version, from Deno's
 * `node_modules/.deno/<name>@<version>/` layout or the package's `package.json`.
 */
async function nodeModulesPackage(url: string): Promise<{ name: string; id: string } | undefined> {
  const path = fromFileUrl(url);
  const at = path.lastIndexOf("/node_modules/");
  if (at < 0) return undefined;
  const parts = path.slice(at + "/node_modules/".length).split("/");
  const name = parts[0].startsWith("@") ? `${parts[0]}/${parts[1]}` : parts[0];
  const deno = /\/node_modules\/\.deno\/([^/]+)\//.exec(path);
  if (deno) return { name, id: deno[1].replace("+", "/") };
  try {
    const manifest = `${path.slice(0, at)}/node_modules/${name}/package.json`;
    const { version } = JSON.parse(await Deno.readTextFile(manifest));
    return { name, id: `${name}@${version}` };
  } catch {
    return { name, id: path };
  }
}

/** `is-number@7.0.0` from `npm:/is-number@7.0.0/sub` or `npm:is-number@7.0.0`. */
function npmIdOf(url: string): string | undefined {
  const match = /^npm:\/?((?:@[^/@]+\/)?[^/@]+@[^/]+)/.exec(url);
  return match?.[1];
}

/** The package name of an npm id (`@scope/name@1.0.0_peer@2.0.0` → `@scope/name`). */
function packageName(id: string): string {
  const at = id.indexOf("@", 1);
  return at < 0 ? id : id.slice(0, at);
}

/**
 * Name and version of a module URL of the JSR registry Deno uses (jsr.io, or
 * `JSR_URL`), or of a `jsr:` specifier (whose version is only a constraint).
 */
function jsrIdOf(url: string): { name: string; version: string } | undefined {
  const fromUrl = jsrModuleOf(url);
  if (fromUrl) return fromUrl;
  const fromSpecifier = /^jsr:\/?(@[^/@]+\/[^/@]+)(?:@([^/]+))?/.exec(url);
  if (fromSpecifier) return { name: fromSpecifier[1], version: fromSpecifier[2] ?? "*" };
  return undefined;
}
