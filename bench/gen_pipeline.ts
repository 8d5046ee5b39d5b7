/**
 * Generates the Pivot pipeline of the benchmark: the same N-stage shape as
 * `bench/gen_peers.py` writes for make and Snakemake. Stage `s{i}` reads the
 * outputs of stages i-1 and i-2 (or the raw inputs `data/in_0.txt` and
 * `data/in_1.txt`), adds the first integer of each, and writes the sum modulo
 * 1000003 to `out/s{i}.txt`: the Snakefile's arithmetic.
 *
 * The project imports `jsr:@pivot/core`, exactly what users write; its
 * `deno.json` maps that specifier to this repository's `mod.ts`. Every stage
 * calls `combine` from `lib/arith.ts`, the shared helper that the "helper
 * changed" workload edits with {@link writeHelper}.
 *
 * Usage: `deno run -A bench/gen_pipeline.ts DIR N [--modules M]`. With
 * `--modules M` the stage functions are spread over M modules
 * (`stages/m00.ts` …), imported by `pipeline.ts`: the fingerprint workload's
 * layout (176 stages over 40 modules).
 *
 * @module
 */

import { parseArgs } from "node:util";

/** The modulus of the Snakefile's arithmetic. */
export const MODULUS = 1000003;

/** Options of {@link generatePipeline}. */
export interface GenerateOptions {
  /** Number of stages (at least 1). */
  stages: number;
  /**
   * Number of modules holding the stage functions; 0 (the default) defines
   * every stage inline in `pipeline.ts`, as the Snakefile does.
   */
  modules?: number;
  /** The `mod.ts` that `jsr:@pivot/core` maps to (default: this repository's). */
  coreModule?: URL;
  /** Pipeline name (default `bench_<stages>`). */
  name?: string;
}

/** What {@link generatePipeline} wrote. */
export interface GeneratedPipeline {
  /** The project directory. */
  dir: string;
  /** Every file written, relative to `dir`. */
  files: string[];
}

/** Paths a stage reads: outputs of the two previous stages, or the raw inputs. */
export function stageInputs(i: number): [string, string] {
  const path = (j: number) => j >= 0 ? `out/s${j}.txt` : `data/in_${-j - 1}.txt`;
  return [path(i - 1), path(i - 2)];
}

/**
 * Write the project into `dir` (created if missing; files of an earlier
 * generation are overwritten, `.pivot/` is left alone). Needs read and write
 * permission for `dir`.
 *
 * @example
 * ```ts
 * await generatePipeline("/tmp/p176", { stages: 176 });
 * await generatePipeline("/tmp/fp", { stages: 176, modules: 40 });
 * ```
 */
export async function generatePipeline(
  dir: string,
  options: GenerateOptions,
): Promise<GeneratedPipeline> {
  const { stages } = options;
  const modules = options.modules ?? 0;
  if (!Number.isInteger(stages) || stages < 1) {
    throw new RangeError(`stages: expected an integer ≥ 1, got ${stages}`);
  }
  if (!Number.isInteger(modules) || modules < 0 || modules > stages) {
    throw new RangeError(`modules: expected an integer from 0 to ${stages}, got ${modules}`);
  }
  const core = options.coreModule ?? new URL("../mod.ts", import.meta.url);
  const files = new Map<string, string>();
  files.set("deno.json", JSON.stringify({ imports: { "jsr:@pivot/core": core.href } }, null, 2));
  files.set("data/in_0.txt", "0\n");
  files.set("data/in_1.txt", "1\n");
  files.set("lib/arith.ts", helperSource(0));
  const name = options.name ?? `bench_${stages}`;
  if (modules === 0) {
    files.set("pipeline.ts", inlinePipeline(name, stages));
  } else {
    const groups = spread(stages, modules);
    groups.forEach((ids, m) => files.set(moduleFile(m), stageModule(ids)));
    files.set("pipeline.ts", modularPipeline(name, groups));
  }
  for (const [path, text] of files) {
    const target = `${dir}/${path}`;
    await Deno.mkdir(target.slice(0, target.lastIndexOf("/")), { recursive: true });
    await Deno.writeTextFile(target, text.endsWith("\n") ? text : text + "\n");
  }
  return { dir, files: [...files.keys()] };
}

/**
 * Rewrite `lib/arith.ts` of a generated project at `revision`. Each revision
 * changes the body of `combine` (the code every stage reaches) without
 * changing any result, so a tool that tracks code must re-run every stage.
 */
export async function writeHelper(dir: string, revision: number): Promise<void> {
  await Deno.writeTextFile(`${dir}/lib/arith.ts`, helperSource(revision));
}

/**
 * The content of `out/s{n-1}.txt` after a run with raw inputs `in0`, `in1`:
 * what every tool must produce.
 */
export function expectedLastOutput(stages: number, in0 = 0, in1 = 1): string {
  const values: number[] = [];
  const value = (j: number) => j >= 0 ? values[j] : j === -1 ? in0 : in1;
  for (let i = 0; i < stages; i++) values.push((value(i - 1) + value(i - 2)) % MODULUS);
  return `${values[stages - 1]}\n`;
}

function helperSource(revision: number): string {
  // `revision * 0` is a real change of the function body (not a comment, which
  // Pivot ignores) that leaves every output as it was.
  const start = revision === 0 ? "0" : `${revision} * 0`;
  return `/** Arithmetic shared by every stage of the benchmark pipeline. */

const MODULUS = ${MODULUS};

/** The first integer of a text, as Python's \`int(text.split()[0])\`. */
export function firstInt(text: string): number {
  const value = Number.parseInt(text.trim().split(/\\s+/)[0], 10);
  if (Number.isNaN(value)) throw new Error(\`expected an integer, got \${JSON.stringify(text)}\`);
  return value;
}

/** Sum of the first integer of each text, modulo ${MODULUS}, as a line. */
export function combine(...texts: string[]): string {
  let total = ${start};
  for (const text of texts) total += firstInt(text);
  return \`\${total % MODULUS}\\n\`;
}
`;
}

function header(): string {
  return `// Generated by bench/gen_pipeline.ts: the shape of bench/gen_peers.py.
import { dep, loaders, out, Pipeline } from "jsr:@pivot/core";
`;
}

function stageCall(i: number, run: string): string {
  const [a, b] = stageInputs(i);
  return `pipeline.stage({
  name: "s${i}",
  deps: { a: dep("${a}", loaders.text()), b: dep("${b}", loaders.text()) },
  outs: { o: out("out/s${i}.txt", loaders.text()) },
  run: ${run},
});
`;
}

function inlinePipeline(name: string, stages: number): string {
  const parts = [
    header(),
    `import { combine } from "./lib/arith.ts";\n`,
    `export const pipeline = new Pipeline("${name}");\n`,
  ];
  for (let i = 0; i < stages; i++) parts.push(stageCall(i, "({ a, b }) => ({ o: combine(a, b) })"));
  return parts.join("\n");
}

function modularPipeline(name: string, groups: number[][]): string {
  const imports = groups.map((ids, m) =>
    `import { ${ids.map((i) => `s${i}`).join(", ")} } from "./${moduleFile(m)}";`
  );
  const parts = [
    header(),
    imports.join("\n") + "\n",
    `export const pipeline = new Pipeline("${name}");\n`,
  ];
  for (const i of groups.flat().sort((x, y) => x - y)) parts.push(stageCall(i, `s${i}`));
  return parts.join("\n");
}

function stageModule(ids: number[]): string {
  const stages = ids.map((i) =>
    `/** Stage s${i}. */
export function s${i}({ a, b }: Inputs): { o: string } {
  return { o: combine(...pair(a, b)) };
}
`
  );
  return `// Generated by bench/gen_pipeline.ts.
import { combine } from "../lib/arith.ts";

type Inputs = { a: string; b: string };

function pair(a: string, b: string): [string, string] {
  return [a, b];
}

${stages.join("\n")}`;
}

function moduleFile(m: number): string {
  return `stages/m${String(m).padStart(2, "0")}.ts`;
}

/** Stage ids 0..n-1 in `modules` contiguous groups whose sizes differ by at most one. */
function spread(stages: number, modules: number): number[][] {
  const groups: number[][] = [];
  let next = 0;
  for (let m = 0; m < modules; m++) {
    const size = Math.floor(stages / modules) + (m < stages % modules ? 1 : 0);
    groups.push(Array.from({ length: size }, (_, k) => next + k));
    next += size;
  }
  return groups;
}

if (import.meta.main) {
  const { values, positionals } = parseArgs({
    args: Deno.args,
    options: { modules: { type: "string", default: "0" } },
    allowPositionals: true,
  });
  if (positionals.length !== 2) {
    console.error("usage: gen_pipeline.ts DIR N [--modules M]");
    Deno.exit(2);
  }
  const [dir, n] = positionals;
  const written = await generatePipeline(dir, {
    stages: Number(n),
    modules: Number(values.modules),
  });
  console.log(`wrote ${written.files.length} files in ${dir}`);
}
