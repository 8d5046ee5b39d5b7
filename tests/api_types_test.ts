/**
 * Types flow end to end: `deno check` accepts a correct pipeline and rejects
 * a run function whose return or dep use does not match the loaders.
 */
import { join } from "node:path";
import { assertEquals, assertMatch } from "./_assert.ts";
import { denoJson } from "./e2e/_project.ts";

const FIXTURES = new URL("./fixtures/types/", import.meta.url);

/** The strictest options a user may set; the public types must hold under them. */
const STRICT = { exactOptionalPropertyTypes: true, noUncheckedIndexedAccess: true };

async function check(
  fixture: string,
  compilerOptions: Record<string, boolean> = {},
): Promise<{ code: number; stderr: string }> {
  const dir = await Deno.makeTempDir({ prefix: "pivot-types-" });
  try {
    const config = { ...JSON.parse(denoJson({})), compilerOptions };
    await Deno.writeTextFile(join(dir, "deno.json"), JSON.stringify(config, null, 2));
    await Deno.copyFile(new URL(fixture, FIXTURES), join(dir, "pipeline.ts"));
    const output = await new Deno.Command(Deno.execPath(), {
      args: ["check", "--config", join(dir, "deno.json"), join(dir, "pipeline.ts")],
      cwd: dir,
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1" },
    }).output();
    const decoder = new TextDecoder();
    return {
      code: output.code,
      stderr: decoder.decode(output.stdout) + decoder.decode(output.stderr),
    };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("deno check accepts a correctly typed pipeline", async () => {
  const result = await check("ok_pipeline.ts");
  assertEquals(result.code, 0, result.stderr);
});

Deno.test("deno check accepts a correctly typed pipeline under the strictest options", async () => {
  const result = await check("ok_pipeline.ts", STRICT);
  assertEquals(result.code, 0, result.stderr);
});

Deno.test("optional fields accept undefined under exactOptionalPropertyTypes", async () => {
  const result = await check("strict_pipeline.ts", STRICT);
  assertEquals(result.code, 0, result.stderr);
});

Deno.test("deno check rejects a run function returning the wrong type for an out", async () => {
  const result = await check("wrong_return.ts");
  assertEquals(result.code, 1);
  assertMatch(result.stderr, /TS2322/);
  assertMatch(result.stderr, /not assignable to type 'number'/);
});

Deno.test("deno check rejects a run function that returns no value for an out", async () => {
  const result = await check("missing_out.ts");
  assertEquals(result.code, 1);
  assertMatch(result.stderr, /Type '\{\}' is not assignable to type 'OutValues<\{ model: ValueOut/);
});

Deno.test("deno check rejects a run function misusing a dep's loaded type", async () => {
  const result = await check("wrong_dep.ts");
  assertEquals(result.code, 1);
  assertMatch(result.stderr, /Property 'map' does not exist on type 'string'/);
});

Deno.test("deno check rejects a plot template that does not exist", async () => {
  const result = await check("wrong_plot_template.ts");
  assertEquals(result.code, 1);
  assertMatch(result.stderr, /Type '"pie"' is not assignable to type 'PlotTemplate/);
});
