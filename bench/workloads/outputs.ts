/**
 * Workload `outputs` (issue 11): the commands that look at outputs and data
 * over time, each beside a peer or a floor measured in the same run.
 *
 * - `pivot metrics diff` on 50 metric files across two revisions (target
 *   under 0.3 s), beside `git diff` of the same files;
 * - `pivot verify` on the 176-stage pipeline beside its no-op `pivot repro`
 *   (target: no slower);
 * - `pivot gc` on a cache of 100,000 objects (target under 5 s), beside
 *   `find -delete` of the same files;
 * - `pivot data diff` of two 1,000,000-row CSVs (target under 5 s, memory
 *   bounded), by key and by position, beside GNU `diff` of the two files.
 *
 * `--quick` uses smaller sizes (20,000 objects, 100,000 rows).
 *
 * @module
 */

import type { BenchContext } from "../_context.ts";
import { type Measurement, progress, repeat, repeatAlternating } from "../_measure.ts";
import { cpuCell, rssCell, type Section, table, wallCell } from "../_report.ts";
import { mustRun, pivotCommand, pivotMissing, removeAll, writeBenchProject } from "../_tools.ts";
import { generatePipeline } from "../gen_pipeline.ts";

const GIT_ENV = ["-c", "user.email=bench@example.com", "-c", "user.name=bench"];

async function git(dir: string, ...args: string[]): Promise<string> {
  return await mustRun(["git", ...GIT_ENV, ...args], dir);
}

async function project(dir: string, files: Record<string, string>): Promise<void> {
  await writeBenchProject(dir, files);
  await git(dir, "init", "-q");
  await mustRun([...pivotCommand(), "init"], dir);
}

/** Run the workload; each part reports its own failure without stopping the others. */
export async function outputsWorkload(ctx: BenchContext): Promise<Section> {
  const title = "9. Outputs and data over time (metrics, verify, gc, data diff)";
  const missing = await pivotMissing();
  if (missing) return { title, body: `Pending (${missing}).` };
  const parts = [
    await metricsPart(ctx),
    await verifyPart(ctx),
    await gcPart(ctx),
    await dataDiffPart(ctx),
  ];
  return { title, body: parts.join("\n\n") };
}

function rows(measurements: [string, Measurement][], memory = false): string {
  return memory
    ? table(
      ["Command", "Time", "CPU", "Peak memory"],
      measurements.map(([name, m]) => [name, wallCell(m), cpuCell(m), rssCell(m)]),
    )
    : table(
      ["Command", "Time", "CPU"],
      measurements.map(([name, m]) => [name, wallCell(m), cpuCell(m)]),
    );
}

const METRIC_FILES = 50;

async function metricsPart(ctx: BenchContext): Promise<string> {
  const dir = `${ctx.options.workDir}/outputs-metrics`;
  const measurements: [string, Measurement][] = [];
  try {
    const stages = Array.from({ length: METRIC_FILES }, (_, i) =>
      `pipeline.stage({
  name: "m${i}",
  params: { seed: 1 },
  outs: { scores: metric("metrics/m${i}.json") },
  run: (_d, { params }) => ({ scores: scores(${i}, params.seed) }),
});`).join("\n");
    await project(dir, {
      "pipeline.ts": `import { metric, Pipeline } from "jsr:@pivot/core";
export const pipeline = new Pipeline("bench_metrics");
function scores(i: number, seed: number) {
  return { accuracy: (seed * (i + 7)) / 1000, loss: { train: (i + 1) / seed, val: 1 / (i + seed) } };
}
${stages}
`,
    });
    progress("outputs: metrics: two revisions of 50 metric files (not counted)");
    await mustRun([...pivotCommand(), "repro"], dir);
    await git(dir, "add", "-A");
    await git(dir, "commit", "-q", "-m", "first");
    const params = Array.from({ length: METRIC_FILES }, (_, i) => `m${i}:\n  seed: 3\n`).join("");
    await Deno.writeTextFile(`${dir}/params.yaml`, params);
    await mustRun([...pivotCommand(), "repro"], dir);
    const time = { cwd: dir };
    const changed = (run: { stdout: string }) => {
      const diff = JSON.parse(run.stdout).diff as unknown[];
      return diff.length === METRIC_FILES * 3 ? undefined : `${diff.length} changes, expected 150`;
    };
    measurements.push([
      "`pivot metrics diff --json` (HEAD vs workspace, 50 files)",
      await repeat([...pivotCommand(), "metrics", "diff", "--json"], time, {
        label: "outputs: metrics diff",
        reps: ctx.options.reps,
        warmup: 1,
        check: changed,
      }),
    ]);
    measurements.push([
      "`git diff HEAD -- metrics/` (a text diff of the same files)",
      await repeat(["git", "diff", "HEAD", "--", "metrics/"], time, {
        label: "outputs: git diff",
        reps: ctx.options.reps,
        warmup: 1,
      }),
    ]);
  } catch (error) {
    measurements.push(["setup", { failed: (error as Error).message.split("\n")[0] }]);
  } finally {
    await removeAll(dir);
  }
  return [
    "**metrics diff**: 50 stages each write a `metric()` file; the first run is committed, " +
    "`params.yaml` changes every stage's params and a second run changes all 150 keys. " +
    "`pivot metrics diff` reads HEAD's lock files from git and the old values from the cache " +
    "(target under 0.3 s).",
    "",
    rows(measurements),
  ].join("\n");
}

async function verifyPart(ctx: BenchContext): Promise<string> {
  const dir = `${ctx.options.workDir}/outputs-verify`;
  const measurements: [string, Measurement][] = [];
  try {
    await removeAll(dir);
    await generatePipeline(dir, { stages: 176 });
    await mustRun([...pivotCommand(), "init"], dir);
    progress("outputs: verify: full run of the 176-stage pipeline (not counted)");
    await mustRun([...pivotCommand(), "repro"], dir);
    const time = { cwd: dir };
    // In alternation (repro, verify, verify, repro, …): load changes reach both alike.
    const [noop, verify] = await repeatAlternating([
      { argv: [...pivotCommand(), "repro"], time, label: "outputs: no-op repro" },
      {
        argv: [...pivotCommand(), "verify"],
        time,
        label: "outputs: verify",
        check: (run) => run.stdout.startsWith("OK: 176 stages") ? undefined : run.stdout,
      },
    ], { reps: ctx.options.reps, warmup: 1 });
    measurements.push(["`pivot repro` (no-op)", noop], ["`pivot verify`", verify]);
  } catch (error) {
    measurements.push(["setup", { failed: (error as Error).message.split("\n")[0] }]);
  } finally {
    await removeAll(dir);
  }
  return [
    "**verify**: the 176-stage pipeline after a full run; `pivot verify` decides every stage as " +
    "`repro` does and checks that every out is in the cache (target: no slower than the no-op).",
    "",
    rows(measurements),
  ].join("\n");
}

async function gcPart(ctx: BenchContext): Promise<string> {
  const objects = ctx.options.quick ? 20_000 : 100_000;
  const dir = `${ctx.options.workDir}/outputs-gc`;
  const measurements: [string, Measurement][] = [];
  try {
    // A tracked directory of 1,000 files (kept), and garbage objects around it.
    const files: Record<string, string> = {
      "pipeline.ts":
        `import { Pipeline } from "jsr:@pivot/core";\nexport const pipeline = new Pipeline("bench_gc");\n`,
    };
    for (let i = 0; i < 1_000; i++) files[`data/kept/${i}.txt`] = `kept ${i}\n`;
    await project(dir, files);
    await mustRun([...pivotCommand(), "track", "data/kept"], dir);
    const cache = `${dir}/.pivot/cache/files`;
    const fill = async () => {
      progress(`outputs: gc: writing ${objects} garbage objects (not counted)`);
      const payload = new TextEncoder().encode("garbage object\n");
      for (let i = 0; i < objects; i++) {
        const hash = (0xf000000000000000n + BigInt(i) * 2654435761n).toString(16).slice(-16)
          .padStart(16, "0");
        const fanout = `${cache}/${hash.slice(0, 2)}`;
        if (i < 256) await Deno.mkdir(fanout, { recursive: true });
        Deno.writeFileSync(`${fanout}/${hash.slice(2)}`, payload, { create: true });
      }
      // The refill's metadata reaches the disk now, not in the first fsync of what is timed
      // (the state store's): on ext4 that one commits the whole journal, 100,000 new files.
      await mustRun(["sync"], dir);
      // Objects created in the same second as gc starts are kept: let it pass.
      await new Promise((resolve) => setTimeout(resolve, 1_100));
    };
    await fill();
    const time = { cwd: dir };
    const reps = Math.min(ctx.options.reps, 3);
    const removed = (run: { stdout: string }) =>
      JSON.parse(run.stdout).objects === objects
        ? undefined
        : `removed ${JSON.parse(run.stdout).objects}, expected ${objects}`;
    measurements.push([
      `\`pivot gc -n\` (${objects.toLocaleString("en")} garbage objects, 1,001 kept)`,
      await repeat([...pivotCommand(), "gc", "-n", "--json"], time, {
        label: "outputs: gc -n",
        reps,
        warmup: 1,
        check: removed,
      }),
    ]);
    measurements.push([
      "`pivot gc`",
      await repeat([...pivotCommand(), "gc", "--json"], time, {
        label: "outputs: gc",
        reps,
        before: fill,
        check: removed,
      }),
    ]);
    measurements.push([
      "`find .pivot/cache/files -type f -delete` (the floor: deleting every object)",
      await repeat(["find", ".pivot/cache/files", "-type", "f", "-delete"], time, {
        label: "outputs: find -delete",
        reps,
        before: fill,
      }),
    ]);
  } catch (error) {
    measurements.push(["setup", { failed: (error as Error).message.split("\n")[0] }]);
  } finally {
    await removeAll(dir);
  }
  return [
    `**gc**: a cache of ${objects.toLocaleString("en")} objects no lock or \`.pvt\` file refers ` +
    "to, plus a tracked directory of 1,000 files (its manifest and files are kept). Each `gc` " +
    "repetition starts from a refilled cache (not counted). Target under 5 s for 100,000 objects.",
    "",
    rows(measurements, true),
  ].join("\n");
}

async function dataDiffPart(ctx: BenchContext): Promise<string> {
  const count = ctx.options.quick ? 100_000 : 1_000_000;
  const dir = `${ctx.options.workDir}/outputs-data`;
  const measurements: [string, Measurement][] = [];
  try {
    await project(dir, {
      "pipeline.ts":
        `import { Pipeline } from "jsr:@pivot/core";\nexport const pipeline = new Pipeline("bench_data");\n`,
    });
    progress(`outputs: data diff: two ${count}-row CSVs (not counted)`);
    // Version 1, tracked and committed; version 2: 1% of rows modified, 0.1% removed, 0.1% added.
    const row = (i: number, edit: boolean) => {
      const score = edit ? "0.999999" : String(((i * 104729) % 1000003) / 1000003);
      return `${i},name${i},${(i * 7919) % 1000},${score}\n`;
    };
    const write = async (path: string, version: 1 | 2) => {
      const file = await Deno.open(path, { write: true, create: true, truncate: true });
      const encoder = new TextEncoder();
      let chunk = "id,name,value,score\n";
      const last = version === 1 ? count : count + Math.floor(count / 1000);
      for (let i = 0; i < last; i++) {
        if (version === 2 && i < count && i % 1000 === 500) continue;
        chunk += row(i, version === 2 && i % 100 === 7);
        if (chunk.length > 1 << 20) {
          await file.write(encoder.encode(chunk));
          chunk = "";
        }
      }
      await file.write(encoder.encode(chunk));
      file.close();
    };
    await write(`${dir}/table.csv`, 1);
    await mustRun([...pivotCommand(), "track", "table.csv"], dir);
    await git(dir, "add", "-A");
    await git(dir, "commit", "-q", "-m", "version 1");
    await Deno.copyFile(`${dir}/table.csv`, `${dir}/old.csv`);
    await Deno.remove(`${dir}/table.csv`);
    await write(`${dir}/table.csv`, 2);
    const expected = { added: count / 1000, removed: count / 1000, modified: count / 100 };
    const check = (run: { stdout: string }) => {
      const { summary } = JSON.parse(run.stdout);
      return summary.added === expected.added && summary.removed === expected.removed &&
          summary.modified === expected.modified
        ? undefined
        : `found ${JSON.stringify(summary)}, expected ${JSON.stringify(expected)}`;
    };
    const time = { cwd: dir, captureStdout: true };
    const reps = Math.min(ctx.options.reps, 3);
    measurements.push([
      "`pivot data diff table.csv --key id --json`",
      await repeat(
        [...pivotCommand(), "data", "diff", "table.csv", "--key", "id", "--json"],
        time,
        {
          label: "outputs: data diff --key",
          reps,
          warmup: 1,
          check,
        },
      ),
    ]);
    measurements.push([
      "`pivot data diff table.csv --json` (by position)",
      await repeat([...pivotCommand(), "data", "diff", "table.csv", "--json"], time, {
        label: "outputs: data diff by position",
        reps,
        warmup: 1,
        check,
      }),
    ]);
    measurements.push([
      "`diff old.csv table.csv` (GNU diff, lines)",
      await repeat(["sh", "-c", "diff old.csv table.csv > /dev/null; test $? -le 1"], time, {
        label: "outputs: GNU diff",
        reps,
        warmup: 1,
      }),
    ]);
  } catch (error) {
    measurements.push(["setup", { failed: (error as Error).message.split("\n")[0] }]);
  } finally {
    await removeAll(dir);
  }
  return [
    `**data diff**: a ${count.toLocaleString("en")}-row CSV (about ${
      Math.round(count * 31 / 1e6)
    } MB) tracked and committed, then rewritten with 1% of its rows modified, 0.1% removed and ` +
    "0.1% added; the old version comes from the cache. Peak memory is GNU time's maximum RSS of " +
    "the `pivot` process (target under 5 s, memory bounded: see docs/data.md).",
    "",
    rows(measurements, true),
  ].join("\n");
}
