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
 * itself into the user's cache directory.
 *
 * @module
 */

import { dirname, join, resolve } from "node:path";
import { findDenoConfig } from "../pipeline/find_project.ts";
import { fromFileUrl } from "../paths.ts";

const CHILD_ENV = "PIVOT_CHILD";
const UNSTABLE = ["--unstable-kv", "--unstable-worker-options"];

/** The `--cwd` value in `args`, if any. */
function cwdOption(args: readonly string[]): string | undefined {
  for (let i = 0; i < args.length; i++) {
    if (args[i] === "--cwd") return args[i + 1];
    if (args[i].startsWith("--cwd=")) return args[i].slice("--cwd=".length);
    if (args[i] === "--") break;
  }
  return undefined;
}

function isCompiled(): boolean {
  return import.meta.url.includes("/deno-compile-");
}

/**
 * Run Pivot with `args`: in this process when it can load user code here,
 * otherwise in a child `deno` process. Resolves with the exit code.
 */
export async function launch(args: readonly string[], mainUrl: string): Promise<number> {
  const cwd = resolve(cwdOption(args) ?? Deno.cwd());
  const userConfig = findDenoConfig(cwd);
  const inChild = Deno.env.get(CHILD_ENV) === "1";
  const unstableOn = typeof Deno.openKv === "function";
  if (inChild || (!isCompiled() && userConfig === undefined && unstableOn)) {
    const { main } = await import("./main.ts");
    return await main(args);
  }
  try {
    return await relaunch(args, mainUrl, userConfig);
  } catch (error) {
    // The launcher has no CLI around it to format errors: one line, exit 2.
    console.error(`error: ${(error as Error).message}`);
    return 2;
  }
}

async function relaunch(
  args: readonly string[],
  mainUrl: string,
  userConfig: string | undefined,
): Promise<number> {
  const deno = isCompiled() ? findDeno() : Deno.execPath();
  const entry = isCompiled() ? await extractSources(mainUrl) : mainUrl;
  const child = new Deno.Command(deno, {
    args: [
      "run",
      "-A",
      ...UNSTABLE,
      ...(userConfig ? ["--config", userConfig] : []),
      entry,
      ...args,
    ],
    env: { [CHILD_ENV]: "1" },
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

function signalNumber(signal: Deno.Signal): number {
  return ({ SIGINT: 2, SIGTERM: 15, SIGKILL: 9, SIGHUP: 1 } as Record<string, number>)[signal] ??
    1;
}

/** The `deno` a compiled binary re-executes with: `PIVOT_DENO`, else the first on `PATH`. */
export function findDeno(): string {
  const explicit = Deno.env.get("PIVOT_DENO");
  if (explicit) return explicit;
  for (const dir of (Deno.env.get("PATH") ?? "").split(":")) {
    const candidate = join(dir, "deno");
    try {
      if (Deno.statSync(candidate).isFile) return candidate;
    } catch {
      // not here
    }
  }
  throw new Error(
    "this pivot binary needs Deno to run your pipeline's code, and found no 'deno' on PATH: install Deno or set PIVOT_DENO",
  );
}

/**
 * Copy Pivot's embedded sources (included at compile time with
 * `--include lib/`) to `~/.cache/pivot/<version>/`, once per version.
 */
async function extractSources(mainUrl: string): Promise<string> {
  const { VERSION } = await import("../version.ts");
  const home = Deno.env.get("XDG_CACHE_HOME") ?? join(Deno.env.get("HOME") ?? "/tmp", ".cache");
  return await extractSourcesTo(dirname(fromFileUrl(mainUrl)), join(home, "pivot", VERSION));
}

/**
 * Copy Pivot's sources (`.ts`, `.json`, `.lock` files) from `sourceRoot` to
 * `target`, unless a complete copy is there; returns the copy's `cli.ts`.
 * The copy is made beside `target` and renamed into place, so a crash never
 * leaves a partial copy marked complete.
 */
export async function extractSourcesTo(sourceRoot: string, target: string): Promise<string> {
  const done = join(target, ".complete");
  try {
    await Deno.stat(done);
  } catch {
    const temp = `${target}.${Deno.pid}.tmp`;
    const { copyTree } = await import("../storage/copy.ts");
    await copyTree(sourceRoot, temp, isSource);
    await Deno.mkdir(dirname(target), { recursive: true });
    await Deno.remove(target, { recursive: true }).catch(() => {});
    await Deno.writeTextFile(join(temp, ".complete"), "");
    await Deno.rename(temp, target);
  }
  return join(target, "cli.ts");
}

/** Pivot's sources: `.ts`, `.json` and `.lock` files, outside `node_modules/` and dot-directories. */
function isSource(entry: Deno.DirEntry): boolean {
  if (entry.isDirectory) return entry.name !== "node_modules" && !entry.name.startsWith(".");
  return /\.(ts|json|lock)$/.test(entry.name);
}
