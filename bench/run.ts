/**
 * `deno task bench`: runs the benchmark workloads of issue 6 for Pivot and
 * its peers (make, Snakemake, xxhsum, md5sum, cat) in one run on this
 * machine, and writes `bench/RESULTS.md`: machine facts, one table per
 * workload (medians with min–max) and ratios against the peers measured in
 * the same run. See `bench/README.md`.
 *
 * Pivot's rows read "pending" while this repository has no `cli.ts`.
 *
 * @module
 */

import { parseArgs } from "node:util";
import type { BenchContext, BenchOptions, PipelineCase } from "./_context.ts";
import { pipelineKey } from "./_context.ts";
import { machineFacts } from "./_machine.ts";
import { measured, type Measurement, type Missing, progress, repeat } from "./_measure.ts";
import { missingText, seconds, type Section, spread, table, times } from "./_report.ts";
import { ensureProgram, REPO, runTrash, type Tool, type ToolName, TOOLS } from "./_tools.ts";
import { checkoutWorkload } from "./workloads/checkout.ts";
import { fingerprintingWorkload } from "./workloads/fingerprinting.ts";
import { hashingWorkload } from "./workloads/hashing.ts";
import { memoryWorkload } from "./workloads/memory.ts";
import { outputsWorkload } from "./workloads/outputs.ts";
import { HEADLINE_STAGES, pipelineWorkload } from "./workloads/pipeline.ts";
import { scalingWorkload } from "./workloads/scaling.ts";
import { uiWorkload } from "./workloads/ui.ts";
import { watchLatencyWorkload } from "./workloads/watch_latency.ts";
import { remoteWorkload } from "./workloads/remote.ts";
import { stagesWorkload } from "./workloads/stages.ts";
import { bigdirWorkload } from "./workloads/bigdir.ts";
import { rehashWorkload } from "./workloads/rehash.ts";
import { readsWorkload } from "./workloads/reads.ts";
import { baselineTool } from "./_baseline.ts";
import { TEST_THRESHOLDS_VARIABLE } from "../lib/test_thresholds.ts";

/** The workloads that run Snakemake. */
const SNAKEMAKE_WORKLOADS: readonly WorkloadName[] = ["pipeline", "scaling", "memory"];

/** Workload names for `--only`, in report order. */
export const WORKLOADS = [
  "pipeline",
  "scaling",
  "hashing",
  "fingerprint",
  "checkout",
  "memory",
  "watch",
  "remote",
  "ui",
  "stages",
  "bigdir",
  "rehash",
  "reads",
  "outputs",
] as const;

/** One workload name. */
export type WorkloadName = typeof WORKLOADS[number];

const RUNNERS: Record<WorkloadName, (ctx: BenchContext) => Promise<Section>> = {
  pipeline: pipelineWorkload,
  scaling: scalingWorkload,
  hashing: hashingWorkload,
  fingerprint: fingerprintingWorkload,
  checkout: checkoutWorkload,
  memory: memoryWorkload,
  watch: watchLatencyWorkload,
  remote: remoteWorkload,
  ui: uiWorkload,
  stages: stagesWorkload,
  bigdir: bigdirWorkload,
  rehash: rehashWorkload,
  reads: readsWorkload,
  outputs: outputsWorkload,
};

// Hashing first: it wants a quiet machine and takes seconds.
const RUN_ORDER: readonly WorkloadName[] = [
  "hashing",
  "rehash",
  "pipeline",
  "scaling",
  "memory",
  "fingerprint",
  "checkout",
  "watch",
  "remote",
  "ui",
  "stages",
  "bigdir",
  "reads",
  "outputs",
];

const HELP = `deno task bench [options]   (deno run -A bench/run.ts)

  --only LIST               workloads to run, comma-separated: ${WORKLOADS.join(", ")}
  --quick                   3 repetitions, no Snakemake, smaller outputs sizes
  --no-snakemake            leave Snakemake out (its 176-stage full run takes about 2 min)
  --reps N                  counted repetitions of fast measurements (default 5)
  --snakemake-reps N        counted Snakemake full and input-changed runs (default 1)
  --snakemake-max-stages N  largest scaling size Snakemake runs at (default 176)
  --sizes LIST              scaling sizes (default 44,176,704)
  --stage-sizes LIST        sizes of the large-pipeline workload (default 1000,2000,10000;
                            --quick: 200,500,2000)
  --files N                 files in the bigdir workload's directory (default 100000;
                            --quick: 10000)
  --rehash-gib N            size of the rehash workload's file in GiB (default 4; --quick: 1)
  --reads-mib N             size of the reads workload's big out in MiB (default 1024;
                            --quick: 256)
  --baseline REF            also time Pivot at git revision REF (extracted with git archive)
                            in alternation with this checkout, in the stages workload
  --out PATH                report file (default bench/RESULTS.md; with --only or
                            --quick: bench/work/RESULTS.md, so a partial run does not
                            replace the full report)

Set PIVOT_BENCH_CMD to time another pivot command (default: deno run -A cli.ts).`;

function positiveInt(flag: string, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) {
    console.error(`--${flag}: expected a positive integer, got '${value}'`);
    Deno.exit(2);
  }
  return n;
}

async function main(): Promise<void> {
  let parsed;
  try {
    parsed = parseArgs({
      args: Deno.args,
      options: {
        "only": { type: "string" },
        "quick": { type: "boolean", default: false },
        "no-snakemake": { type: "boolean", default: false },
        "reps": { type: "string" },
        "snakemake-reps": { type: "string", default: "1" },
        "snakemake-max-stages": { type: "string", default: String(HEADLINE_STAGES) },
        "sizes": { type: "string", default: "44,176,704" },
        "stage-sizes": { type: "string" },
        "files": { type: "string" },
        "rehash-gib": { type: "string" },
        "reads-mib": { type: "string" },
        "baseline": { type: "string" },
        "out": { type: "string" },
        "help": { type: "boolean", short: "h", default: false },
      },
    });
  } catch (error) {
    console.error(`${(error as Error).message}\n\n${HELP}`);
    Deno.exit(2);
  }
  const { values } = parsed;
  if (values.help) {
    console.log(HELP);
    return;
  }
  if (Deno.env.get(TEST_THRESHOLDS_VARIABLE) !== undefined) {
    // The pivot processes measured would inherit the test suite's small thresholds.
    console.error(
      `${TEST_THRESHOLDS_VARIABLE} is set: the bench measures Pivot's own thresholds; unset it and run again`,
    );
    Deno.exit(2);
  }
  const only = values.only?.split(",").map((w) => w.trim()).filter((w) => w !== "");
  for (const name of only ?? []) {
    if (!(WORKLOADS as readonly string[]).includes(name)) {
      console.error(`--only: unknown workload '${name}' (known: ${WORKLOADS.join(", ")})`);
      Deno.exit(2);
    }
  }
  const selected = new Set<WorkloadName>((only as WorkloadName[] | undefined) ?? WORKLOADS);
  const options: BenchOptions = {
    reps: positiveInt("reps", values.reps ?? (values.quick ? "3" : "5")),
    snakemakeReps: positiveInt("snakemake-reps", values["snakemake-reps"]),
    snakemakeMaxStages: positiveInt("snakemake-max-stages", values["snakemake-max-stages"]),
    sizes: values.sizes.split(",").map((s) => positiveInt("sizes", s.trim()))
      .sort((a, b) => a - b),
    workDir: `${REPO}/bench/work`,
    quick: values.quick,
    stageSizes: (values["stage-sizes"] ?? (values.quick ? "200,500,2000" : "1000,2000,10000"))
      .split(",").map((s) => positiveInt("stage-sizes", s.trim())).sort((a, b) => a - b),
    files: positiveInt("files", values.files ?? (values.quick ? "10000" : "100000")),
    rehashBytes: positiveInt("rehash-gib", values["rehash-gib"] ?? (values.quick ? "1" : "4")) *
      2 ** 30,
    readsBytes: positiveInt("reads-mib", values["reads-mib"] ?? (values.quick ? "256" : "1024")) *
      2 ** 20,
  };
  const partial = only !== undefined || values.quick;
  const out = values.out ?? `${REPO}/bench/${partial ? "work/" : ""}RESULTS.md`;

  const tools: Tool[] = [];
  const absent = new Map<ToolName, Missing>();
  for (const tool of TOOLS) {
    if (tool.name === "Snakemake" && (values["no-snakemake"] || values.quick)) {
      absent.set(tool.name, {
        skipped: values.quick ? "--quick" : "--no-snakemake",
      });
      continue;
    }
    // Issue 6 compares with Snakemake: Debian has it, so a run that uses it
    // installs it when missing (as root), as the xxhsum and strace workloads do.
    if (tool.name === "Snakemake" && SNAKEMAKE_WORKLOADS.some((name) => selected.has(name))) {
      await ensureProgram("snakemake", "snakemake", { asRootOnly: true });
    }
    const reason = await tool.unavailable();
    if (reason) {
      absent.set(tool.name, tool.name === "Pivot" ? { pending: reason } : { skipped: reason });
    } else {
      tools.push(tool);
    }
  }
  for (const [name, why] of absent) progress(`${name}: ${missingText(why)}`);

  await Deno.mkdir(options.workDir, { recursive: true });
  // What an interrupted run set aside; deleted now, before any timing.
  await runTrash.empty();
  let baseline;
  if (values.baseline) {
    try {
      baseline = await baselineTool(values.baseline, options.workDir);
    } catch (error) {
      console.error(`--baseline: ${(error as Error).message}`);
      Deno.exit(2);
    }
  }
  const ctx: BenchContext = {
    options,
    tools,
    absent,
    pipelineRuns: new Map(),
    hashRuns: new Map(),
    figures: new Map(),
    baseline,
    targets16: [],
  };
  const started = performance.now();
  const floor = await repeat(["true"], { cwd: options.workDir }, {
    label: "timing floor",
    reps: 5,
    warmup: 1,
  });
  const sections = new Map<WorkloadName, Section>();
  for (const name of RUN_ORDER) {
    if (!selected.has(name)) continue;
    progress(`workload: ${name}`);
    sections.set(name, await RUNNERS[name](ctx));
  }
  const facts = await machineFacts();
  facts.push({
    key: "timing floor (`true` through GNU time)",
    value: measured(floor) ? spread(floor.wall, seconds) : "—",
  });

  const command = ["deno task bench", ...Deno.args].join(" ");
  const report = [
    "# Pivot benchmark results",
    "",
    `Written by \`${command}\` in ${seconds(performance.now() - started)}. Every figure is ` +
    "the median of the counted runs [min–max, n = runs] of a whole process timed from " +
    "outside (`performance.now()` around the process; peak memory from GNU time), after an " +
    "uncounted warm-up unless n = 1. Ratios compare medians measured in this same run. " +
    "How to run each workload alone: `bench/README.md`.",
    "",
    "## Machine",
    "",
    table(["Fact", "Value"], facts.map((f) => [f.key, f.value])),
    "",
    "## Targets (issue 6)",
    "",
    targetsTable(ctx, selected),
    ...(ctx.targets16.length === 0 ? [] : [
      "",
      "## Targets (issue 16)",
      "",
      table(["Figure", "Target", "Pivot", "Met", "Peers in this run"], ctx.targets16),
    ]),
    // Sections are numbered here, in report order: a workload's own number
    // in its title is dropped, so a partial run never shows gaps or repeats.
    ...WORKLOADS.filter((name) => sections.has(name)).flatMap((name, i) => {
      const section = sections.get(name)!;
      const title = section.title.replace(/^\d+\.\s*/, "");
      return ["", `## ${i + 1}. ${title}`, "", section.body];
    }),
    "",
  ].join("\n");
  await Deno.writeTextFile(out, report);
  progress(`wrote ${out}`);
  await runTrash.empty();
}

/** Issue 6's targets beside what this run measured. */
function targetsTable(ctx: BenchContext, selected: ReadonlySet<WorkloadName>): string {
  const run = (tool: ToolName, n: number, kind: PipelineCase) =>
    ctx.absent.get(tool) ?? ctx.pipelineRuns.get(pipelineKey(tool, n, kind));
  const median = (m: Measurement | undefined) => measured(m) ? m.wall.median : undefined;
  const shown = (m: Measurement | undefined) =>
    m === undefined ? "not run" : measured(m) ? seconds(m.wall.median) : missingText(m);
  const verdict = (value: number | undefined, ok: (v: number) => boolean, m?: Measurement) =>
    value !== undefined
      ? (ok(value) ? "yes" : "**no**")
      : m && !measured(m) && "pending" in m
      ? "pending"
      : "—";
  const rows: string[][] = [];
  for (const kind of ["full", "no-op"] as const) {
    const limit = kind === "full" ? 2000 : 300;
    const pivot = run("Pivot", HEADLINE_STAGES, kind);
    rows.push([
      `${kind} run, ${HEADLINE_STAGES} trivial stages`,
      `≤ ${seconds(limit)}`,
      shown(pivot),
      verdict(median(pivot), (v) => v <= limit, pivot),
      `make ${shown(run("make", HEADLINE_STAGES, kind))}, Snakemake ${
        shown(run("Snakemake", HEADLINE_STAGES, kind))
      }`,
    ]);
  }
  const hash = (what: string) => ctx.hashRuns.get(what);
  const xxhsum = median(hash("xxhsum"));
  const ours = median(hash("pivot"));
  const speed = ours !== undefined && xxhsum !== undefined ? xxhsum / ours : undefined;
  rows.push([
    "hashing 1 GiB",
    "≥ 0.65× `xxhsum -H64` speed",
    speed !== undefined ? `${times(speed)} (${shown(hash("pivot"))})` : shown(hash("pivot")),
    verdict(speed, (v) => v >= 0.65),
    `xxhsum ${shown(hash("xxhsum"))}, md5sum ${shown(hash("md5sum"))}, cat ${shown(hash("cat"))}`,
  ]);
  const cold = ctx.figures.get("fingerprint cold");
  const warm = ctx.figures.get("fingerprint warm");
  rows.push([
    "fingerprint 176 stages / 40 modules",
    "cold ≤ 1 s, warm ≤ 50 ms",
    cold !== undefined && warm !== undefined
      ? `cold ${cold.toFixed(0)} ms, warm ${warm.toFixed(0)} ms`
      : selected.has("fingerprint")
      ? "see §4"
      : "not run",
    cold !== undefined && warm !== undefined
      ? (cold <= 1000 && warm <= 50 ? "yes" : "**no**")
      : "—",
    "—",
  ]);
  const { sizes } = ctx.options;
  const perStage = (tool: ToolName, n: number) => {
    const m = median(run(tool, n, "full"));
    return m === undefined ? undefined : m / n;
  };
  const flat = (tool: ToolName) => {
    const [a, b] = [perStage(tool, sizes[0]), perStage(tool, sizes.at(-1)!)];
    return a !== undefined && b !== undefined ? b / a : undefined;
  };
  const pivotFlat = flat("Pivot");
  const makeFlat = flat("make");
  rows.push([
    `per-stage overhead ${sizes[0]} → ${sizes.at(-1)} stages`,
    "flat (within 1.5×)",
    pivotFlat !== undefined ? times(pivotFlat) : shown(ctx.absent.get("Pivot")),
    verdict(pivotFlat, (v) => v <= 1.5, ctx.absent.get("Pivot")),
    makeFlat !== undefined ? `make ${times(makeFlat)}` : "—",
  ]);
  const data = ctx.figures.get("watch data");
  const code = ctx.figures.get("watch code");
  const newCode = ctx.figures.get("watch new code");
  const watched = data !== undefined && code !== undefined && newCode !== undefined;
  rows.push([
    "watch: save → stage start (debounce subtracted; issue 4)",
    "< 100 ms",
    watched
      ? `data ${data} ms, code ${code} ms, new code ${newCode} ms`
      : selected.has("watch")
      ? "see §7"
      : "not run",
    watched ? (Math.max(data, code, newCode) < 100 ? "yes" : "**no**") : "—",
    "— (make and Snakemake have no watch mode)",
  ]);
  const serving = ctx.figures.get("ui serving");
  const render = ctx.figures.get("ui first render");
  const latency = ctx.figures.get("ui event latency");
  const measuredUi = serving !== undefined && render !== undefined && latency !== undefined;
  rows.push([
    "web UI: serving, first render, event → page (issue 13)",
    "< 1 s, < 1 s, < 100 ms",
    measuredUi
      ? `${serving} ms, ${render} ms, ${latency} ms`
      : selected.has("ui")
      ? "see §9"
      : "not run",
    measuredUi ? (serving < 1000 && render < 1000 && latency < 100 ? "yes" : "**no**") : "—",
    "— (no local peer: DVC Studio is a hosted service)",
  ]);
  return table(["Figure", "Target", "Pivot", "Met", "Peers in this run"], rows);
}

if (import.meta.main) await main();
