import {
  AmbiguousRunId,
  listRuns,
  newRunId,
  readRun,
  recordRunHistory,
  type RunRecord,
} from "../../lib/storage/run_history.ts";
import { assert, assertEquals, assertRejects } from "../_assert.ts";
import { test } from "../_harness.ts";
import { openState, tempDir } from "../_project.ts";

function run(id: string, stages = 2, reason = "up to date"): RunRecord {
  return {
    id,
    started: "2026-11-30T01:00:00.000Z",
    command: "pivot repro",
    duration_ms: 12,
    counts: { skipped: stages },
    stages: Array.from({ length: stages }, (_, i) => ({
      name: `stage_${i}`,
      status: "skipped",
      reason,
      duration_ms: i,
    })),
  };
}

test("run ids sort by start time", () => {
  const ids = [1_000, 2_000_000, 1_700_000_000_000].map(newRunId);
  assertEquals([...ids].sort(), ids);
  assert(/^[0-9a-z]{8}-[0-9a-z]{4}$/.test(ids[2]), ids[2]);
});

test("a run is read back whole, by id, unique prefix or as the latest", async () => {
  await using dir = await tempDir();
  await using state = await openState(dir.root);
  await recordRunHistory(state, run("aaaa0001-x"), 10);
  await recordRunHistory(state, run("aaaa0002-y", 3), 10);
  assertEquals(await readRun(state, "aaaa0001-x"), run("aaaa0001-x"));
  assertEquals((await readRun(state))?.id, "aaaa0002-y");
  assertEquals((await readRun(state, "aaaa0002"))?.stages.length, 3);
  assertEquals(await readRun(state, "zz"), undefined);
  await assertRejects(() => readRun(state, "aaaa"), AmbiguousRunId);
  assertEquals((await listRuns(state)).map((r) => r.id), ["aaaa0002-y", "aaaa0001-x"]);
});

test("a run larger than a KV value is stored in chunks", async () => {
  await using dir = await tempDir();
  await using state = await openState(dir.root);
  // 2,000 stages with long reasons: several times Deno KV's 64 KiB value limit.
  const big = run("bbbb0001-z", 2_000, "code,params,deps ".repeat(6));
  await recordRunHistory(state, big, 10);
  const [header] = await listRuns(state);
  assert(header.chunks > 4, `${header.chunks} chunks`);
  assertEquals(await readRun(state, "bbbb0001-z"), big);
});

test("a no-op run's stages are stored compactly and read back as recorded", async () => {
  await using dir = await tempDir();
  await using state = await openState(dir.root);
  // Up-to-date stages (with and without a duration) beside stages that did something.
  const mixed: RunRecord = {
    ...run("cccc0001-a", 3),
    stages: [
      ...run("cccc0001-a", 3).stages,
      { name: "trained", status: "ran", reason: "code", duration_ms: 0 },
      { name: "broken", status: "failed", reason: "error", duration_ms: 4, error: "boom" },
      { name: "odd", status: "skipped", reason: "up to date", duration_ms: 0, error: "x" },
    ],
  };
  await recordRunHistory(state, mixed, 10);
  assertEquals(await readRun(state, "cccc0001-a"), mixed);
  // 2,000 stages up to date in no time take one chunk (a whole record each would take three).
  const noop = run("cccc0002-b", 2_000);
  const instant = { ...noop, stages: noop.stages.map((stage) => ({ ...stage, duration_ms: 0 })) };
  await recordRunHistory(state, instant, 10);
  assertEquals((await listRuns(state, 1))[0].chunks, 1);
  assertEquals(await readRun(state, "cccc0002-b"), instant);
});

test("runs past the limit are pruned, oldest first", async () => {
  await using dir = await tempDir();
  await using state = await openState(dir.root);
  for (let i = 0; i < 25; i++) {
    await recordRunHistory(state, run(`c${String(i).padStart(7, "0")}-r`), 10);
  }
  const ids = (await listRuns(state)).map((r) => r.id);
  // Pruned once past the limit by a tenth: never more than limit + limit/10 kept.
  assert(ids.length >= 10 && ids.length <= 11, `${ids.length} runs kept`);
  assertEquals(ids[0], "c0000024-r");
  assertEquals(ids.at(-1), `c${String(25 - ids.length).padStart(7, "0")}-r`);
  // The pruned runs' stages are gone too.
  const stages = [];
  for await (const entry of state.kv.list({ prefix: ["run-stages"] })) stages.push(entry.key[1]);
  assertEquals(new Set(stages).size, ids.length);
});

test("a limit of 0 records nothing", async () => {
  await using dir = await tempDir();
  await using state = await openState(dir.root);
  await recordRunHistory(state, run("dddd0001-a"), 0);
  assertEquals(await listRuns(state), []);
});
