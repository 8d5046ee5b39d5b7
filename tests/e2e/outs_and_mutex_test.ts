import { TempProject, WAIT_FOR_FILE } from "../_project.ts";
import { assert, assertEquals, assertMatch } from "../_assert.ts";
import { test } from "../_harness.ts";

test("an incremental out starts from its last version, as a writable copy", async () => {
  await using p = await TempProject.create({
    "data/item.txt": "a",
    "pipeline.ts": `import { dep, incremental, loaders, Pipeline } from "jsr:@pivot/core";
export const pipeline = new Pipeline("inc");
pipeline.stage({
  name: "append",
  deps: { item: dep("data/item.txt", loaders.text()) },
  outs: { log: incremental("build/log.txt") },
  run: ({ item }, ctx) => {
    let before = "";
    try {
      before = Deno.readTextFileSync(ctx.outs.log);
    } catch {
      // first run
    }
    Deno.writeTextFileSync(ctx.outs.log, before + item + "\\n");
  },
});
`,
  });
  assertEquals((await p.pivot("repro")).code, 0);
  await p.write("data/item.txt", "b");
  const second = await p.events("repro");
  assertEquals(TempProject.byStatus(second.events), { ran: ["append"] });
  assertEquals(await p.read("build/log.txt"), "a\nb\n");
  const info = await Deno.stat(p.path("build/log.txt"));
  assert((info.mode! & 0o200) !== 0, "an incremental out is a writable copy");
  assertEquals(info.nlink, 1);
});

test("stages in one mutex group never run at once; '*' runs alone", async () => {
  const stage = (name: string, mutex: string) => `
pipeline.stage({
  name: "${name}",
  outs: { o: out("build/${name}.json", loaders.json<number[]>()) },
  mutex: [${mutex}],
  run: async () => {
    const start = Date.now();
    await new Promise((resolve) => setTimeout(resolve, 300));
    return { o: [start, Date.now()] };
  },
});`;
  // Two stages in no group. With meet.txt "yes" each leaves a marker when it
  // starts and waits (up to 20 s) for the other's: run at once, they
  // certainly overlap, however late either starts; run one after the other,
  // the first gives up and says it never met the other. Otherwise they sleep
  // as the others do. (The markers are made with `touch`: a stage may write
  // only its outs.)
  const free = (name: string, other: string) => `
pipeline.stage({
  name: "${name}",
  deps: { meet: dep("meet.txt", loaders.text()) },
  outs: { o: out("build/${name}.json", loaders.json<[number, number, boolean]>()) },
  permissions: { read: ["markers"], run: ["touch"] },
  run: async ({ meet }) => {
    const start = Date.now();
    const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
    let met = false;
    if (meet === "yes") {
      // test-conventions: allow (the stage's own process, not the test's)
      const touched = new Deno.Command("touch", { args: ["markers/${name}"] }).outputSync();
      if (!touched.success) throw new Error(new TextDecoder().decode(touched.stderr));
      met = await waitForFile("markers/${other}", 20_000);
    } else {
      await sleep(300);
    }
    return { o: [start, Date.now(), met] };
  },
});`;
  await using p = await TempProject.create({
    "meet.txt": "no",
    "markers/.keep": "",
    "pipeline.ts": `import { dep, loaders, out, Pipeline } from "jsr:@pivot/core";
export const pipeline = new Pipeline("mutex");
${WAIT_FOR_FILE}
${stage("gpu_a", `"gpu"`)}
${stage("gpu_b", `"gpu"`)}
${free("free_c", "free_d")}
${free("free_d", "free_c")}
${stage("alone", `"*"`)}
`,
  });
  type Span = [number, number, boolean?];
  const span = async (name: string) => JSON.parse(await p.read(`build/${name}.json`)) as Span;
  const spans = (names: string[]) => Promise.all(names.map(span));
  const overlap = ([a0, a1]: Span, [b0, b1]: Span) => a0 < b1 && b0 < a1;

  // Every stage: the mutex groups hold.
  const result = await p.pivot("repro", "-j", "4");
  assertEquals(result.code, 0, result.stderr);
  const [a, b, c, d, alone] = await spans(["gpu_a", "gpu_b", "free_c", "free_d", "alone"]);
  assert(!overlap(a, b), "gpu_a and gpu_b share a mutex group");
  for (const other of [a, b, c, d]) assert(!overlap(alone, other), "'*' runs alone");

  // Without '*': a '*' stage waiting for its slot holds back every stage that
  // asks after it, so which stages meet in a run with one depends on the
  // order they ask for slots. Here the two free stages run together, beside
  // the group.
  await p.write("meet.txt", "yes");
  const again = await p.pivot("repro", "-j", "4", "--force", "gpu_a", "gpu_b", "free_c", "free_d");
  assertEquals(again.code, 0, again.stderr);
  const [a2, b2, c2, d2] = await spans(["gpu_a", "gpu_b", "free_c", "free_d"]);
  assert(!overlap(a2, b2), "gpu_a and gpu_b share a mutex group");
  assert(
    c2[2] && d2[2],
    `unrelated stages do run together (met: free_c ${c2[2]}, free_d ${d2[2]})`,
  );
});

test("a stage that returns no value for an out fails, naming the out", async () => {
  await using p = await TempProject.create({
    "pipeline.ts": `import { loaders, out, Pipeline } from "jsr:@pivot/core";
export const pipeline = new Pipeline("missing");
pipeline.stage({
  name: "forgetful",
  outs: { kept: out("kept.txt", loaders.text()), lost: out("lost.txt", loaders.text()) },
  // deno-lint-ignore no-explicit-any
  run: (() => ({ kept: "x" })) as any,
});
pipeline.stage({
  name: "lazy",
  outs: { file: out("file.bin") },
  run: function lazy() {},
});
`,
  });
  const { result, events } = await p.events("repro", "-k");
  assertEquals(result.code, 1);
  assertMatch(
    String(events.find((e) => e.stage === "forgetful")?.error),
    /returned no value for out 'lost'/,
  );
  assertMatch(
    String(events.find((e) => e.stage === "lazy")?.error),
    /did not write out 'file' \(file\.bin\): write it at ctx\.outs\.file/,
  );
  assert(!(await p.exists("kept.txt")), "nothing of a failed stage reaches the workspace");
});
