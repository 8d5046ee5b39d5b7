/**
 * Temporary directories and projects, and the real `pivot` CLI run in them.
 *
 * A {@linkcode TempProject} gets a `deno.json` that maps `jsr:@pivot/core`
 * to this checkout's `mod.ts`, so its pipelines import exactly what users
 * write, and what `pivot init` writes (run once per test file and copied:
 * see `initOutput`). Every process started here belongs
 * to the running test (see `_harness.ts`): a test that runs out of time kills
 * it. Dispose of directories with `await using`.
 *
 * @module
 */

import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { StateStore } from "../lib/storage/state.ts";
import { NOOP_RECORD_FILE } from "../lib/cli/noop_record.ts";
import { output, spawn } from "./_harness.ts";

/** This checkout's root (the directory holding `mod.ts`), without a trailing slash. */
export const REPO: string = fileURLToPath(new URL("../", import.meta.url)).replace(/\/$/, "");
/** This checkout's `cli.ts`. */
export const CLI: string = join(REPO, "cli.ts");

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

/**
 * Make a temporary directory (in `options.parent`, by default the system's);
 * `await using dir = await tempDir();` removes it.
 */
export async function tempDir(options: { parent?: string } = {}): Promise<TempDir> {
  const made = await Deno.makeTempDir({ dir: options.parent, prefix: "pivot_test_" });
  return new TempDir(await Deno.realPath(made));
}

/**
 * A directory on another filesystem than the temporary directories' (here
 * `/dev/shm`, a tmpfs, when `TMPDIR` is on a disk), or undefined: for tests
 * of a cache a hard link cannot reach.
 */
export function otherFilesystem(): string | undefined {
  try {
    const shm = Deno.statSync("/dev/shm");
    const temp = Deno.statSync(Deno.env.get("TMPDIR") ?? "/tmp");
    return shm.isDirectory && shm.dev !== temp.dev ? "/dev/shm" : undefined;
  } catch {
    return undefined;
  }
}

/** A temporary directory (its real path), removed with everything in it when disposed. */
export class TempDir implements AsyncDisposable {
  /** Absolute, real path. */
  readonly root: string;

  /** Take charge of the existing directory `root`. */
  constructor(root: string) {
    this.root = root;
  }

  /** An absolute path inside the directory. */
  path(...parts: string[]): string {
    return join(this.root, ...parts);
  }

  /**
   * Write a file (parents created). An existing file is removed first: an out
   * may be a read-only hard link to a cache object, which writing through
   * (as root) would corrupt.
   */
  async write(rel: string, content: string): Promise<void> {
    const path = this.path(rel);
    await Deno.mkdir(dirname(path), { recursive: true });
    await Deno.remove(path).catch(() => {});
    await Deno.writeTextFile(path, content);
  }

  /** Read a file. */
  read(rel: string): Promise<string> {
    return Deno.readTextFile(this.path(rel));
  }

  /** Whether a file (or link, or directory) exists. */
  async exists(rel: string): Promise<boolean> {
    try {
      await Deno.lstat(this.path(rel));
      return true;
    } catch {
      return false;
    }
  }

  /** Replace `from` with `to` in a file, which must contain it. */
  async edit(rel: string, from: string | RegExp, to: string): Promise<void> {
    const text = await this.read(rel);
    const edited = text.replace(from, to);
    if (edited === text) throw new Error(`${rel}: ${from} not found`);
    await this.write(rel, edited);
  }

  /**
   * Run `command ARGS` here (`"deno"` is this Deno); resolves with its
   * trimmed stdout, rejects with its stderr when it fails.
   */
  async run(command: string, ...args: string[]): Promise<string> {
    const path = command === "deno" ? Deno.execPath() : command;
    const result = await output(path, { args, cwd: this.root, env: { NO_COLOR: "1" } });
    const decoder = new TextDecoder();
    if (!result.success) {
      throw new Error(`${command} ${args.join(" ")}: ${decoder.decode(result.stderr)}`);
    }
    return decoder.decode(result.stdout).trim();
  }

  /** Run `git ARGS` here, as {@linkcode run} does. */
  git(...args: string[]): Promise<string> {
    return this.run("git", ...args);
  }

  /** Make the directory a git repository with a committer and no signing. */
  async initGit(): Promise<void> {
    await this.git("init", "-q");
    await this.git("config", "user.email", "test@example.com");
    await this.git("config", "user.name", "Test");
    await this.git("config", "commit.gpgsign", "false");
  }

  /** Commit everything in the directory. */
  async commitAll(message = "commit"): Promise<void> {
    await this.git("add", "-A");
    await this.git("commit", "-q", "-m", message);
  }

  /** Remove the directory. */
  async dispose(): Promise<void> {
    // Cache objects are read-only; removal needs write permission on their
    // directories only, which they keep.
    await Deno.remove(this.root, { recursive: true }).catch(() => {});
  }

  /** Remove the directory (for `await using`). */
  [Symbol.asyncDispose](): Promise<void> {
    return this.dispose();
  }
}

/** Options of {@linkcode TempProject.create}. */
export interface ProjectOptions {
  /** Import-map entries added to `deno.json`; `null`: no `deno.json` at all. */
  readonly imports?: Record<string, string> | null;
  /** Run `pivot init` (default true). */
  readonly init?: boolean;
  /** The directory to make the project in (default: the system's temporary one). */
  readonly parent?: string;
}

/** A temporary project, driven through the real `pivot` CLI. */
export class TempProject extends TempDir {
  #state: StateStore | undefined;

  /**
   * Create a project with `files` (path → content), a `deno.json` mapping
   * `jsr:@pivot/core` (plus `options.imports`), and `pivot init` done: its
   * files copied from the file's one `init` of a project with that
   * `deno.json` ({@link initOutput}), or `init` run here when `files` could
   * change what it writes.
   */
  static async create(
    files: Record<string, string>,
    options: ProjectOptions = {},
  ): Promise<TempProject> {
    const root = await Deno.realPath(
      await Deno.makeTempDir({ prefix: "pivot_project_", dir: options.parent }),
    );
    const project = new TempProject(root);
    try {
      if (options.imports !== null) await project.writeConfig(options.imports ?? {});
      for (const [path, content] of Object.entries(files)) await project.write(path, content);
      if (options.init !== false) {
        if (options.imports !== null && !Object.keys(files).some(changesInit)) {
          await placeInit(
            project,
            await initOutput(denoJson(options.imports ?? {}), options.parent),
          );
        } else {
          const init = await project.pivot("init");
          if (init.code !== 0) throw new Error(`pivot init failed: ${init.stderr}`);
        }
      }
    } catch (error) {
      await project.dispose();
      throw error;
    }
    return project;
  }

  /** The project's `deno.json`, or undefined when it has none. */
  get config(): string | undefined {
    try {
      Deno.statSync(this.path("deno.json"));
      return this.path("deno.json");
    } catch {
      return undefined;
    }
  }

  /** Write `deno.json` mapping `jsr:@pivot/core` to this checkout, plus `imports`. */
  writeConfig(imports: Record<string, string> = {}): Promise<void> {
    return this.write("deno.json", denoJson(imports));
  }

  /** Run `pivot ARGS` in the project. */
  pivot(...args: string[]): Promise<PivotResult> {
    return runPivot(this.root, args);
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

  /** `pivot status --json ARGS` parsed. */
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

  /** The project's state store, `.pivot/state` (opened once; closed on dispose). */
  async state(): Promise<StateStore> {
    return this.#state ??= await StateStore.open(this.path(".pivot", "state"));
  }

  /** Close the state store (the next {@linkcode state} call opens it again). */
  async closeState(): Promise<void> {
    await this.#state?.close();
    this.#state = undefined;
  }

  /** Close the state store without flushing, and remove the project. */
  override async dispose(): Promise<void> {
    this.#state?.kv.close();
    this.#state = undefined;
    await super.dispose();
  }
}

/** `deno.json` for a test project: `jsr:@pivot/core` is this checkout's `mod.ts`. */
export function denoJson(imports: Record<string, string>): string {
  return JSON.stringify(
    { imports: { "jsr:@pivot/core": pathToFileURL(join(REPO, "mod.ts")).href, ...imports } },
    null,
    2,
  ) + "\n";
}

/** A file `pivot init` wrote (or Deno, for the `init` process: its lock file), relative to the root. */
interface InitFile {
  readonly rel: string;
  readonly bytes: Uint8Array;
  readonly mode: number;
}

/**
 * What `pivot init` writes in a new project, by the project's `deno.json`
 * text and parent folder: `init` run once per test file (the real CLI, in a
 * project of only that `deno.json`), then its files copied into each project
 * made alike, instead of one `init` process a project (~0.3 CPU-s each, and
 * a third of a short e2e test's processes). Exact because `init` writes only
 * `.pivot/.gitignore` and `.pivot/config.yaml` of fixed text, and Deno the
 * `deno.lock` that the `deno.json` and this checkout decide; nothing outside
 * the project. `tests/e2e/commands_test.ts` checks that a copy is what
 * `init` makes; a project whose files could change what `init` writes
 * ({@link changesInit}) still runs it.
 */
const initOutputs = new Map<string, Promise<readonly InitFile[]>>();

function initOutput(config: string, parent: string | undefined): Promise<readonly InitFile[]> {
  const key = `${parent ?? ""}\n${config}`;
  let made = initOutputs.get(key);
  if (!made) {
    made = (async () => {
      await using template = new TempDir(
        await Deno.realPath(await Deno.makeTempDir({ prefix: "pivot_project_", dir: parent })),
      );
      await template.write("deno.json", config);
      const init = await runPivot(template.root, ["init"]);
      if (init.code !== 0) throw new Error(`pivot init failed: ${init.stderr}`);
      const files: InitFile[] = [];
      const walk = async (rel: string) => {
        for await (const entry of Deno.readDir(template.path(rel))) {
          const path = rel === "" ? entry.name : `${rel}/${entry.name}`;
          if (entry.isDirectory) await walk(path);
          else if (path !== "deno.json") {
            const mode = (await Deno.stat(template.path(path))).mode! & 0o7777;
            files.push({ rel: path, bytes: await Deno.readFile(template.path(path)), mode });
          }
        }
      };
      await walk("");
      return files.sort((a, b) => a.rel < b.rel ? -1 : 1);
    })();
    initOutputs.set(key, made);
    // A failed or killed `init` (its test out of time) is not kept for the next project.
    made.catch(() => initOutputs.delete(key));
  }
  return made;
}

/** Whether a project's file could change what `pivot init` writes (then `init` runs in it). */
function changesInit(rel: string): boolean {
  const path = rel.replace(/^\.\//, "");
  return /^(deno\.jsonc?|deno\.lock|package\.json|\.npmrc)$/.test(path) ||
    /^(\.pivot|node_modules)(\/|$)/.test(path);
}

/** Write `init`'s files into `project`, as `init` would (none is there: {@link changesInit}). */
async function placeInit(project: TempProject, files: readonly InitFile[]): Promise<void> {
  for (const { rel, bytes, mode } of files) {
    await Deno.mkdir(dirname(project.path(rel)), { recursive: true });
    await Deno.writeFile(project.path(rel), bytes, { createNew: true });
    await Deno.chmod(project.path(rel), mode);
  }
}

/** Run the real CLI in `cwd`, with `env` added to the environment. */
export async function runPivot(
  cwd: string,
  args: readonly string[],
  env: Record<string, string> = {},
): Promise<PivotResult> {
  const result = await output(Deno.execPath(), {
    args: ["run", "-A", CLI, ...args],
    cwd,
    env: { NO_COLOR: "1", ...env },
  });
  const decoder = new TextDecoder();
  return {
    code: result.code,
    stdout: decoder.decode(result.stdout),
    stderr: decoder.decode(result.stderr),
  };
}

/** Start the real CLI in `cwd` without waiting, with piped output. */
export function spawnPivot(cwd: string, args: readonly string[]): Deno.ChildProcess {
  return spawn(Deno.execPath(), {
    args: ["run", "-A", CLI, ...args],
    cwd,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  });
}

/** A state store in `dir/state`, closed when disposed. */
export async function openState(dir: string): Promise<StateStore & AsyncDisposable> {
  const state = await StateStore.open(join(dir, "state"));
  return Object.assign(state, { [Symbol.asyncDispose]: () => state.close() });
}

/** Every entry name under `dir`, recursively, as sorted relative POSIX paths. */
export async function listTree(dir: string): Promise<string[]> {
  const names: string[] = [];
  async function walk(sub: string): Promise<void> {
    for await (const entry of Deno.readDir(sub === "" ? dir : join(dir, sub))) {
      const rel = sub === "" ? entry.name : `${sub}/${entry.name}`;
      names.push(rel);
      if (entry.isDirectory) await walk(rel);
    }
  }
  await walk("");
  return names.sort();
}

/**
 * Date every file of `project` outside `.pivot/state` `seconds` back, so that
 * stamps are outside the racy window and shortcuts keyed by stamps (the
 * verified index, the load cache) may trust them.
 */
export function age(project: TempProject, seconds = 60): void {
  const then = new Date(Date.now() - seconds * 1000);
  const walk = (dir: string) => {
    for (const entry of Deno.readDirSync(dir)) {
      const path = join(dir, entry.name);
      if (entry.isDirectory && path !== project.path(".pivot", "state")) walk(path);
      else if (entry.isFile) Deno.utimeSync(path, then, then);
    }
  };
  walk(project.root);
}

/**
 * Remove `project`'s record of its last verified no-op (lib/cli/noop_record.ts),
 * so that the next no-op takes the way a test looks at (the load cache, the
 * verified index) rather than being answered from the record.
 */
export async function forgetNoopRecord(project: TempProject): Promise<void> {
  await Deno.remove(project.path(".pivot", "state", NOOP_RECORD_FILE)).catch(() => {});
}

/**
 * Write `content` over the file `path` in place (a cache object through a
 * hard link, say), as a write after the clock tick of whatever recorded its
 * stamp: within that tick a same-size write keeps the inode and may keep
 * the mtime, so the stamp would not move (docs/testing.md, "Tests that
 * depend on the clock's tick"). Makes it writable first; sets the mtime 2 s
 * on.
 */
export async function writeInPlaceLater(path: string, content: string | Uint8Array): Promise<void> {
  await Deno.chmod(path, 0o644);
  if (typeof content === "string") await Deno.writeTextFile(path, content);
  else await Deno.writeFile(path, content);
  const later = (await Deno.stat(path)).mtime!.getTime() / 1000 + 2;
  await Deno.utime(path, later, later);
}

/**
 * Source text, for a pipeline a test writes, of
 * `waitForFile(path, ms = 60_000): Promise<boolean>`: polls every 20 ms
 * until the file `path` (relative to the project) exists, true then, false
 * once `ms` have passed. Its stage must be allowed to read `path` (or its
 * folder: `permissions: { read: [...] }`). For a stage that waits on the
 * test, or on another stage, instead of sleeping for a guessed time.
 */
export const WAIT_FOR_FILE =
  `async function waitForFile(path: string, ms = 60_000): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end;) {
    try {
      Deno.statSync(path);
      return true;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
  return false;
}`;
