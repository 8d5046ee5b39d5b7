/**
 * Integration bugs found by walking whole user journeys across features
 * (track, stages, remotes, verify, import-dvc, gc…) through the real CLI.
 * Each test is the shortest journey that showed its bug.
 */

import { assert, assertEquals, assertMatch } from "../_assert.ts";
import { test } from "../_harness.ts";
import { TempProject } from "../_project.ts";
import { UiProcess } from "../ui/_ui.ts";

const DIR_DEP_WITHOUT_SLASH = `import { dep, metric, Pipeline } from "jsr:@pivot/core";

export const pipeline = new Pipeline("journey");

pipeline.stage({
  name: "count",
  deps: { raw: dep("data/raw") },
  outs: { n: metric("count.json") },
  run: ({ raw }) => ({ n: { files: [...Deno.readDirSync(raw)].length } }),
});
`;

test("a dep declared as a file that is a directory is an error, not a dep silently left out of the lock", async () => {
  await using p = await TempProject.create({
    "pipeline.ts": DIR_DEP_WITHOUT_SLASH,
    "data/raw/a.csv": "a\n",
    "data/raw/b.csv": "b\n",
  });
  // Before: the stage ran with `deps: []` in its lock, so adding a file to
  // data/raw never re-ran it ("Everything is up to date").
  const status = await p.pivot("status");
  assertEquals(status.code, 2, status.stderr);
  const lines = status.stderr.trim().split("\n");
  assertEquals(lines.length, 1, status.stderr);
  assertMatch(
    lines[0],
    /^error: stage 'count': dep 'raw' \(data\/raw\) is declared as a file but is a directory: declare it with a trailing '\/'/,
  );
  const repro = await p.pivot("repro");
  assertEquals(repro.code, 1, repro.stderr);
  assertMatch(repro.stderr + repro.stdout, /declared as a file but is a directory/);

  // Declared as a directory, it is recorded and its changes re-run the stage.
  await p.write(
    "pipeline.ts",
    DIR_DEP_WITHOUT_SLASH.replace(`dep("data/raw")`, `dep("data/raw/")`),
  );
  assertEquals((await p.pivot("repro")).code, 0);
  await p.write("data/raw/c.csv", "c\n");
  const again = await p.pivot("repro");
  assertEquals(again.code, 0, again.stderr);
  assertMatch(again.stdout, /ran +count/);
  assert((await p.read("count.json")).includes('"files": 3'));
});

test("a deno.json that is not JSON is one line and exit 2, not Deno's report with a backtrace", async () => {
  await using p = await TempProject.create({
    "pipeline.ts": DIR_DEP_WITHOUT_SLASH,
    "data/raw/a": "",
  });
  const config = await p.read("deno.json");
  await p.write("deno.json", "{\n");
  const broken = await p.pivot("status");
  assertEquals(broken.code, 2, broken.stderr);
  assertEquals(
    broken.stderr.trim().split("\n").length,
    1,
    `expected one line, got:\n${broken.stderr}`,
  );
  assertMatch(broken.stderr, /^error: deno\.json: not valid JSON \(.+\): fix it/);
  // Comments and trailing commas are JSONC, which Deno accepts: no error.
  await p.write("deno.json", config.replace(/\}\s*\}\s*$/, "}, // the map\n}\n"));
  const jsonc = await p.pivot("list");
  assertEquals(jsonc.code, 0, jsonc.stderr);
});

test("checkout without --force keeps a hand edit in a tracked directory (its manifest alone in the cache is no copy)", async () => {
  await using p = await TempProject.create({
    "pipeline.ts": DIR_DEP_WITHOUT_SLASH.replace(`dep("data/raw")`, `dep("data/raw/")`),
    "data/raw/a.csv": "a\n",
    "data/raw/b.csv": "b\n",
  });
  assertEquals((await p.pivot("track", "data/raw")).code, 0);
  await p.write("data/raw/a.csv", "a\nedited by hand\n");
  // `status` hashes the directory, which writes its manifest to the cache.
  assertMatch((await p.pivot("status")).stdout, /modified +data\/raw/);
  const kept = await p.pivot("checkout", "data/raw");
  assertEquals(kept.code, 1, kept.stderr);
  assertMatch(kept.stderr, /data\/raw: modified since it was tracked; use --force/);
  assertEquals(await p.read("data/raw/a.csv"), "a\nedited by hand\n");

  const forced = await p.pivot("checkout", "--force", "data/raw");
  assertEquals(forced.code, 0, forced.stderr);
  assertEquals(await p.read("data/raw/a.csv"), "a\n");
});

test("a stage whose tracked dep is not checked out fails naming the dep and the command that restores it", async () => {
  await using p = await TempProject.create({
    "pipeline.ts": DIR_DEP_WITHOUT_SLASH.replace(`dep("data/raw")`, `dep("data/raw/")`) + `
pipeline.stage({
  name: "first",
  deps: { a: dep("data/raw/a.csv") },
  outs: { n: metric("first.json") },
  run: ({ a }) => ({ n: { bytes: Deno.statSync(a).size } }),
});
`,
    "data/raw/a.csv": "a\n",
  });
  assertEquals((await p.pivot("track", "data/raw")).code, 0);
  // As in a fresh clone before 'pivot pull': the .pvt file, not the data.
  await Deno.remove(p.path("data/raw"), { recursive: true });
  const repro = await p.pivot("repro", "--keep-going");
  assertEquals(repro.code, 1, repro.stderr);
  // Before: the stage's own code failed on the path (NotFound: readdir …).
  assertMatch(
    repro.stderr,
    /FAILED +count: dep 'data\/raw' is tracked data missing from the workspace: 'pivot checkout data\/raw' restores it/,
  );
  // A file inside tracked data names the tracked directory, which checkout takes.
  assertMatch(
    repro.stderr,
    /FAILED +first: dep 'data\/raw\/a\.csv' is tracked data missing from the workspace \(in data\/raw\): 'pivot checkout data\/raw' restores it/,
  );
  assert(!repro.stderr.includes("NotFound"), repro.stderr);
  assertEquals((await p.pivot("checkout", "data/raw")).code, 0);
  const again = await p.pivot("repro");
  assertEquals(again.code, 0, again.stderr);
  assertMatch(again.stdout, /ran +count/);
  assertMatch(again.stdout, /ran +first/);
});

test("the web UI places a command stage at its line of pivot.yaml", async () => {
  await using p = await TempProject.create({
    "pivot.yaml": "stages:\n  first:\n    cmd: echo a > a.txt\n    outs: [a.txt]\n" +
      "  second:\n    cmd: cp a.txt b.txt\n    deps: [a.txt]\n    outs: [b.txt]\n",
  }, { imports: null });
  const ui = await UiProcess.start(p.root);
  try {
    for (const [name, line] of [["first", 3], ["second", 6]] as const) {
      const detail = await ui.json<{ definedAt?: { file: string; line: number } }>(
        `/api/stage?name=${name}`,
      );
      // Its body's first line, as pivot.yaml errors name it. Before: line 0, so the page
      // showed 'pivot.yaml' without a line.
      assertEquals(detail.definedAt, { file: "pivot.yaml", line });
    }
  } finally {
    await ui.kill();
  }
});
