/**
 * Types flow end to end: `deno check` accepts a correct pipeline and rejects
 * a run function whose return or dep use does not match the loaders.
 */
import { join } from "node:path";
import { assertEquals, assertMatch } from "./_assert.ts";
import { denoJson } from "./e2e/_project.ts";

const FIXTURES = new URL("./fixtures/types/", import.meta.url);

async function check(fixture: string): Promise<{ code: number; stderr: string }> {
  const dir = await Deno.makeTempDir({ prefix: "pivot-types-" });
  try {
    await Deno.writeTextFile(join(dir, "deno.json"), denoJson({}));
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
