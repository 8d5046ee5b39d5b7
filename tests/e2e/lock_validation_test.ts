/**
 * Lock files and `.pivot/config.yaml` are validated where Pivot reads them
 * (SPEC §5): a hand-edited or truncated file gets one line naming the file,
 * the key and what is expected, exit 2 — never "This is a bug in pivot".
 */

import { assert, assertEquals, assertMatch } from "../_assert.ts";
import { TempProject } from "../_project.ts";
import { test } from "../_harness.ts";

const PIPELINE = `import { dep, loaders, out, Pipeline } from "jsr:@pivot/core";
export const pipeline = new Pipeline("locks");
pipeline.stage({
  name: "train",
  deps: { data: dep("data.txt", loaders.text()) },
  outs: { model: out("model.json", loaders.json<{ w: string }>()) },
  run: ({ data }) => ({ model: { w: data.trim() } }),
});
`;

const LOCK = ".pivot/stages/train.lock";

function assertOneLine(
  result: { code: number; stdout: string; stderr: string },
  pattern: RegExp,
): void {
  assertEquals(result.code, 2, result.stdout + result.stderr);
  const lines = result.stderr.trim().split("\n");
  assertEquals(lines.length, 1, result.stderr);
  assertMatch(lines[0], pattern);
  assert(!/bug in pivot/i.test(result.stderr), result.stderr);
}

const EDITS: [string, (lock: string) => string, RegExp][] = [
  [
    "a digit-only hash",
    (lock) => lock.replace(/(deps:\n\s+- hash: )"?[0-9a-f]{16}"?/, "$11234567890123456"),
    /train\.lock: deps\[0\]\.hash must be a hash of 16 lowercase hex digits.*got 1234567890123456: restore it from git/,
  ],
  [
    "a truncated file",
    (lock) => lock.slice(0, lock.indexOf("outs:")),
    /train\.lock: outs must be present, got nothing \(the key is missing\)/,
  ],
  [
    "an empty file",
    () => "",
    /train\.lock: the file must be a lock file \(code_manifest, deps, outs, params\), got an empty file/,
  ],
  [
    "a wrong type",
    (lock) => lock.replace(/outs:\n[\s\S]*?(?=params:)/, "outs: 3\n"),
    /train\.lock: outs must be a list, got 3/,
  ],
  [
    "an unknown out kind",
    (lock) => lock.replace("kind: out", "kind: model"),
    /train\.lock: outs\[0\]\.kind must be one of out, metric, plot, incremental, got "model"/,
  ],
];

for (const [what, edit, pattern] of EDITS) {
  test(`a lock file with ${what} is one clear error for every command, exit 2`, async () => {
    await using p = await TempProject.create({ "pipeline.ts": PIPELINE, "data.txt": "1\n" });
    assertEquals((await p.pivot("repro")).code, 0);
    await p.write(LOCK, edit(await p.read(LOCK)));
    for (const command of [["status"], ["repro"], ["checkout"], ["commit"]]) {
      assertOneLine(await p.pivot(...command), pattern);
    }
  });
}

test("cache.dir pointing at a file is one clear error, exit 2", async () => {
  await using p = await TempProject.create({ "pipeline.ts": PIPELINE, "data.txt": "1\n" });
  // An absolute path: the same file whether cache.dir is read relative to
  // the project or to .pivot/.
  await p.write(".pivot/config.yaml", `cache:\n  dir: ${JSON.stringify(p.path("data.txt"))}\n`);
  for (const command of [["status"], ["repro"]]) {
    assertOneLine(
      await p.pivot(...command),
      /\.pivot\/config\.yaml(:\d+)?: cache\.dir .*data\.txt.* a file/,
    );
  }
  assertEquals(await p.read("data.txt"), "1\n");
});

test("a truncated lock file after a stage with none is still refused before anything runs", async () => {
  // The check before a run finds missing lock files by listing their
  // directory after the first miss (lib/cli/wave.ts): the damaged one of a
  // later stage must still be read.
  await using p = await TempProject.create({
    "pipeline.ts": `import { dep, loaders, out, Pipeline } from "jsr:@pivot/core";
export const pipeline = new Pipeline("locks");
pipeline.stage({
  name: "first",
  deps: { data: dep("data.txt", loaders.text()) },
  outs: { mid: out("mid.txt", loaders.text()) },
  run: ({ data }) => ({ mid: data.trim() + "!" }),
});
pipeline.stage({
  name: "second",
  deps: { mid: dep("mid.txt", loaders.text()) },
  outs: { last: out("last.txt", loaders.text()) },
  run: ({ mid }) => ({ last: mid + "?" }),
});
`,
    "data.txt": "1\n",
  });
  assertEquals((await p.pivot("repro")).code, 0);
  await Deno.remove(p.path(".pivot/stages/first.lock"));
  await Deno.remove(p.path("mid.txt"));
  const second = ".pivot/stages/second.lock";
  await p.write(second, (await p.read(second)).slice(0, (await p.read(second)).indexOf("outs:")));
  assertOneLine(
    await p.pivot("repro"),
    /second\.lock: outs must be present, got nothing \(the key is missing\)/,
  );
  // Refused before anything ran: the first stage did not make its out again.
  assert(!(await p.exists("mid.txt")));
});
