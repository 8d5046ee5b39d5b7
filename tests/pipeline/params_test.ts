import { join } from "node:path";
import * as v from "valibot";
import { z } from "zod";
import type { StandardSchemaV1 } from "../../lib/api/standard_schema.ts";
import { resolveParams, type StageParamsInput } from "../../lib/pipeline/params.ts";
import { parseParamsYaml, readParamsYaml } from "../../lib/pipeline/params_file.ts";
import { assertEquals, assertPivotError } from "../_assert.ts";
import { tempDir } from "../_project.ts";
import { test } from "../_harness.ts";

function stage(
  name: string,
  params: StageParamsInput["params"],
  paramOverrides?: Record<string, unknown>,
): StageParamsInput {
  return { name, baseName: name.split("@")[0], params, paramOverrides };
}

// --- plain defaults ---

test("plain defaults are returned as a copy when nothing overrides them", async () => {
  const defaults = { epochs: 10, optimizer: { lr: 0.1 } };
  const params = await resolveParams(stage("train", defaults));
  assertEquals(params, { epochs: 10, optimizer: { lr: 0.1 } });
  (params.optimizer as { lr: number }).lr = 5;
  assertEquals(defaults.optimizer.lr, 0.1);
});

test("a stage without params resolves to an empty object", async () => {
  assertEquals(await resolveParams(stage("train", undefined)), {});
});

test("register overrides replace defaults", async () => {
  const params = await resolveParams(stage("train", { epochs: 10, lr: 0.1 }, { epochs: 3 }));
  assertEquals(params, { epochs: 3, lr: 0.1 });
});

test("a register override of undefined overrides nothing", async () => {
  const params = await resolveParams(stage("train", { epochs: 10 }, { epochs: undefined }));
  assertEquals(params, { epochs: 10 });
});

test("params.yaml overrides only the stage it names", async () => {
  await using temp = await tempDir();
  const dir = temp.root;
  await Deno.writeTextFile(join(dir, "params.yaml"), "train:\n  epochs: 20\n");
  const paramsYaml = await readParamsYaml(dir);
  const train = await resolveParams(stage("train", { epochs: 10 }), { paramsYaml });
  const test = await resolveParams(stage("test", { epochs: 10 }), { paramsYaml });
  assertEquals(train, { epochs: 20 });
  assertEquals(test, { epochs: 10 });
});

test("params.yaml wins over register overrides", async () => {
  const paramsYaml = parseParamsYaml("train: { epochs: 20 }");
  const params = await resolveParams(stage("train", { epochs: 10, lr: 1 }, { epochs: 3, lr: 2 }), {
    paramsYaml,
  });
  assertEquals(params, { epochs: 20, lr: 2 });
});

test("a variant takes params.yaml overrides by its base name", async () => {
  const paramsYaml = parseParamsYaml("train: { epochs: 20 }");
  const params = await resolveParams(stage("train@small", { epochs: 10 }), { paramsYaml });
  assertEquals(params, { epochs: 20 });
});

test("a variant's full name in params.yaml wins over its base name", async () => {
  const paramsYaml = parseParamsYaml(
    "train: { epochs: 20, lr: 0.5 }\ntrain@small: { epochs: 7 }\n",
  );
  const small = await resolveParams(stage("train@small", { epochs: 10, lr: 0.1 }), {
    paramsYaml,
  });
  const large = await resolveParams(stage("train@large", { epochs: 10, lr: 0.1 }), {
    paramsYaml,
  });
  assertEquals(small, { epochs: 7, lr: 0.5 });
  assertEquals(large, { epochs: 20, lr: 0.5 });
});

test("nested params merge key by key", async () => {
  const paramsYaml = parseParamsYaml("train:\n  optimizer:\n    lr: 0.5\n");
  const params = await resolveParams(
    stage("train", { optimizer: { lr: 0.1, momentum: 0.9 } }),
    { paramsYaml },
  );
  assertEquals(params, { optimizer: { lr: 0.5, momentum: 0.9 } });
});

test("an array override replaces the default array whole", async () => {
  const paramsYaml = parseParamsYaml("train: { layers: [8] }");
  const params = await resolveParams(stage("train", { layers: [64, 32, 16] }), { paramsYaml });
  assertEquals(params, { layers: [8] });
});

test("a null default accepts a value of any type", async () => {
  const paramsYaml = parseParamsYaml("train: { seed: 42 }");
  assertEquals(await resolveParams(stage("train", { seed: null }), { paramsYaml }), { seed: 42 });
});

test("a params.yaml value of the wrong type names file, stage and key", async () => {
  const paramsYaml = parseParamsYaml('train: { epochs: "ten" }');
  const message = await assertPivotError(() =>
    resolveParams(stage("train", { epochs: 10 }), { paramsYaml })
  );
  assertEquals(message, `params.yaml: stage 'train': param 'epochs' must be a number, got "ten"`);
});

test("a wrong type in a nested param names the dotted key path", async () => {
  const paramsYaml = parseParamsYaml("train: { optimizer: { lr: [1] } }");
  const message = await assertPivotError(() =>
    resolveParams(stage("train", { optimizer: { lr: 0.1 } }), { paramsYaml })
  );
  assertEquals(
    message,
    "params.yaml: stage 'train': param 'optimizer.lr' must be a number, got [1]",
  );
});

test("an object where the default is an array is a type error", async () => {
  const paramsYaml = parseParamsYaml("train: { layers: { a: 1 } }");
  const message = await assertPivotError(() =>
    resolveParams(stage("train", { layers: [1] }), { paramsYaml })
  );
  assertEquals(
    message,
    `params.yaml: stage 'train': param 'layers' must be an array, got {"a":1}`,
  );
});

test("null does not replace a number default", async () => {
  const paramsYaml = parseParamsYaml("train: { epochs: null }");
  const message = await assertPivotError(() =>
    resolveParams(stage("train", { epochs: 1 }), { paramsYaml })
  );
  assertEquals(message, "params.yaml: stage 'train': param 'epochs' must be a number, got null");
});

test("an unknown param key is an error with a suggestion", async () => {
  const paramsYaml = parseParamsYaml("train: { epocs: 5 }");
  const message = await assertPivotError(() =>
    resolveParams(stage("train", { epochs: 10, lr: 0.1 }), { paramsYaml })
  );
  assertEquals(
    message,
    "params.yaml: stage 'train': unknown param 'epocs': did you mean 'epochs'? (known: epochs, lr)",
  );
});

test("an unknown nested key names its parent", async () => {
  const paramsYaml = parseParamsYaml("train: { optimizer: { beta: 5 } }");
  const message = await assertPivotError(() =>
    resolveParams(stage("train", { optimizer: { lr: 0.1 } }), { paramsYaml })
  );
  assertEquals(
    message,
    "params.yaml: stage 'train': unknown param 'optimizer.beta' (known in 'optimizer': lr)",
  );
});

test("a variant's base-name error names the params.yaml entry", async () => {
  const paramsYaml = parseParamsYaml("train: { epochs: true }");
  const message = await assertPivotError(() =>
    resolveParams(stage("train@small", { epochs: 10 }), { paramsYaml })
  );
  assertEquals(message, "params.yaml: stage 'train': param 'epochs' must be a number, got true");
});

test("a wrong register override names the call site", async () => {
  const message = await assertPivotError(() =>
    resolveParams(stage("train", { epochs: 10 }, { epochs: "x" }), { where: "pipeline.ts:12" })
  );
  assertEquals(message, `pipeline.ts:12: stage 'train': param 'epochs' must be a number, got "x"`);
});

test("a default that is not JSON data is an error", async () => {
  const message = await assertPivotError(() =>
    resolveParams(stage("train", { when: new Date(0) }), { where: "pipeline.ts:3" })
  );
  assertEquals(
    message,
    "pipeline.ts:3: stage 'train': param 'when' has a default that is not JSON data (null, boolean, number, string, array, object): got an instance of Date",
  );
});

// --- Standard Schema ---

const zodParams = z.object({
  epochs: z.number().int().default(10),
  lr: z.number().default(0.01),
});

test("a zod schema fills its defaults and accepts a valid override", async () => {
  const paramsYaml = parseParamsYaml("train: { epochs: 3 }");
  const params = await resolveParams(stage("train", zodParams), { paramsYaml });
  assertEquals(params, { epochs: 3, lr: 0.01 });
});

test("a zod schema rejects a bad override naming stage and key", async () => {
  const paramsYaml = parseParamsYaml('train: { epochs: "ten" }');
  const message = await assertPivotError(() =>
    resolveParams(stage("train", zodParams), { paramsYaml })
  );
  assertEquals(
    message,
    "params.yaml: stage 'train': param 'epochs': Invalid input: expected number, received string",
  );
});

const valibotParams = v.object({
  epochs: v.optional(v.number(), 10),
  optimizer: v.optional(v.object({ lr: v.number() }), { lr: 0.1 }),
});

test("a valibot schema fills its defaults and accepts a valid override", async () => {
  const paramsYaml = parseParamsYaml("train: { optimizer: { lr: 0.5 } }");
  const params = await resolveParams(stage("train", valibotParams), { paramsYaml });
  assertEquals(params, { epochs: 10, optimizer: { lr: 0.5 } });
});

test("a valibot schema rejects a bad nested override naming the key path", async () => {
  const paramsYaml = parseParamsYaml('train: { optimizer: { lr: "fast" } }');
  const message = await assertPivotError(() =>
    resolveParams(stage("train", valibotParams), { paramsYaml })
  );
  assertEquals(
    message,
    `params.yaml: stage 'train': param 'optimizer.lr': Invalid type: Expected number but received "fast"`,
  );
});

test("a schema sees register overrides and params.yaml merged", async () => {
  const paramsYaml = parseParamsYaml("train@a: { lr: 0.5 }");
  const params = await resolveParams(stage("train@a", zodParams, { epochs: 4 }), { paramsYaml });
  assertEquals(params, { epochs: 4, lr: 0.5 });
});

test("an async Standard Schema is awaited", async () => {
  const schema: StandardSchemaV1<unknown, { n: number }> = {
    "~standard": {
      version: 1,
      vendor: "test",
      validate: (value) =>
        Promise.resolve({ value: { n: 1, ...(value as object) } as { n: number } }),
    },
  };
  const paramsYaml = parseParamsYaml("s: { n: 2 }");
  assertEquals(await resolveParams(stage("s", schema), { paramsYaml }), { n: 2 });
});

test("a schema error no layer caused is blamed on the stage definition", async () => {
  const schema = z.object({ required: z.string() });
  const message = await assertPivotError(() =>
    resolveParams(stage("train", schema), { where: "pipeline.ts:9" })
  );
  assertEquals(
    message,
    "pipeline.ts:9: stage 'train': param 'required': Invalid input: expected string, received undefined",
  );
});

test("a schema whose output is not an object is an error", async () => {
  const message = await assertPivotError(() =>
    resolveParams(stage("train", z.any().transform(() => 5)), { where: "pipeline.ts:1" })
  );
  assertEquals(
    message,
    "pipeline.ts:1: stage 'train': params schema must produce an object, got 5",
  );
});

// --- reading params.yaml ---

test("a missing params.yaml means no overrides", async () => {
  await using temp = await tempDir();
  const dir = temp.root;
  assertEquals(await readParamsYaml(dir), { file: "params.yaml", stages: {} });
});

test("an empty params.yaml and an empty stage entry mean no overrides", () => {
  assertEquals(parseParamsYaml("").stages, {});
  assertEquals(parseParamsYaml("train:\n").stages, {});
});

test("malformed params.yaml is an error naming the file and line", async () => {
  await using temp = await tempDir();
  const dir = temp.root;
  await Deno.writeTextFile(join(dir, "params.yaml"), "train:\n  epochs: 1\n  epochs: 2\n");
  const message = await assertPivotError(() => readParamsYaml(dir));
  assertEquals(message, "params.yaml:3: invalid YAML: Map keys must be unique");
});

test("a params.yaml that is not a mapping is an error", async () => {
  const message = await assertPivotError(() => parseParamsYaml("- train\n- test\n"));
  assertEquals(
    message,
    "params.yaml:1: expected a mapping of stage names to params (train: { epochs: 10 }), got a list",
  );
});

test("a params.yaml entry that is not a mapping is an error for the stage it names", async () => {
  // Command stages read plain values (`seed: 5`): the file itself is fine.
  const paramsYaml = parseParamsYaml("train: 5\nseed: 7\n");
  assertEquals(paramsYaml.stages, {});
  const message = await assertPivotError(() =>
    resolveParams({ name: "train", baseName: "train", params: { epochs: 1 } }, { paramsYaml })
  );
  assertEquals(
    message,
    "params.yaml:1: stage 'train': expected a mapping of param names to values, got a number (5)",
  );
  assertEquals(
    await resolveParams({ name: "prep", baseName: "prep", params: { n: 1 } }, { paramsYaml }),
    { n: 1 },
  );
});
