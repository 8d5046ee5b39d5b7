/** The worker pool with real workers running stages of a real project. */

import type { RunRequest } from "../../lib/worker/protocol.ts";
import type { StageWorker } from "../../lib/worker/pool.ts";
import { linkDeps, prepareOuts } from "../../lib/worker/staging.ts";
import { assert, assertEquals } from "../_assert.ts";
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
`,
  "stages.ts": `
export function crash() {
  setTimeout(() => { throw new Error("worker down"); }, 0);
  return new Promise(() => {});
}
export function greet({ name }) { return { out: "hello " + name }; }
`,
  "name.txt": "pool",
};

type Project = Awaited<ReturnType<typeof engineProject>>;

/** Run stage `name` in `worker` as the engine would; resolves with the outcome. */
async function runIn(project: Project, worker: StageWorker, name: string) {
  const stage = project.stage(name);
  const request: Omit<RunRequest, "type" | "id"> = {
    stage: stage.name,
    pipeline: stage.pipeline.name,
    code: stage.code,
    deps: linkDeps(stage, worker.dirs.deps),
    outs: await prepareOuts(stage, worker.dirs.outs, () => []),
    params: stage.params,
    variant: stage.variant,
    tmpDir: worker.dirs.tmp,
  };
  return await worker.run(request, () => {}, undefined, 500);
}

test("a crashed worker is dropped and replaced by a new one", async () => {
  await using project = await engineProject(FILES);
  const { pool } = project;
  const first = await pool.acquire(project.stage("crash").permissions);
  const crashed = await runIn(project, first, "crash");
  assertEquals([crashed.status, crashed.status === "failed" && crashed.phase], [
    "failed",
    "worker",
  ]);
  assert(!first.alive, "the crashed worker is gone");
  pool.release(first);
  const second = await pool.acquire(project.stage("greet").permissions);
  assert(second !== first && second.alive, "a new worker replaces it");
  assertEquals((await runIn(project, second, "greet")).status, "done");
  assertEquals(await Deno.readTextFile(`${second.dirs.outs}/greeting.txt`), "hello pool");
  pool.release(second);
});

test("a worker released after a run is reused by the next stage with its permissions", async () => {
  await using project = await engineProject(FILES);
  const { pool } = project;
  const permissions = project.stage("greet").permissions;
  const worker = await pool.acquire(permissions);
  assertEquals((await runIn(project, worker, "greet")).status, "done");
  worker.resetDirs([`${worker.dirs.deps}/name.txt`], false);
  pool.release(worker);
  assert(await pool.acquire(permissions) === worker, "the warm worker is reused");
  pool.release(worker);
});
