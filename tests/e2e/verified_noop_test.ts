/**
 * The verified index end to end (lib/engine/verified.ts): once a no-op has
 * found every stage up to date, the next `repro` and `status` answer from
 * stamps alone (the trace says how many stages the index verified), and each
 * change a full decision notices still re-runs or reports the stage: code,
 * params, a dep, an out, a lock file, the pipeline's definition.
 *
 * Files written moments ago are "racy" and never recorded, so every file of
 * the project is dated a minute back before the no-op that records.
 */

import {
  age,
  forgetNoopRecord,
  runPivot,
  spawnPivot,
  TempProject,
  WAIT_FOR_FILE,
} from "../_project.ts";
import { processTree, Running, running, waitFor } from "./_kill.ts";
import { assertEquals, assertMatch } from "../_assert.ts";
import { test } from "../_harness.ts";

const PIPELINE = `import { dep, loaders, out, Pipeline } from "jsr:@pivot/core";

export const pipeline = new Pipeline("verified");

pipeline.stage({
  name: "a",
  deps: { src: dep("data/in.txt", loaders.text()) },
  outs: { o: out("build/a.txt", loaders.text()) },
  params: { suffix: "!" },
  run: ({ src }, { params }) => ({ o: src.trim().toUpperCase() + params.suffix }),
});

pipeline.stage({
  name: "b",
  deps: { a: dep("build/a.txt", loaders.text()) },
  outs: { o: out("build/b.txt", loaders.text()) },
  run: ({ a }) => ({ o: a + a }),
});
`;

/** How many stages the verified index answered in `pivot ARGS` (from its trace). */
async function verifiedIn(project: TempProject, ...args: string[]): Promise<number> {
  // The index is what these tests look at: the record of a verified no-op (which answers before
  // the index is read: tests/e2e/noop_record_test.ts) is set aside.
  await forgetNoopRecord(project);
  const result = await runPivot(project.root, args, { PIVOT_TRACE: "1" });
  assertEquals(result.code, 0, result.stderr);
  const found = result.stderr.match(/(\d+) of (\d+) stages verified/);
  assertMatch(result.stderr, /stages verified/);
  return Number(found![1]);
}

/** A project run once, aged, and verified by a no-op `repro`. */
async function verifiedProject(): Promise<TempProject> {
  const project = await TempProject.create({ "pipeline.ts": PIPELINE, "data/in.txt": "hi\n" });
  const first = await project.pivot("repro");
  assertEquals(first.code, 0, first.stderr);
  age(project);
  assertEquals(await verifiedIn(project, "repro"), 0); // full decisions, recorded
  return project;
}

async function statusOf(project: TempProject): Promise<Record<string, string>> {
  const { stages } = await project.status();
  return Object.fromEntries(stages.map((s) => [s.name, `${s.status} ${s.reasons.join(",")}`]));
}

test("a no-op repro and status are answered by the verified index", async () => {
  await using project = await verifiedProject();
  assertEquals(await verifiedIn(project, "repro"), 2);
  assertEquals(await verifiedIn(project, "status"), 2);
  assertEquals(await statusOf(project), { a: "up-to-date ", b: "up-to-date " });
});

test("an edited dep, a changed param, edited code: each re-runs what a full decision would", async () => {
  await using project = await verifiedProject();
  await project.write("data/in.txt", "hello\n");
  age(project, 30);
  assertEquals(await statusOf(project), { a: "will-run deps", b: "will-run upstream" });
  const { events } = await project.events("repro");
  assertEquals(TempProject.byStatus(events), { ran: ["a", "b"] });
  assertEquals(await project.read("build/b.txt"), "HELLO!HELLO!");

  age(project);
  assertEquals(await verifiedIn(project, "repro"), 0);
  assertEquals(await verifiedIn(project, "repro"), 2);
  await project.write("pipeline.ts", PIPELINE.replace(`suffix: "!"`, `suffix: "?"`));
  age(project, 30);
  assertEquals(await statusOf(project), { a: "will-run params", b: "will-run upstream" });

  await project.write("pipeline.ts", PIPELINE.replace("a + a", "a + '/' + a"));
  age(project, 30);
  assertEquals(await statusOf(project), { a: "up-to-date ", b: "will-run code" });
  const after = await project.events("repro");
  assertEquals(TempProject.byStatus(after.events), { ran: ["b"], skipped: ["a"] });
  assertEquals(await project.read("build/b.txt"), "HELLO!/HELLO!");
});

test("a deleted or edited out is restored; a deleted lock file re-runs its stage", async () => {
  await using project = await verifiedProject();
  await Deno.remove(project.path("build/b.txt"));
  assertEquals(await statusOf(project), { a: "up-to-date ", b: "up-to-date " });
  const restored = await project.events("repro");
  assertEquals(TempProject.byStatus(restored.events), { restored: ["b"], skipped: ["a"] });
  assertEquals(await project.read("build/b.txt"), "HI!HI!");

  await Deno.remove(project.path(".pivot/stages/a.lock"));
  assertEquals(await statusOf(project), { a: "will-run never-run", b: "will-run upstream" });
});

test("a hand-edited lock file is noticed: its changed hash re-runs the stage", async () => {
  await using project = await verifiedProject();
  const lock = await project.read(".pivot/stages/b.lock");
  const edited = lock.replace(
    /hash: "?([0-9a-f]{16})"?\n(\s+)path: build\/a.txt/,
    (all, hash) => all.replace(hash, "abcdefabcdefabcd"),
  );
  await project.write(".pivot/stages/b.lock", edited);
  age(project, 30);
  assertEquals(await statusOf(project), { a: "up-to-date ", b: "will-run deps" });
});

test("a changed definition (a new dep) is noticed", async () => {
  await using project = await verifiedProject();
  await project.write("data/extra.txt", "x\n");
  await project.write(
    "pipeline.ts",
    PIPELINE.replace(
      `deps: { a: dep("build/a.txt", loaders.text()) },`,
      `deps: { a: dep("build/a.txt", loaders.text()), x: dep("data/extra.txt", loaders.text()) },`,
    ),
  );
  age(project, 30);
  assertEquals(await statusOf(project), { a: "up-to-date ", b: "will-run code,deps" });
});

/** A chain a → b → c; a and c wait (a minute at most) until `gates/<name>` exists. */
const GATED = `import { dep, loaders, out, Pipeline } from "jsr:@pivot/core";

export const pipeline = new Pipeline("gated");

${WAIT_FOR_FILE}

async function gate(name: string): Promise<void> {
  await waitForFile(\`gates/\${name}\`);
}

pipeline.stage({
  name: "a",
  deps: { src: dep("data/in.txt", loaders.text()) },
  outs: { o: out("build/a.txt", loaders.text()) },
  permissions: { read: ["gates"] },
  run: async ({ src }) => {
    console.log("started");
    await gate("a");
    return { o: src.trim() + "a" };
  },
});

pipeline.stage({
  name: "b",
  deps: { a: dep("build/a.txt", loaders.text()) },
  outs: { o: out("build/b.txt", loaders.text()) },
  run: ({ a }) => ({ o: a + "b" }),
});

pipeline.stage({
  name: "c",
  deps: { b: dep("build/b.txt", loaders.text()) },
  outs: { o: out("build/c.txt", loaders.text()) },
  permissions: { read: ["gates"] },
  run: async ({ b }) => {
    console.log("started");
    await gate("c");
    return { o: b + "c" };
  },
});
`;

/** Send `signal` to `run`'s launcher and every process below it. */
function signalTree(run: Running, signal: Deno.Signal): void {
  for (const pid of processTree(run.pid)) Deno.kill(pid, signal);
}

test("a repro that met another one does not skip, by stamps taken before, a stage the other is running", async () => {
  await using project = await TempProject.create({
    "pipeline.ts": GATED,
    "data/in.txt": "1\n",
    "gates/a": "",
    "gates/c": "",
  });
  assertEquals((await project.pivot("repro")).code, 0);
  age(project);
  assertEquals(await verifiedIn(project, "repro"), 0);
  assertEquals(await verifiedIn(project, "repro"), 3);

  await Deno.remove(project.path("gates/a"));
  await Deno.remove(project.path("gates/c"));
  await project.write("data/in.txt", "2\n");
  const first = new Running(spawnPivot(project.root, ["repro"]));
  await first.until((r) => /\[a\] started/.test(r.stdout), "the first repro to start a");
  // The second checks the index (b and c verified: nothing changed yet) and
  // waits for a; it is stopped while the first runs a and b and starts c.
  const second = new Running(spawnPivot(project.root, ["repro", "--json"]));
  await second.until((r) => /stage 'a' is locked/.test(r.stderr), "the second repro to wait for a");
  signalTree(second, "SIGSTOP");
  await project.write("gates/a", "");
  await first.until((r) => /\[c\] started/.test(r.stdout), "the first repro to start c");
  signalTree(second, "SIGCONT");
  // c's dep changed after the second checked the index: it must wait for
  // c as well, not call it up to date while the first still runs it.
  await waitFor(
    () => !running(second.pid) || /stage 'c' is locked/.test(second.stderr),
    "the second repro to end or to wait for c",
  );
  const early = running(second.pid) ? undefined : await project.read("build/c.txt");
  await project.write("gates/c", "");
  const [one, two] = await Promise.all([first.status, second.status]);
  assertEquals([one.code, two.code], [0, 0], first.stderr + second.stderr);
  assertEquals(early, undefined, `the second repro ended while c was still "${early}"`);
  assertEquals(await project.read("build/c.txt"), "2abc");
});

test("params JSON cannot write (.inf, -.inf, .nan in params.yaml) are told apart, by the index too", async () => {
  await using project = await TempProject.create({
    "pipeline.ts": `import { loaders, out, Pipeline } from "jsr:@pivot/core";
export const pipeline = new Pipeline("clip");
pipeline.stage({
  name: "clip",
  outs: { o: out("clip.txt", loaders.text()) },
  params: { max: 1 },
  run: (_deps, { params }) => ({ o: String(params.max) }),
});
`,
    "params.yaml": "clip:\n  max: .inf\n",
  });
  assertEquals((await project.pivot("repro")).code, 0);
  assertEquals(await project.read("clip.txt"), "Infinity");
  for (const [yaml, text] of [["-.inf", "-Infinity"], [".nan", "NaN"], [".inf", "Infinity"]]) {
    age(project);
    assertEquals(await verifiedIn(project, "repro"), 0);
    assertEquals(await verifiedIn(project, "repro"), 1);
    await project.write("params.yaml", `clip:\n  max: ${yaml}\n`);
    age(project, 30);
    assertEquals(await statusOf(project), { clip: "will-run params" }, yaml);
    assertEquals((await project.pivot("repro")).code, 0);
    assertEquals(await project.read("clip.txt"), text);
  }
});
