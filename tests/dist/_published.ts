/**
 * Pivot as users get it from JSR, for end-to-end tests: a registry on
 * loopback (`tests/_jsr_registry.ts`) fed by the same publish script that
 * `release.yml` runs, and users who each start with an empty `DENO_DIR`
 * and run `deno run -A jsr:@pivot/cli …` with `JSR_URL` pointing there.
 *
 * Publishing costs seconds (`deno publish` type-checks), so each test file
 * publishes once, in {@link publishPivot}, and shares the registry.
 *
 * @module
 */

import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { output, spawn } from "../_harness.ts";
import { type RunningRegistry, startJsrRegistry } from "../_jsr_registry.ts";
import { type JsonEvent, type TempDir, tempDir, TempProject } from "../_project.ts";

/** This checkout's root. */
export const REPO = fileURLToPath(new URL("../../", import.meta.url));
/** The script `release.yml` publishes with. */
export const PUBLISH_SCRIPT = join(REPO, ".github/scripts/publish-jsr.sh");

/** The result of a command. */
export interface RunResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Run `command args` and collect its output. */
export async function run(
  command: string,
  args: readonly string[],
  options: { cwd?: string; env?: Record<string, string> } = {},
): Promise<RunResult> {
  const result = await output(command, {
    args: [...args],
    cwd: options.cwd,
    env: options.env,
    stdin: "null",
  });
  const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  return { code: result.code, stdout: decode(result.stdout), stderr: decode(result.stderr) };
}

/** Fail with the command's output unless it exited 0. */
export function ok(result: RunResult, what: string): RunResult {
  if (result.code !== 0) {
    throw new Error(
      `${what} exited ${result.code}\nstdout:\n${result.stdout}\nstderr:\n${result.stderr}`,
    );
  }
  return result;
}

/** A user's machine: an empty `DENO_DIR` and `JSR_URL` set to the test registry. */
export interface User {
  /** Environment for every command this user runs. */
  readonly env: Record<string, string>;
  /** `deno ARGS` in `cwd`. */
  deno(cwd: string, ...args: string[]): Promise<RunResult>;
  /** `deno run -A jsr:@pivot/cli ARGS` in `cwd`, as the README says. */
  pivot(cwd: string, ...args: string[]): Promise<RunResult>;
  /** Start `deno run -A jsr:@pivot/cli ARGS` in `cwd` without waiting. */
  spawnPivot(cwd: string, ...args: string[]): Deno.ChildProcess;
}

/** The registry with Pivot published, shared by a test file. */
export interface PublishedPivot extends AsyncDisposable {
  /** The registry. */
  readonly registry: RunningRegistry;
  /** What the publish script printed. */
  readonly publishOutput: string;
  /** A new user, with an empty `DENO_DIR` (removed on dispose). */
  newUser(): Promise<User>;
  /** Publish a small package `name@version` (`@scope/name`) of `files` (path → text). */
  publishPackage(
    name: string,
    version: string,
    files: Record<string, string>,
  ): Promise<void>;
  /** Make a temporary project of `files` (removed on dispose). */
  project(files: Record<string, string>): Promise<string>;
}

/** Options of {@link publishPivot}. */
export interface PublishOptions {
  /** Packages that exist besides `@pivot/core` and `@pivot/cli`. */
  readonly extraPackages?: readonly string[];
  /** Publishing tasks finish only when Deno polls their status (as on jsr.io). */
  readonly poll?: boolean;
  /**
   * Let `deno publish` type-check (default true). The check changes nothing
   * that is uploaded and costs seconds on a cold cache; the test of the
   * release itself keeps it.
   */
  readonly typeCheck?: boolean;
}

/**
 * Start a registry where `@pivot/core`, `@pivot/cli` and `extraPackages`
 * exist, and publish Pivot with the release script.
 */
export async function publishPivot(options: PublishOptions = {}): Promise<PublishedPivot> {
  const registry = await startJsrRegistry({
    packages: ["@pivot/core", "@pivot/cli", ...options.extraPackages ?? []],
    poll: options.poll ?? false,
  });
  const temps: TempDir[] = [];
  const temp = async () => {
    const dir = await tempDir();
    temps.push(dir);
    return dir.root;
  };
  const noCheck = options.typeCheck === false ? ["--no-check"] : [];
  const publishEnv = {
    JSR_URL: registry.url,
    DENO: Deno.execPath(),
    NO_COLOR: "1",
    DENO_NO_UPDATE_CHECK: "1",
  };
  try {
    // --allow-dirty: a developer's checkout may have uncommitted changes.
    const published = ok(
      await run(PUBLISH_SCRIPT, ["--token", registry.token, "--allow-dirty", ...noCheck], {
        cwd: REPO,
        env: publishEnv,
      }),
      "the publish script",
    );
    return {
      registry,
      publishOutput: published.stdout + published.stderr,
      async newUser() {
        const denoDir = await temp();
        const env = {
          JSR_URL: registry.url,
          DENO_DIR: denoDir,
          NO_COLOR: "1",
          DENO_NO_UPDATE_CHECK: "1",
          // For shims from `deno install`, which run the `deno` on PATH.
          PATH: `${dirname(Deno.execPath())}:${Deno.env.get("PATH") ?? "/usr/bin:/bin"}`,
        };
        const deno = (cwd: string, ...args: string[]) => run(Deno.execPath(), args, { cwd, env });
        return {
          env,
          deno,
          pivot: (cwd, ...args) => deno(cwd, "run", "-A", "jsr:@pivot/cli", ...args),
          spawnPivot: (cwd, ...args) =>
            spawn(Deno.execPath(), {
              args: ["run", "-A", "jsr:@pivot/cli", ...args],
              cwd,
              env,
              stdin: "null",
              stdout: "piped",
              stderr: "piped",
            }),
        };
      },
      async publishPackage(name, version, files) {
        const dir = await temp();
        await writeFiles(dir, {
          "deno.json": JSON.stringify({ name, version, license: "MIT", exports: "./mod.ts" }),
          ...files,
        });
        ok(
          // Not type-checked: these are the tests' own packages.
          await run(Deno.execPath(), ["publish", "--no-check", "--token", registry.token], {
            cwd: dir,
            env: publishEnv,
          }),
          `publishing ${name}@${version}`,
        );
      },
      async project(files) {
        const dir = await temp();
        await writeFiles(dir, files);
        return dir;
      },
      async [Symbol.asyncDispose]() {
        await registry.stop();
        for (const dir of temps) await dir.dispose();
      },
    };
  } catch (error) {
    await registry.stop();
    throw error;
  }
}

/** Write `files` (path → text) under `dir`. */
export async function writeFiles(dir: string, files: Record<string, string>): Promise<void> {
  for (const [path, text] of Object.entries(files)) {
    await Deno.mkdir(dirname(join(dir, path)), { recursive: true });
    await Deno.remove(join(dir, path)).catch(() => {});
    await Deno.writeTextFile(join(dir, path), text);
  }
}

/** Stage names by status (sorted) from `repro --json` output. */
export function stagesByStatus(stdout: string): Record<string, string[]> {
  const events = stdout.split("\n").filter((line) => line.trim() !== "").map((line) =>
    JSON.parse(line) as JsonEvent
  );
  return TempProject.byStatus(events);
}
