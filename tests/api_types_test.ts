/**
 * Types flow end to end: `deno check` accepts a correct pipeline and rejects
 * a run function whose return or dep use does not match the loaders.
 */
import { TempProject } from "./_project.ts";
import { output, test } from "./_harness.ts";
import { assertEquals, assertMatch } from "./_assert.ts";

const FIXTURES = new URL("./fixtures/types/", import.meta.url);

/** The strictest options a user may set; the public types must hold under them. */
const STRICT = { exactOptionalPropertyTypes: true, noUncheckedIndexedAccess: true };

async function check(
  fixture: string,
  compilerOptions: Record<string, boolean> = {},
): Promise<{ code: number; stderr: string }> {
  await using project = await TempProject.create({
    "pipeline.ts": await Deno.readTextFile(new URL(fixture, FIXTURES)),
  }, { init: false });
  const config = { ...JSON.parse(await project.read("deno.json")), compilerOptions };
  await project.write("deno.json", JSON.stringify(config, null, 2));
  const result = await output(Deno.execPath(), {
    args: ["check", "--config", project.path("deno.json"), project.path("pipeline.ts")],
    cwd: project.root,
    env: { NO_COLOR: "1" },
  });
  const decoder = new TextDecoder();
  return {
    code: result.code,
    stderr: decoder.decode(result.stdout) + decoder.decode(result.stderr),
  };
}

test("deno check accepts a correctly typed pipeline", async () => {
  const result = await check("ok_pipeline.ts");
  assertEquals(result.code, 0, result.stderr);
});

test("deno check accepts a correctly typed pipeline under the strictest options", async () => {
  const result = await check("ok_pipeline.ts", STRICT);
  assertEquals(result.code, 0, result.stderr);
});

test("optional fields accept undefined under exactOptionalPropertyTypes", async () => {
  const result = await check("strict_pipeline.ts", STRICT);
  assertEquals(result.code, 0, result.stderr);
});

test("deno check rejects a run function returning the wrong type for an out", async () => {
  const result = await check("wrong_return.ts");
  assertEquals(result.code, 1);
  assertMatch(result.stderr, /TS2322/);
  assertMatch(result.stderr, /not assignable to type 'number'/);
});

test("deno check rejects a run function that returns no value for an out", async () => {
  const result = await check("missing_out.ts");
  assertEquals(result.code, 1);
  assertMatch(result.stderr, /Type '\{\}' is not assignable to type 'OutValues<\{ model: ValueOut/);
});

test("deno check rejects a run function misusing a dep's loaded type", async () => {
  const result = await check("wrong_dep.ts");
  assertEquals(result.code, 1);
  assertMatch(result.stderr, /Property 'map' does not exist on type 'string'/);
});

test("deno check rejects a plot template that does not exist", async () => {
  const result = await check("wrong_plot_template.ts");
  assertEquals(result.code, 1);
  assertMatch(result.stderr, /Type '"pie"' is not assignable to type 'PlotTemplate/);
});

test("deno check rejects files of the wrong type for a loaders.files() out", async () => {
  const result = await check("wrong_files.ts");
  assertEquals(result.code, 1);
  assertMatch(result.stderr, /Type 'number' is not assignable to type 'string'/);
});
