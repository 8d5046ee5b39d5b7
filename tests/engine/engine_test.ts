/**
 * The engine on a real project: real stage workers, state store, cache and
 * lock files (see `_engine.ts`).
 */

import { assert, assertEquals, assertMatch, assertNotEquals } from "../_assert.ts";
import { test } from "../_harness.ts";
import { engineProject } from "./_engine.ts";
import { hashBytes } from "../../lib/storage/hash.ts";
import { hashArtifact } from "../../lib/storage/artifact_hash.ts";
import { readLock } from "../../lib/storage/lock_file.ts";
import { join } from "node:path";
import { stageKey } from "../../lib/engine/context.ts";
import { NS } from "../../lib/storage/state.ts";
import { exists } from "../../lib/paths.ts";
import type { EngineContext } from "../../lib/engine/context.ts";
import { selfIdentity } from "../../lib/process_identity.ts";

const CHAIN = {
  "pivot.yaml": `stages:
  upper:
    run: stages.ts#upper
    deps: { text: data/in.txt }
    outs: { out: upper.txt }
  shout:
    run: stages.ts#shout
    deps: { text: upper.txt }
    outs: { out: shout.txt }
`,
  "stages.ts": `
export function upper({ text }) { return { out: text.toUpperCase() }; }
export function shout({ text }) { return { out: text + "!" }; }
`,
  "data/in.txt": "hello",
};

test("a wave runs stages upstream first, and the next wave skips them", async () => {
  await using project = await engineProject(CHAIN);
  const first = await project.wave();
  assertEquals([first.ran, first.skipped], [2, 0]);
  const starts = project.events.filter((e) => e.type === "stage-start").map((e) => e.stage);
  assertEquals(starts, ["upper", "shout"]);
  assertEquals(await Deno.readTextFile(project.dir.path("shout.txt")), "HELLO!");
  const second = await project.wave();
  assertEquals([second.ran, second.skipped], [0, 2]);
});

test("a changed dep re-runs its stage; unchanged output stops the re-run below it", async () => {
  await using project = await engineProject(CHAIN);
  await project.wave();
  // Same upper-cased text: `upper` re-runs, `shout` sees an identical dep.
  await Deno.writeTextFile(project.dir.path("data/in.txt"), "HELLO");
  await project.wave();
  const wave = project.lastWave();
  assertEquals([wave.get("upper")?.status, wave.get("upper")?.reason], ["ran", "deps"]);
  assertEquals(wave.get("shout")?.status, "skipped");
});

test("a run is recorded once the stage below it is handed to its worker", async () => {
  await using project = await engineProject(CHAIN);
  // When `shout` starts, `upper`'s outs are in place but its lock file is
  // not written yet: that waits until `shout` is posted to its worker.
  const seen: boolean[] = [];
  const upperLock = project.stage("upper").lockFile;
  await project.wave({
    onEvent: (event) => {
      if (event.type === "stage-start" && event.stage === "shout") {
        seen.push(exists(upperLock), exists(project.dir.path("upper.txt")));
      }
    },
  });
  assertEquals(seen, [false, true]);
  assertEquals(project.lastWave().get("upper")?.status, "ran");
  assert(exists(upperLock), "upper's lock file is written by the end of the wave");
  const second = await project.wave();
  assertEquals([second.ran, second.skipped], [0, 2]);
});

test("with one slot and more stages than are decided at once, every run is recorded", async () => {
  // Twenty stages below one: each waits for the single slot (more than the
  // engine decides at once), and each recording waits until no stage is
  // being handed to a worker.
  const names = Array.from({ length: 20 }, (_, i) => `leaf${i}`);
  const yaml = names.map((name) =>
    `  ${name}:\n    run: stages.ts#copy\n    deps: { text: root.txt }\n    outs: { out: ${name}.txt }\n`
  ).join("");
  await using project = await engineProject({
    "pivot.yaml": `stages:\n  root:\n    run: stages.ts#copy\n    deps: { text: data/in.txt }\n` +
      `    outs: { out: root.txt }\n${yaml}`,
    "stages.ts": `export function copy({ text }) { return { out: text }; }\n`,
    "data/in.txt": "hello",
  });
  const first = await project.wave({ jobs: 1 });
  assertEquals([first.ran, first.failed], [21, 0]);
  for (const name of ["root", ...names]) {
    assert(exists(project.stage(name).lockFile), `${name} has its lock file`);
  }
  const second = await project.wave({ jobs: 1 });
  assertEquals([second.ran, second.skipped], [0, 21]);
});

const MUTEX = {
  "pivot.yaml": `stages:
  one:
    run: stages.ts#slow
    outs: { out: one.json }
    mutex: [gpu]
  two:
    run: stages.ts#slow
    outs: { out: two.json }
    mutex: [gpu]
`,
  "stages.ts": `
export async function slow() {
  const start = Date.now();
  await new Promise((resolve) => setTimeout(resolve, 150));
  return { out: { start, end: Date.now() } };
}
`,
};

test("stages sharing a mutex group never run at once, even with free slots", async () => {
  await using project = await engineProject(MUTEX);
  const summary = await project.wave({ jobs: 2 });
  assertEquals(summary.ran, 2);
  const [one, two] = await Promise.all(
    ["one.json", "two.json"].map(async (file) =>
      JSON.parse(await Deno.readTextFile(project.dir.path(file))) as { start: number; end: number }
    ),
  );
  assert(one.end <= two.start || two.end <= one.start, `overlap: ${JSON.stringify([one, two])}`);
});

const FAILING = {
  "pivot.yaml": `stages:
  broken:
    run: stages.ts#broken
    outs: { out: broken.txt }
  below:
    run: stages.ts#copy
    deps: { text: broken.txt }
    outs: { out: below.txt }
  apart:
    run: stages.ts#apart
    outs: { out: apart.txt }
`,
  "stages.ts": `
export function broken() { throw new Error("no luck"); }
export function copy({ text }) { return { out: text }; }
export function apart() { return { out: "fine" }; }
`,
};

test("a failure blocks the stages below it; with keep-going the others still run", async () => {
  await using project = await engineProject(FAILING);
  const summary = await project.wave({ jobs: 1, keepGoing: true });
  assertEquals([summary.failed, summary.blocked, summary.ran], [1, 1, 1]);
  const wave = project.lastWave();
  assertMatch(
    wave.get("broken")?.error ?? "",
    /^stage 'broken' failed at stages\.ts:2:\d+: Error: no luck$/,
  );
  assertEquals(wave.get("below")?.reason, "upstream 'broken' did not complete");
  assertEquals(wave.get("apart")?.status, "ran");
  // A failed stage writes no lock file and leaves no partial out.
  assert(!await project.dir.exists("broken.txt"), "broken.txt was written");
});

// Independent stages after `broken`: stages are decided concurrently and take
// the one slot as their decisions end, so under load one may start before
// `broken` does; those that had not started when it failed must be blocked.
const FAILING_WIDE = {
  ...FAILING,
  "pivot.yaml": FAILING["pivot.yaml"] +
    [1, 2, 3, 4].map((i) =>
      `  apart${i}:\n    run: stages.ts#apart\n    outs: { out: apart${i}.txt }\n`
    ).join(""),
};

test("without keep-going, stages not started after a failure are blocked", async () => {
  await using project = await engineProject(FAILING_WIDE);
  const summary = await project.wave({ jobs: 1 });
  assertEquals(summary.failed, 1);
  const wave = project.lastWave();
  const independent = ["apart", "apart1", "apart2", "apart3", "apart4"];
  const notStarted = independent.filter((name) => wave.get(name)?.status !== "ran");
  assert(notStarted.length > 0, "some stage was still to start when 'broken' failed");
  assertEquals(summary.ran, independent.length - notStarted.length);
  for (const name of notStarted) {
    assertEquals(wave.get(name)?.reason, "not started after a failure (use --keep-going)", name);
  }
});

const CRASHING = {
  "pivot.yaml": `stages:
  crash:
    run: stages.ts#crash
    outs: { out: crash.txt }
  after:
    run: stages.ts#after
    outs: { out: after.txt }
`,
  "stages.ts": `
export function crash() {
  // Escapes the run function: the run fails, its worker is retired.
  setTimeout(() => { throw new Error("worker down"); }, 0);
  return new Promise(() => {});
}
export function after() { return { out: "still here" }; }
`,
};

test("an error escaping a stage fails it, and the next stage runs in a new worker", async () => {
  await using project = await engineProject(CRASHING);
  const summary = await project.wave({ jobs: 1, keepGoing: true });
  assertEquals([summary.failed, summary.ran], [1, 1]);
  assertMatch(
    project.lastWave().get("crash")?.error ?? "",
    /^stage 'crash' failed at stages\.ts:4:\d+: Error: worker down \(uncaught, in a callback the stage left running\)$/,
  );
  assertEquals(await Deno.readTextFile(project.dir.path("after.txt")), "still here");
  // The retired worker's staging area is removed in the background: wait
  // until at most one is left (the replacement's, when 'after' ran after
  // 'crash'; none when the two were decided in the other order, which
  // concurrent decisions allow under load, and nothing was left to run).
  const areas = async () => {
    let count = 0;
    for await (const entry of Deno.readDir(project.dir.path(".pivot/tmp"))) {
      if (/^run-test\.w\d+$/.test(entry.name)) count++;
    }
    return count;
  };
  let count = await areas();
  for (let waited = 0; count > 1 && waited < 10_000; waited += 20) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    count = await areas();
  }
  assert(count <= 1, `${count} staging areas left`);
});

const LEAVING = {
  "pivot.yaml": `stages:
  leave:
    run: stages.ts#leave
    outs: { out: leave.txt }
  stay:
    run: stages.ts#stay
    outs: { out: stay.txt }
`,
  "stages.ts": `
export function leave() {
  (globalThis as Record<string, unknown>).shared = "from leave";
  return { out: "left" };
}
export function stay() {
  return { out: String((globalThis as Record<string, unknown>).shared) };
}
`,
};

test("a stage that changes the realm has its leftovers reported, and the next stage a fresh worker", async () => {
  await using project = await engineProject(LEAVING);
  const summary = await project.wave({ jobs: 1 });
  assertEquals(summary.ran, 2);
  assertEquals(project.lastWave().get("leave")?.leftovers, ["changed shared"]);
  assertEquals(project.lastWave().get("stay")?.leftovers, undefined);
  assertEquals(await Deno.readTextFile(project.dir.path("stay.txt")), "undefined");
});

const SIZES = {
  "pivot.yaml": `stages:
  both:
    run: stages.ts#both
    deps: { n: data/n.txt }
    outs: { small: small.txt, big: big.txt }
`,
  "stages.ts": `
export function both({ n }) {
  // The small out is committed from memory, the big one (over 1 MiB) streamed.
  return { small: "small " + n, big: n.repeat(3 << 20) };
}
`,
  "data/n.txt": "a",
};

test("small and big outs reach the workspace and the cache whole, and a re-run replaces them", async () => {
  await using project = await engineProject(SIZES);
  const check = async (small: string, big: string) => {
    for (const [name, text] of [["small.txt", small], ["big.txt", big]]) {
      const bytes = await Deno.readFile(project.dir.path(name));
      assertEquals(new TextDecoder().decode(bytes), text, `${name} in the workspace`);
      const object = project.context.cache.objectPath(await hashBytes(bytes));
      assertEquals(await Deno.readTextFile(object), text, `${name}'s cache object`);
      const info = await Deno.stat(object);
      assertEquals(info.mode! & 0o222, 0, `${name}'s object is read-only`);
      // This project checks out by hard link: the workspace file is the object.
      assertEquals((await Deno.stat(project.dir.path(name))).ino, info.ino, `${name} is linked`);
    }
  };
  assertEquals((await project.wave()).ran, 1);
  await check("small a", "a".repeat(3 << 20));
  // New content, and a directory where a file out goes: both replaced.
  await Deno.writeTextFile(project.dir.path("data/n.txt"), "b");
  await Deno.remove(project.dir.path("small.txt"));
  await Deno.mkdir(project.dir.path("small.txt/inside"), { recursive: true });
  assertEquals((await project.wave()).ran, 1);
  await check("small b", "b".repeat(3 << 20));
  assertEquals((await project.wave()).skipped, 1);
});

test("state writes committed during a wave, run by run, lose nothing and keep the latest", async () => {
  await using project = await engineProject(CHAIN);
  const first = await project.wave({ commitEvery: 1 });
  assertEquals(first.ran, 2);
  await Deno.writeTextFile(project.dir.path("data/in.txt"), "bye");
  const second = await project.wave({ commitEvery: 1 });
  assertEquals(second.ran, 2);
  // What a fresh process sees: the lock file entries and run-cache entries
  // of both runs of both stages (the newest lock, both inputs' runs).
  const kv = await Deno.openKv(join(project.context.project.stateDir, "state.db"));
  try {
    for (const name of ["upper", "shout"]) {
      const key = stageKey(project.context, project.stage(name));
      const runs = await Array.fromAsync(kv.list({ prefix: [NS.run, key] }));
      assertEquals(runs.length, 2, name);
      const lock = (await kv.get<{ data: { deps: { hash: string }[] } }>([NS.lock, key])).value;
      const dep = name === "upper" ? "data/in.txt" : "upper.txt";
      const text = await Deno.readTextFile(project.dir.path(dep));
      assertEquals(lock?.data.deps[0].hash, await hashBytes(new TextEncoder().encode(text)));
    }
  } finally {
    kv.close();
  }
  assertEquals(await Deno.readTextFile(project.dir.path("shout.txt")), "BYE!");
  const third = await project.wave({ commitEvery: 1 });
  assertEquals([third.ran, third.skipped], [0, 2]);
});

/** A stage joining, sorted, the texts of the files of its directory dep `data`. */
const COUNT_STAGE = `
export function count({ data }) {
  const texts = [];
  for (const entry of Deno.readDirSync(data)) texts.push(Deno.readTextFileSync(data + "/" + entry.name));
  return { out: texts.sort().join(",") };
}
`;

const DIR_DEP = {
  "pivot.yaml": `stages:
  count:
    run: stages.ts#count
    deps: { data: data/ }
    outs: { out: count.txt }
`,
  "stages.ts": COUNT_STAGE,
  "data/a.txt": "a",
  "data/b.txt": "b",
};

/** The files in the project's execution lock directory. */
async function execLocks(project: { context: EngineContext }): Promise<string[]> {
  const names: string[] = [];
  try {
    for await (const entry of Deno.readDir(join(project.context.project.tmpDir, "locks"))) {
      names.push(entry.name);
    }
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  return names;
}

test("a stage with a directory dep, decided under its own lock, releases it after a run, a skip and a failed decision", async () => {
  await using project = await engineProject(DIR_DEP);
  assertEquals((await project.wave()).ran, 1);
  assertEquals(await execLocks(project), []);
  assertEquals((await project.wave()).skipped, 1);
  assertEquals(await execLocks(project), []);
  await Deno.writeTextFile(project.dir.path("data/b.txt"), "B");
  assertEquals((await project.wave()).ran, 1);
  assertEquals(await Deno.readTextFile(project.dir.path("count.txt")), "B,a");
  assertEquals(await execLocks(project), []);
  // The directory replaced by a file: deciding throws, and the lock goes.
  await Deno.remove(project.dir.path("data"), { recursive: true });
  await Deno.writeTextFile(project.dir.path("data"), "a file");
  const failed = await project.wave();
  assertEquals(failed.failed, 1);
  assertMatch(
    project.lastWave().get("count")?.error ?? "",
    /declared as a directory but is a file/,
  );
  assertEquals(await execLocks(project), []);
});

test("a directory dep changed while another process holds the stage's lock: the decision made before is checked again", async () => {
  await using project = await engineProject(DIR_DEP);
  assertEquals((await project.wave()).ran, 1);
  await Deno.writeTextFile(project.dir.path("data/a.txt"), "A");
  // Another live process (as far as the lock can tell: this one) holds it.
  const lockDir = join(project.context.project.tmpDir, "locks");
  await Deno.mkdir(lockDir, { recursive: true });
  const lockFile = join(
    lockDir,
    `${encodeURIComponent(stageKey(project.context, project.stage("count")))}.lock`,
  );
  await Deno.writeTextFile(lockFile, JSON.stringify({ ...selfIdentity(), since: Date.now() }));
  let waiting!: () => void;
  const waited = new Promise<void>((resolve) => waiting = resolve);
  const wave = project.wave({
    onEvent: (event) => {
      if (event.type === "warning") waiting();
    },
  });
  await waited;
  // What that process did meanwhile (as a checkout would): the directory changed again.
  await Deno.writeTextFile(project.dir.path("data/c.txt"), "c");
  await Deno.remove(lockFile);
  assertEquals((await wave).ran, 1);
  assertEquals(await Deno.readTextFile(project.dir.path("count.txt")), "A,b,c");
  // The lock file records the directory as the stage read it: nothing to run now.
  assertEquals((await project.wave()).skipped, 1);
  assertEquals(await execLocks(project), []);
});

/** Two stages reading one directory: `scan` first (its out is `count`'s dep too). */
const SHARED_DIR_DEP = {
  "pivot.yaml": `stages:
  scan:
    run: stages.ts#scan
    deps: { data: data/ }
    outs: { out: scan.txt }
  count:
    run: stages.ts#count
    deps: { data: data/, scan: scan.txt }
    outs: { out: count.txt }
`,
  "stages.ts": `
export function scan() { return { out: "scanned" }; }
${COUNT_STAGE}`,
  "data/a.txt": "a",
  "data/b.txt": "b",
};

test("a decision under the lock that reused a walk and would act walks again, and the lock file records what the stage read", async () => {
  await using project = await engineProject(SHARED_DIR_DEP);
  assertEquals((await project.wave()).ran, 2);
  // `scan` skips on a walk of data/ (noted); then, before `count` is
  // decided under its lock on that walk, data/ changes (as a checkout
  // holding `count`'s lock would change it). `count` is forced: its
  // decision would act, so it is made again on a fresh walk.
  const wave = await project.wave({
    force: ["count"],
    onEvent: (event) => {
      if (event.type === "stage" && event.stage === "scan") {
        Deno.writeTextFileSync(project.dir.path("data/c.txt"), "c");
      }
    },
  });
  assertEquals(project.lastWave().get("scan")?.status, "skipped");
  assertEquals(wave.ran, 1);
  assertEquals(await Deno.readTextFile(project.dir.path("count.txt")), "a,b,c");
  const { state, cache } = project.context;
  const now = await hashArtifact(project.dir.path("data"), "data", true, state, cache);
  const lock = await Deno.readTextFile(project.dir.path(".pivot/stages/count.lock"));
  assert(now !== undefined && lock.includes(now.hash), lock);
  // `scan` runs for the new file; `count` read it already.
  await project.wave();
  assertEquals(project.lastWave().get("scan")?.status, "ran");
  assertEquals(project.lastWave().get("count")?.status, "skipped");
});

/** `count` reads the directory `gen` writes. */
const DIR_OUT_DEP = {
  "pivot.yaml": `stages:
  gen:
    run: stages.ts#gen
    deps: { seed: seed.txt }
    outs: { out: gen/ }
  count:
    run: stages.ts#count
    deps: { data: gen/ }
    outs: { out: count.txt }
`,
  "stages.ts": `
export function gen({ seed }, ctx) {
  Deno.mkdirSync(ctx.outs.out, { recursive: true });
  const text = seed.trim(); // (a .txt dep comes as its text)
  for (const name of ["a", "b"]) Deno.writeTextFileSync(\`\${ctx.outs.out}/\${name}.txt\`, name + text);
}
export function count({ data }) {
  const texts = [];
  for (const entry of Deno.readDirSync(data)) texts.push(Deno.readTextFileSync(data + "/" + entry.name));
  return { out: texts.sort().join(",") };
}
`,
  "seed.txt": "1",
};

for (const checkoutMode of ["hardlink", "copy"] as const) {
  test(`${checkoutMode}: a stage below one that placed a directory records the placed hash, and an edit after the run is seen by the next`, async () => {
    await using project = await engineProject(DIR_OUT_DEP, { checkoutMode });
    const { state, cache } = project.context;
    const gen = project.dir.path("gen");
    // The dep hash `count`'s lock file records: the placed tree's, as `gen`'s records it and a walk finds it.
    const recorded = async () => {
      const genLock = await readLock(project.stage("gen").lockFile, "gen.lock", state);
      const countLock = await readLock(project.stage("count").lockFile, "count.lock", state);
      const now = await hashArtifact(gen, "gen", true, state, cache);
      assertEquals(countLock?.deps.find((d) => d.path === "gen")?.hash, now?.hash);
      assertEquals(genLock?.outs[0].hash, now?.hash);
      return now?.hash;
    };
    assertEquals((await project.wave()).ran, 2);
    assertEquals(await Deno.readTextFile(project.dir.path("count.txt")), "a1,b1");
    const first = await recorded();
    assertEquals((await project.wave()).skipped, 2);
    // Another seed: both run again, `count` on the new tree.
    await Deno.writeTextFile(project.dir.path("seed.txt"), "2");
    assertEquals((await project.wave()).ran, 2);
    assertEquals(await Deno.readTextFile(project.dir.path("count.txt")), "a2,b2");
    assertNotEquals(await recorded(), first);
    // A file of gen/ replaced by hand (same size) after the run: the next
    // run sees it by its stamp and puts the recorded tree back.
    await Deno.remove(`${gen}/a.txt`);
    await Deno.writeTextFile(`${gen}/a.txt`, "X2");
    await project.wave();
    assertEquals(project.lastWave().get("gen")?.status, "restored");
    assertEquals(project.lastWave().get("count")?.status, "skipped");
    assertEquals(await Deno.readTextFile(`${gen}/a.txt`), "a2");
    await recorded();
    assertEquals(await execLocks(project), []);
  });
}
