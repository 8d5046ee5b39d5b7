/**
 * `decide` on a real project: lock files written by real runs, real file
 * hashes, a real cache and run cache.
 */

import { decide, lockUnchanged } from "../../lib/engine/decide.ts";
import { withStageLock } from "../../lib/engine/stage_lock.ts";
import { hashBytes } from "../../lib/storage/hash.ts";
import { assert, assertEquals } from "../_assert.ts";
import { test } from "../_harness.ts";
import { engineProject } from "./_engine.ts";

const FILES = {
  "pivot.yaml": `stages:
  count:
    run: stages.ts#count
    deps: { text: data/in.txt }
    outs: { out: count.json }
    params: { factor: 2 }
`,
  "stages.ts": `
export function count({ text }, ctx) { return { out: { n: text.length * ctx.params.factor } }; }
`,
  "data/in.txt": "hello",
};

const OPTIONS = { forced: false, upstreamWillRun: false };

test("a stage never run will run, and is up to date once it has", async () => {
  await using project = await engineProject(FILES);
  const before = await decide(project.context, project.stage("count"), OPTIONS);
  assertEquals([before.status, before.reasons], ["will-run", ["never-run"]]);
  await project.wave();
  const after = await decide(project.context, project.stage("count"), OPTIONS);
  assertEquals([after.status, after.reasons, after.restore], ["up-to-date", [], []]);
});

test("a changed dep is a 'deps' reason with its old and new hash", async () => {
  await using project = await engineProject(FILES);
  await project.wave();
  await Deno.writeTextFile(project.dir.path("data/in.txt"), "hello, world");
  const decision = await decide(project.context, project.stage("count"), OPTIONS);
  assertEquals(decision.reasons, ["deps"]);
  assertEquals(decision.changes.deps, [{
    path: "data/in.txt",
    old: await hashBytes("hello"),
    new: await hashBytes("hello, world"),
  }]);
});

test("a changed param is a 'params' reason naming the key", async () => {
  await using project = await engineProject(FILES);
  await project.wave();
  const yaml = await Deno.readTextFile(project.dir.path("pivot.yaml"));
  await Deno.writeTextFile(project.dir.path("pivot.yaml"), yaml.replace("factor: 2", "factor: 3"));
  await project.reload();
  const decision = await decide(project.context, project.stage("count"), OPTIONS);
  assertEquals(decision.reasons, ["params"]);
  assertEquals(decision.changes.params, [{ key: "factor", old: 2, new: 3 }]);
});

test("a deleted out is restored from the cache, not re-run", async () => {
  await using project = await engineProject(FILES);
  await project.wave();
  await Deno.remove(project.dir.path("count.json"));
  const decision = await decide(project.context, project.stage("count"), OPTIONS);
  assertEquals(decision.status, "up-to-date");
  assertEquals(decision.restore.map((out) => out.path), ["count.json"]);
  await project.wave();
  assertEquals(project.lastWave().get("count")?.status, "restored");
  assertEquals(JSON.parse(await Deno.readTextFile(project.dir.path("count.json"))), { n: 10 });
});

test("a deleted out whose cache object is gone too makes the stage run", async () => {
  await using project = await engineProject(FILES);
  await project.wave();
  await Deno.remove(project.dir.path("count.json"));
  await Deno.remove(project.dir.path(".pivot/cache"), { recursive: true });
  const decision = await decide(project.context, project.stage("count"), OPTIONS);
  assertEquals([decision.status, decision.reasons], ["will-run", ["outs-missing"]]);
});

test("inputs seen before are answered by the run cache", async () => {
  await using project = await engineProject(FILES);
  await project.wave();
  await Deno.writeTextFile(project.dir.path("data/in.txt"), "bye");
  await project.wave();
  await Deno.writeTextFile(project.dir.path("data/in.txt"), "hello");
  const decision = await decide(project.context, project.stage("count"), OPTIONS);
  assertEquals(decision.reasons, ["deps"]);
  assertEquals(decision.runCache?.outs.map((out) => out.path), ["count.json"]);
  await project.wave();
  assertEquals(project.lastWave().get("count")?.status, "restored");
  assertEquals(JSON.parse(await Deno.readTextFile(project.dir.path("count.json"))), { n: 10 });
});

test("forced, a stage up to date will run", async () => {
  await using project = await engineProject(FILES);
  await project.wave();
  const decision = await decide(project.context, project.stage("count"), {
    ...OPTIONS,
    forced: true,
  });
  assertEquals([decision.status, decision.reasons, decision.runCache], [
    "will-run",
    ["forced"],
    undefined,
  ]);
});

test("lockAbsent: the first decision skips the lock file; the check under the lock finds one made since", async () => {
  // The engine decides a stage whose lock file a listing did not show
  // without a stat of it (lib/engine/engine.ts, listedLocks): a lock file
  // another process wrote since must still be found before anything runs.
  await using project = await engineProject(FILES);
  await project.wave();
  const stage = project.stage("count");
  const early = await decide(project.context, stage, { ...OPTIONS, lockAbsent: true });
  assertEquals([early.status, early.reasons, early.lock], ["will-run", ["never-run"], undefined]);
  assert(!lockUnchanged(early));
  const acted = await withStageLock(project.context, stage, {
    forced: false,
    before: early,
  }, (decision) => Promise.resolve(decision));
  assertEquals([acted?.status, acted?.reasons], ["up-to-date", []]);
});

test("a wave decides a stage with a lock file from it, after one whose lock file is missing", async () => {
  await using project = await engineProject({
    ...FILES,
    "pivot.yaml": `${FILES["pivot.yaml"]}  twice:
    run: stages.ts#twice
    deps: { counted: count.json }
    outs: { out: twice.json }
`,
    "stages.ts": `${
      FILES["stages.ts"]
    }export function twice({ counted }) { return { out: { n: counted.n * 2 } }; }
`,
  });
  await project.wave();
  await Deno.remove(project.dir.path(".pivot/stages/count.lock"));
  await project.wave();
  const last = project.lastWave();
  // Restored from the run cache (kept in memory: it is small).
  assertEquals(
    [last.get("count")?.status, last.get("count")?.reason],
    ["restored", "never-run (run cache)"],
  );
  assert(await Deno.stat(project.dir.path(".pivot/stages/count.lock")));
  // Its dep came back the same: decided from its lock file, not run again.
  assertEquals(last.get("twice")?.status, "skipped");
  assertEquals(JSON.parse(await Deno.readTextFile(project.dir.path("twice.json"))), { n: 20 });
});
