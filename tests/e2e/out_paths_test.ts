/**
 * Outs cannot escape the project or overwrite what is not data: a symlinked
 * parent directory leading outside, the pipeline's own source modules, and
 * `.git/` are refused with one line, exit 2, before anything runs.
 */

import { assert, assertEquals, assertMatch } from "../_assert.ts";
import { age, tempDir } from "../_project.ts";
import { exists } from "../../lib/paths.ts";
import { TempProject } from "../_project.ts";
import { test } from "../_harness.ts";

function stage(outPath: string, extra = ""): string {
  return `import { loaders, out, Pipeline } from "jsr:@pivot/core";
${extra}
export const pipeline = new Pipeline("escape");
pipeline.stage({
  name: "write",
  outs: { o: out(${JSON.stringify(outPath)}, loaders.text()) },
  run: () => ({ o: "written by the stage" }),
});
`;
}

function assertOneLineError(result: { code: number; stderr: string }, pattern: RegExp): void {
  assertEquals(result.code, 2, result.stderr);
  const lines = result.stderr.trim().split("\n");
  assertEquals(lines.length, 1, result.stderr);
  assertMatch(lines[0], pattern);
}

test("an out under a symlinked directory leading outside the project is refused", async () => {
  await using outside = await tempDir();
  await using p = await TempProject.create({ "pipeline.ts": stage("linkdir/x.txt") });
  await Deno.symlink(outside.root, p.path("linkdir"));
  for (const command of [["repro"], ["status"]]) {
    assertOneLineError(
      await p.pivot(...command),
      /stage 'write': out 'o' \(linkdir\/x\.txt\) leads outside the project through a symbolic link \(it is really .*x\.txt\)/,
    );
  }
  assertEquals([...Deno.readDirSync(outside.root)], [], "nothing was written outside");
});

test("a symlink inside the project to a directory inside it is fine", async () => {
  await using p = await TempProject.create({ "pipeline.ts": stage("linkdir/x.txt") });
  await Deno.mkdir(p.path("real"));
  await Deno.symlink(p.path("real"), p.path("linkdir"));
  const result = await p.pivot("repro");
  assertEquals(result.code, 0, result.stderr);
  assertEquals(await p.read("real/x.txt"), "written by the stage");
});

test("an out that is the pipeline's own source module is refused", async () => {
  await using p = await TempProject.create({
    "pipeline.ts": stage("pipeline.ts"),
    "helper.ts": "export const suffix = '!';\n",
  });
  const before = await p.read("pipeline.ts");
  assertOneLineError(
    await p.pivot("repro"),
    /stage 'write': out 'o' \(pipeline\.ts\) is a source module of the pipeline/,
  );
  assertEquals(await p.read("pipeline.ts"), before);
  // Never kept in the load cache, whose hit does not check again (its stages passed).
  age(p);
  assertOneLineError(
    await p.pivot("status"),
    /\(pipeline\.ts\) is a source module of the pipeline/,
  );
  assert(!exists(p.path(".pivot", "state", "load-cache.json")));

  // A module the stage's code comes from, imported by the pipeline.
  await p.write(
    "pipeline.ts",
    stage("helper.ts", 'import { suffix } from "./helper.ts";').replace(
      '"written by the stage"',
      '"written" + suffix',
    ),
  );
  assertOneLineError(
    await p.pivot("repro"),
    /stage 'write': out 'o' \(helper\.ts\) is a source module of the pipeline/,
  );
  // A directory out holding a module the stage's code comes from.
  await p.write(
    "pipeline.ts",
    stage("lib/", 'import { x } from "./lib/util.ts";').replace(
      '"written by the stage"',
      "String(x)",
    ),
  );
  await p.write("lib/util.ts", "export const x = 1;\n");
  assertOneLineError(
    await p.pivot("status"),
    /stage 'write': out 'o' \(lib\) holds lib\/util\.ts, a source module of the pipeline/,
  );
});

test("an out under .git/ is refused", async () => {
  await using p = await TempProject.create({ "pipeline.ts": stage(".git/hooks/pre-commit") });
  assertOneLineError(
    await p.pivot("repro"),
    /stage 'write': out 'o' \(\.git\/hooks\/pre-commit\) is inside a \.git\/ directory/,
  );
  assert(!(await p.exists(".git/hooks/pre-commit")));
});

test("a symlink made while the stage runs cannot lead its out outside the project", async () => {
  await using outside = await tempDir();
  await using p = await TempProject.create({ "pipeline.ts": "" });
  // The stage itself (allowed to run `ln`) links linkdir/ outside after the
  // pipeline was loaded and checked.
  await p.write(
    "pipeline.ts",
    `import { loaders, out, Pipeline } from "jsr:@pivot/core";
export const pipeline = new Pipeline("escape");
pipeline.stage({
  name: "write",
  outs: { o: out("linkdir/x.txt", loaders.text()) },
  permissions: { run: ["ln"] },
  run: () => {
    const args = ["-s", ${JSON.stringify(outside.root)}, ${JSON.stringify(p.path("linkdir"))}];
    // test-conventions: allow (the stage's own process, not the test's)
    new Deno.Command("ln", { args }).outputSync();
    return { o: "written by the stage" };
  },
});
`,
  );
  const result = await p.pivot("repro");
  assertEquals(result.code, 1, result.stderr);
  assertMatch(
    result.stdout + result.stderr,
    /out 'o' \(linkdir\/x\.txt\) leads outside the project through a symbolic link/,
  );
  assertEquals([...Deno.readDirSync(outside.root)], [], "nothing was written outside");
  assert(!(await p.exists(".pivot/stages/write.lock")), "nothing was recorded");
});
