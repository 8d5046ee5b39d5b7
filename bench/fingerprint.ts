/**
 * Benchmark of the code fingerprint (lib/fingerprint) on a generated project
 * of 176 stages over 40 modules: a pipeline file registering every stage
 * (each reads the outs of the two before it, as in shared/bench/gen_peers.py),
 * 19 modules of run functions, 20 helper modules calling each other in a
 * chain, with classes, enums and constants. Measures, each in a fresh `deno`
 * process so that nothing is pre-loaded:
 *
 * - cold: empty state store (`deno info`, TypeScript import, parse, resolve);
 * - warm: nothing changed (stamp checks and one cached result, no TypeScript),
 *   right after the cold run, and again ("warm 2");
 * - edit: one helper body changed (one module re-parsed, graph reused);
 * - import: one import added (graph re-resolved with `deno info`).
 *
 * With `--stages N`, the project is instead `bench/gen_pipeline.ts`'s N
 * stages defined inline in one pipeline file (2.3 MB at 10,000 stages), and
 * the edit case rewrites its shared helper; there is no import case.
 *
 * Each case reports the call's wall and CPU time (user + system of the
 * process during the call) and the child's peak resident memory (VmHWM).
 *
 * Usage: `deno run -A bench/fingerprint.ts [--runs N] [--stages N] [--json]`
 * (`KEEP=1` keeps the generated project and shows the children's stderr).
 *
 * @module
 */

import { generatePipeline, writeHelper } from "./gen_pipeline.ts";

const STAGES = 176;
const GROUPS = 19;
const HELPERS = 20;
const WORKTREE = new URL("../", import.meta.url).pathname.replace(/\/$/, "");
const SELF = new URL(import.meta.url).pathname;

// --- the generated project -------------------------------------------------------

function helperModule(k: number): string {
  const next = k + 1 < HELPERS ? k + 1 : undefined;
  return `${next === undefined ? "" : `import { chain${next} } from "./helpers_${next}.ts";\n`}
/** Scaling used by every stage of group ${k}. */
export const SCALE_${k} = { factor: ${k + 1}, offsets: [1, 2, 3], label: "group ${k}" };

export const WEIGHTS_${k}: readonly number[] = [${k}, ${k + 1}, ${k + 2}, ${k + 3}];

export enum Mode${k} {
  Fast = 1,
  Slow = 2,
}

export class Base${k} {
  protected scale(): number {
    return SCALE_${k}.factor;
  }
}

/** A small model. */
export class Model${k} extends Base${k} {
  bias = ${k};

  constructor(private readonly weight: number) {
    super();
  }

  predict(x: number): number {
    return this.weight * x * this.scale() + this.bias;
  }
}

export function chain${k}(x: number): number {
  // Helpers call the next module's helper: depth up to ${HELPERS}.
  const y = x + SCALE_${k}.offsets.reduce((a, b) => a + b, 0);
  return ${next === undefined ? "y * 2" : `chain${next}(y) % 1000003`};
}

export function mean${k}(xs: readonly number[]): number {
  if (xs.length === 0) return 0;
  let total = 0;
  for (const x of xs) total += x * WEIGHTS_${k}[x % WEIGHTS_${k}.length];
  return total / xs.length;
}

export function mode${k}(fast: boolean): Mode${k} {
  return fast ? Mode${k}.Fast : Mode${k}.Slow;
}

export function unused${k}(s: string): string {
  return s.split("").reverse().join("");
}
`;
}

function stageName(i: number): string {
  return `s${i}`;
}

function groupOf(i: number): number {
  return i % GROUPS;
}

function groupModule(g: number): string {
  const h = g % HELPERS;
  const other = (g + 7) % HELPERS;
  let text = `import { chain${h}, mean${h}, Model${h}, mode${h} } from "../lib/helpers_${h}.ts";
import * as other from "../lib/helpers_${other}.ts";

type Inputs = { a: string; b: string };
`;
  for (let i = g; i < STAGES; i += GROUPS) {
    text += `
/** Stage ${stageName(i)}. */
export function run${i}({ a, b }: Inputs): { out: string } {
  const xs = [a, b].map((s) => Number(s.trim()) || 0);
  const model = new Model${h}(${i});
  const value = chain${h}(model.predict(mean${h}(xs))) + other.mean${other}(xs);
  return { out: String(Math.round(value + mode${h}(${i} % 2 === 0)) % 1000003) + "\\n" };
}
`;
  }
  return text;
}

function pipelineModule(): string {
  let text = `import { dep, loaders, out, Pipeline } from "jsr:@pivot/core";\n`;
  for (let g = 0; g < GROUPS; g++) text += `import * as g${g} from "./stages/group_${g}.ts";\n`;
  text += `\nexport const pipeline = new Pipeline("bench");\n`;
  for (let i = 0; i < STAGES; i++) {
    const input = (j: number) => (j >= 0 ? `out/${stageName(j)}.txt` : `data/in_${-j - 1}.txt`);
    text += `
pipeline.stage({
  name: "${stageName(i)}",
  deps: { a: dep("${input(i - 1)}", loaders.text()), b: dep("${input(i - 2)}", loaders.text()) },
  outs: { out: out("out/${stageName(i)}.txt", loaders.text()) },
  run: g${groupOf(i)}.run${i},
});
`;
  }
  return text;
}

async function generate(root: string): Promise<void> {
  const write = async (path: string, text: string) => {
    const abs = `${root}/${path}`;
    await Deno.mkdir(abs.slice(0, abs.lastIndexOf("/")), { recursive: true });
    await Deno.writeTextFile(abs, text);
  };
  await write(
    "deno.json",
    JSON.stringify({ imports: { "jsr:@pivot/core": `file://${WORKTREE}/mod.ts` } }, null, 2),
  );
  await write("pipeline.ts", pipelineModule());
  for (let g = 0; g < GROUPS; g++) await write(`stages/group_${g}.ts`, groupModule(g));
  for (let k = 0; k < HELPERS; k++) await write(`lib/helpers_${k}.ts`, helperModule(k));
  await write("data/in_0.txt", "0\n");
  await write("data/in_1.txt", "1\n");
}

// --- child modes -------------------------------------------------------------------

/** Child (run with the project's config): print the pipeline's stages as `StageDef`s. */
async function dumpStages(root: string): Promise<void> {
  const { loaderSpecOf } = await import("../lib/model/loader_spec.ts");
  const { pipeline } = await import(`file://${root}/pipeline.ts`);
  const file = `${root}/pipeline.ts`;
  // deno-lint-ignore no-explicit-any
  const artifact = ([name, a]: [string, any]) => ({
    name,
    path: a.path,
    abs: `${root}/${a.path}`,
    isDir: false,
    loader: loaderSpecOf(a.loader),
  });
  // deno-lint-ignore no-explicit-any
  const stages = pipeline.stages.map((s: any) => ({
    name: s.name,
    baseName: s.baseName,
    variant: undefined,
    pipeline: { name: "bench", file, dir: root },
    deps: Object.entries(s.deps).map(artifact),
    outs: Object.entries(s.outs).map((e) => ({
      ...artifact(e as [string, unknown]),
      kind: "out",
      cache: true,
      selfWritten: false,
    })),
    params: {},
    mutex: [],
    permissions: { read: [], net: false, env: false, run: false, ffi: false, sys: false },
    lockFile: `${root}/.pivot/stages/${s.name}.lock`,
    code: {
      kind: "registered",
      moduleUrl: `file://${file}`,
      site: s.site,
      definitionSite: undefined,
      functionName: s.run.name,
    },
  }));
  console.log(JSON.stringify(stages));
}

/** Child: time one `fingerprintStages` call on the project; print JSON. */
async function measure(root: string, stagesFile: string): Promise<void> {
  const { fingerprintStages } = await import("../lib/fingerprint/fingerprint.ts");
  const { StateStore } = await import("../lib/storage/state.ts");
  const stages = JSON.parse(await Deno.readTextFile(stagesFile));
  const state = await StateStore.open(`${root}/.pivot/state`);
  const stats = { analysed: 0, graphRuns: 0, cachedStages: 0 };
  const { cpuUsage } = await import("node:process");
  const cpu = cpuUsage();
  const start = performance.now();
  const result = await fingerprintStages(stages, {
    projectRoot: root,
    denoConfig: `${root}/deno.json`,
    pivotRoot: WORKTREE,
    state,
    stats,
  });
  const ms = performance.now() - start;
  const used = cpuUsage(cpu);
  const cpuMs = (used.user + used.system) / 1000;
  await state.close();
  const keys = [...result.values()].reduce((n, f) => n + Object.keys(f.manifest).length, 0);
  console.log(JSON.stringify({ ms, cpuMs, peakMiB: peakMiB(), stats, keys }));
}

/** This process's peak resident memory in MiB (Linux), or null. */
function peakMiB(): number | null {
  try {
    const status = Deno.readTextFileSync("/proc/self/status");
    const kib = /VmHWM:\s+(\d+) kB/.exec(status)?.[1];
    return kib === undefined ? null : Math.round(Number(kib) / 1024);
  } catch {
    return null;
  }
}

// --- parent -----------------------------------------------------------------------

interface Sample {
  /** Time of the `fingerprintStages` call. */
  ms: number;
  /** CPU time (user + system) of the child during the call. */
  cpuMs: number;
  /** Peak resident memory of the child, MiB (null off Linux). */
  peakMiB: number | null;
  /** Wall time of the whole child process (start-up, KV open, call, close). */
  processMs: number;
  stats: { analysed: number; graphRuns: number; cachedStages: number };
  keys: number;
}

async function child(args: string[], config?: string): Promise<string> {
  const flags = ["run", "-A", "--unstable-kv", ...(config ? ["--config", config] : [])];
  const output = await new Deno.Command(Deno.execPath(), {
    args: [...flags, SELF, ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!output.success) throw new Error(new TextDecoder().decode(output.stderr));
  if (Deno.env.get("KEEP")) console.error(new TextDecoder().decode(output.stderr));
  return new TextDecoder().decode(output.stdout);
}

async function sample(root: string, stagesFile: string): Promise<Sample> {
  const start = performance.now();
  const out = await child(["--measure", root, stagesFile]);
  return { ...JSON.parse(out), processMs: performance.now() - start };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main(): Promise<void> {
  const runsAt = Deno.args.indexOf("--runs");
  const runs = runsAt >= 0 ? Number(Deno.args[runsAt + 1]) : 5;
  const stagesAt = Deno.args.indexOf("--stages");
  const inline = stagesAt >= 0 ? Number(Deno.args[stagesAt + 1]) : undefined;
  const root = await Deno.realPath(await Deno.makeTempDir({ prefix: "pivot_fp_bench_" }));
  try {
    if (inline === undefined) await generate(root);
    else await generatePipeline(root, { stages: inline });
    const stagesFile = `${root}/stages.json`;
    await Deno.writeTextFile(stagesFile, await child(["--dump", root], `${root}/deno.json`));
    // Let file times age past the racy-stamp window, as in a real project.
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const results: Record<string, Sample[]> = {
      cold: [],
      warm: [],
      "warm 2": [],
      edit: [],
      ...(inline === undefined ? { import: [] } : {}),
    };
    for (let run = 0; run < runs; run++) {
      await Deno.remove(`${root}/.pivot`, { recursive: true }).catch(() => {});
      results.cold.push(await sample(root, stagesFile));
      results.warm.push(await sample(root, stagesFile));
      results["warm 2"].push(await sample(root, stagesFile));
      if (inline !== undefined) {
        await writeHelper(root, run + 1);
        results.edit.push(await sample(root, stagesFile));
        await writeHelper(root, 0);
        continue;
      }
      const helper = `${root}/lib/helpers_3.ts`;
      const original = await Deno.readTextFile(helper);
      await Deno.writeTextFile(
        helper,
        original.replace("y * 2", "y * 3").replace("% 1000003", "% 1000033"),
      );
      results.edit.push(await sample(root, stagesFile));
      await Deno.writeTextFile(helper, `import "./helpers_0.ts";\n` + original);
      results.import.push(await sample(root, stagesFile));
      await Deno.writeTextFile(helper, original);
    }
    const summary = Object.fromEntries(
      Object.entries(results).map(([name, samples]) => [name, {
        ms: Number(median(samples.map((s) => s.ms)).toFixed(1)),
        cpuMs: Number(median(samples.map((s) => s.cpuMs)).toFixed(1)),
        peakMiB: median(samples.map((s) => s.peakMiB ?? 0)),
        processMs: Number(median(samples.map((s) => s.processMs)).toFixed(1)),
        stats: samples[0].stats,
        keys: samples[0].keys,
      }]),
    );
    const stages = inline ?? STAGES;
    const modules = inline === undefined ? 1 + GROUPS + HELPERS : 2;
    if (Deno.args.includes("--json")) {
      console.log(JSON.stringify({ stages, modules, runs, summary }));
      return;
    }
    console.log(
      `fingerprint: ${stages} stages, ${modules} modules, ` +
        `median of ${runs} runs, each in a fresh deno process`,
    );
    console.log(
      "case     call ms  call CPU ms  peak MiB  process ms  analysed  deno info  cached stages  manifest keys",
    );
    for (const [name, s] of Object.entries(summary)) {
      console.log(
        `${name.padEnd(8)} ${String(s.ms).padStart(7)}  ${String(s.cpuMs).padStart(11)}  ` +
          `${String(s.peakMiB).padStart(8)}  ${String(s.processMs).padStart(10)}  ` +
          `${String(s.stats.analysed).padStart(8)}  ${String(s.stats.graphRuns).padStart(9)}  ` +
          `${String(s.stats.cachedStages).padStart(13)}  ${String(s.keys).padStart(13)}`,
      );
    }
  } finally {
    if (Deno.env.get("KEEP")) console.log(root);
    else await Deno.remove(root, { recursive: true });
  }
}

if (Deno.args[0] === "--dump") await dumpStages(Deno.args[1]);
else if (Deno.args[0] === "--measure") await measure(Deno.args[1], Deno.args[2]);
else await main();
