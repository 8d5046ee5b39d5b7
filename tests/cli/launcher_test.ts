import { join } from "node:path";
import { extractSourcesTo, findDeno } from "../../lib/cli/launcher.ts";
import { assert, assertEquals } from "../_assert.ts";
import { tempDir } from "../_project.ts";
import { test } from "../_harness.ts";

test("extractSourcesTo copies the sources once and marks the copy complete", async () => {
  await using temp = await tempDir();
  const dir = temp.root;
  const source = join(dir, "embedded");
  await Deno.mkdir(join(source, "lib/cli"), { recursive: true });
  await Deno.writeTextFile(join(source, "cli.ts"), "// cli");
  await Deno.writeTextFile(join(source, "deno.json"), "{}");
  await Deno.writeTextFile(join(source, "lib/cli/main.ts"), "// main");
  await Deno.writeTextFile(join(source, "notes.md"), "not source");
  const target = join(dir, "cache/pivot/0.1.0");
  const cli = await extractSourcesTo(source, target);
  assertEquals(cli, join(target, "cli.ts"));
  assertEquals(await Deno.readTextFile(join(target, "lib/cli/main.ts")), "// main");
  assert(await Deno.stat(join(target, ".complete")));
  assert(
    !(await temp.exists("cache/pivot/0.1.0/notes.md")),
    "only .ts, .json and .lock files are copied",
  );
  // A second call finds the complete copy and leaves it alone.
  await Deno.writeTextFile(join(source, "cli.ts"), "// changed");
  await extractSourcesTo(source, target);
  assertEquals(await Deno.readTextFile(join(target, "cli.ts")), "// cli");
});

test("findDeno prefers PIVOT_DENO, then the deno on PATH", async () => {
  await using temp = await tempDir();
  const dir = temp.root;
  const saved = { deno: Deno.env.get("PIVOT_DENO"), path: Deno.env.get("PATH") };
  try {
    Deno.env.set("PIVOT_DENO", "/opt/custom/deno");
    assertEquals(findDeno(), "/opt/custom/deno");
    Deno.env.delete("PIVOT_DENO");
    await Deno.writeTextFile(join(dir, "deno"), "");
    Deno.env.set("PATH", `/nonexistent:${dir}`);
    assertEquals(findDeno(), join(dir, "deno"));
    Deno.env.set("PATH", "/nonexistent");
    let message = "";
    try {
      findDeno();
    } catch (error) {
      message = (error as Error).message;
    }
    assert(/found no 'deno' on PATH: install Deno or set PIVOT_DENO/.test(message), message);
  } finally {
    if (saved.deno === undefined) Deno.env.delete("PIVOT_DENO");
    else Deno.env.set("PIVOT_DENO", saved.deno);
    Deno.env.set("PATH", saved.path ?? "");
  }
});

test("the versions in deno.json, packages/cli and lib/version.ts agree", async () => {
  const { VERSION } = await import("../../lib/version.ts");
  const root = JSON.parse(await Deno.readTextFile(new URL("../../deno.json", import.meta.url)));
  const cli = JSON.parse(
    await Deno.readTextFile(new URL("../../packages/cli/deno.json", import.meta.url)),
  );
  assertEquals([root.version, cli.version], [VERSION, VERSION]);
});
