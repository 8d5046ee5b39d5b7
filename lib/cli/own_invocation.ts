/**
 * Whether this `deno` process was started the way the launcher would start
 * its child, so that Pivot can run here instead of in a second process.
 *
 * The launcher re-executes Pivot as `deno run -A --unstable-kv
 * --unstable-worker-options --config <user deno.json> [--import-map …]
 * cli.ts …` (`lib/cli/launcher.ts`). When this process already runs with
 * exactly that configuration (its command line asks for it, or Deno found the
 * user's config beside the main module), the child would load the user's code
 * the same way this process does, and re-executing costs a second Deno start
 * (about 30 ms of CPU and 50 ms of wall time on a loaded machine).
 *
 * Deno does not tell a program which config or unstable features it runs
 * with, so the command line is read from `/proc/self/cmdline` (Linux). Only a
 * command line made of flags whose effect is known is accepted: any other flag
 * (`--no-lock`, `--import-map`, `--v8-flags`…), or no `/proc`, means "not
 * sure", and the launcher re-executes as before.
 *
 * @module
 */

import { readJsoncObject } from "../jsonc.ts";
import { findDenoConfig } from "../pipeline/deno_config.ts";
import { lockHoldsPivotPackages } from "./user_lock.ts";
import { absolutePath, fromFileUrl, isFile, parentDir } from "../paths.ts";

/** What a `deno run` command line asks for, among what the launcher's child is given. */
export interface DenoInvocation {
  /** The absolute path given with `--config`/`-c`, if any. */
  readonly config: string | undefined;
  /** `-A`/`--allow-all` was given. */
  readonly allowAll: boolean;
  /** Unstable features switched on by flags (`kv`, `worker-options`). */
  readonly unstable: readonly string[];
  /** `--unstable-lazy-dynamic-imports` was given. */
  readonly lazy?: boolean;
}

/** The unstable features the launcher's child runs with. */
export const CHILD_UNSTABLE = ["kv", "worker-options"] as const;

/**
 * Parse `argv` (the whole command line, `deno` first) of a process whose
 * script arguments are `scriptArgs` and whose main module is `mainUrl`.
 * Undefined unless it is `deno [run] FLAGS… SCRIPT scriptArgs…` with every
 * flag one of `-A`, `--allow-all`, `--unstable-kv`,
 * `--unstable-worker-options`, `--unstable-lazy-dynamic-imports`,
 * `--config FILE`, `--config=FILE`, `-c FILE`,
 * and SCRIPT names `mainUrl`.
 *
 * @example
 * ```ts ignore
 * parseDenoInvocation(["deno", "run", "-A", "cli.ts", "status"], ["status"], "/p", "file:///p/cli.ts");
 * // { config: undefined, allowAll: true, unstable: [] }
 * ```
 */
export function parseDenoInvocation(
  argv: readonly string[],
  scriptArgs: readonly string[],
  cwd: string,
  mainUrl: string,
): DenoInvocation | undefined {
  const script = argv.length - scriptArgs.length - 1;
  if (script < 1) return undefined;
  if (scriptArgs.some((arg, i) => argv[script + 1 + i] !== arg)) return undefined;
  if (!namesModule(argv[script], cwd, mainUrl)) return undefined;
  let config: string | undefined;
  let allowAll = false;
  const unstable: string[] = [];
  let lazy = false;
  for (let i = argv[1] === "run" ? 2 : 1; i < script; i++) {
    const flag = argv[i];
    if (flag === "-A" || flag === "--allow-all") allowAll = true;
    else if (flag === "--unstable-kv") unstable.push("kv");
    else if (flag === "--unstable-worker-options") unstable.push("worker-options");
    else if (flag === "--unstable-lazy-dynamic-imports") lazy = true;
    else if ((flag === "--config" || flag === "-c") && i + 1 < script) {
      config = absolutePath(cwd, argv[++i]);
    } else if (flag.startsWith("--config=")) {
      config = absolutePath(cwd, flag.slice("--config=".length));
    } else return undefined;
  }
  return lazy ? { config, allowAll, unstable, lazy } : { config, allowAll, unstable };
}

/** True when the command-line word `word` is the main module `mainUrl`. */
function namesModule(word: string, cwd: string, mainUrl: string): boolean {
  if (word === mainUrl) return true;
  if (!mainUrl.startsWith("file:") || /^[a-z][a-z0-9+.-]*:/i.test(word)) return false;
  return absolutePath(cwd, word) === fromFileUrl(mainUrl);
}

/**
 * True when a process started as `invocation`, with main module `mainUrl`,
 * loads user code as the launcher's child for `userConfig` would: all
 * permissions, the user's config as Deno's config (given with `--config`, or
 * found by Deno beside a local main module), the child's unstable features
 * (by flags, or in that config's `unstable` list), no import map of the
 * launcher's own (`importMap`, which the child would be given), and lazy
 * imports only where the child would have them (`user_lock.ts`).
 *
 * @example
 * ```ts ignore
 * runsAsChild({ config: "/p/deno.json", allowAll: true, unstable: ["kv", "worker-options"] },
 *   "file:///opt/pivot/cli.ts", "/p/deno.json", undefined); // true
 * ```
 */
export function runsAsChild(
  invocation: DenoInvocation,
  mainUrl: string,
  userConfig: string,
  importMap: string | undefined,
): boolean {
  if (!invocation.allowAll || importMap !== undefined) return false;
  const config = invocation.config ?? discoveredConfig(mainUrl);
  if (config !== userConfig) return false;
  const on = new Set([...invocation.unstable, ...unstableList(config)]);
  if (!CHILD_UNSTABLE.every((feature) => on.has(feature))) return false;
  // The child loads lazily only once the lock records Pivot's packages.
  return !invocation.lazy || lockHoldsPivotPackages(config);
}

/**
 * The config Deno finds for the local main module `mainUrl` (the nearest
 * `deno.json(c)` in its folder or above), when the child's `--config` with the
 * same file is sure to mean the same: undefined for a remote module (Deno
 * looks for no config then), and when the config may be a workspace member
 * (another config above it) or has a `package.json` beside it, where
 * discovery and `--config` could differ.
 */
function discoveredConfig(mainUrl: string): string | undefined {
  if (!mainUrl.startsWith("file:")) return undefined;
  const config = findDenoConfig(parentDir(fromFileUrl(mainUrl)));
  if (config === undefined) return undefined;
  const dir = parentDir(config);
  if (isFile(`${dir}/package.json`)) return undefined;
  if (dir !== "/" && findDenoConfig(parentDir(dir)) !== undefined) return undefined;
  return config;
}

/** The `unstable` list of the config file at `path` (empty when unreadable). */
function unstableList(path: string): string[] {
  const list = readJsoncObject(path)?.unstable;
  return Array.isArray(list) ? list.filter((item) => typeof item === "string") : [];
}

/**
 * This process's command line, from `/proc/self/cmdline`; undefined where
 * there is none (not Linux) or it cannot be read.
 */
export function ownCommandLine(): string[] | undefined {
  let text: string;
  try {
    text = Deno.readTextFileSync("/proc/self/cmdline");
  } catch {
    return undefined;
  }
  const argv = text.split("\0");
  if (argv.at(-1) === "") argv.pop();
  return argv;
}
