/**
 * Starting Pivot in a Deno process that can load the user's code.
 *
 * User pipelines must be resolved with the user's configuration (import map,
 * npm dependencies, compiler options) however `pivot` was started, and the
 * unstable APIs Pivot uses (KV, worker permissions) must be on without the
 * user passing flags (SPEC §1). Deno only applies a config found beside the
 * main module, or one passed with `--config` (and then not its `unstable`
 * list), so the launcher re-executes Pivot in a child `deno run` with the
 * user's `deno.json` and the unstable flags, unless it already runs that way.
 *
 * A `deno compile` binary cannot import files that did not exist when it was
 * compiled (denoland/deno#18327), so it re-executes too: with `deno` from
 * `PIVOT_DENO` or `PATH`, on a copy of Pivot's sources it extracts from
 * itself into the user's cache directory. Commands that never load user code
 * (`--version`, `--help`, `completion`, `schema`) run in the binary itself,
 * so they work where Deno is not installed.
 *
 * A no-op `repro`, `status` or `list` that the load cache answers loads no
 * user code at all: when this process has KV (Pivot's own `deno.json` lists
 * it, as for `deno run -A …/cli.ts` from a checkout), the launcher first
 * attempts such a command here and starts the child only when the attempt
 * finds it needs the user's code (lib/launcher_attempt.ts). A JSR URL or a
 * binary has no such config: they always re-execute.
 *
 * How Pivot was started (a checkout, a JSR URL, a shim from `deno install`,
 * a binary) is passed to the child in `PIVOT_LAUNCH`, for `pivot doctor`.
 *
 * @module
 */

import { stripJsonc } from "../jsonc.ts";
import { findDenoConfig } from "../pipeline/deno_config.ts";
import { absolutePath, fromFileUrl, isDirectory, parentDir, toFileUrl } from "../paths.ts";
import { isCompiled, LAUNCH_ENV, launchInfo } from "./launch_info.ts";
import { checkoutImportMap, importMapFile } from "./checkout_import_map.ts";
import { cacheRoot } from "./user_cache.ts";
import { cwdOption } from "./cwd_option.ts";
import { lockHoldsPivotPackages } from "./user_lock.ts";
import { ownCommandLine, parseDenoInvocation, runsAsChild } from "./own_invocation.ts";
import {
  gateChangedPath,
  INCOMPLETE,
  noopStampsDiffer,
  PREHASH_ENV,
  STALE_ENV,
  TOUCHED,
  type TouchedHash,
} from "../noop_stamps.ts";
import type { PrehashRequest } from "../storage/prehash.ts";
import { mark } from "../trace.ts";

const CHILD_ENV = "PIVOT_CHILD";
const CHILD_FLAGS = ["--unstable-kv", "--unstable-worker-options"];

/**
 * Load a command's modules when it runs, not all at start-up; given only
 * when that records nothing new in the user's lock file (`user_lock.ts`).
 */
const LAZY_FLAG = "--unstable-lazy-dynamic-imports";

/**
 * V8 compiles without recording where each bytecode came from, and re-parses
 * a function the first time a stack trace needs a line in it.
 * `pipeline.stage()` reads its caller's line from a stack trace, and the
 * caller in a generated pipeline is one function of megabytes (the module's
 * top level): that re-parse cost ~250 ms of a 10,000-stage no-op. With this
 * flag V8 records positions as it compiles; but Deno's code cache of a module
 * is then rejected by the launcher (which runs without it) and rewritten by
 * each child, ~8% of a small no-op. So the child gets it only for a big
 * pipeline file (docs/performance.md, "Loading a 10,000-stage pipeline").
 *
 * With it, a young generation of at most 4 MB a semi-space (V8's default
 * grows to 16): over a long run of a big pipeline each isolate (the main
 * thread, every worker) grew its own to the maximum, ~50 MiB of the peak of
 * a 10,000-stage full run, for no measurable CPU (docs/performance.md, "Peak
 * memory of a 10,000-stage full run").
 */
const EAGER_POSITIONS = "--v8-flags=--no-enable-lazy-source-positions,--max-semi-space-size=4";

/**
 * glibc's limit on its malloc arenas, for a big pipeline's child. By default
 * each thread that allocates may get an arena of its own (up to 8 a core):
 * Deno's transpile of a changed 2.3 MB module, V8's compile of it on the main
 * thread and every worker's, and the compiler's background threads each left
 * their freed memory in a different arena, where no other thread could reuse
 * it. Two arenas: ~50 MiB less at the end of a first run's import, ~10 MiB
 * less through the wave, for no measurable CPU (docs/performance.md, "Peak
 * memory, seventh session"). Not set when the user set it.
 */
export const ARENA_ENV = "MALLOC_ARENA_MAX";
const ARENAS = "2";

/**
 * The variables the launcher set for its child's allocator only, comma
 * separated: the child removes them at start, so that the stages' commands
 * it starts see the user's environment.
 */
export const ALLOCATOR_ENV = "PIVOT_ALLOCATOR_ENV";

/** The size of a `pipeline.ts` from which {@link EAGER_POSITIONS} pays. */
export const BIG_PIPELINE_BYTES = 256 * 1024;

/**
 * `main.ts`, named by a computed specifier: Deno reads the module graph of a
 * written-out `import("./main.ts")` at start-up, which would make the
 * launcher of every re-executed command load all of Pivot for nothing.
 */
const MAIN_MODULE = "./main.ts";

/** `storage/prehash.ts`, named by a computed specifier as {@link MAIN_MODULE} is. */
const PREHASH_MODULE = "../storage/prehash.ts";

/** `gate_rehash.ts`, named by a computed specifier as {@link MAIN_MODULE} is. */
const GATE_REHASH_MODULE = "./gate_rehash.ts";

/**
 * The most touched files (stamp changed, size not) the launcher hashes to
 * answer a no-op itself (lib/cli/gate_rehash.ts); past it the child decides.
 */
export const MAX_TOUCHED = 64;

/** `main_in_launcher.ts`, named by a computed specifier as {@link MAIN_MODULE} is. */
const MAIN_IN_LAUNCHER_MODULE = "./main_in_launcher.ts";

/** Commands that never import the user's code, which need no relaunch. */
const SELF_CONTAINED = new Set(["completion", "schema", "__complete", "help"]);

/** Options of {@link launch}. */
export interface LaunchOptions {
  /** Run as a `deno compile` binary does (default: detected from the module URL). */
  readonly compiled?: boolean;
}

/**
 * Run Pivot with `args`: in this process when it can load user code here,
 * otherwise in a child `deno` process. Resolves with the exit code.
 *
 * @example
 * ```ts ignore
 * Deno.exit(await launch(Deno.args, import.meta.url));
 * ```
 */
export async function launch(
  args: readonly string[],
  mainUrl: string,
  options: LaunchOptions = {},
): Promise<number> {
  const compiled = options.compiled ?? isCompiled();
  const inChild = Deno.env.get(CHILD_ENV) === "1";
  if (inChild) dropAllocatorEnv();
  else Deno.env.set(LAUNCH_ENV, JSON.stringify(launchInfo(mainUrl, compiled)));
  // No `node:path` here: loading it costs every command about 15 ms of CPU.
  const cwd = absolutePath(Deno.cwd(), cwdOption(args) ?? ".");
  const userConfig = findDenoConfig(cwd);
  // `in`, not `typeof Deno.openKv`: reading the getter loads Deno's KV
  // JavaScript (about 4 ms of CPU), which a launcher that re-executes never uses.
  const unstableOn = "openKv" in Deno;
  // Commands that never load user code run here, however Pivot was started:
  // in a binary they need no Deno, and Tab completion stays one process.
  const here = inChild || isSelfContained(args) ||
    (!compiled && userConfig === undefined && unstableOn);
  if (inChild) await startPrehash();
  if (here) return await runHere(args);
  try {
    if (userConfig !== undefined) checkDenoConfig(userConfig, cwd);
    // A no-op answered from the load cache never loads the user's code: it
    // runs here, one Deno start cheaper, or leaves everything to the child
    // (lib/launcher_attempt.ts). First, as it needs none of what follows.
    if (!compiled && unstableOn && await mayAnswerHere(args, cwd)) {
      const { mainInLauncher }: typeof import("./main_in_launcher.ts") = await import(
        MAIN_IN_LAUNCHER_MODULE
      );
      const code = await mainInLauncher(args);
      if (code !== undefined) return code;
    }
    // A compiled binary's child runs extracted sources: its map is made there.
    const importMap = !compiled && userConfig !== undefined
      ? checkoutImportMap(userConfig, fileUrlOf(mainUrl))
      : undefined;
    // Started as the child would be (same config, flags and import map):
    // the child would load user code exactly as this process does.
    if (
      !compiled && userConfig !== undefined && unstableOn &&
      startedAsChild(userConfig, importMap)
    ) {
      return await runHere(args);
    }
    return await relaunch(args, mainUrl, userConfig, compiled, importMap);
  } catch (error) {
    // The launcher has no CLI around it to format errors: one line, exit 2.
    console.error(`error: ${(error as Error).message}`);
    return 2;
  }
}

/**
 * In the child: take the hashes the launcher read, and start hashing the
 * file its gate found changed (see {@link PREHASH_ENV}), before the command
 * loads anything. The variable is removed first, so that no process this
 * one starts sees it.
 */
async function startPrehash(): Promise<void> {
  const request = Deno.env.get(PREHASH_ENV);
  if (request === undefined) return;
  Deno.env.delete(PREHASH_ENV);
  const { startPrehash }: typeof import("../storage/prehash.ts") = await import(PREHASH_MODULE);
  startPrehash(request);
}

async function runHere(args: readonly string[]): Promise<number> {
  const { main }: typeof import("./main.ts") = await import(MAIN_MODULE);
  return await main(args);
}

/**
 * True when this process's command line (read from `/proc`) gives it what
 * the launcher's child for `userConfig` would get, the child being given
 * `importMap` too when one is needed (`lib/cli/own_invocation.ts`).
 */
function startedAsChild(userConfig: string, importMap: string | undefined): boolean {
  const argv = ownCommandLine();
  if (argv === undefined) return false;
  const invocation = parseDenoInvocation(argv, Deno.args, Deno.cwd(), Deno.mainModule);
  if (invocation === undefined) return false;
  return runsAsChild(invocation, Deno.mainModule, userConfig, importMap);
}

/** `path` (absolute) or URL as a URL. */
function fileUrlOf(pathOrUrl: string): string {
  return pathOrUrl.startsWith("/") ? toFileUrl(pathOrUrl) : pathOrUrl;
}

/**
 * Throws a one-line error when the user's `deno.json` is not JSON(C): the
 * child `deno` would fail on it with a multi-line report and a backtrace.
 */
function checkDenoConfig(config: string, cwd: string): void {
  let text: string;
  try {
    text = Deno.readTextFileSync(config);
  } catch {
    return; // Unreadable: Deno says why.
  }
  try {
    JSON.parse(stripJsonc(text));
  } catch (error) {
    const shown = config.startsWith(`${cwd}/`) ? config.slice(cwd.length + 1) : config;
    throw new Error(
      `${shown}: not valid JSON (${
        (error as Error).message
      }): fix it; Deno reads it to load the pipeline`,
    );
  }
}

/** Commands that may finish without the user's code: the load cache's (lib/cli/load_cache.ts). */
const ANSWERED_FROM_LOAD_CACHE = new Set(["repro", "status", "list", "checkout"]);

/** Options with which `repro` and `status` always load the pipeline (`--check`: `repro`'s). */
const LOADING_OPTIONS = new Set(["-f", "--force", "-w", "--watch"]);

/** Commands that compare no stamps with the verified index's: no no-op gate. */
const UNGATED = new Set(["list", "checkout"]);

/**
 * True when the command `args` run in `cwd` is worth attempting in this
 * process (lib/launcher_attempt.ts): one that a load cache can answer, in a
 * project that has one (`.pivot/state/load-cache.json` in the top-most
 * directory at or above `cwd` holding a `.pivot/`, as `findProject` finds
 * it) and, but for `list` and `checkout`, where every path a no-op compares still has the
 * stamp the verified index recorded (the no-op gate, lib/noop_stamps.ts: a
 * touched or edited dep hands over before the attempt loads anything). Only
 * a guess, to spare other commands the attempt: whatever the attempt finds
 * it cannot do without the user's code, the child does.
 */
export async function mayAnswerHere(args: readonly string[], cwd: string): Promise<boolean> {
  // PIVOT_IN_LAUNCHER=off: always the child (to compare); no load cache, no attempt.
  if (Deno.env.get("PIVOT_IN_LAUNCHER") === "off") return false;
  if (Deno.env.get("PIVOT_LOAD_CACHE") === "off") return false;
  const command = args.find((arg, i) => !arg.startsWith("-") && args[i - 1] !== "--cwd");
  if (command === undefined || !ANSWERED_FROM_LOAD_CACHE.has(command)) return false;
  if (command !== "checkout" && args.some((arg) => LOADING_OPTIONS.has(arg))) return false;
  if (command === "repro" && args.includes("--check")) return false;
  let root: string | undefined;
  for (let at = cwd;; at = parentDir(at)) {
    if (isDirectory(at === "/" ? "/.pivot" : `${at}/.pivot`)) root = at;
    if (at === "/") break;
  }
  if (root === undefined) return false;
  const stateDir = `${root === "/" ? "" : root}/.pivot/state`;
  try {
    if (!Deno.statSync(`${stateDir}/load-cache.json`).isFile) return false;
  } catch {
    return false;
  }
  // `list` and `checkout` compare no stamps. PIVOT_NOOP_GATE=off: attempt without the gate (tests).
  if (UNGATED.has(command) || Deno.env.get("PIVOT_NOOP_GATE") === "off") return true;
  // A `repro` or `status` of every stage would hash a touched file: hashed here
  // (lib/cli/gate_rehash.ts), its no-op is answered without the child.
  const everyStage = (command === "repro" || command === "status") && !hasTargets(args);
  let why = await noopStampsDiffer(stateDir, { touched: everyStage ? MAX_TOUCHED : 0 });
  let hashed: readonly TouchedHash[] = [];
  if (why === TOUCHED) {
    // The attempt that follows a hash that holds loads its command meanwhile.
    import(MAIN_IN_LAUNCHER_MODULE).then((module: typeof import("./main_in_launcher.ts")) =>
      module.preloadCommand(args)
    ).catch(() => {});
    const { rehashTouched }: typeof import("./gate_rehash.ts") = await import(
      GATE_REHASH_MODULE
    );
    ({ why, hashed } = await rehashTouched(stateDir));
  }
  // Should the child run the command after all, it takes these hashes.
  const request: PrehashRequest = {
    stateDir,
    hashed: hashed.map((file) => [
      file.path,
      file.mtime,
      file.size,
      file.ino,
      file.hash,
      file.settled,
    ]),
  };
  if (why === undefined) {
    mark("launcher: no-op gate: every stamp holds");
    if (hashed.length > 0) Deno.env.set(PREHASH_ENV, JSON.stringify(request));
    return true;
  }
  mark(`launcher: no-op gate: ${why}: the child runs the command`);
  // The child writes the snapshot again, even if it finds nothing to record;
  // not one that says rightly that the index does not hold every stage.
  if (why !== INCOMPLETE) Deno.env.set(STALE_ENV, "1");
  // A `repro` or `status` of every stage hashes the file whose stamp
  // changed: the child starts at once (lib/storage/prehash.ts).
  const path = gateChangedPath();
  if (everyStage && (path !== undefined || hashed.length > 0)) {
    Deno.env.set(PREHASH_ENV, JSON.stringify({ ...request, path }));
  }
  return false;
}

/**
 * Options of `repro` and `status` that take a value (`--cwd DIR`, `-j 4`):
 * the value is no target.
 */
const VALUE_OPTIONS = new Set(["--cwd", "-j", "--jobs"]);

/**
 * True when `args` (a command line) may name targets: a word after the
 * command that is not an option or an option's value. Only a guess, for
 * {@link PREHASH_ENV}: when in doubt, true (the child then only hashes
 * when it is asked to).
 */
function hasTargets(args: readonly string[]): boolean {
  let command = false;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg.startsWith("-")) {
      if (VALUE_OPTIONS.has(arg)) i++;
      continue;
    }
    if (command) return true;
    command = true;
  }
  return false;
}

/** True when `args` ask for something that never loads user code. */
function isSelfContained(args: readonly string[]): boolean {
  const command = args.find((arg, i) => !arg.startsWith("-") && args[i - 1] !== "--cwd");
  if (command === undefined) return true; // --version, --help, or the usage
  return SELF_CONTAINED.has(command);
}

async function relaunch(
  args: readonly string[],
  mainUrl: string,
  userConfig: string | undefined,
  compiled: boolean,
  checkoutMap: string | undefined,
): Promise<number> {
  const deno = compiled ? findDeno() : Deno.execPath();
  const entry = compiled ? await extractSources(mainUrl) : mainUrl;
  const importMap = compiled && userConfig
    ? checkoutImportMap(userConfig, fileUrlOf(entry))
    : checkoutMap;
  const big = bigPipeline(absolutePath(Deno.cwd(), cwdOption(args) ?? "."));
  const child = new Deno.Command(deno, {
    args: [
      "run",
      "-A",
      ...CHILD_FLAGS,
      ...(userConfig === undefined || lockHoldsPivotPackages(userConfig) ? [LAZY_FLAG] : []),
      ...(big ? [EAGER_POSITIONS] : []),
      ...(userConfig ? ["--config", userConfig] : []),
      ...(importMap ? ["--import-map", importMapFile(importMap)] : []),
      entry,
      ...args,
    ],
    env: {
      [CHILD_ENV]: "1",
      [LAUNCH_ENV]: Deno.env.get(LAUNCH_ENV) ?? "",
      ...(big ? allocatorEnv() : {}),
    },
    stdin: "inherit",
    stdout: "inherit",
    stderr: "inherit",
  }).spawn();
  // Ctrl-C on a terminal reaches the whole process group, child included;
  // a signal sent to this process alone is passed on.
  const forward = (signal: Deno.Signal) => () => {
    try {
      child.kill(signal);
    } catch {
      // already gone
    }
  };
  const handlers = (["SIGINT", "SIGTERM"] as const).map((signal) => {
    const handler = forward(signal);
    Deno.addSignalListener(signal, handler);
    return [signal, handler] as const;
  });
  const status = await child.status;
  for (const [signal, handler] of handlers) Deno.removeSignalListener(signal, handler);
  if (status.signal) return 128 + signalNumber(status.signal);
  return status.code;
}

/**
 * The V8 flags of a child started in `cwd`: {@link EAGER_POSITIONS} when the
 * nearest `pipeline.ts` at or above `cwd` has {@link BIG_PIPELINE_BYTES} or
 * more. (A guess, made with a few `stat` calls: it only decides speed.)
 */
export function v8Flags(cwd: string): string[] {
  return bigPipeline(cwd) ? [EAGER_POSITIONS] : [];
}

/** Whether the nearest `pipeline.ts` at or above `cwd` has {@link BIG_PIPELINE_BYTES} or more. */
function bigPipeline(cwd: string): boolean {
  for (let at = cwd;; at = parentDir(at)) {
    try {
      const info = Deno.statSync(at === "/" ? "/pipeline.ts" : `${at}/pipeline.ts`);
      if (info.isFile) return info.size >= BIG_PIPELINE_BYTES;
    } catch {
      // none here
    }
    if (at === "/") return false;
  }
}

/**
 * What a big pipeline's child gets for its allocator: {@link ARENA_ENV} on
 * Linux unless the user set it, with {@link ALLOCATOR_ENV} naming it.
 */
export function allocatorEnv(): Record<string, string> {
  if (Deno.build.os !== "linux" || Deno.env.get(ARENA_ENV) !== undefined) return {};
  return { [ARENA_ENV]: ARENAS, [ALLOCATOR_ENV]: ARENA_ENV };
}

/**
 * In the child: remove what {@link allocatorEnv} set (glibc read it as the
 * process started), so that the commands stages run inherit the user's environment.
 */
export function dropAllocatorEnv(): void {
  const names = Deno.env.get(ALLOCATOR_ENV);
  if (names === undefined) return;
  for (const name of names.split(",")) if (name !== "") Deno.env.delete(name);
  Deno.env.delete(ALLOCATOR_ENV);
}

function signalNumber(signal: Deno.Signal): number {
  return ({ SIGINT: 2, SIGTERM: 15, SIGKILL: 9, SIGHUP: 1 } as Record<string, number>)[signal] ??
    1;
}

/** What to tell a user who has no Deno (one line). */
export const NO_DENO_MESSAGE =
  "pivot runs your pipeline with Deno, and found no 'deno' on PATH: install Deno 2 (https://docs.deno.com/runtime/getting_started/installation/, or 'npm install -g deno') or set PIVOT_DENO to its path";

/**
 * The `deno` a compiled binary re-executes with: `PIVOT_DENO`, else the first
 * executable `deno` on `PATH`. Throws a one-line error saying how to get
 * Deno when there is none.
 *
 * @example
 * ```ts ignore
 * const deno = findDeno(); // "/usr/local/bin/deno"
 * ```
 */
export function findDeno(): string {
  const explicit = Deno.env.get("PIVOT_DENO");
  if (explicit) {
    if (!isExecutableFile(explicit)) {
      throw new Error(
        `PIVOT_DENO is '${explicit}', which is not an executable file: point it at a deno binary, or unset it to use the deno on PATH`,
      );
    }
    return explicit;
  }
  for (const dir of (Deno.env.get("PATH") ?? "").split(":")) {
    if (dir === "") continue;
    const candidate = `${dir}/deno`;
    if (isExecutableFile(candidate)) return candidate;
  }
  throw new Error(NO_DENO_MESSAGE);
}

function isExecutableFile(path: string): boolean {
  try {
    const info = Deno.statSync(path);
    return info.isFile && (info.mode === null || (info.mode & 0o111) !== 0);
  } catch {
    return false;
  }
}

/**
 * Copy Pivot's embedded sources (included at compile time with
 * `--include lib/`) to `$XDG_CACHE_HOME/pivot/<version>/` (default
 * `~/.cache`), once per version.
 */
async function extractSources(mainUrl: string): Promise<string> {
  const { VERSION } = await import("../version.ts");
  const { dirname, join } = await import("node:path");
  return await extractSourcesTo(dirname(fromFileUrl(mainUrl)), join(cacheRoot(), VERSION));
}

/**
 * Copy Pivot's sources (`.ts`, `.json`, `.lock` files) from `sourceRoot` to
 * `target`, unless a complete copy is there; returns the copy's `cli.ts`.
 * The copy is made beside `target` and renamed into place, so a crash never
 * leaves a partial copy marked complete.
 *
 * @example
 * ```ts ignore
 * const cli = await extractSourcesTo("/tmp/deno-compile-pivot", `${home}/.cache/pivot/0.1.0`);
 * ```
 */
export async function extractSourcesTo(sourceRoot: string, target: string): Promise<string> {
  const { dirname, join } = await import("node:path");
  const done = join(target, ".complete");
  try {
    await Deno.stat(done);
  } catch {
    const temp = `${target}.${Deno.pid}.tmp`;
    const { copyTree } = await import("../storage/copy.ts");
    await copyTree(sourceRoot, temp, isSource);
    await withoutWorkspace(join(temp, "deno.json"));
    await Deno.mkdir(dirname(target), { recursive: true });
    await Deno.remove(target, { recursive: true }).catch(() => {});
    await Deno.writeTextFile(join(temp, ".complete"), "");
    await Deno.rename(temp, target);
  }
  return join(target, "cli.ts");
}

/**
 * Drop `workspace` from the copied `deno.json`: its members (packages/cli)
 * are not embedded, and Deno refuses a config whose members are missing.
 */
async function withoutWorkspace(path: string): Promise<void> {
  let config: Record<string, unknown>;
  try {
    config = JSON.parse(await Deno.readTextFile(path));
  } catch {
    return; // no deno.json embedded
  }
  if (!("workspace" in config)) return;
  delete config.workspace;
  await Deno.writeTextFile(path, JSON.stringify(config, null, 2) + "\n");
}

/** Pivot's sources: `.ts`, `.json` and `.lock` files, outside `node_modules/` and dot-directories. */
function isSource(entry: Deno.DirEntry): boolean {
  if (entry.isDirectory) return entry.name !== "node_modules" && !entry.name.startsWith(".");
  return /\.(ts|json|lock)$/.test(entry.name);
}
