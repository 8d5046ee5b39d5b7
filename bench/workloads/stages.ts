/**
 * Workload `stages` (issue 16): pipelines of thousands of stages, the size a
 * matrix sweep reaches. The shape of workload 1 at 1,000, 2,000 and 10,000
 * stages (`--stage-sizes`; `--quick`: 200, 500 and 2,000), run by Pivot and
 * make: full run, no-op run, `status` and `list` (make's peer for both is
 * `make -q`), each tool's runs alternating so that they share the machine's
 * load; peak memory at the largest size; and how the cost per stage grows
 * from the smallest size to the largest. With `--baseline REF`, Pivot at REF
 * runs in the same alternation (and at 176 stages, for the no-op target).
 *
 * @module
 */

import { type BenchContext, type PipelineCase, pipelineKey } from "../_context.ts";
import {
  type Contender,
  measured,
  type Measurement,
  progress,
  repeatAlternating,
  type Run,
  type Stats,
} from "../_measure.ts";
import {
  cpuCell,
  cpuRatio,
  mebibytes,
  millis,
  ratio,
  rssCell,
  seconds,
  type Section,
  table,
  times,
  wallCell,
} from "../_report.ts";
import { make, pivot, removeAll, runTrash, type Tool, type ToolName } from "../_tools.ts";
import { expectedLastOutput } from "../gen_pipeline.ts";
import { HEADLINE_STAGES } from "./pipeline.ts";
import { NOOP_WARMUP } from "./_pipeline_runs.ts";

/** Sizes at and above which a full run is counted twice, without a warm-up. */
const BIG = 5000;

const CASES = ["full", "no-op", "status", "list"] as const satisfies readonly PipelineCase[];
type Case = typeof CASES[number];

const CASE_TEXT: Record<Case, string> = {
  "full": "full run (no outputs, no state; user-global analysis cache warm)",
  "no-op": "no-op run",
  "status": "`status` (make: `make -q`)",
  "list": "`list` (make: `make -q`)",
};

/** The command of `tool` for `kind` (undefined: the tool has no such command). */
function commandOf(tool: Tool, kind: Case): string[] {
  if (tool.name === "make") {
    return kind === "full" || kind === "no-op" ? tool.command() : ["make", "-q"];
  }
  const repro = tool.command(); // [...pivot, "repro", "--json"]
  const base = repro.slice(0, -2);
  return kind === "status"
    ? [...base, "status", "--json"]
    : kind === "list"
    ? [...base, "list", "--json"]
    : repro;
}

function slug(tool: Tool): string {
  return tool.name.toLowerCase().replaceAll(" ", "-");
}

/** Check of a run's output for `kind` on an `n`-stage project. */
function checker(tool: Tool, kind: Case, n: number, dir: string) {
  return async (run: Run): Promise<string | undefined> => {
    if (kind === "full" || kind === "no-op") {
      const path = `${dir}/out/s${n - 1}.txt`;
      const got = await Deno.readTextFile(path).catch(() => "(missing)");
      const want = expectedLastOutput(n);
      if (got !== want) return `wrong output in ${path}: got ${got.trim()}, want ${want.trim()}`;
      const ran = tool.ran(run);
      const expected = kind === "full" ? n : 0;
      if (ran !== undefined && ran !== expected) return `ran ${ran} stages, expected ${expected}`;
      return undefined;
    }
    if (tool.name === "make") return undefined; // `make -q` exits 0 only when up to date
    let parsed: { stages?: { status?: string }[] };
    try {
      parsed = JSON.parse(run.stdout);
    } catch {
      return `${kind} --json printed no JSON: ${run.stdout.slice(0, 100)}`;
    }
    const stages = parsed.stages ?? [];
    if (stages.length !== n) return `${kind} listed ${stages.length} stages, expected ${n}`;
    if (kind === "status" && stages.some((s) => s.status !== "up-to-date")) {
      return "status reports stages to run in an up-to-date project";
    }
    return undefined;
  };
}

/** Measure every case of every tool at every size, then report. */
export async function stagesWorkload(ctx: BenchContext): Promise<Section> {
  const title = "8. Large pipelines (issue 16)";
  const sizes = ctx.options.stageSizes;
  const tools = [
    ...ctx.tools.filter((t) => t.name === "Pivot"),
    ...(ctx.baseline ? [ctx.baseline] : []),
    ...ctx.tools.filter((t) => t.name === "make"),
  ];
  if (!tools.some((t) => t.name === "Pivot")) {
    return { title, body: `Not measured: ${JSON.stringify(ctx.absent.get("Pivot"))}.` };
  }
  const get = (tool: Tool, n: number, kind: Case) =>
    ctx.pipelineRuns.get(pipelineKey(tool.name, n, kind));

  for (const n of sizes) await measureSize(ctx, tools, n);
  if (ctx.baseline) await measureHeadlineNoop(ctx, [pivot, ctx.baseline]);

  const sections: string[] = [
    "The pipeline of workload 1 at larger sizes. Each cell is wall time, then CPU time " +
    "(user + system of the whole process tree, from GNU time): on a shared machine CPU time " +
    "is the figure to compare. The tools' runs alternate (Pivot, make, Pivot, …), so a change " +
    `in the machine's load reaches them alike. At ${BIG} stages and more a full run is counted ` +
    "twice at most, without a warm-up. As in workload 1, each full run starts with the " +
    "previous run's outputs and state renamed aside, not deleted. A no-op is timed after two uncounted ones: the first " +
    "after a run verifies what ran, the second writes the record of a verified no-op that " +
    "answers the next ones (the steady state timed). make's peer for `status` and `list` is `make -q` " +
    "(exit 0 when everything is up to date).",
  ];
  for (const n of sizes) {
    const names = tools.map((t) => t.description ?? t.name);
    const rows = CASES.map((kind) => {
      const cells = tools.flatMap((t) => {
        const m = get(t, n, kind);
        return [wallCell(m), cpuCell(m)];
      });
      const p = get(pivot, n, kind);
      const ratios = [cpuRatio(p, get(make, n, kind)), ratio(p, get(make, n, kind))];
      if (ctx.baseline) ratios.push(cpuRatio(p, get(ctx.baseline, n, kind)));
      return [CASE_TEXT[kind], ...cells, ...ratios];
    });
    const headers = [
      "Case",
      ...names.flatMap((name) => [`${name} wall`, `${name} CPU`]),
      "Pivot ÷ make (CPU)",
      "Pivot ÷ make (wall)",
      ...(ctx.baseline ? ["Pivot ÷ baseline (CPU)"] : []),
    ];
    sections.push("", `### ${n} stages`, "", table(headers, rows));
  }

  // Growth: cost per stage at the largest size ÷ at the smallest.
  const [small, large] = [sizes[0], sizes.at(-1)!];
  const perStage = (m: Measurement | undefined, n: number, of: "wall" | "cpu") => {
    if (!measured(m)) return undefined;
    const s: Stats | undefined = of === "wall" ? m.wall : m.cpu;
    return s ? s.median / n : undefined;
  };
  const growthRows = tools.flatMap((t) =>
    CASES.map((kind) => {
      const cells = (["cpu", "wall"] as const).map((of) => {
        const a = perStage(get(t, small, kind), small, of);
        const b = perStage(get(t, large, kind), large, of);
        return a !== undefined && b !== undefined && a > 0
          ? `${millis(a)} → ${millis(b)} (${times(b / a)})`
          : "—";
      });
      return [t.description ?? t.name, CASE_TEXT[kind], ...cells];
    })
  );
  sections.push(
    "",
    `### Cost per stage, ${small} → ${large} stages`,
    "",
    "Median ÷ stages at each size; the factor is the largest size's ÷ the smallest's " +
      "(target for Pivot: within 1.5×).",
    "",
    table(["Tool", "Case", "CPU per stage", "Wall per stage"], growthRows),
  );

  const memRows = tools.map((t) => [
    t.description ?? t.name,
    rssCell(get(t, large, "full")),
    rssCell(get(t, large, "no-op")),
  ]);
  sections.push(
    "",
    `### Peak memory at ${large} stages`,
    "",
    table(["Tool", "Full run", "No-op run"], memRows),
  );

  if (ctx.baseline) {
    const rows = [pivot, ctx.baseline].map((t) => {
      const m = get(t, HEADLINE_STAGES, "no-op");
      return [t.description ?? t.name, wallCell(m), cpuCell(m)];
    });
    sections.push(
      "",
      `### No-op at ${HEADLINE_STAGES} stages, beside the baseline`,
      "",
      table(["Pivot", "Wall", "CPU"], rows),
    );
  }

  addTargets(ctx, small, large);
  return { title, body: sections.join("\n") };
}

async function measureSize(ctx: BenchContext, tools: readonly Tool[], n: number): Promise<void> {
  const { reps } = ctx.options;
  const dirs = new Map<Tool, string>();
  for (const tool of tools) {
    const dir = `${ctx.options.workDir}/stages/${slug(tool)}-${n}`;
    progress(`stages: generating ${tool.name} ${n} stages`);
    await removeAll(dir);
    await Deno.mkdir(dir, { recursive: true });
    await tool.generate(dir, n);
    dirs.set(tool, dir);
  }
  const big = n >= BIG;
  for (const kind of CASES) {
    // A baseline's full run at the largest sizes costs minutes and answers no target.
    const runners = tools.filter((t) => !(kind === "full" && big && t.name === "Pivot baseline"));
    const contenders: Contender[] = runners.map((tool) => {
      const dir = dirs.get(tool)!;
      return {
        argv: commandOf(tool, kind),
        time: { cwd: dir },
        label: `stages: ${tool.name} ${n} stages, ${kind}`,
        before: kind === "full" ? () => tool.clean(dir) : undefined,
        check: checker(tool, kind, n, dir),
        note: (runs: Run[]) => {
          const ran = runs.map((r) => tool.ran(r)).find((r) => r !== undefined);
          return kind === "full" || kind === "no-op"
            ? (ran === undefined ? undefined : `ran ${ran}`)
            : undefined;
        },
      };
    });
    const results = await repeatAlternating(contenders, {
      reps: kind === "full" && big ? Math.min(reps, 2) : reps,
      warmup: kind === "full" && big ? 0 : kind === "no-op" ? NOOP_WARMUP : 1,
    });
    runners.forEach((tool, i) => ctx.pipelineRuns.set(pipelineKey(tool.name, n, kind), results[i]));
    if (kind === "full") {
      // The other cases need an up-to-date project: a failed full run fails them.
      for (const [i, tool] of runners.entries()) {
        if (!measured(results[i])) {
          for (const other of CASES.slice(1)) {
            ctx.pipelineRuns.set(pipelineKey(tool.name, n, other), {
              failed: "the full run failed",
            });
          }
        }
      }
    }
  }
  // Set aside, not deleted: the next size's full runs would create their
  // files among this size's just-freed inodes (see Trash in bench/_tools.ts).
  for (const dir of dirs.values()) await runTrash.takeWhole(dir);
}

/** The 176-stage no-op of this checkout and the baseline, alternating. */
async function measureHeadlineNoop(ctx: BenchContext, tools: readonly Tool[]): Promise<void> {
  const n = HEADLINE_STAGES;
  const contenders: Contender[] = [];
  const dirs: string[] = [];
  for (const tool of tools) {
    const dir = `${ctx.options.workDir}/stages/${slug(tool)}-${n}`;
    await removeAll(dir);
    await Deno.mkdir(dir, { recursive: true });
    await tool.generate(dir, n);
    await repeatAlternating([{
      argv: tool.command(),
      time: { cwd: dir },
      label: `stages: ${tool.name} ${n} stages, full (setup)`,
    }], { reps: 1 });
    dirs.push(dir);
    contenders.push({
      argv: commandOf(tool, "no-op"),
      time: { cwd: dir },
      label: `stages: ${tool.name} ${n} stages, no-op`,
      check: checker(tool, "no-op", n, dir),
    });
  }
  // This checkout started as its launcher's child would be: one process
  // instead of two (lib/cli/own_invocation.ts), in the same project.
  const single = tools[0] === pivot && !Deno.env.get("PIVOT_BENCH_CMD");
  if (single) {
    contenders.push({
      argv: [...ONE_PROCESS, "repro", "--json"],
      time: { cwd: dirs[0] },
      label: `stages: Pivot ${n} stages, no-op in one process`,
      check: checker(pivot, "no-op", n, dirs[0]),
    });
  }
  const results = await repeatAlternating(contenders, {
    reps: ctx.options.reps,
    warmup: NOOP_WARMUP,
  });
  tools.forEach((tool, i) => ctx.pipelineRuns.set(pipelineKey(tool.name, n, "no-op"), results[i]));
  if (single) ctx.pipelineRuns.set(ONE_PROCESS_KEY, results[tools.length]);
  for (const dir of dirs) await runTrash.takeWhole(dir);
}

/** `pivot` with the flags and config its launcher gives the child, so it runs in one process. */
const ONE_PROCESS = [
  Deno.execPath(),
  "run",
  "-A",
  "--unstable-kv",
  "--unstable-worker-options",
  "--unstable-lazy-dynamic-imports",
  "--config",
  "deno.json",
  new URL("../../cli.ts", import.meta.url).pathname,
];
const ONE_PROCESS_KEY = `Pivot one process/${HEADLINE_STAGES}/no-op`;

function addTargets(ctx: BenchContext, small: number, large: number): void {
  const get = (name: ToolName, n: number, kind: Case) =>
    ctx.pipelineRuns.get(pipelineKey(name, n, kind));
  const wall = (m: Measurement | undefined) => measured(m) ? m.wall.median : undefined;
  const cpu = (m: Measurement | undefined) => measured(m) ? m.cpu?.median : undefined;
  const shown = (m: Measurement | undefined) =>
    measured(m)
      ? `${seconds(m.wall.median)}${m.cpu ? ` (CPU ${seconds(m.cpu.median)})` : ""}`
      : wallCell(m);
  const met = (ok: boolean | undefined) => ok === undefined ? "—" : ok ? "yes" : "**no**";

  if (ctx.baseline) {
    const ours = get("Pivot", HEADLINE_STAGES, "no-op");
    const theirs = get("Pivot baseline", HEADLINE_STAGES, "no-op");
    const [a, b] = [wall(ours), wall(theirs)];
    const [ca, cb] = [cpu(ours), cpu(theirs)];
    ctx.targets16.push([
      `no-op, ${HEADLINE_STAGES} stages`,
      "≤ 0.07 s, or ≤ 0.5× the baseline in the same run",
      `${shown(ours)}; ÷ baseline: wall ${a && b ? times(a / b) : "—"}, CPU ${
        ca && cb ? times(ca / cb) : "—"
      }`,
      met(a === undefined ? undefined : a <= 70 || (b !== undefined && a <= 0.5 * b)),
      `${ctx.baseline.description}: ${shown(theirs)}`,
    ]);
  }
  const single = ctx.pipelineRuns.get(ONE_PROCESS_KEY);
  if (single) {
    const [a, b] = [wall(single), wall(get("Pivot", HEADLINE_STAGES, "no-op"))];
    const theirs = get("Pivot baseline", HEADLINE_STAGES, "no-op");
    const [ca, cb] = [cpu(single), cpu(theirs)];
    ctx.targets16.push([
      `no-op, ${HEADLINE_STAGES} stages, in one process`,
      "≤ 0.07 s, or ≤ 0.5× the baseline in the same run",
      `${shown(single)}; ÷ two processes: wall ${a && b ? times(a / b) : "—"}${
        ctx.baseline
          ? `; ÷ baseline: wall ${a && wall(theirs) ? times(a / wall(theirs)!) : "—"}, CPU ${
            ca && cb ? times(ca / cb) : "—"
          }`
          : ""
      }`,
      met(
        a === undefined
          ? undefined
          : a <= 70 || (wall(theirs) !== undefined && a <= 0.5 * wall(theirs)!),
      ),
      "`deno run -A --unstable-kv --unstable-worker-options --unstable-lazy-dynamic-imports --config deno.json cli.ts`",
    ]);
  }
  for (const kind of ["no-op", "status", "list"] as const) {
    const m = get("Pivot", large, kind);
    ctx.targets16.push([
      `${kind}, ${large} stages`,
      "≤ 0.6 s",
      shown(m),
      met(wall(m) === undefined ? undefined : wall(m)! <= 600),
      `make -q ${shown(get("make", large, kind === "no-op" ? "status" : kind))}`,
    ]);
  }
  const growth = CASES.map((kind) => {
    const a = cpu(get("Pivot", small, kind));
    const b = cpu(get("Pivot", large, kind));
    return [
      kind,
      a !== undefined && b !== undefined && a > 0 ? (b / large) / (a / small) : undefined,
    ] as const;
  });
  ctx.targets16.push([
    `cost per stage, ${small} → ${large} stages (CPU)`,
    "within 1.5×",
    growth.map(([kind, g]) => `${kind} ${g === undefined ? "—" : times(g)}`).join(", "),
    met(growth.some(([, g]) => g === undefined) ? undefined : growth.every(([, g]) => g! <= 1.5)),
    "—",
  ]);
  const sizes = [HEADLINE_STAGES, ...ctx.options.stageSizes.filter((n) => n >= 2000)];
  for (const n of sizes) {
    const ours = get("Pivot", n, "full");
    const theirs = get("make", n, "full");
    if (ours === undefined) continue;
    const [a, b] = [wall(ours), wall(theirs)];
    ctx.targets16.push([
      `full run, ${n} stages`,
      "≤ 1.0× make",
      `${shown(ours)}${a && b ? `; ${times(a / b)} make` : ""}`,
      met(a === undefined || b === undefined ? undefined : a <= b),
      `make ${shown(theirs)}`,
    ]);
  }
  const full = get("Pivot", large, "full");
  const rss = measured(full) ? full.rss?.median : undefined;
  ctx.targets16.push([
    `peak memory, full run, ${large} stages`,
    "≤ 300 MiB",
    rss === undefined ? wallCell(full) : mebibytes(rss),
    met(rss === undefined ? undefined : rss <= 300 * 1024),
    `make ${rssCell(get("make", large, "full"))}`,
  ]);
}
