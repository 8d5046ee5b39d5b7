/**
 * What a signal to `pivot repro` does, end to end: the exit code follows the
 * signal as a Unix tool's does (130 on SIGINT, 143 on SIGTERM), and a command
 * stage's processes never outlive Pivot, whichever of its processes is
 * killed, even with SIGKILL (lib/worker/group_guard.ts).
 */

import { assert, assertEquals, assertMatch } from "../_assert.ts";
import { test } from "../_harness.ts";
import { spawnPivot, TempProject } from "../_project.ts";
import { childrenOf, killAll, Running, running, waitFor } from "./_kill.ts";

/** A command stage that records its shell's pid and a background child's, then waits. */
const SLOW_COMMAND = `stages:
  slow:
    cmd: echo $$ > pids && (sleep 120 & echo $! >> pids; wait) && touch done.txt
    outs: [done.txt]
`;

/**
 * `launcher`: a `deno.json` in the project, so `pivot` runs the pipeline in a
 * child process; otherwise it runs in the process started.
 */
async function commandProject(launcher: boolean): Promise<TempProject> {
  const project = await TempProject.create(
    { "pivot.yaml": SLOW_COMMAND },
    launcher ? {} : { imports: null },
  );
  return project;
}

/** Start `pivot repro` and wait until the command and its background child run. */
async function startSlow(p: TempProject): Promise<{ run: Running; pids: number[] }> {
  const run = new Running(spawnPivot(p.root, ["repro"]));
  await waitFor(
    async () => (await p.read("pids").catch(() => "")).trim().split("\n").length >= 2,
    "the command to start",
    60_000,
    () => `stdout: ${run.stdout}\nstderr: ${run.stderr}`,
  );
  const pids = (await p.read("pids")).trim().split("\n").map(Number);
  assert(pids.every(running), "the command runs");
  return { run, pids };
}

async function assertStopped(pids: readonly number[]): Promise<void> {
  await waitFor(() => !pids.some(running), `the command's processes ${pids.join(", ")} to stop`);
}

/** The `deno` child the launcher runs the pipeline in. */
function pipelineChild(launcher: number): number {
  const deno = childrenOf(launcher).filter((pid) =>
    Deno.readTextFileSync(`/proc/${pid}/cmdline`).includes("cli.ts")
  );
  assertEquals(deno.length, 1, "pivot runs its pipeline in one child process");
  return deno[0];
}

test("SIGKILL of a one-process pivot stops its command and what the command started", async () => {
  await using p = await commandProject(false);
  const { run, pids } = await startSlow(p);
  assertEquals(
    childrenOf(run.pid).filter((pid) =>
      Deno.readTextFileSync(`/proc/${pid}/cmdline`).includes("cli.ts")
    ),
    [],
    "no child pivot process: the pipeline runs in the process started",
  );
  Deno.kill(run.pid, "SIGKILL");
  assertEquals((await run.status).signal, "SIGKILL");
  await assertStopped(pids);
  assert(!(await p.exists(".pivot/stages/slow.lock")), "a killed run records nothing");
});

test("SIGKILL of the launcher: its child cancels and stops the command", async () => {
  await using p = await commandProject(true);
  const { run, pids } = await startSlow(p);
  const child = pipelineChild(run.pid);
  Deno.kill(run.pid, "SIGKILL");
  await run.status;
  await assertStopped([child, ...pids]);
  assert(!(await p.exists(".pivot/stages/slow.lock")), "a cancelled run records nothing");
});

test("SIGKILL of the launcher's child stops the command; the launcher exits 137", async () => {
  await using p = await commandProject(true);
  const { run, pids } = await startSlow(p);
  Deno.kill(pipelineChild(run.pid), "SIGKILL");
  assertEquals((await run.status).code, 137);
  await assertStopped(pids);
});

test("SIGKILL of every pivot process at once stops the command", async () => {
  await using p = await commandProject(true);
  const { run, pids } = await startSlow(p);
  killAll([run.pid, pipelineChild(run.pid)]);
  await run.status;
  await assertStopped(pids);
});

for (const launcher of [false, true]) {
  const how = launcher ? "with a launcher and a child" : "in one process";
  test(`SIGTERM cancels the run and exits 143 (${how})`, async () => {
    await using p = await commandProject(launcher);
    const { run, pids } = await startSlow(p);
    Deno.kill(run.pid, "SIGTERM");
    const status = await run.status;
    assertEquals(status.code, 143, run.stderr);
    assertMatch(run.stderr, /Terminated: cancelling running stages/);
    assertMatch(run.stdout, /cancelled\s+slow/);
    await assertStopped(pids);
  });

  test(`SIGINT cancels the run and exits 130 (${how})`, async () => {
    await using p = await commandProject(launcher);
    const { run, pids } = await startSlow(p);
    Deno.kill(run.pid, "SIGINT");
    assertEquals((await run.status).code, 130, run.stderr);
    assertMatch(run.stderr, /Interrupted: cancelling running stages/);
    await assertStopped(pids);
  });
}

test("behind its guard, a command's exit status is its own: a signal that kills it is named", async () => {
  await using p = await TempProject.create(
    {
      "pivot.yaml": `stages:
  killed:
    cmd: kill -s TERM $$
    outs: [never.txt]
`,
    },
    { imports: null },
  );
  const run = await p.events("repro");
  assertEquals(run.result.code, 1, run.result.stderr);
  assertEquals(
    run.events.find((e) => e.stage === "killed")?.error,
    "stage 'killed': command was killed by SIGTERM: kill -s TERM $$",
  );
});

test("a process a command leaves in the background runs on after pivot exits", async () => {
  await using p = await TempProject.create(
    {
      "pivot.yaml": `stages:
  daemon:
    cmd: (sleep 120 >/dev/null 2>&1 & echo $! > daemon.pid) && echo ok > out.txt
    outs: [out.txt]
`,
    },
    { imports: null },
  );
  const run = await p.pivot("repro");
  assertEquals(run.code, 0, run.stderr);
  const daemon = Number((await p.read("daemon.pid")).trim());
  try {
    // The guard lets it be once the command ended; give a wrong guard time to act.
    await p.pivot("status");
    assert(running(daemon), "the background process still runs");
  } finally {
    killAll([daemon]);
  }
});
