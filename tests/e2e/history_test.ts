/**
 * `pivot history` and `pivot show` through the real CLI: every repro/run is
 * recorded with each stage's status, reason and duration; old runs are
 * pruned past `core.history`; --no-commit records nothing.
 */

import { TempProject } from "../_project.ts";
import { assert, assertEquals, assertMatch } from "../_assert.ts";
import { test } from "../_harness.ts";

const PIPELINE = `import { dep, loaders, out, Pipeline } from "jsr:@pivot/core";

export const pipeline = new Pipeline("history");

pipeline.stage({
  name: "prepare",
  deps: { raw: dep("raw.txt", loaders.text()) },
  outs: { clean: out("clean.txt", loaders.text()) },
  run: ({ raw }) => ({ clean: raw.trim() }),
});

pipeline.stage({
  name: "check",
  deps: { clean: dep("clean.txt", loaders.text()) },
  outs: { verdict: out("verdict.txt", loaders.text()) },
  run: ({ clean }) => {
    if (clean === "bad") throw new Error("bad input");
    return { verdict: "ok" };
  },
});
`;

interface JsonRun {
  id: string;
  started: string;
  command: string;
  duration_ms: number;
  stages: { name: string; status: string; reason: string; duration_ms: number; error?: string }[];
}

async function runs(p: TempProject, ...args: string[]): Promise<JsonRun[]> {
  const result = await p.pivot("history", "--json", ...args);
  assertEquals(result.code, 0, result.stderr);
  return JSON.parse(result.stdout).runs;
}

test("every repro and run is recorded: id, start, command, each stage's status, reason and duration", async () => {
  await using p = await TempProject.create({ "pipeline.ts": PIPELINE, "raw.txt": "good\n" });
  const before = Date.now();
  assertEquals((await p.pivot("repro")).code, 0);
  assertEquals((await p.pivot("repro")).code, 0);
  await p.write("raw.txt", "bad\n");
  assertEquals((await p.pivot("run", "prepare", "check")).code, 1);

  const all = await runs(p);
  assertEquals(all.map((run) => run.command), [
    "pivot run prepare check",
    "pivot repro",
    "pivot repro",
  ]);
  const [failed, noop, first] = all;
  assertEquals(first.stages.map((s) => [s.name, s.status, s.reason]), [
    ["prepare", "ran", "never-run"],
    ["check", "ran", "never-run"],
  ]);
  assertEquals(noop.stages.map((s) => s.status), ["skipped", "skipped"]);
  assertEquals(failed.stages.map((s) => [s.name, s.status]), [
    ["prepare", "ran"],
    ["check", "failed"],
  ]);
  assertMatch(failed.stages[1].error ?? "", /bad input/);
  const started = Date.parse(first.started);
  assert(started >= before - 1_000 && started <= Date.now(), first.started);
  assert(first.stages.every((s) => Number.isInteger(s.duration_ms) && s.duration_ms >= 0));
  assert(Number.isInteger(first.duration_ms));
  assertEquals((await runs(p, "-n", "1")).map((run) => run.id), [failed.id]);

  // show: the latest run, or one by a unique prefix of its id.
  const latest = await p.pivot("show");
  assertEquals(latest.code, 0, latest.stderr);
  assertMatch(latest.stdout, new RegExp(`Run +${failed.id}\\nCommand +pivot run prepare check`));
  assertMatch(latest.stdout, /check +failed +\d+\.\d\ds/);
  assertMatch(latest.stdout, /check: .*bad input/);
  const byPrefix = await p.pivot("show", first.id.slice(0, 11), "--json");
  assertEquals(byPrefix.code, 0, byPrefix.stderr);
  assertEquals(JSON.parse(byPrefix.stdout).id, first.id);

  const table = await p.pivot("history");
  assertMatch(table.stdout, /^Id +Started +Duration +Stages +Command\n/);
  assertMatch(table.stdout, /1 ran, 1 failed +pivot run prepare check/);
  assertMatch(table.stdout, /2 skipped +pivot repro/);
});

test("runs past core.history are pruned; --no-commit records nothing", async () => {
  await using p = await TempProject.create({
    "pipeline.ts": PIPELINE,
    "raw.txt": "good\n",
    ".pivot/config.yaml": "core:\n  history: 3\n",
  });
  for (let i = 0; i < 6; i++) assertEquals((await p.pivot("repro")).code, 0);
  const kept = await runs(p, "-n", "100");
  assert(kept.length === 3 || kept.length === 4, `${kept.length} runs kept`);
  assertEquals((await p.pivot("repro", "--no-commit")).code, 0);
  assertEquals((await runs(p, "-n", "100")).length, kept.length);
});

test("history and show: no runs yet, and bad input is one line with exit code 2", async () => {
  await using p = await TempProject.create({ "pipeline.ts": PIPELINE, "raw.txt": "good\n" });
  assertEquals(
    (await p.pivot("history")).stdout,
    "No runs recorded yet: 'pivot repro' records one.\n",
  );
  assertEquals(await runs(p), []);
  const unknown = await p.pivot("show", "nope");
  assertEquals([unknown.code, unknown.stderr.trim()], [
    2,
    "error: show: no run 'nope' in the history: see 'pivot history'",
  ]);
  const bad = await p.pivot("history", "-n", "zero");
  assertEquals(bad.code, 2);
  assertMatch(bad.stderr, /--number expects an integer/);
  await p.write(".pivot/config.yaml", "core:\n  history: -1\n");
  const config = await p.pivot("repro");
  assertEquals(config.code, 2);
  assertMatch(config.stderr, /core\.history must be a whole number/);
});
