/**
 * The three tools the benchmark runs on the same pipeline shape: Pivot (this
 * repository's `cli.ts`), make and Snakemake. Each knows how to generate its
 * project, reset it for a full run, and bring it up to date.
 *
 * @module
 */

import { generatePipeline } from "./gen_pipeline.ts";
import { progress, type Run } from "./_measure.ts";

/**
 * Names of the tools, as shown in tables. "Pivot baseline" is Pivot at the
 * revision given with `--baseline`, timed in alternation with this checkout's.
 */
export type ToolName = "Pivot" | "Pivot baseline" | "make" | "Snakemake";

/** A pipeline tool under benchmark. */
export interface Tool {
  /** Shown in tables. */
  readonly name: ToolName;
  /** What it is, when the name does not say (the baseline's revision). */
  readonly description?: string;
  /** `undefined` when the tool can run here, else why not ("pivot: not available …"). */
  unavailable(): Promise<string | undefined>;
  /** Write a project of `stages` stages into `dir` (an empty directory). */
  generate(dir: string, stages: number): Promise<void>;
  /**
   * Set outputs and the tool's own state aside ({@link runTrash}), so that
   * the next run is a full run.
   */
  clean(dir: string): Promise<void>;
  /** The command that brings the project in the working directory up to date. */
  command(): string[];
  /** How many stages a run ran, when the tool says. */
  ran(run: Run): number | undefined;
  /** Whether a full run is cheap enough for an uncounted warm-up. */
  readonly cheapFullRun: boolean;
}

/** Absolute path of this repository. */
export const REPO = new URL("../", import.meta.url).pathname.replace(/\/$/, "");
const PEERS_GENERATOR = `${REPO}/bench/gen_peers.py`;
const CORES = navigator.hardwareConcurrency;

/** The `pivot` command: `deno run -A <repo>/cli.ts`, or `PIVOT_BENCH_CMD` split on spaces. */
export function pivotCommand(): string[] {
  const custom = Deno.env.get("PIVOT_BENCH_CMD");
  if (custom) return custom.trim().split(/\s+/);
  return [Deno.execPath(), "run", "-A", `${REPO}/cli.ts`];
}

/** Run a command to completion; throws with its stderr when it fails. */
export async function mustRun(argv: string[], cwd: string): Promise<string> {
  const [program, ...args] = argv;
  const output = await new Deno.Command(program, { args, cwd, stdin: "null" }).output();
  const decoder = new TextDecoder();
  if (output.code !== 0) {
    throw new Error(
      `${argv.join(" ")} (in ${cwd}) exited ${output.code}: ${
        decoder.decode(output.stderr).trim() || decoder.decode(output.stdout).trim()
      }`,
    );
  }
  return decoder.decode(output.stdout);
}

/** Whether `program` can be started (found on PATH). */
export async function onPath(program: string): Promise<boolean> {
  try {
    await new Deno.Command(program, { args: ["--version"], stdout: "null", stderr: "null" })
      .output();
    return true;
  } catch {
    return false;
  }
}

const installed = new Map<string, Promise<boolean>>();

/**
 * Whether `program` is on PATH, installing Debian's `debianPackage` with
 * `apt-get install -y` first when it is missing (once per run; an
 * `apt-get update` is tried when the first install fails). A peer that
 * cannot be installed is reported as skipped by the caller. With
 * `asRootOnly`, nothing is installed unless this process runs as root.
 */
export function ensureProgram(
  program: string,
  debianPackage: string,
  options: { readonly asRootOnly?: boolean } = {},
): Promise<boolean> {
  let result = installed.get(program);
  if (!result) {
    result = (async () => {
      if (await onPath(program)) return true;
      if (options.asRootOnly && Deno.uid() !== 0) return false;
      const install = async () => {
        const output = await new Deno.Command("apt-get", {
          args: ["install", "-y", "-qq", debianPackage],
          env: { DEBIAN_FRONTEND: "noninteractive" },
          stdin: "null",
          stdout: "null",
          stderr: "null",
        }).output().catch(() => undefined);
        return output?.code === 0;
      };
      progress(`${program} is missing: apt-get install -y ${debianPackage}`);
      if (!(await install())) {
        await new Deno.Command("apt-get", {
          args: ["update", "-qq"],
          stdout: "null",
          stderr: "null",
        })
          .output().catch(() => undefined);
        await install();
      }
      return await onPath(program);
    })();
    installed.set(program, result);
  }
  return result;
}

/** `rm -rf path`. */
export async function removeAll(path: string): Promise<void> {
  await Deno.remove(path, { recursive: true }).catch((error) => {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  });
}

/**
 * Trees a measured run leaves, moved into `dir` (a folder in the same
 * filesystem) instead of deleted, and deleted with it when the measuring is
 * over. On ext4 without a journal (this machine's disk) a create skips every
 * inode freed in the last 60 s (300 s while its inode table block is dirty),
 * one buffer-cache lookup each (`find_inode_bit` → `recently_deleted`): a
 * run right after the deletion of the previous run's files scans past them
 * on each create of its own, so it measures the kernel's allocator, not the
 * tool, and the tool that creates more files pays more than linearly
 * (docs/performance.md, "Directory outs, first run, eighth session", and
 * "Full runs beside no fresh deletions (issue 16, twelfth session)"). A journaled
 * ext4 does not make that check. Set aside, every repetition starts as the
 * first one did.
 */
export class Trash {
  #next = 0;
  constructor(readonly dir: string) {}

  /** Move each of `paths` (relative to `base`) that exists into the trash. */
  async take(base: string, paths: readonly string[]): Promise<void> {
    const into = `${this.dir}/${this.#next++}`;
    await Deno.mkdir(into, { recursive: true });
    for (const path of paths) {
      await Deno.rename(`${base}/${path}`, `${into}/${path.replaceAll("/", "_")}`).catch(
        (error) => {
          if (!(error instanceof Deno.errors.NotFound)) throw error;
        },
      );
    }
  }

  /** Move the file or folder `path` itself into the trash, if it exists. */
  async takeWhole(path: string): Promise<void> {
    const slash = path.lastIndexOf("/");
    await this.take(path.slice(0, slash), [path.slice(slash + 1)]);
  }

  /** Delete the trash and all it holds. */
  async empty(): Promise<void> {
    await removeAll(this.dir);
  }
}

/**
 * Where the tools' {@link Tool.clean} set the previous run's outputs and
 * state aside, and the workloads that time full runs their old projects:
 * under the bench's work folder (so on its filesystem), emptied by
 * `bench/run.ts` when it starts and when it ends. Only trees of many small
 * files go there: a large file deleted soon after it was written is never
 * written back to the disk, and one kept would be, during later timings.
 */
export const runTrash: Trash = new Trash(`${REPO}/bench/work/trash`);

/** This checkout's `mod.ts`, which a bench project's `jsr:@pivot/core` names by default. */
export const PIVOT_CORE = new URL("../mod.ts", import.meta.url).href;

/**
 * Make `dir` afresh (whatever was there is removed) as a project whose `deno.json` maps
 * `jsr:@pivot/core` to `core`, with `files` (paths relative to `dir`; their folders are made).
 */
export async function writeBenchProject(
  dir: string,
  files: Record<string, string>,
  core: string = PIVOT_CORE,
): Promise<void> {
  await removeAll(dir);
  await Deno.mkdir(dir, { recursive: true });
  await Deno.writeTextFile(
    `${dir}/deno.json`,
    JSON.stringify({ imports: { "jsr:@pivot/core": core } }, null, 2) + "\n",
  );
  for (const [path, text] of Object.entries(files)) {
    const target = `${dir}/${path}`;
    await Deno.mkdir(target.slice(0, target.lastIndexOf("/")), { recursive: true });
    await Deno.writeTextFile(target, text);
  }
}

/** Whether this repository has the `pivot` CLI yet. */
export async function pivotMissing(): Promise<string | undefined> {
  if (Deno.env.get("PIVOT_BENCH_CMD")) return undefined;
  const exists = await Deno.stat(`${REPO}/cli.ts`).then(() => true, () => false);
  return exists ? undefined : "pivot: not available";
}

/**
 * A Pivot, run as `pivot repro --json` in a project made by `pivot init`:
 * this checkout's (`pivot`), or another revision's (`--baseline`), whose
 * projects map `jsr:@pivot/core` to that revision's `mod.ts`.
 */
export function pivotTool(
  name: "Pivot" | "Pivot baseline",
  command: () => string[],
  coreModule?: URL,
  unavailable: () => Promise<string | undefined> = pivotMissing,
): Tool {
  return {
    name,
    unavailable,
    async generate(dir, stages) {
      await generatePipeline(dir, { stages, coreModule });
      await this.clean(dir);
    },
    async clean(dir) {
      await runTrash.take(dir, ["out", ".pivot"]);
      await mustRun([...command(), "init"], dir);
    },
    command: () => [...command(), "repro", "--json"],
    ran: (run) => reproSummary(run.stdout)?.ran,
    cheapFullRun: true,
  };
}

/** This checkout's Pivot. */
export const pivot: Tool = pivotTool("Pivot", pivotCommand);

/** The summary line of `pivot repro --json` (SPEC §6), if the output has one. */
export function reproSummary(stdout: string): { ran: number; [key: string]: unknown } | undefined {
  for (const line of stdout.trim().split("\n").reverse()) {
    try {
      const event = JSON.parse(line);
      if (event?.type === "summary" && typeof event.ran === "number") return event;
    } catch {
      // Not a JSON line: keep looking.
    }
  }
  return undefined;
}

async function generatePeers(dir: string, stages: number): Promise<void> {
  await mustRun(["python3", PEERS_GENERATOR, dir, String(stages)], REPO);
}

/** GNU make, with one job per core (the chain allows no parallelism anyway). */
export const make: Tool = {
  name: "make",
  unavailable: async () =>
    (await onPath("make")) ? undefined : "not installed (apt-get install make)",
  generate: generatePeers,
  async clean(dir) {
    // The Makefile's recipes write into out/ but do not create it.
    await runTrash.take(dir, ["out"]);
    await Deno.mkdir(`${dir}/out`);
  },
  command: () => ["make", `-j${CORES}`],
  ran: () => undefined,
  cheapFullRun: true,
};

/** Snakemake with as many cores as Pivot uses by default. */
export const snakemake: Tool = {
  name: "Snakemake",
  unavailable: async () =>
    (await onPath("snakemake")) ? undefined : "not installed (apt-get install snakemake)",
  generate: generatePeers,
  async clean(dir) {
    await runTrash.take(dir, ["out", ".snakemake"]);
  },
  command: () => ["snakemake", "--cores", String(CORES)],
  ran: (run) => snakemakeRan(run.stderr),
  cheapFullRun: false,
};

/**
 * Jobs Snakemake ran, from its log on stderr: "N of M steps (100%) done" counts
 * the `all` target too; "Nothing to be done" is none.
 */
export function snakemakeRan(stderr: string): number | undefined {
  if (/^Nothing to be done/m.test(stderr)) return 0;
  const done = [...stderr.matchAll(/^(\d+) of \d+ steps \(100%\) done/gm)].at(-1);
  return done ? Number(done[1]) - 1 : undefined;
}

/** All tools, Pivot first. */
export const TOOLS: readonly Tool[] = [pivot, make, snakemake];
