import { dep, incremental, out } from "../../lib/api/artifacts.ts";
import * as loaders from "../../lib/api/loaders.ts";
import {
  defineStage,
  EXACT_SITES,
  formatSite,
  Pipeline,
  PipelineDefinitionError,
} from "../../lib/api/pipeline.ts";
import { toFileUrl } from "../../lib/paths.ts";
import { tempDir } from "../_project.ts";
import { assert, assertEquals, assertThrows } from "../_assert.ts";
import { test } from "../_harness.ts";

/** The line of the caller of this function, from the stack. */
function lineHere(): number {
  const frame = new Error().stack!.split("\n")[2];
  return Number(/:(\d+):\d+\)?$/.exec(frame)![1]);
}

function definitionError(fn: () => unknown, pattern: RegExp): void {
  assertThrows(fn, PipelineDefinitionError, pattern);
}

export function train(): { model: { w: number } } {
  return { model: { w: 1 } };
}

const trainDef = defineStage({
  deps: { data: dep("data/train.json", loaders.json<number[]>()) },
  outs: { model: out("models/model.json", loaders.json<{ w: number }>()) },
  params: { epochs: 10, lr: 0.1 },
  run: train,
});
const trainDefLine = lineHere() - 6;

test("a stage's name defaults to the name of its named run function", () => {
  const pipeline = new Pipeline("p").stage({ run: train });
  assertEquals(pipeline.stages[0].name, "train");
});

test("a stage's name defaults to the name of a function held in a const", () => {
  const prepare = () => ({});
  const pipeline = new Pipeline("p").stage({ run: prepare });
  assertEquals(pipeline.stages[0].name, "prepare");
});

test("an explicit name wins over the function's name", () => {
  const pipeline = new Pipeline("p").stage({ name: "fit", run: train });
  assertEquals(pipeline.stages[0].name, "fit");
});

test("an inline run without a name is a definition error naming the call site", () => {
  const pipeline = new Pipeline("p");
  definitionError(
    () => pipeline.stage({ run: () => ({}) }),
    new RegExp(`pipeline_test\\.ts:${lineHere() - 1}: stage has no name`),
  );
  definitionError(() => pipeline.stage({ run() {} }), /stage has no name/);
});

test("a stage without a run function is a definition error", () => {
  definitionError(
    // @ts-expect-error: run is required
    () => new Pipeline("p").stage({ name: "x" }),
    /stage has no run function/,
  );
});

test("invalid pipeline names are definition errors", () => {
  for (const name of ["", "has space", "a@b", "dots.no"]) {
    definitionError(() => new Pipeline(name), /invalid pipeline name/);
  }
});

test("invalid stage names are definition errors", () => {
  for (const name of ["has space", "a@b@c", "@x", "x@", "dots.no", "slash/no", ""]) {
    definitionError(
      () => new Pipeline("p").stage({ name, run: train }),
      new RegExp(`invalid stage name ${JSON.stringify(name).replace(/[.@/]/g, "\\$&")}`),
    );
  }
});

test("names of letters, digits, '_' and '-' with one '@variant' are valid", () => {
  const pipeline = new Pipeline("my-pipe_1")
    .stage({ name: "train-2_x", run: train })
    .stage({ name: "train@small_v-1", run: train });
  assertEquals(pipeline.stages.map((s) => [s.baseName, s.variant]), [
    ["train-2_x", undefined],
    ["train", "small_v-1"],
  ]);
});

test("a stage name used twice in one pipeline is a definition error", () => {
  const pipeline = new Pipeline("p").stage({ run: train });
  definitionError(
    () => pipeline.stage({ name: "train", run: () => ({}) }),
    /stage 'train' is defined twice in pipeline 'p'/,
  );
});

test("stages are kept in registration order", () => {
  const pipeline = new Pipeline("p")
    .stage({ name: "b", run: train })
    .stage({ name: "a", run: train })
    .register(trainDef);
  assertEquals(pipeline.stages.map((s) => s.name), ["b", "a", "train"]);
});

test("register without overrides keeps the definition's paths and params", () => {
  const [stage] = new Pipeline("p").register(trainDef).stages;
  assertEquals(stage.name, "train");
  assertEquals(stage.variant, undefined);
  assertEquals(stage.deps.data.path, "data/train.json");
  assertEquals(stage.outs.model.path, "models/model.json");
  assertEquals(stage.params, { epochs: 10, lr: 0.1 });
  assertEquals(stage.paramOverrides, {});
});

test("register with a name 'train@small' makes a variant with its own paths and params", () => {
  const pipeline = new Pipeline("p")
    .register(trainDef, {
      name: "train@small",
      deps: { data: "data/small.json" },
      outs: { model: "models/small.json" },
      params: { epochs: 2 },
      mutex: ["gpu"],
    })
    .register(trainDef, { name: "train@large", params: { epochs: 50 } });
  const [small, large] = pipeline.stages;
  assertEquals([small.name, small.baseName, small.variant], ["train@small", "train", "small"]);
  assertEquals(small.deps.data.path, "data/small.json");
  assertEquals(small.outs.model.path, "models/small.json");
  assertEquals(small.outs.model.loader, trainDef.spec.outs!.model.loader);
  assertEquals(small.paramOverrides, { epochs: 2 });
  assertEquals(small.mutex, ["gpu"]);
  assertEquals(large.deps.data.path, "data/train.json");
  assertEquals(large.paramOverrides, { epochs: 50 });
  assertEquals(large.mutex, []);
  assertEquals(trainDef.spec.deps!.data.path, "data/train.json", "the definition is unchanged");
});

test("an override naming an unknown dep or out is a definition error listing the known", () => {
  definitionError(
    // @ts-expect-error: 'dataa' is not a dep of trainDef
    () => new Pipeline("p").register(trainDef, { deps: { dataa: "x.json" } }),
    /stage 'train': override names unknown dep 'dataa' \(known: data\)/,
  );
  definitionError(
    // @ts-expect-error: 'weights' is not an out of trainDef
    () => new Pipeline("p").register(trainDef, { outs: { weights: "w.json" } }),
    /override names unknown out 'weights' \(known: model\)/,
  );
});

test("a dep without a path is a definition error", () => {
  definitionError(
    () => new Pipeline("p").stage({ deps: { d: dep("", loaders.text()) }, run: train }),
    /stage 'train': dep 'd' has no path/,
  );
});

test("call sites point at the caller's file and line", () => {
  const here = toFileUrl(new URL(import.meta.url).pathname);
  const pipeline = new Pipeline("p");
  const pipelineLine = lineHere() - 1;
  pipeline.stage({ run: train });
  const stageLine = lineHere() - 1;
  pipeline.register(trainDef, { name: "train@v" });
  const registerLine = lineHere() - 1;
  assertEquals([pipeline.site.url, pipeline.site.line], [here, pipelineLine]);
  const [stage, registered] = pipeline.stages;
  assertEquals([stage.site.url, stage.site.line], [here, stageLine]);
  assertEquals(stage.definitionSite, undefined);
  assertEquals([registered.site.url, registered.site.line], [here, registerLine]);
  assertEquals([trainDef.site.url, trainDef.site.line], [here, trainDefLine]);
  assert(stage.site.column > 0);
});

test("call sites work in a directory whose name has spaces and parentheses", async () => {
  await using dir = await tempDir();
  const file = dir.path("my project (copy)", "pipeline.ts");
  await Deno.mkdir(dir.path("my project (copy)"));
  const api = new URL("../../lib/api/pipeline.ts", import.meta.url).href;
  await Deno.writeTextFile(
    file,
    `import { Pipeline } from ${JSON.stringify(api)};\n` +
      `export const pipeline = new Pipeline("p");\n` +
      `pipeline.stage({ name: "s", run: () => ({}) });\n`,
  );
  const { pipeline } = await import(toFileUrl(file)) as { pipeline: Pipeline };
  assertEquals([pipeline.site.url, pipeline.site.line], [toFileUrl(file), 2]);
  assertEquals([pipeline.stages[0].site.url, pipeline.stages[0].site.line], [
    toFileUrl(file),
    3,
  ]);
});

test("call sites name the module's own URL in a directory with '#' and '%', at its TypeScript lines", async () => {
  await using dir = await tempDir();
  const file = dir.path("run #1 at 100%", "pipeline.ts");
  await Deno.mkdir(dir.path("run #1 at 100%"));
  const api = new URL("../../lib/api/pipeline.ts", import.meta.url).href;
  // Type-only lines are gone from the JavaScript V8 runs: the lines are the source's.
  await Deno.writeTextFile(
    file,
    `import { Pipeline } from ${JSON.stringify(api)};\n` +
      `interface Unused {\n  a: number;\n  b: string;\n}\n` +
      `export const url = import.meta.url;\n` +
      `export const pipeline = new Pipeline("p");\n` +
      `pipeline.stage({ name: "s", run: (): Unused | void => {} });\n`,
  );
  const hadHook = Object.hasOwn(Error, "prepareStackTrace");
  const { pipeline, url } = await import(toFileUrl(file)) as { pipeline: Pipeline; url: string };
  assertEquals([pipeline.site.url, pipeline.site.line], [url, 7]);
  assertEquals([pipeline.stages[0].site.url, pipeline.stages[0].site.line], [url, 8]);
  assertEquals(formatSite(pipeline.stages[0].site), `${file}:8`);
  // The hook it sets for the call is taken away again.
  assertEquals(Object.hasOwn(Error, "prepareStackTrace"), hadHook);
});

test("a prepareStackTrace of the user's is kept through a call site lookup", () => {
  const mine = (_error: Error, sites: unknown[]) => `${sites.length} frames`;
  const V8Error = Error as unknown as { prepareStackTrace?: unknown };
  const line = lineHere() + 3; // (lineHere reads the stack text, so before the hook)
  V8Error.prepareStackTrace = mine;
  try {
    const pipeline = new Pipeline("p");
    assertEquals(pipeline.site.line, line);
    assertEquals(V8Error.prepareStackTrace, mine);
    assert(/^\d+ frames$/.test(new Error().stack ?? ""));
  } finally {
    delete V8Error.prepareStackTrace;
  }
});

test("past EXACT_SITES calls written out, sites keep the module; errors still name the line", async () => {
  await using dir = await tempDir();
  const file = dir.path("pipeline.ts");
  const api = new URL("../../lib/api/pipeline.ts", import.meta.url).href;
  const calls = Array.from(
    { length: EXACT_SITES + 2 },
    (_, i) => `pipeline.stage({ name: "s${i}", run: () => ({}) });`,
  );
  await Deno.writeTextFile(
    file,
    [
      `import { Pipeline } from ${JSON.stringify(api)};`,
      `export const pipeline = new Pipeline("p");`,
      ...calls,
      `export function again() { pipeline.stage({ name: "s${EXACT_SITES}", run: () => ({}) }); }`,
    ].join("\n") + "\n",
  );
  const { pipeline, again } = await import(toFileUrl(file)) as {
    pipeline: Pipeline;
    again: () => void;
  };
  const sites = pipeline.stages.map((s) => [s.site.url, s.site.line]);
  assertEquals(sites.slice(0, 2), [[toFileUrl(file), 3], [toFileUrl(file), 4]]);
  assertEquals(sites.slice(EXACT_SITES), [[toFileUrl(file), 0], [toFileUrl(file), 0]]);
  // The duplicate is found by a set, and its message still names the call's line.
  definitionError(
    again,
    new RegExp(`pipeline\\.ts:${EXACT_SITES + 5}: stage 's${EXACT_SITES}' is defined twice`),
  );
});

test("a stage without mutex, permissions or overrides records empties; given ones are copied", () => {
  const mutex = ["gpu"];
  const deps = { data: dep("data/a.json", loaders.json()) };
  const pipeline = new Pipeline("p")
    .stage({ name: "bare", run: train })
    .stage({ name: "locked", deps, mutex, permissions: { net: true }, run: train });
  const [bare, locked] = pipeline.stages;
  assertEquals([bare.mutex, bare.permissions, bare.paramOverrides], [[], {}, {}]);
  assertEquals([bare.deps, bare.outs], [{}, {}]);
  // Copies: changing what was passed afterwards changes nothing registered.
  mutex.push("cpu");
  (deps as Record<string, unknown>).extra = dep("x.txt");
  assertEquals(locked.mutex, ["gpu"]);
  assertEquals(Object.keys(locked.deps), ["data"]);
  assertEquals(locked.permissions, { net: true });
});

test("a stage name with '@' is still split and checked as base and variant", () => {
  const [variant] = new Pipeline("p").stage({ name: "train@small", run: train }).stages;
  assertEquals([variant.baseName, variant.variant], ["train", "small"]);
  definitionError(
    () => new Pipeline("p").stage({ name: "a@b@c", run: train }),
    /invalid stage name "a@b@c"/,
  );
  definitionError(
    () => new Pipeline("p").stage({ name: "a@", run: train }),
    /invalid stage name "a@"/,
  );
});

test("an override of a stage without deps names the unknown dep and 'none' known", () => {
  const bare = defineStage({ name: "bare", run: train });
  definitionError(
    () => new Pipeline("p").register(bare, { deps: { data: "x.json" } } as never),
    /override names unknown dep 'data' \(known: none\)/,
  );
});

test("loaders.files() is for a directory, and not for an incremental out", () => {
  const run = () => ({ pages: {} as Record<string, never> });
  definitionError(
    () =>
      new Pipeline("p").stage({ name: "s", outs: { pages: out("pages", loaders.files()) }, run }),
    /stage 's': out 'pages' \(pages\) uses loaders\.files\(\), which is for a directory: end its path with '\/'/,
  );
  definitionError(
    () =>
      new Pipeline("p").stage({
        name: "s",
        deps: { pages: dep("pages.txt", loaders.files()) },
        run,
      }),
    /stage 's': dep 'pages' \(pages\.txt\) uses loaders\.files\(\), which is for a directory/,
  );
  definitionError(
    () =>
      new Pipeline("p").stage({
        name: "s",
        outs: { pages: incremental("pages/", loaders.files({ text: true })) },
        run,
      }),
    /out 'pages' \(pages\/\) is incremental, but a directory returned with loaders\.files\(\) is written whole each run/,
  );
  // An override that makes the path a file's is refused too.
  const def = defineStage({ outs: { pages: out("pages/", loaders.files()) }, run });
  definitionError(
    () => new Pipeline("p").register(def, { name: "s", outs: { pages: "one.txt" } }),
    /out 'pages' \(one\.txt\) uses loaders\.files\(\), which is for a directory/,
  );
  new Pipeline("p").stage({ name: "s", outs: { pages: out("pages/", loaders.files()) }, run });
});
