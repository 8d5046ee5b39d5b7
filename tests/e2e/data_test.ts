/**
 * `pivot data get|diff` through the real CLI: outs read at a revision from
 * their lock files and the cache (the workspace and the index untouched),
 * row diffs with and without keys, directory diffs, and bad input.
 */

import { TempProject } from "../_project.ts";
import { assert, assertEquals, assertMatch } from "../_assert.ts";
import { test } from "../_harness.ts";

const PIPELINE = `import { loaders, out, Pipeline } from "jsr:@pivot/core";

export const pipeline = new Pipeline("data");

pipeline.stage({
  name: "make",
  params: { version: 1 },
  outs: {
    table: out("table.csv", loaders.csv()),
    events: out("events.jsonl", loaders.jsonl()),
    parts: out("parts/"),
  },
  run: (_deps, { params, outs }) => {
    const v = params.version;
    Deno.mkdirSync(outs.parts, { recursive: true });
    Deno.writeTextFileSync(outs.parts + "/a.txt", "same\\n");
    Deno.writeTextFileSync(outs.parts + "/b.txt", "b" + v + "\\n");
    if (v === 1) Deno.writeTextFileSync(outs.parts + "/old.txt", "old\\n");
    else Deno.writeTextFileSync(outs.parts + "/new.txt", "new\\n");
    const rows = [
      { id: 1, name: "alpha", note: "a, b", score: 0.5 },
      { id: 2, name: "beta", note: "two\\nlines", score: 0.25 },
      { id: 3, name: "gamma", note: "-", score: 0.75 },
    ];
    const table = v === 1
      ? rows
      : [{ ...rows[2], score: 0.8 }, rows[0], { id: 4, name: "delta", note: "new", score: 1 }];
    return {
      table,
      events: table.map((row) => ({ id: row.id, score: row.score })),
    };
  },
});
`;

/** The project in git: version 1 run and committed (outs ignored by git), then version 2 run. */
async function dataProject(): Promise<TempProject> {
  const p = await TempProject.create({
    "pipeline.ts": PIPELINE,
    ".gitignore": "table.csv\nevents.jsonl\nparts/\nexports/\n",
  });
  try {
    await p.initGit();
    const run = await p.pivot("repro");
    if (run.code !== 0) throw new Error(`repro failed: ${run.stderr}`);
    await p.commitAll("version 1");
    await p.write("params.yaml", "make:\n  version: 2\n");
    const second = await p.pivot("repro");
    if (second.code !== 0) throw new Error(`repro failed: ${second.stderr}`);
    return p;
  } catch (error) {
    await p.dispose();
    throw error;
  }
}

/** The one error line of a failed command, after checking it is one line with exit code 2. */
function oneLineError(result: { code: number; stdout: string; stderr: string }): string {
  assertEquals(result.code, 2, result.stderr);
  const lines = result.stderr.trim().split("\n");
  assertEquals(lines.length, 1, result.stderr);
  return lines[0];
}

test("data diff --key lists added, removed and modified rows with their changed columns", async () => {
  await using p = await dataProject();
  const status = await p.git("status", "--porcelain");
  const index = await Deno.readFile(p.path(".git/index"));
  const result = await p.pivot("data", "diff", "table.csv", "--key", "id", "--json");
  assertEquals(result.code, 0, result.stderr);
  const diff = JSON.parse(result.stdout);
  assertEquals(diff.added, [{ id: "4", name: "delta", note: "new", score: "1" }]);
  assertEquals(diff.removed, [{ id: "2", name: "beta", note: "two\nlines", score: "0.25" }]);
  assertEquals(diff.modified, [{ key: { id: "3" }, changes: { score: ["0.75", "0.8"] } }]);
  assertEquals(diff.summary, { added: 1, removed: 1, modified: 1, unchanged: 1 });
  assertEquals(diff.revisions, ["HEAD", "workspace"]);
  // Reading HEAD changed neither the workspace nor the index.
  assertEquals(await p.git("status", "--porcelain"), status);
  assertEquals(await Deno.readFile(p.path(".git/index")), index);

  const text = await p.pivot("data", "diff", "table.csv", "--key", "id");
  assertEquals(text.code, 0, text.stderr);
  assertEquals(
    text.stdout,
    [
      "table.csv: HEAD -> workspace, rows matched by id",
      "1 added, 1 removed, 1 modified, 1 unchanged",
      "+ id=4, name=delta, note=new, score=1",
      '- id=2, name=beta, note="two\\nlines", score=0.25',
      "~ id=3: score: 0.75 -> 0.8",
      "",
    ].join("\n"),
  );
});

test("data diff without --key aligns rows by position, as diff aligns lines; JSON Lines too", async () => {
  await using p = await dataProject();
  const result = await p.pivot("data", "diff", "events.jsonl", "--json");
  assertEquals(result.code, 0, result.stderr);
  const diff = JSON.parse(result.stdout);
  assertEquals(diff.key, null);
  // As diff aligns lines: the row now first is new, alpha is unchanged, the third row changed.
  assertEquals(diff.added, [{ id: 3, score: 0.8 }]);
  assertEquals(diff.removed, [{ id: 3, score: 0.75 }]);
  assertEquals(diff.modified, [{ key: 3, changes: { id: [2, 4], score: [0.25, 1] } }]);
  const keyed = JSON.parse(
    (await p.pivot("data", "diff", "events.jsonl", "--key", "id", "--json")).stdout,
  );
  assertEquals(keyed.summary, { added: 1, removed: 1, modified: 1, unchanged: 1 });
});

test("data diff --rev A --rev B compares two commits; a directory is compared file by file", async () => {
  await using p = await dataProject();
  const first = await p.git("rev-parse", "HEAD");
  await p.commitAll("version 2");
  const same = await p.pivot(
    "data",
    "diff",
    "table.csv",
    "--rev",
    first,
    "--rev",
    "HEAD",
    "--key",
    "id",
    "--json",
  );
  assertEquals(JSON.parse(same.stdout).summary.modified, 1, same.stderr);

  const dir = await p.pivot("data", "diff", "parts", "--rev", first, "--json");
  assertEquals(dir.code, 0, dir.stderr);
  const files = JSON.parse(dir.stdout);
  assertEquals(files.added.map((f: { path: string }) => f.path), ["parts/new.txt"]);
  assertEquals(files.removed.map((f: { path: string }) => f.path), ["parts/old.txt"]);
  assertEquals(files.modified.map((f: { key: string }) => f.key), ["parts/b.txt"]);
  assertEquals(files.unchanged, 1);
  const text = await p.pivot("data", "diff", "parts/", "--rev", first);
  assertEquals(
    text.stdout,
    "parts/: " + first +
      " -> workspace\n1 added, 1 removed, 1 modified, 1 unchanged\n+ parts/new.txt\n- parts/old.txt\n~ parts/b.txt\n",
  );
});

test("data get writes an out, a directory out, or a file inside one as at a revision, from the cache", async () => {
  await using p = await dataProject();
  const status = await p.git("status", "--porcelain");
  const got = await p.pivot(
    "data",
    "get",
    "table.csv",
    "--rev",
    "HEAD",
    "-o",
    "exports/table_v1.csv",
  );
  assertEquals(got.code, 0, got.stderr);
  assertMatch(got.stdout, /table\.csv at HEAD -> .*exports\/table_v1\.csv/);
  assert((await p.read("exports/table_v1.csv")).includes("beta"));
  assert(!(await p.read("table.csv")).includes("beta"), "the workspace copy is untouched");
  // The copy is the user's: writable, not a link to the cache.
  const info = await Deno.stat(p.path("exports/table_v1.csv"));
  assert((info.mode! & 0o200) !== 0);
  assertEquals(info.nlink, 1);

  assertEquals((await p.pivot("data", "get", "parts", "-o", "exports/parts_v1")).code, 0);
  assertEquals(await p.read("exports/parts_v1/old.txt"), "old\n");
  assertEquals(await p.read("exports/parts_v1/b.txt"), "b1\n");
  assertEquals((await p.pivot("data", "get", "parts/b.txt", "-o", "exports/b.txt")).code, 0);
  assertEquals(await p.read("exports/b.txt"), "b1\n");
  assertEquals(await p.git("status", "--porcelain"), status);

  // An existing destination is kept unless --force.
  assertMatch(
    oneLineError(await p.pivot("data", "get", "table.csv", "-o", "exports/b.txt")),
    /already exists: choose another place with -o PATH, or replace it with --force/,
  );
  assertEquals(
    (await p.pivot("data", "get", "table.csv", "-o", "exports/b.txt", "--force")).code,
    0,
  );
  assert((await p.read("exports/b.txt")).includes("beta"));
});

test("data get: content missing from the cache is one line naming it", async () => {
  await using p = await dataProject();
  await Deno.remove(p.path(".pivot/cache"), { recursive: true });
  assertMatch(
    oneLineError(await p.pivot("data", "get", "table.csv", "-o", "exports/t.csv")),
    /table\.csv at HEAD: its content \([0-9a-f]{16}\) at HEAD \(recorded by stage 'make'\) is not in the cache/,
  );
  assert(!(await p.exists("exports/t.csv")));
});

test("data get fetches what the cache lacks from the default remote", async () => {
  await using p = await dataProject();
  // A directory remote holding the cache's objects (its layout is the cache's: files/ab/cdef…).
  await Deno.mkdir(p.path("shared"));
  await p.run("cp", "-r", ".pivot/cache/files", "shared/files");
  await Deno.remove(p.path(".pivot/cache"), { recursive: true });
  await p.write(
    ".pivot/config.yaml",
    "core:\n  remote: shared\nremotes:\n  shared:\n    url: shared\n",
  );
  const got = await p.pivot("data", "get", "parts", "--rev", "HEAD", "-o", "exports/parts");
  assertEquals(got.code, 0, got.stderr);
  assertEquals(await p.read("exports/parts/old.txt"), "old\n");
  assert(await p.exists(".pivot/cache/files"), "fetched into the cache");
  // A remote that lacks it too: the same one-line error.
  await Deno.remove(p.path("shared/files"), { recursive: true });
  await Deno.remove(p.path(".pivot/cache"), { recursive: true });
  const missing = await p.pivot("data", "get", "table.csv", "-o", "exports/t.csv");
  assertEquals(missing.code, 2, missing.stderr);
  assertMatch(missing.stderr, /table\.csv at HEAD: its content .* is not in the cache/);
});

test("data diff prints in full a diff larger than what it holds in memory", async () => {
  // More than a spool's 1 MiB of added and modified rows: they go through temporary files.
  await using p = await TempProject.create({
    "pipeline.ts":
      'import { Pipeline } from "jsr:@pivot/core";\nexport const pipeline = new Pipeline("big");\n',
  });
  await p.initGit();
  const rows = (count: number, label: string) =>
    "id,name\n" +
    Array.from({ length: count }, (_, i) => `${i},${label}-${i}-${"x".repeat(24)}\n`).join("");
  await p.write("big.csv", rows(20_000, "old"));
  assertEquals((await p.pivot("track", "big.csv")).code, 0);
  await p.commitAll("old");
  await p.write("big.csv", rows(40_000, "new"));
  const result = await p.pivot("data", "diff", "big.csv", "--key", "id", "--json");
  assertEquals(result.code, 0, result.stderr);
  const diff = JSON.parse(result.stdout);
  assertEquals(diff.summary, { added: 20_000, removed: 0, modified: 20_000, unchanged: 0 });
  assertEquals([diff.added.length, diff.modified.length], [20_000, 20_000]);
  assertEquals(diff.added.at(-1), { id: "39999", name: `new-39999-${"x".repeat(24)}` });
  assertEquals(diff.modified[0].changes.name, [
    `old-0-${"x".repeat(24)}`,
    `new-0-${"x".repeat(24)}`,
  ]);
  const text = await p.pivot("data", "diff", "big.csv", "--key", "id");
  assertEquals(text.code, 0, text.stderr);
  assertEquals(text.stdout.trimEnd().split("\n").length, 2 + 40_000);
  // Nothing is left behind in .pivot/tmp.
  const left = [...Deno.readDirSync(p.path(".pivot/tmp"))].filter((e) =>
    e.name.startsWith("data-diff")
  );
  assertEquals(left, []);
});

test("data: bad input is one line with exit code 2", async () => {
  await using p = await dataProject();
  assertMatch(
    oneLineError(await p.pivot("data", "diff", "table.csv", "--key", "nope")),
    /no column 'nope'.*the columns are id, name, note, score/,
  );
  assertMatch(
    oneLineError(await p.pivot("data", "diff", "table.csv", "--rev", "no-such-rev")),
    /unknown git revision 'no-such-rev'/,
  );
  assertMatch(
    oneLineError(await p.pivot("data", "get", "table.csv", "--rev", "no-such-rev")),
    /unknown git revision 'no-such-rev'/,
  );
  assertMatch(
    oneLineError(await p.pivot("data", "diff", "pipeline.ts")),
    /pipeline\.ts is not a table/,
  );
  assertMatch(
    oneLineError(await p.pivot("data", "get", "nothing.csv")),
    /nothing\.csv at HEAD: neither an out, tracked data nor a committed file at HEAD/,
  );
  assertMatch(oneLineError(await p.pivot("data", "diff", "a", "b")), /name one file/);
  assertMatch(oneLineError(await p.pivot("data", "frob")), /unknown subcommand 'frob'/);
});
