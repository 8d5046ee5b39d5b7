import { TempProject } from "../_project.ts";
import { WatchProcess } from "./_watch.ts";
import { assert, assertEquals, assertMatch } from "../_assert.ts";
import { test } from "../_harness.ts";

const PIPELINE = `import { dep, loaders, out, Pipeline } from "jsr:@pivot/core";
import { label } from "./lib/label.ts";

export const pipeline = new Pipeline("watched");

pipeline.stage({
  name: "upper",
  deps: { src: dep("data/input.txt", loaders.text()) },
  outs: { o: out("build/upper.txt", loaders.text()) },
  run: ({ src }) => ({ o: src.toUpperCase() }),
});

pipeline.stage({
  name: "labelled",
  deps: { up: dep("build/upper.txt", loaders.text()) },
  outs: { o: out("build/labelled.txt", loaders.text()) },
  run: ({ up }) => ({ o: label(up) }),
});

pipeline.stage({
  name: "other",
  deps: { src: dep("data/other.txt", loaders.text()) },
  outs: { o: out("build/other.txt", loaders.text()) },
  run: ({ src }) => ({ o: src + "!" }),
});
`;

const LABEL = `export function label(text: string): string {
  return "v1:" + text;
}
`;

async function project(): Promise<TempProject> {
  return await TempProject.create({
    "pipeline.ts": PIPELINE,
    "lib/label.ts": LABEL,
    "data/input.txt": "a",
    "data/other.txt": "b",
  });
}

async function withWatch(
  body: (p: TempProject, w: WatchProcess) => Promise<void>,
  ...args: string[]
): Promise<void> {
  await using p = await project();
  await using w = WatchProcess.start(p.root, ...args);
  await body(p, w);
}

test("watch: runs once, then a data edit re-runs exactly its downstream", async () => {
  await withWatch(async (p, w) => {
    assertEquals(await w.ranIn(1), ["labelled", "other", "upper"]);
    await p.write("data/input.txt", "z");
    assertEquals(await w.ranIn(2), ["labelled", "upper"]);
    assertEquals((await w.wave(2)).map((e) => e.stage).sort(), ["labelled", "upper"]);
    assertEquals(await p.read("build/labelled.txt"), "v1:Z");
  });
});

test("watch: a code edit in an imported module is re-imported and re-run", async () => {
  await withWatch(async (p, w) => {
    await w.wave(1);
    await p.write("lib/label.ts", LABEL.replace("v1:", "v2:"));
    assertEquals(await w.ranIn(2), ["labelled"]);
    assertEquals(await p.read("build/labelled.txt"), "v2:A");
  });
});

test("watch: a module first imported by a code edit can be read by the stage that runs it", async () => {
  await withWatch(async (p, w) => {
    await w.wave(1);
    // Workers for the next version of the code are started as soon as the
    // edit of label.ts is seen, allowed to read the modules of that time:
    // not extra.ts.
    await p.write("lib/extra.ts", `export const extra = "v3:";\n`);
    await p.write(
      "lib/label.ts",
      `import { extra } from "./extra.ts";\n` + LABEL.replace(`"v1:"`, "extra"),
    );
    assertEquals(await w.ranIn(2), ["labelled"]);
    assertEquals(await p.read("build/labelled.txt"), "v3:A");
  });
});

test("watch: a helper edit that fails to load, then its fix: the fix's code runs, once", async () => {
  await withWatch(async (p, w) => {
    await w.wave(1);
    // The workers made for the next code during the first debounce must not
    // have imported the broken version: the fix runs in them.
    await p.write("lib/label.ts", LABEL.replace("return", "return return"));
    await w.until(() => /label\.ts/.test(w.stderr), "the load error");
    assertEquals(w.summaries.length, 1);
    await p.write("lib/label.ts", LABEL.replace("v1:", "v4:"));
    assertEquals(await w.ranIn(2), ["labelled"]);
    assertEquals(await p.read("build/labelled.txt"), "v4:A");
    await p.write("lib/label.ts", LABEL.replace("v1:", "v5:"));
    assertEquals(await w.ranIn(3), ["labelled"]);
    assertEquals(await p.read("build/labelled.txt"), "v5:A");
  });
});

test("watch: outs, .pivot/ and editor temp files never start a wave", async () => {
  await withWatch(async (p, w) => {
    await w.wave(1);
    await p.write("build/other.txt", "tampered");
    await p.write("data/.input.txt.swp", "x");
    await p.write("data/input.txt~", "x");
    await p.write(".pivot/scratch.txt", "x");
    await p.write("lib/notes.md", "not code");
    await w.quietFor(800);
  });
});

test("watch: an atomic save (write temp, rename over) is seen", async () => {
  await withWatch(async (p, w) => {
    await w.wave(1);
    await Deno.writeTextFile(p.path("data/other.tmp"), "renamed");
    await Deno.rename(p.path("data/other.tmp"), p.path("data/other.txt"));
    assertEquals(await w.ranIn(2), ["other"]);
    assertEquals(await p.read("build/other.txt"), "renamed!");
  });
});

test("watch: a syntax error is reported and watching goes on; the fix runs", async () => {
  await withWatch(async (p, w) => {
    await w.wave(1);
    await p.write("pipeline.ts", PIPELINE + "\npipeline.stage({ name: ");
    await w.until(() => /pipeline\.ts:\d+:\d+: SyntaxError/.test(w.stderr), "the load error");
    assertEquals(w.summaries.length, 1);
    await p.write("pipeline.ts", PIPELINE.replace(`src + "!"`, `src + "?"`));
    assertEquals(await w.ranIn(2), ["other"]);
    assertEquals(await p.read("build/other.txt"), "b?");
  });
});

test("watch: a stage added to the pipeline appears and runs", async () => {
  await withWatch(async (p, w) => {
    await w.wave(1);
    await p.write(
      "pipeline.ts",
      PIPELINE + `
pipeline.stage({
  name: "extra",
  deps: { o: dep("build/other.txt", loaders.text()) },
  outs: { o: out("build/extra.txt", loaders.text()) },
  run: ({ o }) => ({ o: o.length.toString() }),
});
`,
    );
    assertEquals(await w.ranIn(2), ["extra"]);
    assertEquals(await p.read("build/extra.txt"), "2");
  });
});

test("watch: a change during a wave is queued for the next wave", async () => {
  await using p = await TempProject.create({
    "pipeline.ts": `import { dep, loaders, out, Pipeline } from "jsr:@pivot/core";
export const pipeline = new Pipeline("slow");
pipeline.stage({
  name: "slow",
  deps: { src: dep("data/input.txt", loaders.text()) },
  outs: { o: out("build/slow.txt", loaders.text()) },
  run: async ({ src }) => {
    console.log("started " + src);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    return { o: src };
  },
});
`,
    "data/input.txt": "1",
  });
  await using w = WatchProcess.start(p.root);
  await w.wave(1);
  await p.write("data/input.txt", "2");
  // Change again once the second wave's stage is running.
  await w.until(() => w.stderr.includes("[slow] started 2"), "the second wave's stage to start");
  await p.write("data/input.txt", "3");
  assertEquals(await w.ranIn(2), ["slow"]);
  assertEquals(await w.ranIn(3), ["slow"]);
  assertEquals(await p.read("build/slow.txt"), "3");
});

test("watch: Ctrl-C cancels a running stage, exits 130 and writes no lock for it", async () => {
  await using p = await TempProject.create({
    "pipeline.ts": `import { loaders, out, Pipeline } from "jsr:@pivot/core";
export const pipeline = new Pipeline("long");
pipeline.stage({
  name: "long",
  outs: { o: out("o.txt", loaders.text()) },
  run: async (_deps, ctx) => {
    console.log("started");
    await new Promise((resolve, reject) => {
      const timer = setTimeout(resolve, 30_000);
      ctx.signal.addEventListener("abort", () => { clearTimeout(timer); reject(ctx.signal.reason); });
    });
    return { o: "done" };
  },
});
`,
  });
  await using w = WatchProcess.start(p.root);
  // Interrupt once the stage runs, however long start-up takes.
  await w.until(() => w.stderr.includes("[long] started"), "the stage to start", 60_000);
  const code = await w.interrupt();
  assertEquals(code, 130);
  assertEquals(w.events.find((e) => e.stage === "long")?.status, "cancelled");
  assert(!(await p.exists(".pivot/stages/long.lock")));
  assert(!(await p.exists("o.txt")));
});

test("watch: --debounce and --serve without --watch are usage errors", async () => {
  await using p = await project();
  const result = await p.pivot("repro", "--serve");
  assertEquals(result.code, 2);
  assertMatch(result.stderr, /--debounce and --serve need --watch/);
});

test("watch: workers stay warm between waves and are replaced after a code change", async () => {
  const counter = `let runs = 0;
export function count(): number {
  return ++runs;
}
`;
  await using p = await TempProject.create({
    "pipeline.ts": `import { dep, loaders, out, Pipeline } from "jsr:@pivot/core";
import { count } from "./lib/counter.ts";
export const pipeline = new Pipeline("warm");
pipeline.stage({
  name: "counted",
  deps: { src: dep("data/input.txt", loaders.text()) },
  outs: { o: out("build/count.txt", loaders.text()) },
  run: ({ src }) => ({ o: \`\${src}:\${count()}\` }),
});
`,
    "lib/counter.ts": counter,
    "data/input.txt": "a",
  });
  // One worker, so every run lands in the same isolate while it lives.
  await using w = WatchProcess.start(p.root, "-j", "1");
  await w.wave(1);
  assertEquals(await p.read("build/count.txt"), "a:1");
  await p.write("data/input.txt", "b");
  await w.wave(2);
  assertEquals(await p.read("build/count.txt"), "b:2", "the same worker ran it again");
  await p.write("lib/counter.ts", counter.replace("++runs", "++runs + 100"));
  await w.wave(3);
  assertEquals(await p.read("build/count.txt"), "b:101", "a new worker loaded the new code");
});
