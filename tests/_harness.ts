/**
 * `test()`: `Deno.test` with a time limit, and the child processes a test
 * owns.
 *
 * Deno's test runner has no per-test timeout: a test waiting on a hung child
 * process would hang the whole suite. Every test here is registered with
 * {@linkcode test}, which gives it (and each of its steps) a time limit. A
 * test that exceeds it fails with a message naming it, its signal
 * ({@linkcode testSignal}) is aborted, and every child process it started
 * through {@linkcode spawn} or {@linkcode output} is killed with all of its
 * descendants, so nothing is left running and the suite goes on.
 *
 * A test that ends (passing) with one of its child processes still running
 * fails too, after the process is killed.
 *
 * Limits: a synchronous endless loop in the test's own code blocks the event
 * loop, so no timer can fire; only code waiting on promises (child processes,
 * I/O, timers) is caught.
 *
 * @module
 */

import { AsyncLocalStorage } from "node:async_hooks";

/**
 * Each test's and each step's time limit unless it says otherwise, in
 * milliseconds. `PIVOT_TEST_TIME_LIMIT` (seconds) overrides it, for a slow
 * machine. A hang, not a slow run, is what it is for: keep it generous.
 */
export const DEFAULT_TIME_LIMIT: number = timeLimitFromEnv() ?? 120_000;

function timeLimitFromEnv(): number | undefined {
  const text = Deno.env.get("PIVOT_TEST_TIME_LIMIT");
  if (text === undefined) return undefined;
  const seconds = Number(text);
  if (!(seconds > 0)) {
    throw new Error(`PIVOT_TEST_TIME_LIMIT must be a number of seconds, got '${text}'`);
  }
  return seconds * 1000;
}

/** Options of {@linkcode test}. */
export interface TestOptions {
  /** This test's time limit in milliseconds (default {@linkcode DEFAULT_TIME_LIMIT}). */
  timeLimit?: number;
  /** Skip the test. */
  ignore?: boolean;
  /** Run only this test (and other `only` tests); fails the run, as in `Deno.test`. */
  only?: boolean;
}

/** The context a test function receives: `Deno.TestContext`, with time-limited steps. */
export interface TestContext {
  /** The test's (or step's) name. */
  readonly name: string;
  /** Aborted when the test runs out of time; pass it to waits that should stop then. */
  readonly signal: AbortSignal;
  /**
   * Run a step, as `Deno.TestContext.step` does, with its own time limit
   * (the test's clock stops meanwhile).
   */
  step(name: string, fn: TestFn): Promise<boolean>;
  /** Run a step with options. */
  step(name: string, options: Pick<TestOptions, "timeLimit">, fn: TestFn): Promise<boolean>;
}

/** A test (or step) body. */
export type TestFn = (t: TestContext) => void | Promise<void>;

/**
 * Register a test: `Deno.test` with a time limit. Use it instead of
 * `Deno.test` in every test file.
 *
 * @example
 * ```ts ignore
 * test("repro runs every stage once", async () => {
 *   await using p = await TempProject.create({ "pipeline.ts": PIPELINE });
 *   assertEquals((await p.pivot("repro")).code, 0);
 * });
 * test("a long one", { timeLimit: 300_000 }, async (t) => { … });
 * ```
 */
export function test(name: string, fn: TestFn): void;
export function test(name: string, options: TestOptions, fn: TestFn): void;
export function test(name: string, a: TestOptions | TestFn, b?: TestFn): void {
  const options = typeof a === "function" ? {} : a;
  const fn = typeof a === "function" ? a : b!;
  Deno.test({
    name,
    ignore: options.ignore ?? false,
    only: options.only ?? false,
    fn: (t) => runLimited(t, undefined, fn, options.timeLimit ?? DEFAULT_TIME_LIMIT),
  });
}

/**
 * Run `fn` once before the first test of the file (`Deno.test.beforeAll`;
 * no time limit: keep it to set-up that cannot hang).
 */
export function beforeAll(fn: () => void | Promise<void>): void {
  Deno.test.beforeAll(fn);
}

/** Run `fn` once after the last test of the file (`Deno.test.afterAll`), to release what a file shares. */
export function afterAll(fn: () => void | Promise<void>): void {
  Deno.test.afterAll(fn);
}

/** The signal of the test running the caller (never aborted outside a test). */
export function testSignal(): AbortSignal {
  return current.getStore()?.controller.signal ?? new AbortController().signal;
}

/**
 * Start a child process owned by the current test: it is killed, with its
 * descendants, when the test runs out of time (and when the test ends with
 * it still running).
 */
export function spawn(command: string | URL, options: Deno.CommandOptions): Deno.ChildProcess {
  const run = current.getStore();
  if (run?.controller.signal.aborted) {
    throw new Error(`${run.name}: no new processes after the test ran out of time`);
  }
  const child = new Deno.Command(command, withOwnUserCache(options)).spawn();
  run?.own(child, `${command} ${(options.args ?? []).join(" ")}`);
  return child;
}

/**
 * `options` with the environment a child gets unless the test sets it: a
 * user cache folder of this test file's own (`XDG_CACHE_HOME`), so that
 * Pivot's user-global analysis cache (docs/fingerprinting.md) is shared
 * neither with other test files nor with the user's `~/.cache`, and a test
 * that counts parses sees only its own file's; and `DENO_DIR` where it is
 * for this process (Deno's own cache follows `XDG_CACHE_HOME` too: an empty
 * one would download every npm package again). A test that clears the
 * environment gets nothing added.
 */
function withOwnUserCache(options: Deno.CommandOptions): Deno.CommandOptions {
  if (options.clearEnv) return options;
  const env = { ...options.env };
  env.DENO_DIR ??= DENO_DIR;
  env.XDG_CACHE_HOME ??= fileCacheFolder ??= Deno.makeTempDirSync({ prefix: "pivot_test_xdg_" });
  return { ...options, env };
}

/**
 * Where Deno keeps its cache for this process (`DENO_DIR`, else its default
 * by platform), read when this module loads.
 */
const DENO_DIR: string = Deno.env.get("DENO_DIR") || (() => {
  const home = Deno.env.get("HOME") ?? "";
  if (Deno.build.os === "darwin") return `${home}/Library/Caches/deno`;
  if (Deno.build.os === "windows") return `${Deno.env.get("LOCALAPPDATA")}\\deno`;
  return `${Deno.env.get("XDG_CACHE_HOME") || `${home}/.cache`}/deno`;
})();

/** This test file's user cache folder, made on first use (each test file runs in an isolate of its own). */
let fileCacheFolder: string | undefined;
// Registered before the file's tests start (hooks cannot be added later).
Deno.test.afterAll(() => {
  if (fileCacheFolder) Deno.removeSync(fileCacheFolder, { recursive: true });
});

/**
 * Run a child process owned by the current test to its end and collect its
 * output (`stdout` and `stderr` are piped unless `options` says otherwise),
 * as `new Deno.Command(command, options).output()` does.
 */
export function output(
  command: string | URL,
  options: Deno.CommandOptions = {},
): Promise<Deno.CommandOutput> {
  return spawn(command, { stdout: "piped", stderr: "piped", ...options }).output();
}

type StepOptions = Pick<TestOptions, "timeLimit">;

const current = new AsyncLocalStorage<Run>();

/** One running test or step: its clock, its signal and its child processes. */
class Run {
  readonly controller = new AbortController();
  readonly #children = new Map<Deno.ChildProcess, { what: string; running: boolean }>();
  readonly #parent: Run | undefined;

  constructor(readonly name: string, parent: Run | undefined) {
    this.#parent = parent;
  }

  own(child: Deno.ChildProcess, what: string): void {
    const entry = { what, running: true };
    this.#children.set(child, entry);
    child.status.finally(() => entry.running = false).catch(() => {});
    this.#parent?.own(child, what);
  }

  /** What is still running, after killing it. */
  async killChildren(): Promise<string[]> {
    const running = [...this.#children].filter(([, entry]) => entry.running);
    await killTrees(running.map(([child]) => child.pid));
    await Promise.all(running.map(([child]) => child.status.catch(() => {})));
    return running.map(([, entry]) => entry.what);
  }
}

/** A stoppable countdown: a step's time does not count against its test. */
class Clock {
  #left: number;
  #since = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #expire: () => void = () => {};
  /** Resolves when the time is up. */
  readonly expired: Promise<void>;

  constructor(ms: number) {
    this.#left = ms;
    this.expired = new Promise((resolve) => this.#expire = resolve);
  }

  start(): void {
    this.#since = performance.now();
    this.#timer = setTimeout(this.#expire, Math.max(0, this.#left));
  }

  stop(): void {
    clearTimeout(this.#timer);
    this.#left -= performance.now() - this.#since;
  }
}

async function runLimited(
  t: Deno.TestContext,
  parent: { run: Run; clock: Clock } | undefined,
  fn: TestFn,
  limit: number,
): Promise<void> {
  const run = new Run(parent ? `${parent.run.name} > ${t.name}` : t.name, parent?.run);
  const clock = new Clock(limit);
  const context: TestContext = {
    name: t.name,
    signal: run.controller.signal,
    step: async (name: string, a: StepOptions | TestFn, b?: TestFn) => {
      const options = typeof a === "function" ? {} : a;
      const body = typeof a === "function" ? a : b!;
      clock.stop();
      try {
        return await t.step(
          name,
          (inner) =>
            runLimited(inner, { run, clock }, body, options.timeLimit ?? DEFAULT_TIME_LIMIT),
        );
      } finally {
        clock.start();
      }
    },
  };
  clock.start();
  const body = current.run(run, () => Promise.resolve().then(() => fn(context)));
  const outcome = await Promise.race([
    body.then(() => "done" as const, (error) => ({ error })),
    clock.expired.then(() => "timeout" as const),
  ]);
  clock.stop();
  if (outcome === "timeout") {
    const seconds = Math.round(limit / 100) / 10;
    run.controller.abort(new Error(`${run.name}: out of time (${seconds} s)`));
    const killed = await run.killChildren();
    // Give the body a moment to unwind now that its processes are gone, so
    // that its pending operations end before the sanitizers look.
    await settleWithin(body, 2000);
    throw new Error(
      `test "${run.name}" did not finish within its time limit of ${seconds} s` +
        (killed.length > 0 ? `; killed its running processes: ${killed.join("; ")}` : ""),
    );
  }
  const leftover = await run.killChildren();
  if (outcome !== "done") throw outcome.error;
  if (leftover.length > 0) {
    throw new Error(`test "${run.name}" left processes running (killed): ${leftover.join("; ")}`);
  }
}

async function settleWithin(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([
    promise.catch(() => {}),
    new Promise((resolve) => timer = setTimeout(resolve, ms)),
  ]);
  clearTimeout(timer);
}

/**
 * SIGKILL each of `pids` with all its descendants. The trees are first
 * frozen (SIGSTOP) until no new process appears, so none can start another
 * out of reach; killing the root first would orphan its children instead.
 * Descendants are found through /proc (Linux); elsewhere only the roots die.
 */
async function killTrees(pids: readonly number[]): Promise<void> {
  if (pids.length === 0) return;
  const stopped = new Set<number>();
  for (let round = 0; round < 20; round++) {
    const tree = await descendantsAndSelf(pids);
    const fresh = tree.filter((pid) => !stopped.has(pid));
    if (fresh.length === 0) break;
    for (const pid of fresh) {
      signal(pid, "SIGSTOP");
      stopped.add(pid);
    }
  }
  for (const pid of [...pids, ...stopped]) signal(pid, "SIGKILL");
}

function signal(pid: number, sig: Deno.Signal): void {
  try {
    Deno.kill(pid, sig);
  } catch {
    // Already gone.
  }
}

async function descendantsAndSelf(roots: readonly number[]): Promise<number[]> {
  if (Deno.build.os !== "linux") return [...roots];
  const children = new Map<number, number[]>();
  for await (const entry of Deno.readDir("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    let stat: string;
    try {
      stat = await Deno.readTextFile(`/proc/${entry.name}/stat`);
    } catch {
      continue; // exited meanwhile
    }
    // "pid (comm) state ppid …"; comm may hold spaces and parentheses.
    const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
    const list = children.get(ppid) ?? [];
    list.push(Number(entry.name));
    children.set(ppid, list);
  }
  const found: number[] = [];
  const queue = [...roots];
  while (queue.length > 0) {
    const pid = queue.shift()!;
    if (found.includes(pid)) continue;
    found.push(pid);
    queue.push(...(children.get(pid) ?? []));
  }
  return found;
}
