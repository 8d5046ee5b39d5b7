import { TempProject } from "../_project.ts";
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
  await using p = await TempProject.create({
    "pipeline.ts": `import { loaders, out, Pipeline } from "jsr:@pivot/core";
export const pipeline = new Pipeline("mutex");
${stage("gpu_a", `"gpu"`)}
${stage("gpu_b", `"gpu"`)}
${stage("free_c", "")}
${stage("free_d", "")}
${stage("alone", `"*"`)}
`,
  });
  const result = await p.pivot("repro", "-j", "4");
  assertEquals(result.code, 0, result.stderr);
  const span = async (name: string) =>
    JSON.parse(await p.read(`build/${name}.json`)) as [number, number];
  const overlap = ([a0, a1]: [number, number], [b0, b1]: [number, number]) => a0 < b1 && b0 < a1;
  const [a, b, c, d, alone] = await Promise.all(
    ["gpu_a", "gpu_b", "free_c", "free_d", "alone"].map(span),
  );
  assert(!overlap(a, b), "gpu_a and gpu_b share a mutex group");
  assert(overlap(c, d) || overlap(a, c) || overlap(b, d), "unrelated stages do run together");
  for (const other of [a, b, c, d]) assert(!overlap(alone, other), "'*' runs alone");
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
