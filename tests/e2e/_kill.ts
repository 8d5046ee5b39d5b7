/**
 * Killing `pivot` the hard way, for tests of what a killed process leaves
 * behind: a `pivot` started through `spawnPivot` is a launcher with a child
 * `deno` that does the work (lib/cli/launcher.ts), so the child is found
 * through `/proc` and the two are killed as a crash, an OOM kill or a
 * container stop would.
 *
 * @module
 */

import { testSignal } from "../_harness.ts";

/** A running `pivot` whose output is collected as it comes. */
export class Running {
  stdout = "";
  stderr = "";
  readonly #child: Deno.ChildProcess;
  readonly #done: Promise<Deno.CommandStatus>;

  /** Collect `child`'s piped stdout and stderr. */
  constructor(child: Deno.ChildProcess) {
    this.#child = child;
    const read = async (stream: ReadableStream<Uint8Array>, into: "stdout" | "stderr") => {
      for await (const chunk of stream.pipeThrough(new TextDecoderStream())) this[into] += chunk;
    };
    const reading = Promise.all([read(child.stdout, "stdout"), read(child.stderr, "stderr")]);
    this.#done = reading.then(() => child.status);
  }

  /** The launcher's pid. */
  get pid(): number {
    return this.#child.pid;
  }

  /** Resolves with the launcher's exit status once its output has ended. */
  get status(): Promise<Deno.CommandStatus> {
    return this.#done;
  }

  /** Wait until `condition` holds, or fail after `ms` with what was printed. */
  async until(condition: (self: Running) => boolean, what: string, ms = 60_000): Promise<void> {
    await waitFor(
      () => condition(this),
      what,
      ms,
      () => `stdout: ${this.stdout}\nstderr: ${this.stderr}`,
    );
  }
}

/** Poll `condition` every 20 ms until it holds; fail after `ms` (or when the test runs out of time). */
export async function waitFor(
  condition: () => boolean | Promise<boolean>,
  what: string,
  ms = 60_000,
  detail: () => string = () => "",
): Promise<void> {
  const deadline = Date.now() + ms;
  const signal = testSignal();
  while (!(await condition())) {
    signal.throwIfAborted();
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${detail()}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** The direct children of `pid` (Linux). */
export function childrenOf(pid: number): number[] {
  try {
    const text = Deno.readTextFileSync(`/proc/${pid}/task/${pid}/children`);
    return text.trim().split(/\s+/).filter((s) => s !== "").map(Number);
  } catch {
    return [];
  }
}

/** `pid` and all its descendants, parents first. */
export function processTree(pid: number): number[] {
  const tree = [pid];
  for (let i = 0; i < tree.length; i++) tree.push(...childrenOf(tree[i]));
  return tree;
}

/** True while `pid` runs (a zombie does not count). */
export function running(pid: number): boolean {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return false;
  }
}

/** SIGKILL `pids` (already gone: fine). */
export function killAll(pids: readonly number[]): void {
  for (const pid of pids) {
    try {
      Deno.kill(pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
}
