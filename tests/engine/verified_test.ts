/**
 * The verified index (lib/engine/verified.ts) on a real project: a stage a
 * full decision found up to date is answered by stamps alone, and every
 * change a full decision notices sends it through the full decision again.
 *
 * Files written after the run's clock marker are "racy" (their stamps cannot
 * tell versions apart yet) and never recorded, so these tests age every
 * file of the project by a minute where the index should record it (or
 * wait for the filesystem's clock to pass them).
 */

import { join } from "node:path";
import { decide, type Decision } from "../../lib/engine/decide.ts";
import { predict } from "../../lib/engine/plan.ts";
import { verifiedIndexOf } from "../../lib/engine/verified.ts";
import { NS, StateStore } from "../../lib/storage/state.ts";
import { markClockAfter } from "../_clock.ts";
import { assert, assertEquals } from "../_assert.ts";
import { test } from "../_harness.ts";
import { type EngineProject, engineProject } from "./_engine.ts";

const FILES = {
  "pivot.yaml": `stages:
  count:
    run: stages.ts#count
    deps: { text: data/in.txt }
    outs: { out: count.json }
    params: { factor: 2 }
  double:
    run: stages.ts#double
    deps: { counted: count.json }
    outs: { out: double.json }
`,
  "stages.ts": `
export function count({ text }, ctx) { return { out: { n: text.length * ctx.params.factor } }; }
export function double({ counted }) { return { out: { n: counted.n * 2 } }; }
`,
  "data/in.txt": "hello",
};

/** Set every file of the project outside `.pivot/state` a minute into the past. */
function age(project: EngineProject): void {
  const then = new Date(Date.now() - 60_000);
  const walk = (dir: string) => {
    for (const entry of Deno.readDirSync(dir)) {
      const path = join(dir, entry.name);
      if (entry.isDirectory && path !== project.context.project.stateDir) walk(path);
      else if (entry.isFile) Deno.utimeSync(path, then, then);
    }
  };
  walk(project.dir.root);
}

/**
 * Replace the project file `rel` with `text` (a new file renamed over it, as
 * editors save: an out may be a hard link to its cache object), dated half
 * a minute ago (so it is not racy).
 */
function writeOld(project: EngineProject, rel: string, text: string): void {
  const path = project.dir.path(rel);
  Deno.writeTextFileSync(`${path}.new`, text);
  Deno.renameSync(`${path}.new`, path);
  const then = new Date(Date.now() - 30_000);
  Deno.utimeSync(path, then, then);
}

/** The stages the verified index shows up to date now. */
async function verified(project: EngineProject): Promise<string[]> {
  const index = await verifiedIndexOf(project.context.state);
  return [...index.check(project.context, project.context.graph.order).keys()];
}

/** A project run once, aged, and verified by one no-op wave. */
async function verifiedProject(): Promise<EngineProject> {
  const project = await engineProject(FILES);
  await project.wave();
  age(project);
  await project.wave();
  return project;
}

test("a no-op after a full decision is answered by the index, as the full decision would", async () => {
  await using project = await verifiedProject();
  assertEquals(await verified(project), ["count", "double"]);
  const fast = await predict(project.context, project.context.graph.order, new Set());
  const full: Decision[] = [];
  for (const stage of project.context.graph.order) {
    full.push(await decide(project.context, stage, { forced: false, upstreamWillRun: false }));
  }
  const shape = (d: Decision) => ({
    status: d.status,
    reasons: d.reasons,
    changes: d.changes,
    lock: d.lock,
    lockStamp: d.lockStamp,
    manifest: d.manifest,
    deps: d.deps,
    restore: d.restore,
    recache: d.recache,
    runCache: d.runCache,
  });
  assertEquals(fast.map(shape), full.map(shape));
  assertEquals(await fast[0].inputHash(), await full[0].inputHash());
  await project.wave();
  assertEquals(
    [...project.lastWave().values()].map((e) => [e.stage, e.status]),
    [["count", "skipped"], ["double", "skipped"]],
  );
});

test("the index survives the process: a new store reads it back", async () => {
  await using project = await verifiedProject();
  await project.context.state.flush();
  const other = await StateStore.open(project.context.project.stateDir);
  try {
    const index = await verifiedIndexOf(other);
    const context = { ...project.context, state: other };
    assertEquals([...index.check(context, context.graph.order).keys()], ["count", "double"]);
  } finally {
    other.kv.close();
  }
});

test("files modified after the run's clock marker are not recorded; a later marker settles them", async () => {
  await using project = await engineProject(FILES);
  await project.wave();
  const { stateDir } = project.context.project;
  const written = ["count.json", "double.json", "data/in.txt"].map((rel) => project.dir.path(rel));
  await markClockAfter(stateDir, ...written, ...project.context.graph.order.map((s) => s.lockFile));
  // Rewritten after the marker, unchanged: `count`'s dep is racy, `double`'s paths are not.
  await Deno.writeTextFile(project.dir.path("data/in.txt"), "hello");
  for (const stage of project.context.graph.order) {
    await decide(project.context, stage, { forced: false, upstreamWillRun: false });
  }
  assertEquals(await verified(project), ["double"]);
  // The next wave writes a later marker: then `count` is recorded too.
  await markClockAfter(stateDir, project.dir.path("data/in.txt"));
  await project.wave();
  assertEquals(await verified(project), ["count", "double"]);
});

test("the wave right after a run records every stage: nothing is aged", async () => {
  await using project = await engineProject(FILES);
  await project.wave();
  const { stateDir } = project.context.project;
  const written = ["count.json", "double.json", "data/in.txt"].map((rel) => project.dir.path(rel));
  // The next wave's marker is past everything the run wrote (a new command's always is).
  await markClockAfter(stateDir, ...written, ...project.context.graph.order.map((s) => s.lockFile));
  await project.wave();
  assertEquals(await verified(project), ["count", "double"]);
  assertEquals([...project.lastWave().values()].map((e) => e.status), ["skipped", "skipped"]);
});

test("an edited dep is noticed: the stage and the one below it run", async () => {
  await using project = await verifiedProject();
  writeOld(project, "data/in.txt", "hello, world");
  assertEquals(await verified(project), ["double"]);
  await project.wave();
  const wave = project.lastWave();
  assertEquals([wave.get("count")?.status, wave.get("double")?.status], ["ran", "ran"]);
  assertEquals(JSON.parse(await Deno.readTextFile(project.dir.path("double.json"))), { n: 48 });
});

test("a deleted dep is noticed", async () => {
  await using project = await verifiedProject();
  await Deno.remove(project.dir.path("data/in.txt"));
  assertEquals(await verified(project), ["double"]);
  await project.wave();
  assertEquals(project.lastWave().get("count")?.status, "failed");
});

test("an edited or deleted out is noticed and restored", async () => {
  await using project = await verifiedProject();
  writeOld(project, "count.json", `{"n":1}`);
  await Deno.remove(project.dir.path("double.json"));
  assertEquals(await verified(project), []);
  await project.wave();
  const wave = project.lastWave();
  assertEquals([wave.get("count")?.status, wave.get("double")?.status], [
    "restored",
    "restored",
  ]);
  assertEquals(JSON.parse(await Deno.readTextFile(project.dir.path("count.json"))), { n: 10 });
});

test("an edited lock file is noticed; a deleted one makes the stage run", async () => {
  await using project = await verifiedProject();
  const lock = project.dir.path(".pivot/stages/count.lock");
  const text = await Deno.readTextFile(lock);
  writeOld(project, ".pivot/stages/count.lock", text.replace("factor: 2", "factor: 7"));
  assertEquals(await verified(project), ["double"]);
  const [decision] = await predict(project.context, [project.stage("count")], new Set());
  assertEquals(decision.reasons, ["params"]);
  await Deno.remove(lock);
  assertEquals(await verified(project), ["double"]);
  await project.wave();
  assertEquals(project.lastWave().get("count")?.reason, "never-run (run cache)");
});

test("a hand-broken lock file is still an error, not an up-to-date stage", async () => {
  await using project = await verifiedProject();
  writeOld(project, ".pivot/stages/count.lock", "code_manifest: {}\n");
  assertEquals(await verified(project), ["double"]);
  await project.wave();
  assertEquals(project.lastWave().get("count")?.status, "failed");
});

test("changed params are noticed through the stage's digest", async () => {
  await using project = await verifiedProject();
  const yaml = await Deno.readTextFile(project.dir.path("pivot.yaml"));
  await Deno.writeTextFile(project.dir.path("pivot.yaml"), yaml.replace("factor: 2", "factor: 3"));
  await project.reload();
  assertEquals(await verified(project), ["double"]);
  await project.wave();
  assertEquals(project.lastWave().get("count")?.reason, "params");
});

test("params JSON writes alike (.inf, -.inf, .nan: all null) are told apart by the digest", async () => {
  await using project = await verifiedProject();
  const yaml = await Deno.readTextFile(project.dir.path("pivot.yaml"));
  let last = "factor: 2";
  for (const value of [".inf", "-.inf", ".nan"]) {
    writeOld(project, "pivot.yaml", yaml.replace("factor: 2", `factor: ${value}`));
    await project.reload();
    await project.wave();
    assertEquals(project.lastWave().get("count")?.reason, "params", `${last} -> ${value}`);
    age(project);
    await project.wave(); // recorded
    assertEquals(await verified(project), ["count", "double"]);
    last = value;
  }
});

test("a changed code manifest is noticed through the stage's digest", async () => {
  await using project = await verifiedProject();
  const context = project.context;
  const changed = {
    ...context,
    fingerprints: new Map([["count", {
      manifest: { "self:run": "0123456789abcdef" },
      locations: {},
      files: [],
    }]]),
  };
  const index = await verifiedIndexOf(context.state);
  assertEquals([...index.check(changed, context.graph.order).keys()], ["double"]);
  const [decision] = await predict(changed, [project.stage("count")], new Set());
  assertEquals(decision.reasons, ["code"]);
});

test("a changed definition (an out no longer cached, another out path) is noticed", async () => {
  await using project = await verifiedProject();
  const yaml = await Deno.readTextFile(project.dir.path("pivot.yaml"));
  await Deno.writeTextFile(
    project.dir.path("pivot.yaml"),
    yaml.replace("outs: { out: double.json }", "metrics: { out: double.json }"),
  );
  await project.reload();
  assertEquals(await verified(project), ["count"]);
  await Deno.writeTextFile(
    project.dir.path("pivot.yaml"),
    yaml.replace("outs: { out: double.json }", "outs: { out: twice.json }"),
  );
  await project.reload();
  assertEquals(await verified(project), ["count"]);
  await project.wave();
  assertEquals(project.lastWave().get("double")?.status, "ran");
});

test("a cached out whose cache object was removed is re-cached, not skipped", async () => {
  await using project = await verifiedProject();
  await Deno.remove(project.dir.path(".pivot/cache"), { recursive: true });
  assertEquals(await verified(project), []);
  await project.wave();
  assertEquals(project.lastWave().get("count")?.status, "skipped");
  const [decision] = await predict(project.context, [project.stage("count")], new Set());
  assertEquals(decision.recache, []);
});

test("a forced stage runs even though the index shows it up to date", async () => {
  await using project = await verifiedProject();
  await project.wave({ force: ["count"] });
  assertEquals(project.lastWave().get("count")?.status, "ran");
});

test("a stage below one that acted in the wave is decided afresh", async () => {
  await using project = await verifiedProject();
  // 'count' is verified at the start of the wave, then its dep changes and
  // it runs (forced); 'double' must see the out 'count' just wrote.
  writeOld(project, "data/in.txt", "hi");
  await project.wave({ force: ["count"] });
  const wave = project.lastWave();
  assertEquals([wave.get("count")?.status, wave.get("double")?.status], ["ran", "ran"]);
  assertEquals(JSON.parse(await Deno.readTextFile(project.dir.path("double.json"))), { n: 8 });
});

/** The stages another state store on `project`'s state finds verified (what the next command would). */
async function verifiedByAnotherStore(project: EngineProject): Promise<string[]> {
  const other = await StateStore.open(project.context.project.stateDir);
  try {
    const index = await verifiedIndexOf(other);
    const context = { ...project.context, state: other };
    return [...index.check(context, context.graph.order).keys()];
  } finally {
    other.kv.close();
  }
}

test("an index torn by two writers (chunks of two generations) reads as empty", async () => {
  await using project = await verifiedProject();
  // The first check after the run that filled the cache's directories records their stamps.
  await project.wave();
  const state = project.context.state;
  await state.flush();
  const chunk = (await state.kv.get<{ generation: string }>([NS.verified, 0])).value!;
  await state.kv.set([NS.verified, 0], { ...chunk, count: 2 });
  await state.kv.set([NS.verified, 1], { ...chunk, count: 2, generation: "another" });
  assertEquals(await verifiedByAnotherStore(project), []);
});

test("one removed cache object is noticed after its directory's stamp was recorded", async () => {
  await using project = await verifiedProject();
  // Date the cache's directories back too, so that their stamps are recorded.
  const files = project.dir.path(".pivot/cache/files");
  const then = new Date(Date.now() - 60_000);
  for (const entry of Deno.readDirSync(files)) Deno.utimeSync(join(files, entry.name), then, then);
  assertEquals(await verified(project), ["count", "double"]);
  assertEquals(await verified(project), ["count", "double"]); // by directory stamps now
  const [decision] = await predict(project.context, [project.stage("double")], new Set());
  const object = project.context.cache.objectPath(decision.lock!.outs[0].hash);
  await Deno.remove(object);
  assertEquals(await verified(project), ["count"]);
  await project.wave();
  assertEquals(project.lastWave().get("double")?.status, "skipped");
  assert((await Deno.stat(object)).isFile, "the object is stored again");
});

test("a wave does not reuse a prediction's check: a dep edited after `status` still runs", async () => {
  // Watch mode predicts statuses (the UI, the agent) between waves; a wave
  // starting within a second of that must not take its answer as its own.
  await using project = await verifiedProject();
  const [count] = await predict(project.context, project.context.graph.order, new Set());
  assertEquals(count.status, "up-to-date");
  writeOld(project, "data/in.txt", "hello, world");
  await project.wave();
  assertEquals(project.lastWave().get("count")?.status, "ran");
  assertEquals(JSON.parse(await Deno.readTextFile(project.dir.path("double.json"))), { n: 48 });
});

const PAIR_FILES = {
  "pivot.yaml": `stages:
  pair:
    run: stages.ts#pair
    deps: { a: data/a.txt, b: data/b.txt }
    outs: { out: pair.json }
    metrics: { m: m.json }
`,
  "stages.ts": `
export function pair({ a, b }) { return { out: { ab: a + b }, m: { n: a.length + b.length } }; }
`,
  "data/a.txt": "one",
  "data/b.txt": "two",
};

test("a stage of two deps and two outs (one not cached) is answered as the full decision would, and its second dep and out are checked", async () => {
  const fresh = async () => {
    const project = await engineProject(PAIR_FILES);
    await project.wave();
    age(project);
    await project.wave();
    return project;
  };
  {
    await using project = await fresh();
    assertEquals(await verified(project), ["pair"]);
    const [fast] = await predict(project.context, project.context.graph.order, new Set());
    const full = await decide(project.context, project.stage("pair"), {
      forced: false,
      upstreamWillRun: false,
    });
    assertEquals(
      [fast.status, fast.lock, fast.lockStamp, fast.deps, fast.restore, fast.recache],
      [full.status, full.lock, full.lockStamp, full.deps, full.restore, full.recache],
    );
    writeOld(project, "data/b.txt", "TWO");
    assertEquals(await verified(project), []);
    await project.wave();
    assertEquals(project.lastWave().get("pair")?.status, "ran");
  }
  {
    await using project = await fresh();
    writeOld(project, "m.json", '{"n":0}');
    assertEquals(await verified(project), []);
    await project.wave();
    assertEquals(project.lastWave().get("pair")?.status !== "skipped", true);
  }
});

test("an index of an earlier layout reads as empty (the next decision records it again)", async () => {
  await using project = await verifiedProject();
  // The first check after the run that filled the cache's directories records their stamps.
  await project.wave();
  const state = project.context.state;
  await state.flush();
  const chunk = (await state.kv.get<{ version: number }>([NS.verified, 0])).value!;
  await state.kv.set([NS.verified, 0], { ...chunk, version: chunk.version - 1 });
  assertEquals(await verifiedByAnotherStore(project), []);
});

test("chunks past a shorter index's own are cleared when it is saved, and never read as part of it", async () => {
  await using project = await verifiedProject();
  // The first check after the run that filled the cache's directories records their stamps.
  await project.wave();
  const state = project.context.state;
  await state.flush();
  const chunk = (await state.kv.get<{ count: number }>([NS.verified, 0])).value!;
  assertEquals(chunk.count, 1);
  // What a longer index written earlier (or by an earlier layout) left behind.
  await state.kv.set([NS.verified, 3], { ...chunk, generation: "earlier", count: 4 });
  const other = await StateStore.open(project.context.project.stateDir);
  try {
    const index = await verifiedIndexOf(other);
    const context = { ...project.context, state: other };
    assertEquals([...index.check(context, context.graph.order).keys()], ["count", "double"]);
    // Unchanged, the index is not written again, but what lies past it is cleared.
    const before = (await other.kv.get<{ generation: string }>([NS.verified, 0])).value!;
    index.save(context);
    await other.flush();
    assertEquals((await other.kv.get([NS.verified, 3])).value, null);
    assertEquals((await other.kv.get<{ generation: string }>([NS.verified, 0])).value, before);
  } finally {
    other.kv.close();
  }
  // Changed, the index is written again, and what lies past it is cleared too.
  await state.kv.set([NS.verified, 2], { ...chunk, generation: "earlier", count: 4 });
  const changed = await StateStore.open(project.context.project.stateDir);
  try {
    const index = await verifiedIndexOf(changed);
    const context = { ...project.context, state: changed };
    index.forget(context, project.stage("double"));
    index.save(context);
    await changed.flush();
    assertEquals((await changed.kv.get([NS.verified, 2])).value, null);
    assertEquals((await changed.kv.get<{ count: number }>([NS.verified, 0])).value?.count, 1);
  } finally {
    changed.kv.close();
  }
  const again = await StateStore.open(project.context.project.stateDir);
  try {
    const index = await verifiedIndexOf(again);
    const context = { ...project.context, state: again };
    assertEquals([...index.check(context, context.graph.order).keys()], ["count"]);
  } finally {
    again.kv.close();
  }
});

test("a wave of verified stages only reports what the general loop reports for the same no-op", async () => {
  // A diamond listed out of the order its stages are settled in by depth.
  await using project = await engineProject({
    "pivot.yaml": `stages:
  a:
    run: stages.ts#copy
    deps: { text: data/a.txt }
    outs: { out: a.json }
  c:
    run: stages.ts#copy
    deps: { text: a.json }
    outs: { out: c.json }
  b:
    run: stages.ts#copy
    deps: { text: data/b.txt }
    outs: { out: b.json }
  d:
    run: stages.ts#join
    deps: { left: b.json, right: c.json }
    outs: { out: d.json }
`,
    "stages.ts": `
export function copy({ text }) { return { out: { text } }; }
export function join({ left, right }) { return { out: { left, right } }; }
`,
    "data/a.txt": "a",
    "data/b.txt": "b",
  });
  await project.wave();
  age(project);
  await project.wave();
  const names = project.context.graph.order.map((s) => s.name);
  assertEquals(await verified(project), names);
  const waveEvents = async (settleAllAtOnce: boolean) => {
    const from = project.events.length;
    const summary = await project.wave({ settleAllAtOnce });
    return {
      summary: { ...summary, duration_ms: 0 },
      events: project.events.slice(from).map((event) =>
        "duration_ms" in event ? { ...event, duration_ms: 0 } : event
      ),
    };
  };
  const general = await waveEvents(false);
  assertEquals(await verified(project), names);
  const direct = await waveEvents(true);
  assertEquals(direct, general);
  // The general loop settles them in pipeline order too (each is ready when taken).
  assertEquals(direct.events.filter((e) => e.type === "stage").map((e) => e.stage), names);
  assertEquals(direct.summary.skipped, 4);
  // Both saved the index: every stage is answered by it again, from a new store.
  await project.context.state.flush();
  const other = await StateStore.open(project.context.project.stateDir);
  try {
    const index = await verifiedIndexOf(other);
    const context = { ...project.context, state: other };
    assertEquals([...index.check(context, context.graph.order).keys()], names);
  } finally {
    other.kv.close();
  }
});

test("a verified stage whose upstream is outside the wave is asked about again, not settled at once", async () => {
  await using project = await verifiedProject();
  writeOld(project, "data/in.txt", "hello, world");
  // `double` alone: its upstream `count` is out of date and outside the wave.
  await project.wave({ names: ["double"] });
  assertEquals(project.lastWave().get("double")?.status, "skipped");
  await project.wave();
  const wave = project.lastWave();
  assertEquals([wave.get("count")?.status, wave.get("double")?.status], ["ran", "ran"]);
});
