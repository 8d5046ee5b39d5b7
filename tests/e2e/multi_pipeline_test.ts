import { type JsonEvent, runPivot, TempProject } from "../_project.ts";
import { assert, assertEquals } from "../_assert.ts";
import { test } from "../_harness.ts";

/** `pivot ARGS --json` run in `dir` (project-relative), its events parsed. */
async function eventsIn(
  p: TempProject,
  dir: string,
  ...args: string[]
): Promise<JsonEvent[]> {
  const result = await runPivot(p.path(dir), [...args, "--json"]);
  assertEquals(result.code, 0, result.stderr);
  return result.stdout.trim().split("\n").map((line) => JSON.parse(line) as JsonEvent);
}

function ranInOrder(events: readonly JsonEvent[]): string[] {
  return events.filter((e) => e.type === "stage" && e.status === "ran").map((e) => e.stage!);
}

const SIBLINGS = {
  // feature_a is a YAML pipeline; feature_b a TypeScript one that reads feature_a's output.
  "feature_a/pivot.yaml": `stages:
  compute_a:
    run: stages.ts#computeA
    deps: { raw: raw.json }
    outs: { output: output.json }
`,
  "feature_a/stages.ts": `export function computeA({ raw }: { raw: number[] }) {
  return { output: raw.map((n) => n * 10) };
}
`,
  "feature_a/raw.json": "[1, 2]",
  "feature_b/pipeline.ts": `import { dep, loaders, out, Pipeline } from "jsr:@pivot/core";
export const pipeline = new Pipeline("feature_b");
pipeline.stage({
  name: "compute_b",
  deps: { a: dep("../feature_a/output.json", loaders.json<number[]>()) },
  outs: { combined: out("combined.json", loaders.json<number>()) },
  run: ({ a }) => ({ combined: a.reduce((x, y) => x + y, 0) }),
});
`,
};

test("repro in one pipeline runs a sibling pipeline's producer first, with locks in each pipeline", async () => {
  await using p = await TempProject.create(SIBLINGS);
  const first = await eventsIn(p, "feature_b", "repro");
  assertEquals(ranInOrder(first), ["compute_a", "compute_b"]);
  assertEquals(JSON.parse(await p.read("feature_a/output.json")), [10, 20]);
  assertEquals(JSON.parse(await p.read("feature_b/combined.json")), 30);
  assert(await p.exists("feature_a/.pivot/stages/compute_a.lock"));
  assert(await p.exists("feature_b/.pivot/stages/compute_b.lock"));
  assert(!(await p.exists(".pivot/stages/compute_a.lock")));
  assert(!(await p.exists("feature_a/.pivot/cache")), "the cache is the project's");

  const second = await eventsIn(p, "feature_b", "repro");
  assertEquals(TempProject.byStatus(second), { skipped: ["compute_a", "compute_b"] });

  // The producer is found even though its output now exists, so its input changes count.
  await p.write("feature_a/raw.json", "[1, 2, 3]");
  const third = await eventsIn(p, "feature_b", "repro");
  assertEquals(ranInOrder(third), ["compute_a", "compute_b"]);
  assertEquals(JSON.parse(await p.read("feature_b/combined.json")), 60);

  // feature_a on its own knows nothing of feature_b.
  const alone = await eventsIn(p, "feature_a", "repro");
  assertEquals(TempProject.byStatus(alone), { skipped: ["compute_a"] });
});

test("an included stage whose name is taken is known as <pipeline>/<stage>", async () => {
  const stage = (pipeline: string, deps: string, value: string) =>
    `import { dep, loaders, out, Pipeline } from "jsr:@pivot/core";
export const pipeline = new Pipeline("${pipeline}");
pipeline.stage({
  name: "make",
  deps: { ${deps} },
  outs: { o: out("out.txt", loaders.text()) },
  run: (${deps ? "{ d }" : "_deps"}: Record<string, string>, ctx) => ({ o: ${value} }),
});
`;
  await using p = await TempProject.create({
    "one/pipeline.ts": stage("one", "", '"one:" + ctx.stage'),
    "two/pipeline.ts": stage(
      "two",
      'd: dep("../one/out.txt", loaders.text())',
      'd + " two:" + ctx.stage',
    ),
  });
  const events = await eventsIn(p, "two", "repro");
  assertEquals(ranInOrder(events), ["one/make", "make"]);
  assertEquals(await p.read("two/out.txt"), "one:one/make two:make");
  assert(await p.exists("one/.pivot/stages/make.lock"));
  assert(await p.exists("two/.pivot/stages/make.lock"));
  const list = await runPivot(p.path("two"), ["list", "--json"]);
  const listed = JSON.parse(list.stdout).stages.map((s: { name: string; pipeline: string }) => [
    s.name,
    s.pipeline,
  ]);
  assertEquals(listed, [["one/make", "one"], ["make", "two"]]);
  const again = await eventsIn(p, "two", "repro", "one/make");
  assertEquals(TempProject.byStatus(again), { skipped: ["one/make"] });
});

test("the nearest pipeline that produces a dep wins", async () => {
  const producer = (name: string, path: string, text: string) =>
    `import { loaders, out, Pipeline } from "jsr:@pivot/core";
export const pipeline = new Pipeline("${name}");
pipeline.stage({ name: "${name}", outs: { o: out("${path}", loaders.text()) }, run: () => ({ o: "${text}" }) });
`;
  await using p = await TempProject.create({
    // The root pipeline can produce shared/data.txt too, but shared/ is nearer to the dep.
    "pipeline.ts": producer("root_make", "shared/data.txt", "root"),
    "shared/pipeline.ts": producer("shared_make", "data.txt", "shared"),
    "use/pipeline.ts": `import { dep, loaders, out, Pipeline } from "jsr:@pivot/core";
export const pipeline = new Pipeline("use");
pipeline.stage({
  name: "consume",
  deps: { d: dep("../shared/data.txt", loaders.text()) },
  outs: { o: out("copy.txt", loaders.text()) },
  run: ({ d }) => ({ o: d }),
});
`,
  });
  const events = await eventsIn(p, "use", "repro");
  assertEquals(ranInOrder(events), ["shared_make", "consume"]);
  assertEquals(await p.read("use/copy.txt"), "shared");
});
