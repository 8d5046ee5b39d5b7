/** The worker pool with real workers running stages of a real project. */

import type { RunRequest, StagedArtifact } from "../../lib/worker/protocol.ts";
import { type CodeAccess, type StageWorker, WorkerPool } from "../../lib/worker/pool.ts";
import { ownCodePaths } from "../../lib/own_code.ts";
import { linkDeps, prepareOuts } from "../../lib/worker/staging.ts";
import { assert, assertEquals, assertMatch } from "../_assert.ts";
import { test } from "../_harness.ts";
import { engineProject } from "../engine/_engine.ts";

const FILES = {
  "pivot.yaml": `stages:
  crash:
    run: stages.ts#crash
    outs: { out: crash.txt }
  greet:
    run: stages.ts#greet
    deps: { name: name.txt }
    outs: { out: greeting.txt }
  ticking:
    run: stages.ts#ticking
    outs: { out: ticking.txt }
  patching:
    run: stages.ts#patching
    outs: { out: patching.txt }
  exiting:
    run: stages.ts#exiting
    outs: { out: exiting.txt }
  leaky:
    run: stages.ts#leaky
    outs: { out: leaky.txt }
  stray:
    run: stages.ts#stray
    outs: { out: stray.txt }
  tamper:
    run: stages.ts#tamper
    deps: { name: name.txt }
    outs: { out: tamper.json }
`,
  "stages.ts": `
export function crash() {
  setTimeout(() => { throw new Error("worker down"); }, 0);
  return new Promise(() => {});
}
export function greet({ name }) { return { out: "hello " + name }; }
export function ticking() {
  setInterval(() => {}, 60_000);
  return { out: "tick" };
}
export function patching() {
  JSON.parse = () => "patched";
  return { out: "patched" };
}
export function exiting() { Deno.exit(7); }
export function tamper(_deps, ctx) {
  // Where each write went: "written", or the error's name.
  const tries = {};
  for (const [what, path] of Object.entries(ctx.params.targets)) {
    try {
      Deno.writeTextFileSync(path, "tampered");
      tries[what] = "written";
    } catch (error) {
      tries[what] = error.name;
    }
  }
  return { out: tries };
}
export function leaky() {
  setTimeout(() => { throw new Error("too late"); }, 50);
  return { out: "ended" };
}
export function stray(_deps, ctx) {
  // Work no timer or open resource shows: a chain of operations. It fails
  // once the run's directories have moved on, which happens only after the
  // run has ended and the worker was released from its gate.
  (async () => {
    while (await Deno.stat(ctx.tmpDir).then(() => true, () => false)) { /* still this run's */ }
    throw new Error("thrown after the stage ended");
  })();
  return { out: "ended" };
}
`,
  "name.txt": "pool",
};

type Project = Awaited<ReturnType<typeof engineProject>>;

/**
 * Run stage `name` in `worker` as the engine would (with `params`, if
 * given); resolves with the outcome and leftovers.
 */
async function runIn(
  project: Project,
  worker: StageWorker,
  name: string,
  params?: (deps: readonly StagedArtifact[]) => Record<string, unknown>,
) {
  const stage = project.stage(name);
  const dirs = worker.staging.current;
  const deps = linkDeps(stage, dirs.deps);
  const request: Omit<RunRequest, "type" | "id"> = {
    stage: stage.name,
    pipeline: stage.pipeline.name,
    code: stage.code,
    deps,
    outs: await prepareOuts(stage, dirs.outs, () => []),
    params: params ? params(deps) : stage.params,
    variant: stage.variant,
    tmpDir: dirs.tmp,
  };
  const outcome = await worker.run(request, () => {}, undefined, 500);
  const leftovers = await worker.leftovers();
  return { outcome, leftovers, links: deps.map((d) => d.path) };
}

test("an error escaping a stage's timer fails the run, and the worker is replaced", async () => {
  await using project = await engineProject(FILES);
  const { pool } = project;
  const first = await pool.acquire(project.stage("crash").permissions);
  const { outcome } = await runIn(project, first, "crash");
  assert(outcome.status === "failed", "the run failed");
  assertEquals([outcome.phase, outcome.uncaught], ["run", "error"]);
  assertEquals(outcome.error.message, "worker down");
  assert(!first.reusable, "its worker runs no other stage");
  pool.release(first, { links: [], clean: false, more: false });
  assert(!first.alive, "and is stopped");
  const second = await pool.acquire(project.stage("greet").permissions);
  assert(second !== first && second.alive, "a new worker replaces it");
  const dirs = second.staging.current;
  assertEquals((await runIn(project, second, "greet")).outcome.status, "done");
  assertEquals(await Deno.readTextFile(`${dirs.outs}/greeting.txt`), "hello pool");
});

test("a worker whose run left nothing is reused, in new run directories", async () => {
  await using project = await engineProject(FILES);
  const { pool } = project;
  const permissions = project.stage("greet").permissions;
  const worker = await pool.acquire(permissions);
  const first = worker.staging.current;
  const { outcome, leftovers, links } = await runIn(project, worker, "greet");
  assertEquals([outcome.status, leftovers], ["done", []]);
  assert(worker.reusable, "nothing was left behind");
  pool.release(worker, { links, clean: false, more: true });
  assert(await pool.acquire(permissions) === worker, "the warm worker is reused");
  assert(worker.staging.current.outs !== first.outs, "its next run writes elsewhere");
  assertEquals((await runIn(project, worker, "greet")).outcome.status, "done");
});

test("a stage writes only in its run's directories: not through its deps' links, nor beside them", async () => {
  await using project = await engineProject(FILES);
  const { pool } = project;
  const worker = await pool.acquire(project.stage("tamper").permissions);
  const dirs = worker.staging.current;
  const { outcome } = await runIn(project, worker, "tamper", (deps) => ({
    targets: {
      link: deps[0].path,
      links: `${dirs.deps}/added.txt`,
      workspace: project.dir.path("name.txt"),
      tmp: `${dirs.tmp}/scratch.txt`,
    },
  }));
  assertEquals(outcome.status, "done");
  assertEquals(JSON.parse(await Deno.readTextFile(`${dirs.outs}/tamper.json`)), {
    link: "NotCapable",
    links: "NotCapable",
    workspace: "NotCapable",
    tmp: "written",
  });
  assertEquals(await project.dir.read("name.txt"), "pool", "the dep is as it was");
  assert(
    !dirs.deps.startsWith(worker.staging.root + "/"),
    "the links are outside the writable folder",
  );
});

test("a run that leaves a timer or changes a built-in retires its worker", async () => {
  await using project = await engineProject(FILES);
  const { pool } = project;
  for (
    const [stage, left] of [["ticking", /1 timer/], ["patching", /changed JSON\.parse/]] as const
  ) {
    const worker = await pool.acquire(project.stage(stage).permissions);
    const { outcome, leftovers, links } = await runIn(project, worker, stage);
    assertEquals(outcome.status, "done");
    assertEquals(leftovers.length, 1, leftovers.join("; "));
    assertMatch(leftovers[0], left);
    assert(!worker.reusable, `${stage}: its worker runs no other stage`);
    pool.release(worker, { links, clean: true, more: true });
    const next = await pool.acquire(project.stage("greet").permissions);
    assert(next !== worker, `${stage}: the next stage gets another worker`);
    assertEquals((await runIn(project, next, "greet")).outcome.status, "done");
    pool.release(next, { links: [], clean: false, more: false });
  }
});

test("a retired worker is replaced ahead of need, with the same modules loaded", async () => {
  await using project = await engineProject(FILES);
  const { pool } = project;
  const worker = await pool.acquire(project.stage("ticking").permissions);
  const { links } = await runIn(project, worker, "ticking");
  pool.release(worker, { links, clean: true, more: true });
  const spare = await pool.acquire(project.stage("greet").permissions);
  assert(spare !== worker, "a new worker");
  assertEquals([...spare.modules], [...worker.modules]);
});

test("a stage that calls Deno.exit fails with the exit code and its worker is stopped", async () => {
  await using project = await engineProject(FILES);
  const { pool } = project;
  const worker = await pool.acquire(project.stage("exiting").permissions);
  const { outcome } = await runIn(project, worker, "exiting");
  assert(outcome.status === "failed", "the run failed");
  assertEquals([outcome.phase, outcome.exitCode, outcome.error.message], [
    "exit",
    7,
    "Deno.exit(7)",
  ]);
  pool.release(worker, { links: [], clean: false, more: false });
  assert(!worker.alive, "the worker is stopped");
});

test("a worker whose stage left a timer is stopped before the timer fires", async () => {
  await using project = await engineProject(FILES);
  const { pool } = project;
  const worker = await pool.acquire(project.stage("leaky").permissions);
  const { outcome, leftovers, links } = await runIn(project, worker, "leaky");
  assertEquals([outcome.status, leftovers.length], ["done", 1]);
  pool.release(worker, { links, clean: true, more: false });
  assert(!worker.alive, "the worker is stopped");
  await new Promise((resolve) => setTimeout(resolve, 100));
  assertEquals(pool.takeWarnings(), [], "its timer never ran");
});

test("an error from work a stage left unseen is a warning, and retires the worker", async () => {
  await using project = await engineProject(FILES);
  const { pool } = project;
  const worker = await pool.acquire(project.stage("stray").permissions);
  const { outcome, leftovers, links } = await runIn(project, worker, "stray");
  assertEquals([outcome.status, leftovers], ["done", []]);
  pool.release(worker, { links, clean: true, more: false });
  let warnings: string[] = [];
  for (let waited = 0; warnings.length === 0 && waited < 10_000; waited += 20) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    warnings = pool.takeWarnings();
  }
  assertEquals(warnings.length, 1);
  assertMatch(
    warnings[0],
    /^stage 'stray' left work running after it finished, and it threw Error: thrown after the stage ended; its worker was replaced$/,
  );
  assert(!worker.alive && !worker.reusable, "the worker is stopped");
  const next = await pool.acquire(project.stage("greet").permissions);
  assert(next !== worker, "the next stage gets another worker");
});

/** A pool over `project`'s staging folder `name`, whose workers may read `code`. */
function poolOf(project: Project, name: string, code: CodeAccess): WorkerPool {
  return new WorkerPool({
    stagingRoot: project.dir.path(`.pivot/tmp/${name}`),
    codeAccess: () => Promise.resolve(code),
    graceMs: 500,
  });
}

test("a pool warmed like another runs in the worker made ahead, importing the code as it is then", async () => {
  await using project = await engineProject(FILES);
  const code = { read: [project.dir.root, ...ownCodePaths()], importHosts: [] };
  const before = poolOf(project, "before", code);
  const next = poolOf(project, "next", code);
  try {
    const permissions = project.stage("greet").permissions;
    next.warmLike(before);
    assertEquals(next.started, 0, "a pool that made no worker gives nothing to warm");
    const old = await before.acquire(permissions);
    assertEquals((await runIn(project, old, "greet")).outcome.status, "done");
    next.warmLike(before);
    next.warmLike(before);
    assertEquals(next.started, 1, "one worker made ahead, once");
    // The code changes after the worker was made, before it runs anything.
    await project.dir.write(
      "stages.ts",
      FILES["stages.ts"].replace(`"hello " + name`, `"hi " + name`),
    );
    const worker = await next.acquire(permissions);
    assertEquals(next.started, 1, "the worker made ahead is used");
    const dirs = worker.staging.current;
    assertEquals((await runIn(project, worker, "greet")).outcome.status, "done");
    assertEquals(await Deno.readTextFile(`${dirs.outs}/greeting.txt`), "hi pool");
  } finally {
    await before.close();
    await next.close();
  }
});

test("a worker made ahead is not used when the code's access differs: a new one is made", async () => {
  await using project = await engineProject(FILES);
  const code = { read: [project.dir.root, ...ownCodePaths()], importHosts: [] };
  const before = poolOf(project, "before", code);
  // The new version of the code reads one more path (a module added, say).
  const more = { ...code, read: [...code.read, project.dir.path("lib")] };
  const next = poolOf(project, "next", more);
  try {
    const permissions = project.stage("greet").permissions;
    assertEquals(
      (await runIn(project, await before.acquire(permissions), "greet")).outcome.status,
      "done",
    );
    next.warmLike(before);
    assertEquals(next.started, 1);
    const worker = await next.acquire(permissions);
    assertEquals(next.started, 2, "a worker with the new permissions");
    assertEquals((await runIn(project, worker, "greet")).outcome.status, "done");
  } finally {
    await before.close();
    await next.close();
  }
});

test("a worker started early, its module imported ahead, runs the first stage when the code access is the one expected", async () => {
  await using project = await engineProject(FILES);
  const code = { read: [project.dir.root, ...ownCodePaths()], importHosts: [] };
  const pool = poolOf(project, "early", code);
  try {
    const stage = project.stage("greet");
    assert(stage.code.kind !== "command");
    pool.startEarly(code, stage.permissions, [stage.code.moduleUrl]);
    pool.startEarly(code, stage.permissions, [stage.code.moduleUrl]);
    assertEquals(pool.started, 1, "one worker started early, once");
    const worker = await pool.acquire(stage.permissions);
    assertEquals(pool.started, 1, "the worker started early is used");
    const dirs = worker.staging.current;
    assertEquals((await runIn(project, worker, "greet")).outcome.status, "done");
    assertEquals(await Deno.readTextFile(`${dirs.outs}/greeting.txt`), "hello pool");
  } finally {
    await pool.close();
  }
});

test("a worker started early is not used when the code access computed later differs", async () => {
  await using project = await engineProject(FILES);
  const code = { read: [project.dir.root, ...ownCodePaths()], importHosts: [] };
  const pool = poolOf(project, "early", code);
  try {
    const stage = project.stage("greet");
    // Expected one path fewer than the code access turns out to be.
    pool.startEarly({ ...code, read: code.read.slice(1) }, stage.permissions, []);
    assertEquals(pool.started, 1);
    const worker = await pool.acquire(stage.permissions);
    assertEquals(pool.started, 2, "a worker with the code access computed");
    assertEquals((await runIn(project, worker, "greet")).outcome.status, "done");
  } finally {
    await pool.close();
  }
});

test("no worker is started early once the pool has made one", async () => {
  await using project = await engineProject(FILES);
  const code = { read: [project.dir.root, ...ownCodePaths()], importHosts: [] };
  const pool = poolOf(project, "early", code);
  try {
    const stage = project.stage("greet");
    await pool.acquire(stage.permissions);
    pool.startEarly(code, stage.permissions, []);
    assertEquals(pool.started, 1);
  } finally {
    await pool.close();
  }
});
