/**
 * A cold `repro` starts its first stage worker (and the worker's import of
 * the pipeline) while the fingerprint is computed (`earlyWorker` in
 * lib/cli/session.ts): the run is the same as without it, the worker is the
 * one the first stage runs in, and a run refused after the fingerprint
 * leaves no worker's staging area behind.
 */

import { assert, assertEquals, assertMatch } from "../_assert.ts";
import { runPivot, TempProject } from "../_project.ts";
import { test } from "../_harness.ts";

const PIPELINE = `import { dep, loaders, out, Pipeline } from "jsr:@pivot/core";
import { shout } from "./lib/shout.ts";

export const pipeline = new Pipeline("early");

pipeline.stage({
  name: "a",
  deps: { src: dep("data/in.txt", loaders.text()) },
  outs: { o: out("build/a.txt", loaders.text()) },
  run: ({ src }) => ({ o: shout(src.trim()) }),
});

pipeline.stage({
  name: "b",
  deps: { a: dep("build/a.txt", loaders.text()) },
  outs: { o: out("build/b.txt", loaders.text()) },
  run: ({ a }) => ({ o: a + "!" }),
});
`;

const FILES = {
  "pipeline.ts": PIPELINE,
  "lib/shout.ts": "export const shout = (text: string): string => text.toUpperCase();\n",
  "data/in.txt": "hi\n",
};

/** `pivot ARGS` with the trace on: the result without trace lines, and the trace. */
async function traced(project: TempProject, ...args: string[]) {
  const result = await runPivot(project.root, args, { PIVOT_TRACE: "1" });
  const lines = result.stderr.split("\n");
  return {
    code: result.code,
    stdout: result.stdout,
    stderr: lines.filter((line) => !line.startsWith("[trace]")).join("\n").trim(),
    trace: lines.filter((line) => line.startsWith("[trace]")).join("\n"),
  };
}

/** Staging areas of stage workers left under the project's temporary directory. */
function stagingLeft(project: TempProject): string[] {
  const tmp = project.path(".pivot", "tmp");
  try {
    return [...Deno.readDirSync(tmp)].map((entry) => entry.name).filter((name) =>
      name.startsWith("run")
    );
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return [];
    throw error;
  }
}

test("a cold repro runs its first stage in the worker started during the fingerprint", async () => {
  await using p = await TempProject.create(FILES);
  const first = await traced(p, "repro");
  assertEquals(first.code, 0, first.stderr);
  assertMatch(first.trace, /session: first worker started/);
  assert(!first.trace.includes("dropped"), "the worker started early was used");
  assertEquals(await p.read("build/b.txt"), "HI!");
  assertEquals(stagingLeft(p), []);

  // Warm: no `deno info`, nothing started ahead; nothing to run.
  const again = await traced(p, "repro");
  assertEquals(again.code, 0, again.stderr);
  assert(!again.trace.includes("first worker started"), again.trace);

  // A new import is a new module graph: cold again, and the worker reads the new module.
  await p.write("lib/bang.ts", 'export const bang = "!!";\n');
  await p.write(
    "pipeline.ts",
    `import { bang } from "./lib/bang.ts";\n` +
      PIPELINE.replace(`o: a + "!"`, "o: a + bang"),
  );
  const edited = await traced(p, "repro");
  assertEquals(edited.code, 0, edited.stderr);
  assertMatch(edited.trace, /session: first worker started/);
  assert(!edited.trace.includes("dropped"), "the worker started early was used");
  assertEquals(await p.read("build/b.txt"), "HI!!");
});

test("a preview starts no worker during the fingerprint", async () => {
  await using p = await TempProject.create(FILES);
  for (const flag of ["--dry-run", "--explain"]) {
    const result = await traced(p, "repro", flag);
    assertEquals(result.code, 0, result.stderr);
    assert(!result.trace.includes("first worker started"), `${flag}: ${result.trace}`);
  }
  assertEquals(stagingLeft(p), []);
});

test("a run refused after the fingerprint ran nothing and leaves no staging area", async () => {
  // The out is a module of the pipeline: found once the fingerprint is known.
  await using p = await TempProject.create({
    ...FILES,
    "pipeline.ts": PIPELINE.replace(`out("build/b.txt"`, `out("lib/shout.ts"`),
  });
  const before = await p.read("lib/shout.ts");
  const result = await traced(p, "repro");
  assertMatch(result.trace, /session: first worker started/);
  assertEquals(result.code, 2, result.stderr);
  assertEquals(result.stderr.split("\n").length, 1, result.stderr);
  assertMatch(result.stderr, /stage 'b': out 'o' \(lib\/shout\.ts\) is a source module/);
  assertEquals(await p.read("lib/shout.ts"), before);
  assertEquals(await p.exists("build/a.txt"), false, "nothing ran");
  assertEquals(stagingLeft(p), []);
});
