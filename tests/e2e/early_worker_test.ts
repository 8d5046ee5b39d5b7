/**
 * A cold `repro` starts its first stage worker (and the worker's import of
 * the pipeline) while the fingerprint is computed (`earlyWorker` in
 * lib/cli/session.ts), and a warm one whose input changed starts it before
 * the pipeline is imported: the run is the same as without it, the worker
 * is the one the first stage runs in, and a run refused after the
 * fingerprint leaves no worker's staging area behind.
 */

import { assert, assertEquals, assertMatch } from "../_assert.ts";
import { runPivot, TempProject } from "../_project.ts";
import { test } from "../_harness.ts";

const PIPELINE = `import { dep, loaders, out, Pipeline } from "jsr:@pivot/core";
import { shout } from "./lib/shout.ts";

export const pipeline = new Pipeline("early");

pipeline.stage({
  name: "a",
  deps: { src: dep("data/in.txt", loaders.text()) },
  outs: { o: out("build/a.txt", loaders.text()) },
  run: ({ src }) => ({ o: shout(src.trim()) }),
});

pipeline.stage({
  name: "b",
  deps: { a: dep("build/a.txt", loaders.text()) },
  outs: { o: out("build/b.txt", loaders.text()) },
  run: ({ a }) => ({ o: a + "!" }),
});
`;

const FILES = {
  "pipeline.ts": PIPELINE,
  "lib/shout.ts": "export const shout = (text: string): string => text.toUpperCase();\n",
  "data/in.txt": "hi\n",
};

/** `pivot ARGS` with the trace on: the result without trace lines, and the trace. */
async function traced(project: TempProject, ...args: string[]) {
  const result = await runPivot(project.root, args, { PIVOT_TRACE: "1" });
  const lines = result.stderr.split("\n");
  return {
    code: result.code,
    stdout: result.stdout,
    stderr: lines.filter((line) => !line.startsWith("[trace]")).join("\n").trim(),
    trace: lines.filter((line) => line.startsWith("[trace]")).join("\n"),
  };
}

/** Staging areas of stage workers left under the project's temporary directory. */
function stagingLeft(project: TempProject): string[] {
  const tmp = project.path(".pivot", "tmp");
  try {
    return [...Deno.readDirSync(tmp)].map((entry) => entry.name).filter((name) =>
      name.startsWith("run")
    );
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return [];
    throw error;
  }
}

test("a cold repro runs its first stage in the worker started during the fingerprint", async () => {
  await using p = await TempProject.create(FILES);
  const first = await traced(p, "repro");
  assertEquals(first.code, 0, first.stderr);
  assertMatch(first.trace, /session: first worker started/);
  assert(!first.trace.includes("dropped"), "the worker started early was used");
  assertEquals(await p.read("build/b.txt"), "HI!");
  assertEquals(stagingLeft(p), []);

  // Warm: no `deno info`, nothing started ahead; nothing to run.
  const again = await traced(p, "repro");
  assertEquals(again.code, 0, again.stderr);
  assert(!again.trace.includes("first worker started"), again.trace);

  // A new import is a new module graph: cold again, and the worker reads the new module.
  await p.write("lib/bang.ts", 'export const bang = "!!";\n');
  await p.write(
    "pipeline.ts",
    `import { bang } from "./lib/bang.ts";\n` +
      PIPELINE.replace(`o: a + "!"`, "o: a + bang"),
  );
  const edited = await traced(p, "repro");
  assertEquals(edited.code, 0, edited.stderr);
  assertMatch(edited.trace, /session: first worker started/);
  assert(!edited.trace.includes("dropped"), "the worker started early was used");
  assertEquals(await p.read("build/b.txt"), "HI!!");
});

/** The outs, lock files and `status --json` of `project`, to compare runs. */
async function results(project: TempProject) {
  const status = await runPivot(project.root, ["status", "--json"]);
  return {
    a: await project.read("build/a.txt"),
    b: await project.read("build/b.txt"),
    lockA: await project.read(".pivot/stages/a.lock"),
    lockB: await project.read(".pivot/stages/b.lock"),
    status: status.stdout,
  };
}

test("a warm repro whose input changed starts its first worker before the pipeline loads", async () => {
  await using p = await TempProject.create(FILES);
  await using off = await TempProject.create(FILES);
  const offEnv = { PIVOT_EARLY_WORKER: "off" };
  for (const project of [p, off]) {
    const env = project === off ? offEnv : {};
    assertEquals((await runPivot(project.root, ["repro"], env)).code, 0);
  }

  // Just after the stages ran the index has not seen them up to date: the
  // pipeline is loaded to decide them, but their inputs are as they were
  // hashed, so nothing is started ahead (nothing runs).
  const noop = await traced(p, "repro");
  assertEquals(noop.code, 0, noop.stderr);
  assertMatch(noop.trace, /session: load cache hit, but a stage is not verified/);
  assert(!noop.trace.includes("first worker started"), noop.trace);
  assertEquals((await runPivot(off.root, ["repro"], offEnv)).code, 0);

  // An edited input: stage a will run; its worker starts before the import.
  await p.write("data/in.txt", "ho\n");
  await off.write("data/in.txt", "ho\n");
  const changed = await traced(p, "repro");
  assertEquals(changed.code, 0, changed.stderr);
  const started = changed.trace.indexOf("session: first worker started");
  assert(started >= 0, changed.trace);
  assert(started < changed.trace.indexOf("session: pipeline loaded", started), changed.trace);
  assert(!changed.trace.includes("dropped"), "the worker started early was used");
  const without = await runPivot(off.root, ["repro"], { ...offEnv, PIVOT_TRACE: "1" });
  assertEquals(without.code, 0, without.stderr);
  assert(!without.stderr.includes("first worker started"), without.stderr);

  assertEquals(await p.read("build/b.txt"), "HO!");
  assertEquals(await results(p), await results(off));
  assertEquals(stagingLeft(p), []);

  // A preview starts nothing, and having hashed the edited input first
  // does not hide the edit from the next run.
  await p.write("data/in.txt", "hey\n");
  const preview = await traced(p, "repro", "--dry-run");
  assertEquals(preview.code, 0, preview.stderr);
  assert(!preview.trace.includes("first worker started"), preview.trace);
  const after = await traced(p, "repro");
  assertEquals(after.code, 0, after.stderr);
  assertMatch(after.trace, /session: first worker started/);
  assertEquals(await p.read("build/b.txt"), "HEY!");
});

test("a preview starts no worker during the fingerprint", async () => {
  await using p = await TempProject.create(FILES);
  for (const flag of ["--dry-run", "--explain"]) {
    const result = await traced(p, "repro", flag);
    assertEquals(result.code, 0, result.stderr);
    assert(!result.trace.includes("first worker started"), `${flag}: ${result.trace}`);
  }
  assertEquals(stagingLeft(p), []);
});

test("a run refused after the fingerprint ran nothing and leaves no staging area", async () => {
  // The out is a module of the pipeline: found once the fingerprint is known.
  await using p = await TempProject.create({
    ...FILES,
    "pipeline.ts": PIPELINE.replace(`out("build/b.txt"`, `out("lib/shout.ts"`),
  });
  const before = await p.read("lib/shout.ts");
  const result = await traced(p, "repro");
  assertMatch(result.trace, /session: first worker started/);
  assertEquals(result.code, 2, result.stderr);
  assertEquals(result.stderr.split("\n").length, 1, result.stderr);
  assertMatch(result.stderr, /stage 'b': out 'o' \(lib\/shout\.ts\) is a source module/);
  assertEquals(await p.read("lib/shout.ts"), before);
  assertEquals(await p.exists("build/a.txt"), false, "nothing ran");
  assertEquals(stagingLeft(p), []);
});
