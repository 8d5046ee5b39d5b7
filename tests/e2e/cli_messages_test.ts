/**
 * What the CLI says to a user who asks for help, repeats a set-up step, or
 * runs a command where it cannot work: one clear line (what, where, how to
 * fix), the exit code of SPEC §6, never silence or a misleading answer.
 */

import { dirname } from "node:path";
import { assert, assertEquals, assertMatch, assertNotMatch } from "../_assert.ts";
import { test } from "../_harness.ts";
import { type PivotResult, runPivot, tempDir, TempProject } from "../_project.ts";

/** A usage error: exit 2, one line on stderr, no stack trace. */
function assertUsageError(result: PivotResult, pattern: RegExp): void {
  assertEquals(result.code, 2, result.stderr);
  assertMatch(result.stderr.trim(), pattern);
  assertEquals(result.stderr.trim().split("\n").length, 1, `one line, got:\n${result.stderr}`);
  assertNotMatch(result.stderr, /\n\s+at /);
}

/** `pivot ARGS` in `dir`, with git kept from looking above it for a repository. */
function outsideGit(dir: string, ...args: string[]): Promise<PivotResult> {
  return runPivot(dir, args, { GIT_CEILING_DIRECTORIES: dirname(dir) });
}

const PIPELINE = `import { dep, loaders, metric, out, Pipeline } from "jsr:@pivot/core";
export const pipeline = new Pipeline("p");
pipeline.stage({
  name: "train",
  deps: { data: dep("data.txt", loaders.text()) },
  outs: { model: out("model.txt", loaders.text()), score: metric("score.json") },
  params: { rate: 0.1 },
  run: ({ data }, { params }) => ({ model: data + params.rate, score: { acc: 1 } }),
});
`;

test("pivot help lists the commands, as --help does", async () => {
  await using dir = await tempDir();
  const help = await runPivot(dir.root, ["help"]);
  assertEquals(help.code, 0, help.stderr);
  assertEquals(help.stdout, (await runPivot(dir.root, ["--help"])).stdout);
  assertMatch(help.stdout, /^ {2}help {2,}Show the list of commands/m);
});

test("pivot help COMMAND prints that command's --help", async () => {
  await using dir = await tempDir();
  const help = await runPivot(dir.root, ["help", "repro"]);
  assertEquals(help.code, 0, help.stderr);
  assertEquals(help.stdout, (await runPivot(dir.root, ["repro", "--help"])).stdout);
  assertMatch(help.stdout, /--keep-going/);
});

test("pivot help with a typo suggests the command; two names are a usage error", async () => {
  await using dir = await tempDir();
  assertUsageError(
    await runPivot(dir.root, ["help", "reprp"]),
    /^error: help: unknown command 'reprp': did you mean 'repro'\?/,
  );
  assertUsageError(
    await runPivot(dir.root, ["help", "repro", "status"]),
    /^error: help: one command at a time/,
  );
});

test("pivot completion offers help and, after it, the commands", async () => {
  await using dir = await tempDir();
  const bash = await runPivot(dir.root, ["completion", "bash"]);
  assertEquals(bash.code, 0, bash.stderr);
  assertMatch(bash.stdout, /help:0\) echo choices init repro run /);
});

test("init --example in an existing project says the example is already there", async () => {
  await using dir = await tempDir();
  assertEquals((await runPivot(dir.root, ["init", "--example"])).code, 0);
  const again = await runPivot(dir.root, ["init", "--example"]);
  assertEquals(again.code, 0, again.stderr);
  assertMatch(
    again.stdout,
    /^The example is already here \(pipeline\.ts, data\/scores\.csv, deno\.json\): nothing written; run 'pivot repro'$/m,
  );
  await Deno.remove(dir.path("data/scores.csv"));
  const partly = await runPivot(dir.root, ["init", "--example"]);
  assertMatch(
    partly.stdout,
    /^Wrote data\/scores\.csv \(kept the existing pipeline\.ts, deno\.json\); run 'pivot repro'$/m,
  );
});

test("init --example beside another pipeline writes nothing and says why (exit 2)", async () => {
  for (const existing of ["pipeline.ts", "pivot.yaml"]) {
    await using dir = await tempDir();
    const mine = existing === "pivot.yaml" ? "stages: {}\n" : "// my own pipeline\n";
    await dir.write(existing, mine);
    const result = await runPivot(dir.root, ["init", "--example"]);
    assertUsageError(
      result,
      new RegExp(
        `^error: init --example: .* already has a pipeline \\(${existing}\\): the example was not written; try it in an empty directory`,
      ),
    );
    assertEquals(await dir.read(existing), mine);
    assertEquals(await dir.exists(".pivot"), false, "nothing half-done");
    assertEquals(await dir.exists("data/scores.csv"), false);
    assertEquals(await dir.exists(existing === "pivot.yaml" ? "pipeline.ts" : "pivot.yaml"), false);
  }
});

test("data get and data diff outside git say that they need a repository and why", async () => {
  await using p = await TempProject.create({ "pipeline.ts": PIPELINE, "data.txt": "x" });
  assertEquals((await p.pivot("repro")).code, 0);
  assertUsageError(
    await outsideGit(p.root, "data", "get", "model.txt", "--rev", "HEAD"),
    /^error: data get needs a git repository \(it reads files as committed at --rev, default HEAD\), and .* is not in one: run it in the git repository the project is committed in$/,
  );
  assertUsageError(
    await outsideGit(p.root, "data", "diff", "model.txt"),
    /^error: data diff needs a git repository \(it compares with a commit: --rev, default HEAD\), and .* is not in one: /,
  );
});

test("gc --all-commits outside git says to drop --all-commits; plain gc works", async () => {
  await using p = await TempProject.create({ "pipeline.ts": PIPELINE, "data.txt": "x" });
  assertEquals((await p.pivot("repro")).code, 0);
  assertUsageError(
    await outsideGit(p.root, "gc", "--all-commits"),
    /^error: gc --all-commits needs a git repository \(it keeps what any commit refers to\), and .* is not in one: run it in the git repository the project is committed in, or drop --all-commits to keep what the workspace refers to$/,
  );
  const gc = await outsideGit(p.root, "gc");
  assertEquals(gc.code, 0, gc.stderr);
});

test("params diff and metrics diff outside git point at show", async () => {
  await using p = await TempProject.create({ "pipeline.ts": PIPELINE, "data.txt": "x" });
  assertEquals((await p.pivot("repro")).code, 0);
  for (const command of ["params", "metrics"]) {
    assertUsageError(
      await outsideGit(p.root, command, "diff"),
      new RegExp(
        `^error: ${command} diff needs a git repository \\(it compares with git HEAD, or --rev\\), and .* is not in one: .*, or use 'pivot ${command} show' for the workspace's ${command}$`,
      ),
    );
    assertEquals((await outsideGit(p.root, command, "show")).code, 0);
  }
});

test("params diff against a revision without the pipeline says so (exit 2), not 'No param changes'", async () => {
  await using p = await TempProject.create({ "pipeline.ts": PIPELINE, "data.txt": "x" });
  await p.initGit();
  // No commit yet: HEAD has nothing.
  assertUsageError(
    await p.pivot("params", "diff"),
    /^error: params diff: the pipeline could not be found at HEAD \(no pipeline\.ts or pivot\.yaml in the project root there, nor lock files\): commit it, or compare with a revision that has it \(--rev REV\)$/,
  );
  // A commit without the pipeline.
  await p.write("README.md", "hello\n");
  await p.git("add", "README.md");
  await p.git("commit", "-q", "-m", "readme");
  assertUsageError(await p.pivot("params", "diff"), /the pipeline could not be found at HEAD/);
  // Once committed, it compares.
  await p.commitAll();
  const diff = await p.pivot("params", "diff");
  assertEquals(diff.code, 0, diff.stderr);
  assertMatch(diff.stdout, /No param changes/);
  assert(!diff.stderr.includes("error"), diff.stderr);
});

test("commands that take no arguments refuse one instead of running anyway (gc all removes nothing)", async () => {
  await using p = await TempProject.create({ "pipeline.ts": PIPELINE, "data.txt": "x" });
  assertEquals((await p.pivot("repro")).code, 0);
  // An object only gc would remove: it must still be there after `gc all`.
  await p.write("data.txt", "y");
  assertEquals((await p.pivot("repro")).code, 0);
  const objects = async () => (await p.run("find", ".pivot/cache", "-type", "f")).split("\n");
  const before = await objects();
  for (const command of ["gc", "list", "history", "init", "doctor", "ui"]) {
    assertUsageError(
      await p.pivot(command, "all"),
      new RegExp(`^error: ${command}: unexpected argument 'all': see 'pivot ${command} --help'$`),
    );
  }
  assertEquals(await objects(), before, "gc all removed nothing");
});

test("--cwd naming no directory says so", async () => {
  await using dir = await tempDir();
  assertUsageError(
    await runPivot(dir.root, ["status", "--cwd", "nowhere"]),
    /^error: .*\/nowhere is not a directory: check --cwd/,
  );
});

test("a mistyped option names the one meant", async () => {
  await using dir = await tempDir();
  const cases: [string[], RegExp][] = [
    [
      ["repro", "--dryrun"],
      /^error: repro: unknown option '--dryrun': did you mean '--dry-run'\?$/,
    ],
    [["repro", "--keep_going"], /did you mean '--keep-going'\?$/],
    [["status", "--explian"], /did you mean '--explain'\?$/],
    [
      ["--verbse", "status"],
      /^error: status: unknown option '--verbse': did you mean '--verbose'\?$/,
    ],
    [["repro", "--zzzzz"], /^error: repro: unknown option '--zzzzz': see 'pivot repro --help'$/],
  ];
  for (const [args, pattern] of cases) assertUsageError(await runPivot(dir.root, args), pattern);
});
