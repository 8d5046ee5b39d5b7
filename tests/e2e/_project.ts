/**
 * Temporary projects driven through the real `pivot` CLI, for end-to-end
 * tests. A project gets a `deno.json` that maps `jsr:@pivot/core` to this
 * checkout's `mod.ts`, so pipelines import exactly what users write.
 *
 * @module
 */

import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

/** This checkout's root. */
export const REPO = fileURLToPath(new URL("../../", import.meta.url));
/** This checkout's `cli.ts`. */
export const CLI = join(REPO, "cli.ts");

/** The result of one `pivot` invocation. */
export interface PivotResult {
  /** Exit code. */
  readonly code: number;
  /** Standard output. */
  readonly stdout: string;
  /** Standard error. */
  readonly stderr: string;
}

/** One JSON Lines event from `--json`. */
export interface JsonEvent {
  readonly type: string;
  readonly stage?: string;
  readonly status?: string;
  readonly reason?: string;
  readonly [key: string]: unknown;
}

/** A temporary project. */
export class TempProject {
  /** Absolute root. */
  readonly root: string;

  private constructor(root: string) {
    this.root = root;
  }

  /**
   * Create a project with `files` (path → content), a `deno.json` mapping
   * `jsr:@pivot/core` (extra `imports` merged in), and `pivot init` done.
   */
  static async create(
    files: Record<string, string>,
    options: { imports?: Record<string, string>; init?: boolean } = {},
  ): Promise<TempProject> {
    const root = await Deno.realPath(await Deno.makeTempDir({ prefix: "pivot-e2e-" }));
    const project = new TempProject(root);
    await project.write("deno.json", denoJson(options.imports ?? {}));
    for (const [path, content] of Object.entries(files)) await project.write(path, content);
    if (options.init !== false) {
      const init = await project.pivot("init");
      if (init.code !== 0) throw new Error(`pivot init failed: ${init.stderr}`);
    }
    return project;
  }

  /** Absolute path of a project file. */
  path(rel: string): string {
    return join(this.root, rel);
  }

  /** Write a project file (parents created). */
  async write(rel: string, content: string): Promise<void> {
    const path = this.path(rel);
    await Deno.mkdir(dirname(path), { recursive: true });
    // Outs in the workspace may be read-only hard links to the cache.
    await Deno.remove(path).catch(() => {});
    await Deno.writeTextFile(path, content);
  }

  /** Read a project file. */
  read(rel: string): Promise<string> {
    return Deno.readTextFile(this.path(rel));
  }

  /** True when a project file exists. */
  async exists(rel: string): Promise<boolean> {
    try {
      await Deno.lstat(this.path(rel));
      return true;
    } catch {
      return false;
    }
  }

  /** Run `pivot ARGS` in the project (or in `cwd` under it). */
  async pivot(...args: string[]): Promise<PivotResult> {
    return await runPivot(this.root, args);
  }

  /** Run `pivot ARGS --json` and parse the JSON Lines it prints. */
  async events(...args: string[]): Promise<{ result: PivotResult; events: JsonEvent[] }> {
    const result = await this.pivot(...args, "--json");
    const events = result.stdout.split("\n").filter((l) => l.trim() !== "").map((line) => {
      try {
        return JSON.parse(line) as JsonEvent;
      } catch {
        throw new Error(`not JSON: ${line}\nstderr: ${result.stderr}`);
      }
    });
    return { result, events };
  }

  /** Stage names with each status, from `repro --json` (or `run --json`) events. */
  static byStatus(events: readonly JsonEvent[]): Record<string, string[]> {
    const result: Record<string, string[]> = {};
    for (const event of events) {
      if (event.type !== "stage") continue;
      (result[event.status!] ??= []).push(event.stage!);
    }
    for (const names of Object.values(result)) names.sort();
    return result;
  }

  /** `pivot status --json` parsed. */
  async status(...args: string[]): Promise<{
    stages: {
      name: string;
      status: string;
      reasons: string[];
      changes: Record<string, unknown[]>;
    }[];
  }> {
    const result = await this.pivot("status", "--json", ...args);
    if (result.code !== 0) throw new Error(`status failed (${result.code}): ${result.stderr}`);
    return JSON.parse(result.stdout);
  }

  /** Remove the project. */
  async dispose(): Promise<void> {
    await Deno.remove(this.root, { recursive: true }).catch(() => {});
  }
}

/** `deno.json` for a test project. */
export function denoJson(imports: Record<string, string>): string {
  return JSON.stringify(
    { imports: { "jsr:@pivot/core": pathToFileURL(join(REPO, "mod.ts")).href, ...imports } },
    null,
    2,
  );
}

/** Run the real CLI in `cwd`. */
export async function runPivot(cwd: string, args: readonly string[]): Promise<PivotResult> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", CLI, ...args],
    cwd,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const decoder = new TextDecoder();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
}

/** Start the real CLI in `cwd` without waiting, with piped output. */
export function spawnPivot(cwd: string, args: readonly string[]): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", CLI, ...args],
    cwd,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
}
