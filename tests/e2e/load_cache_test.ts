/**
 * The load cache end to end (lib/cli/load_cache.ts): once a pipeline whose
 * registration reads nothing but its modules has loaded the normal way, a
 * no-op `repro`, `status` and `list` take its stages from the cache without
 * importing `pipeline.ts` (the trace says "load cache hit", and for repro and
 * status "every stage verified"), print exactly what the normal path prints,
 * and every change that could alter the stages, or make one stale, takes the
 * normal path with the right answer.
 *
 * Files written moments ago are "racy": neither the verified index nor the
 * load cache records them, so every file of the project is dated a minute
 * back before the runs that record.
 */

import { age, forgetNoopRecord, REPO, runPivot, tempDir, TempProject } from "../_project.ts";
import { readLoadCache } from "../../lib/cli/load_cache.ts";
import { buildGraph, type StageGraph } from "../../lib/graph/graph.ts";
import { fingerprintStages, type StageFingerprint } from "../../lib/fingerprint/fingerprint.ts";
import { findProject } from "../../lib/pipeline/find_project.ts";
import { readParamsOverrides } from "../../lib/pipeline/load.ts";
import { exists } from "../../lib/paths.ts";
import { assert, assertEquals, assertMatch, assertNotMatch } from "../_assert.ts";
import { test } from "../_harness.ts";

const PIPELINE = `import { dep, loaders, out, Pipeline } from "jsr:@pivot/core";
import { names, shout } from "./lib/names.ts";

export const pipeline = new Pipeline("cached");

pipeline.stage({
  name: names.first,
  deps: { src: dep("data/in.txt", loaders.text()) },
  outs: { o: out(\`\${names.dir}/a.txt\`, loaders.text()) },
  params: { suffix: "!" },
  run: ({ src }, { params }) => ({ o: shout(src) + params.suffix }),
});

pipeline.stage({
  name: "b",
  deps: { a: dep(\`\${names.dir}/a.txt\`, loaders.text()) },
  outs: { o: out("build/b.txt", loaders.text()) },
  run: ({ a }) => ({ o: a + a }),
});
`;

// Two modules away from pipeline.ts: pipeline.ts -> lib/names.ts -> lib/deep.ts.
const NAMES = `export { dir } from "./deep.ts";
import { dir } from "./deep.ts";
export const names = { first: "a", dir };
export function shout(text: string): string {
  return text.trim().toUpperCase();
}
`;
const DEEP = `export const dir = "build";\n`;

const FILES = {
  "pipeline.ts": PIPELINE,
  "lib/names.ts": NAMES,
  "lib/deep.ts": DEEP,
  "data/in.txt": "hi\n",
};

interface Traced {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  /** The stages came from the load cache and were kept (not reloaded). */
  readonly fast: boolean;
  /** The trace's lines about the load cache. */
  readonly cache: string;
}

/** `pivot ARGS` with the trace on. */
async function traced(project: TempProject, ...args: string[]): Promise<Traced> {
  // The load cache is what these tests look at: the record of a verified no-op (which answers
  // before it is read: tests/e2e/noop_record_test.ts) is set aside.
  await forgetNoopRecord(project);
  const result = await runPivot(project.root, args, { PIVOT_TRACE: "1" });
  const cache = result.stderr.split("\n").filter((line) =>
    line.includes("load cache") || line.includes("every stage verified")
  ).join("\n");
  const hit = cache.includes("load cache hit");
  const reloaded = cache.includes("not verified: loading");
  return {
    code: result.code,
    stdout: result.stdout,
    stderr: result.stderr.split("\n").filter((line) => !line.startsWith("[trace]")).join("\n"),
    fast: hit && !reloaded,
    cache,
  };
}

/** A project run once, aged, and loaded again so that the cache and the verified index hold. */
async function cachedProject(
  files: Record<string, string> = FILES,
  imports: Record<string, string> = {},
): Promise<TempProject> {
  const project = await TempProject.create(files, { imports });
  const first = await project.pivot("repro");
  assertEquals(first.code, 0, first.stderr);
  age(project);
  const second = await traced(project, "repro");
  assertEquals(second.code, 0, second.stderr);
  assertMatch(second.cache, /load cache written/);
  const third = await traced(project, "repro");
  assert(third.fast, `the fast path was not taken:\n${third.cache}`);
  return project;
}

/** `list --deps` through the CLI (whichever path it takes). */
async function listDeps(project: TempProject): Promise<string> {
  const result = await traced(project, "list", "--deps");
  assertEquals(result.code, 0, result.stderr);
  return result.stdout;
}

async function statusOf(project: TempProject): Promise<Record<string, string>> {
  const { stages } = await project.status();
  return Object.fromEntries(stages.map((s) => [s.name, s.status]));
}

/** `text` with its durations (JSON's `duration_ms`, a summary's `in 0.02s`) blanked. */
function timeless(text: string): string {
  return text.replace(/"duration_ms":\s*\d+/g, '"duration_ms":0').replace(
    /\b\d+(\.\d+)?m?s\b/g,
    "T",
  );
}

/** Rewrite the cache file through `change` (its JSON). */
async function editCache(project: TempProject, change: (stored: Record<string, unknown>) => void) {
  const path = project.path(".pivot", "state", "load-cache.json");
  const stored = JSON.parse(await Deno.readTextFile(path));
  change(stored);
  await Deno.writeTextFile(path, JSON.stringify(stored));
}

test("the cache keeps each stage's digest for the verified index; a wrong one only costs the fast path", async () => {
  await using project = await cachedProject();
  const path = project.path(".pivot", "state", "load-cache.json");
  const { digests } = JSON.parse(await Deno.readTextFile(path)) as { digests: string[] };
  assertEquals(digests.length, 2);
  assert(digests.every((digest) => /^[0-9a-f]{16}$/.test(digest)), String(digests));
  const expected = await traced(project, "repro");
  assert(expected.fast, expected.cache);
  // Not one digest a stage: not taken, computed as before.
  for (const kept of [null, [digests[0]], [digests[0], 7]]) {
    await editCache(project, (stored) => stored.digests = kept);
    const run = await traced(project, "repro");
    assertEquals([run.code, run.stdout], [0, expected.stdout], run.stderr);
    assert(run.fast, `${JSON.stringify(kept)}:\n${run.cache}`);
  }
  // Wrong digests: every stage goes through the full decision, which finds nothing to run.
  await editCache(project, (stored) => stored.digests = [digests[1], digests[0]]);
  const before = (await Deno.stat(project.path("build", "b.txt"))).mtime;
  const run = await traced(project, "repro");
  assertEquals([run.code, run.stdout], [0, expected.stdout], run.stderr);
  assertMatch(run.cache, /not verified: loading/);
  assertEquals((await Deno.stat(project.path("build", "b.txt"))).mtime, before);
});

test("the fast path prints exactly what the normal path prints", async () => {
  await using project = await cachedProject();
  const commands = [
    ["repro"],
    ["repro", "--json"],
    ["repro", "--dry-run"],
    ["status"],
    ["status", "--json"],
    ["status", "--explain"],
    ["list"],
    ["list", "--json"],
    ["list", "--deps"],
  ];
  for (const args of commands) {
    const fast = await traced(project, ...args);
    assert(fast.fast, `${args.join(" ")}: the fast path was not taken:\n${fast.cache}`);
    await Deno.remove(project.path(".pivot", "state", "load-cache.json"));
    const normal = await traced(project, ...args);
    assert(!normal.fast, `${args.join(" ")}: no cache, yet a hit`);
    assertEquals(
      [fast.code, timeless(fast.stdout), fast.stderr],
      [normal.code, timeless(normal.stdout), normal.stderr],
    );
    assertMatch(normal.cache, /load cache written/); // and back for the next command
  }
  // Both kinds of no-op leave the same run record in the history.
  const lastRun = async () => {
    const history = await project.pivot("history", "--json");
    assertEquals(history.code, 0, history.stderr);
    const { runs } = JSON.parse(history.stdout);
    const { id: _id, started: _started, duration_ms: _ms, ...run } = runs[0];
    return { count: runs.length, run: timeless(JSON.stringify(run)) };
  };
  const before = await lastRun();
  assert((await traced(project, "repro")).fast);
  const fast = await lastRun();
  await Deno.remove(project.path(".pivot", "state", "load-cache.json"));
  assert(!(await traced(project, "repro")).fast);
  const normal = await lastRun();
  assertEquals([fast.count, normal.count], [before.count + 1, before.count + 2]);
  assertEquals(fast.run, normal.run);
});

test("a stage added to pipeline.ts appears", async () => {
  await using project = await cachedProject();
  await project.edit(
    "pipeline.ts",
    /$/,
    `\npipeline.stage({
  name: "c",
  deps: { b: dep("build/b.txt", loaders.text()) },
  outs: { o: out("build/c.txt", loaders.text()) },
  run: ({ b }) => ({ o: b }),
});\n`,
  );
  const list = await traced(project, "list");
  assert(!list.fast);
  assertMatch(list.cache, /pipeline\.ts changed/);
  assertEquals(list.stdout, "a\nb\nc\n");
  assertEquals(await statusOf(project), { a: "up-to-date", b: "up-to-date", c: "will-run" });
});

test("a stage renamed or removed is seen", async () => {
  await using project = await cachedProject();
  await project.edit("pipeline.ts", `name: "b"`, `name: "b2"`);
  assertEquals((await traced(project, "list")).stdout, "a\nb2\n");
  age(project);
  await traced(project, "list"); // writes the cache again
  assert((await traced(project, "list")).fast);
  await project.edit("pipeline.ts", /pipeline\.stage\(\{\n {2}name: "b2"[\s\S]*$/, "");
  assertEquals((await traced(project, "list")).stdout, "a\n");
});

test("a helper two modules away that changes a stage's outs and name is seen", async () => {
  await using project = await cachedProject();
  await project.write("lib/deep.ts", `export const dir = "gen";\n`);
  const list = await traced(project, "list", "--deps");
  assert(!list.fast);
  assertMatch(list.cache, /deep\.ts changed/);
  assertMatch(list.stdout, /out {2}gen\/a\.txt/);
  assertNotMatch(list.stdout, /build\/a\.txt/);
  // The name comes from a module one away.
  await project.edit("lib/names.ts", `first: "a"`, `first: "first"`);
  assertEquals((await traced(project, "list")).stdout, "first\nb\n");
});

test("deps and outs changed in pipeline.ts are seen", async () => {
  await using project = await cachedProject();
  await project.edit("pipeline.ts", `out("build/b.txt"`, `out("build/b2.txt"`);
  const list = await listDeps(project);
  assertMatch(list, /out {2}build\/b2\.txt/);
  assertEquals((await statusOf(project)).b, "will-run");
});

test("deno.json edited: another import map is seen", async () => {
  await using project = await cachedProject({
    ...FILES,
    "pipeline.ts": PIPELINE.replace(`"./lib/names.ts"`, `"#names"`),
    "lib/names_other.ts": NAMES.replace(`first: "a"`, `first: "other"`),
  }, { "#names": "./lib/names.ts" });
  await project.writeConfig({ "#names": "./lib/names_other.ts" });
  const list = await traced(project, "list");
  assert(!list.fast);
  assertMatch(list.cache, /deno\.json changed/);
  assertEquals(list.stdout, "other\nb\n");
});

test("deno.lock edited or removed misses", async () => {
  await using project = await cachedProject();
  const lock = project.path("deno.lock");
  const had = await project.exists("deno.lock");
  await Deno.writeTextFile(lock, JSON.stringify({ version: "5" }) + "\n");
  const edited = await traced(project, "list");
  assert(!edited.fast);
  assertMatch(edited.cache, had ? /deno\.lock changed/ : /deno\.lock appeared/);
  assertEquals(edited.stdout, "a\nb\n");
  age(project);
  await traced(project, "list");
  assert((await traced(project, "list")).fast);
  await Deno.remove(lock);
  const removed = await traced(project, "list");
  assert(!removed.fast);
  assertMatch(removed.cache, /deno\.lock changed/);
});

test("params.yaml edited: the new param value is decided", async () => {
  await using project = await cachedProject();
  await project.write("params.yaml", "a:\n  suffix: '?'\n");
  const status = await traced(project, "status", "--json");
  assertEquals(status.code, 0, status.stderr);
  assert(!status.fast);
  assertMatch(status.cache, /params changed/);
  const stages = JSON.parse(status.stdout).stages;
  assertEquals(stages.map((s: { status: string }) => s.status), ["will-run", "will-run"]);
  const repro = await project.pivot("repro");
  assertEquals(repro.code, 0, repro.stderr);
  assertEquals(await project.read("build/a.txt"), "HI?");
});

test("a dep, an out or a lock file changed: decided the normal way", async () => {
  await using project = await cachedProject();
  // A dep edited.
  await project.write("data/in.txt", "ho\n");
  const status = await traced(project, "status");
  assertMatch(status.cache, /load cache hit, but a stage is not verified/);
  assertEquals(await statusOf(project), { a: "will-run", b: "will-run" });
  const repro = await traced(project, "repro");
  assert(!repro.fast);
  assertEquals(await project.read("build/a.txt"), "HO!");
  // An out deleted.
  await Deno.remove(project.path("build/b.txt"));
  assert(!(await traced(project, "status")).fast);
  assert(!(await traced(project, "repro")).fast); // restored from the cache
  assertEquals(await project.read("build/b.txt"), "HO!HO!");
  // A lock file deleted, then a dep deleted.
  await Deno.remove(project.path(".pivot", "stages", "b.lock"));
  assert(!(await traced(project, "repro")).fast);
  assert(await project.exists(".pivot/stages/b.lock"));
  await Deno.remove(project.path("data/in.txt"));
  // Refused as the normal path refuses it (the graph checks inputs exist, from either;
  // the cached graph is not used then).
  for (const command of ["status", "list"]) {
    const missing = await traced(project, command);
    assertMatch(missing.cache, /load cache hit/);
    assertEquals(missing.code, 2, missing.stderr);
    const cache = project.path(".pivot", "state", "load-cache.json");
    const kept = await Deno.readTextFile(cache);
    await Deno.remove(cache);
    const normal = await traced(project, command);
    assertEquals([missing.code, missing.stdout, missing.stderr], [
      normal.code,
      normal.stdout,
      normal.stderr,
    ]);
    await Deno.writeTextFile(cache, kept);
  }
});

test("a lock file edited by hand is read the normal way", async () => {
  await using project = await cachedProject();
  const lock = project.path(".pivot", "stages", "a.lock");
  await Deno.writeTextFile(lock, (await Deno.readTextFile(lock)) + "\n# edited\n");
  const status = await traced(project, "status");
  assert(!status.fast);
  const normal = await project.pivot("status");
  assertEquals([status.code, status.stdout], [normal.code, normal.stdout]);
});

test("a pipeline that reads a folder or the environment while registering is never cached", async () => {
  const folder = `import { dep, loaders, out, Pipeline } from "jsr:@pivot/core";

export const pipeline = new Pipeline("folder");

for (const entry of [...Deno.readDirSync("data")].sort((a, b) => a.name < b.name ? -1 : 1)) {
  const name = entry.name.replace(/\\.txt$/, "");
  pipeline.stage({
    name,
    deps: { src: dep(\`data/\${entry.name}\`, loaders.text()) },
    outs: { o: out(\`build/\${name}.txt\`, loaders.text()) },
    run: ({ src }) => ({ o: src }),
  });
}
`;
  await using project = await TempProject.create({ "pipeline.ts": folder, "data/x.txt": "x\n" });
  await project.pivot("repro");
  age(project);
  const first = await traced(project, "list");
  assertMatch(first.cache, /load cache not written: .*pipeline\.ts:\d+: 'Deno'/);
  assertEquals(first.stdout, "x\n");
  await project.write("data/y.txt", "y\n");
  const second = await traced(project, "list");
  assert(!second.fast);
  assertEquals(second.stdout, "x\ny\n");

  const env = `import { Pipeline } from "jsr:@pivot/core";
import { stageNames } from "./lib/env.ts";
export const pipeline = new Pipeline("env");
for (const name of stageNames()) pipeline.stage({ name, run: () => ({}) });
`;
  await project.write("pipeline.ts", env);
  await project.write(
    "lib/env.ts",
    `export const stageNames = () => (process.env.STAGES ?? "p").split(",");\n`,
  );
  age(project);
  const read = await runPivot(project.root, ["list"], { PIVOT_TRACE: "1", STAGES: "p,q" });
  assertMatch(read.stderr, /load cache not written: .*env\.ts:1: 'process'/);
  assertEquals(read.stdout, "p\nq\n");
  const again = await runPivot(project.root, ["list"], { PIVOT_TRACE: "1", STAGES: "r" });
  assertEquals(again.stdout, "r\n");
});

test("other ways out of the module sources make a pipeline ineligible", async () => {
  const cases: [string, RegExp][] = [
    [`const when = new Date().getHours();`, /'Date'/],
    [`const n = Math.random();`, /'random'/],
    [`const { random } = Math;`, /'random'/],
    [`console.log("registering");`, /'console'/],
    [`const m = await import("./lib/deep.ts");`, /dynamic import/],
    [`const here = import.meta.url;`, /import\.meta/],
    [`const f = (() => 0).constructor;`, /'constructor'/],
    [`const g = globalThis;`, /'globalThis'/],
    [`import { readFileSync } from "node:fs";`, /imports node:fs/],
  ];
  await using project = await TempProject.create(FILES);
  await project.pivot("repro");
  for (const [line, reason] of cases) {
    await project.write("pipeline.ts", `${line}\n${PIPELINE}`);
    age(project);
    const result = await traced(project, "list");
    assertEquals(result.code, 0, `${line}: ${result.stderr}`);
    assertMatch(result.cache, /load cache not written/, line);
    assertMatch(result.cache, reason, line);
    assert(!(await project.exists(".pivot/state/load-cache.json")), line);
  }
  // Types and member names are not references: still cached.
  await project.write(
    "pipeline.ts",
    `type When = { at: Date; name: string };\nconst w: When | undefined = undefined;\n${PIPELINE}`,
  );
  age(project);
  assertMatch((await traced(project, "list")).cache, /load cache written/);
});

/** Each damage of the cache file makes `list`, `status` and `repro` miss, then write it again. */
async function damagedMisses(damages: [string, (text: string) => string][]): Promise<void> {
  await using project = await cachedProject();
  const path = project.path(".pivot", "state", "load-cache.json");
  for (const [what, damage] of damages) {
    for (const args of [["list"], ["status"], ["repro"]]) {
      // Each command misses and writes the cache again: damaged anew for the next.
      await Deno.writeTextFile(path, damage(await Deno.readTextFile(path)));
      const result = await traced(project, ...args);
      assertEquals(result.code, 0, `${what}: ${result.stderr}`);
      assert(!result.fast, what);
      assertNotMatch(result.stderr, /error|Error/, what);
      assert((await traced(project, ...args)).fast, `${what}: not rewritten`);
    }
    assertEquals((await traced(project, "list")).stdout, "a\nb\n", what);
  }
}

/** `text` (the cache file) with `change` made to its JSON (of any shape: it is damaged). */
// deno-lint-ignore no-explicit-any
function edited(change: (stored: Record<string, any>) => void): (text: string) => string {
  return (text) => {
    const stored = JSON.parse(text);
    change(stored);
    return JSON.stringify(stored);
  };
}

// The damages in groups: each group's test stays within the time limit on a loaded machine.
test("a damaged cache is a miss, never a crash", async () => {
  await damagedMisses([
    ["truncated", (text) => text.slice(0, text.length / 2)],
    ["not JSON", () => "\u0000garbage"],
    ["files missing", edited((stored) => delete stored.files)],
  ]);
});

test("damaged stages in the cache are a miss", async () => {
  await damagedMisses([
    ["a wrong shape", edited((stored) => stored.stages.skeletons[0][0] = 99)],
    [
      "a reference to nothing",
      edited((stored) => {
        stored.stages.skeletons = [2];
        stored.stages.items = [0];
        stored.stages.leaves = [4000];
      }),
    ],
    ["stages of another pipeline file", edited((stored) => stored.mainCount = 10)],
  ]);
});

test("damaged leaves or graph in the cache are a miss", async () => {
  await damagedMisses([
    ["leaves that do not fit", edited((stored) => stored.stages.leaves.push(0))],
    ["a graph of other stages", edited((stored) => stored.graph.order = [0, 0])],
  ]);
});

test("a damaged graph or fingerprints in the cache are a miss", async () => {
  await damagedMisses([
    [
      "a producer of nothing",
      edited((stored) => {
        stored.graph.producers = stored.graph.producers.map((n: number) => n === 0 ? 0 : 7);
      }),
    ],
    ["fingerprints of another stage list", edited((stored) => stored.fingerprints.stages = [0])],
  ]);
});

test("another Pivot, project root or pipeline file misses", async () => {
  await using project = await cachedProject();
  await editCache(project, (stored) => {
    (stored.identity as Record<string, string>).pivot = "0.0.1 1 /elsewhere/pivot";
  });
  const upgraded = await traced(project, "list");
  assert(!upgraded.fast);
  assertMatch(upgraded.cache, /pivot changed/);
  assert((await traced(project, "list")).fast);
  // One of Pivot's own files recorded with another stamp (an edit, an upgrade in place).
  await editCache(project, (stored) => {
    const files = stored.files as [string, number, number, number][];
    const own = files.find(([path]) => path.endsWith("/lib/api/pipeline.ts"))!;
    own[1] -= 1000;
  });
  const edited = await traced(project, "list");
  assert(!edited.fast);
  assertMatch(edited.cache, /lib\/api\/pipeline\.ts changed/);
});

test("a module modified after the command's clock marker is not trusted", async () => {
  await using project = await TempProject.create(FILES);
  await project.pivot("repro");
  age(project);
  await project.edit("lib/names.ts", "toUpperCase()", "toUpperCase() + ''");
  // Dated ahead (a clock step, a copy from another machine): not before any marker of now.
  const ahead = new Date(Date.now() + 60_000);
  Deno.utimeSync(project.path("lib/names.ts"), ahead, ahead);
  const list = await traced(project, "list");
  assertMatch(list.cache, /load cache not written: .*names\.ts was modified too recently/);
});

test("a pipeline.ts added where a dep's producer may be misses", async () => {
  await using project = await cachedProject({
    ...FILES,
    "pipeline.ts": PIPELINE.replace(`dep("data/in.txt"`, `dep("sub/made.txt"`),
    "sub/made.txt": "made\n",
  });
  await project.write(
    "sub/pipeline.ts",
    `import { out, loaders, Pipeline } from "jsr:@pivot/core";
export const pipeline = new Pipeline("sub");
pipeline.stage({ name: "make", outs: { o: out("made.txt", loaders.text()) }, run: () => ({ o: "x\\n" }) });
`,
  );
  const list = await traced(project, "list");
  assert(!list.fast);
  assertMatch(list.cache, /pipeline files changed/);
  assertEquals(list.stdout, "make\na\nb\n");
});

test("an out directory turned into a link outside the project is refused as before", async () => {
  await using project = await cachedProject();
  await using outside = await tempDir();
  await Deno.remove(project.path("build"), { recursive: true });
  await Deno.symlink(outside.root, project.path("build"));
  const list = await traced(project, "list");
  assert(!list.fast);
  assertMatch(list.cache, /leads outside the project/);
  assertEquals(list.code, 2, list.stderr);
  assertMatch(list.stderr, /leads outside the project through a symbolic link/);
});

/** A graph as plain data: order, edges and producers by name. */
function graphData(graph: StageGraph) {
  const names = (set: ReadonlySet<string> | undefined) => [...set ?? []];
  return {
    order: graph.order.map((stage) => stage.name),
    byName: [...graph.byName.keys()],
    upstream: [...graph.upstream].map(([name, set]) => [name, names(set)]),
    downstream: [...graph.downstream].map(([name, set]) => [name, names(set)]),
    producers: [...graph.producersOfDep].map(([name, perDep]) => [
      name,
      [...perDep].map(([path, list]) => [path, list.map((p) => [p.stage.name, p.out.path])]),
    ]),
  };
}

function fingerprintData(fingerprints: ReadonlyMap<string, StageFingerprint>) {
  return [...fingerprints].map(([name, { manifest, locations, files }]) => [
    name,
    { manifest, locations, files },
  ]);
}

test("the graph and fingerprints kept in the cache are the ones a load derives", async () => {
  // Stages fed by two producers and by one, and one fed by none.
  const files = {
    ...FILES,
    "pipeline.ts": PIPELINE + `
pipeline.stage({
  name: "c",
  deps: { a: dep("build/a.txt", loaders.text()), b: dep("build/b.txt", loaders.text()) },
  outs: { o: out("other/c.txt", loaders.text()) },
  run: ({ a, b }) => ({ o: shout(a + b) }),
});

pipeline.stage({
  name: "d",
  deps: { src: dep("data/in.txt", loaders.text()) },
  outs: { o: out("other/d.txt", loaders.text()) },
  run: ({ src }) => ({ o: src }),
});
`,
  };
  await using project = await cachedProject(files);
  const found = findProject(project.root);
  const state = await project.state();
  const paramsYaml = await readParamsOverrides(found, state);
  const options = { exists: (abs: string) => exists(abs) };
  const read = readLoadCache(
    found,
    project.path("pipeline.ts"),
    project.config,
    paramsYaml,
    options,
  );
  assert("hit" in read, JSON.stringify(read));
  const { loaded, graph, fingerprints } = read.hit;
  assert(graph !== undefined && fingerprints !== undefined, "both kept");
  const built = buildGraph(loaded.stages, options);
  assertEquals(graphData(graph), graphData(built));
  const derived = await fingerprintStages(built.order, {
    projectRoot: project.root,
    denoConfig: project.config,
    pivotRoot: REPO,
    state,
  });
  assertEquals(fingerprintData(fingerprints), fingerprintData(derived));
  // An input gone: no cached graph (buildGraph says which), and so no fingerprints.
  const gone = readLoadCache(found, project.path("pipeline.ts"), project.config, paramsYaml, {
    exists: (abs) => !abs.endsWith("data/in.txt"),
  });
  assert("hit" in gone && gone.hit.graph === undefined && gone.hit.fingerprints === undefined);
});

test("a stage whose run function uses Deno is cached, and an edit of that code still re-runs it", async () => {
  // The helper is called by the run function only: registering never runs it.
  const pipeline = (suffix: string) =>
    PIPELINE.replace(
      `import { names, shout } from "./lib/names.ts";`,
      `import { names, shout } from "./lib/names.ts";

function stamp(text: string): string {
  return text + (Deno.build.os === "" ? "" : "${suffix}");
}`,
    ).replace("({ o: a + a })", "({ o: stamp(a + a) })");
  await using project = await cachedProject({ ...FILES, "pipeline.ts": pipeline("?") });
  assertEquals(await project.read("build/b.txt"), "HI!HI!?");
  const list = await traced(project, "list");
  assert(list.fast, list.cache);
  // The stage's code changes: the cache misses on the pipeline's stamp and b runs again.
  await project.write("pipeline.ts", pipeline("%"));
  age(project);
  const run = await traced(project, "repro");
  assertEquals(run.code, 0, run.stderr);
  assert(!run.fast, run.cache);
  assertEquals(await project.read("build/b.txt"), "HI!HI!%");
  assertMatch(run.cache, /load cache written/);
  // Once the new outs are out of the racy window and recorded: the fast path again.
  age(project);
  assertEquals((await traced(project, "repro")).code, 0);
  const again = await traced(project, "repro");
  assert(again.fast, again.cache);
});
