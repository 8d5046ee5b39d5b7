/**
 * Change detection measured by mutation testing, on real TypeScript nobody on
 * the team wrote: effect's sources (npm `effect`, which ships them), called by
 * the 45 stages of tests/fixtures/mutation in the shapes applications use
 * (named, namespace, barrel, default and dynamic imports, callbacks, classes,
 * registries, closures, `bind`).
 *
 * - Ground truth: the functions each stage's run executes, from V8 coverage of
 *   a process that loads the pipeline and runs that stage, minus one that only
 *   loads it (tests/e2e/_run_stage.ts, tests/e2e/_coverage.ts).
 * - One body edit per executed function, then `pivot status --json`: every
 *   stage that executes the function must be flagged (recall); the stages
 *   flagged that do not execute it are false re-runs (precision).
 * - One comment edit in every function of every module involved: nothing may
 *   be flagged.
 *
 * Status does not run stages, and each edit is reverted before the next, so
 * each status call finds every module but one in the fingerprint caches.
 *
 * @module
 */

import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { assert, assertEquals } from "../_assert.ts";
import { output, test } from "../_harness.ts";
import { REPO, tempDir, TempProject } from "../_project.ts";
import { readCounts, type SourceFunction, SourceMapper } from "./_coverage.ts";

const EFFECT = "npm:effect@4.1.0";
const FIXTURE = fileURLToPath(new URL("../fixtures/mutation/", import.meta.url));
const RUN_STAGE = fileURLToPath(new URL("./_run_stage.ts", import.meta.url));
/** Targets (issue 17). */
const MIN_RECALL = 1;
const MIN_PRECISION = 0.8;

// About 250 `pivot status` calls: 2–3 minutes on an idle 2-core machine, 10 on a busy one.
const TIME_LIMIT = 20 * 60_000;

test("mutation testing: every stage that executes an edited function re-runs", {
  timeLimit: TIME_LIMIT,
}, async () => {
  const started = performance.now();
  const { effectDir, denoDir } = await effectSources();
  // Two copies of the project, so that two edits are checked at a time.
  const projects = await Promise.all([0, 1].map(() => TempProject.create({}, { init: false })));
  try {
    await Promise.all(projects.map(async (project) => {
      await copyTree(FIXTURE, project.root);
      await copyTree(join(effectDir, "src"), project.path("vendor/effect"));
      assertEquals((await project.pivot("init")).code, 0);
      const repro = await project.pivot("repro");
      assert(repro.code === 0, `repro failed: ${repro.stderr}`);
    }));
    const [project] = projects;
    const stages = (await project.status()).stages.map((s) => s.name);
    assert(stages.length >= 40, `expected the fixture's stages, got ${stages.length}`);

    const mapper = new SourceMapper(denoDir);
    const executed = await executedFunctions(project.root, stages, mapper);
    const setup = (performance.now() - started) / 1000;

    // One body edit per executed function.
    let truePositives = 0;
    let falsePositives = 0;
    let pairs = 0;
    const misses: string[] = [];
    const falseReruns: [string, string[]][] = [];
    const byKind = { library: [0, 0], stages: [0, 0] }; // [pairs, found]
    const queue = [...executed.values()];
    await Promise.all(projects.map(async (copy) => {
      for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
        const { fn, stages: runners } = next;
        const flagged = await flaggedAfter(copy, [fn], bodyEdit);
        const missed = [...runners].filter((s) => !flagged.has(s));
        const extra = [...flagged].filter((s) => !runners.has(s));
        const kind = fn.file.startsWith("vendor/") ? "library" : "stages";
        byKind[kind][0] += runners.size;
        byKind[kind][1] += runners.size - missed.length;
        pairs += runners.size;
        truePositives += runners.size - missed.length;
        falsePositives += extra.length;
        if (extra.length > 0) falseReruns.push([where(fn), extra]);
        if (missed.length > 0) misses.push(`${where(fn)}: ${missed.join(", ")}`);
      }
    }));

    // One comment edit in every function of every module whose code a stage executes,
    // all at once; module by module only to tell which one when something re-runs.
    const files = [...new Set([...executed.values()].map(({ fn }) => fn.file))].sort();
    const everyFunction = (await Promise.all(files.map((f) => mapper.functionsOf(project, f))))
      .flat();
    const commentReruns: string[] = [];
    if ((await flaggedAfter(project, everyFunction, commentEdit)).size > 0) {
      for (const file of files) {
        const flagged = await flaggedAfter(
          project,
          await mapper.functionsOf(project, file),
          commentEdit,
        );
        if (flagged.size > 0) commentReruns.push(`${file}: ${[...flagged].join(", ")}`);
      }
    }

    const recall = truePositives / pairs;
    const precision = truePositives / (truePositives + falsePositives);
    const seconds = (performance.now() - started) / 1000;
    console.log(
      [
        `mutation test on ${EFFECT} sources, ${stages.length} stages:`,
        `  ${executed.size} executed functions edited (body), ${pairs} (function, stage) pairs`,
        `  recall ${pct(recall)} (${truePositives}/${pairs}; library ${byKind.library[1]}/${
          byKind.library[0]
        }, stage code ${byKind.stages[1]}/${byKind.stages[0]})`,
        `  precision ${pct(precision)} (${falsePositives} false re-runs)`,
        `  comment edits in ${everyFunction.length} functions of ${files.length} modules: ${commentReruns.length} re-runs`,
        `  ${seconds.toFixed(0)} s (set-up and coverage ${setup.toFixed(0)} s)`,
        `  most false re-runs (a stage that reaches the edited declaration without executing the function):`,
        ...falseReruns.sort((a, b) => b[1].length - a[1].length).slice(0, 8).map(([fn, extra]) =>
          `    ${fn}: ${extra.length} (${extra.slice(0, 4).join(", ")}${
            extra.length > 4 ? ", …" : ""
          })`
        ),
      ].join("\n"),
    );
    assert(recall >= MIN_RECALL, `missed re-runs:\n${misses.join("\n")}`);
    assert(precision >= MIN_PRECISION, `precision ${pct(precision)} < ${pct(MIN_PRECISION)}`);
    assertEquals(commentReruns, [], "comment edits re-ran stages");
  } finally {
    await Promise.all(projects.map((project) => project.dispose()));
  }
});

/** Where effect's sources are (fetched into Deno's cache if needed), and Deno's cache directory. */
async function effectSources(): Promise<{ effectDir: string; denoDir: string }> {
  const info = async (...args: string[]) => {
    const result = await output(Deno.execPath(), { args: ["info", "--json", ...args], cwd: REPO });
    if (!result.success) throw new Error(new TextDecoder().decode(result.stderr));
    return JSON.parse(new TextDecoder().decode(result.stdout));
  };
  const packages = (await info(EFFECT)).npmPackages as Record<string, { localPath: string }>;
  const effect = Object.entries(packages).find(([id]) => id.startsWith("effect@"));
  if (!effect) throw new Error(`deno info ${EFFECT}: no package`);
  return { effectDir: effect[1].localPath, denoDir: (await info()).denoDir };
}

/** Copy a directory tree (files made writable: Deno's cache may be read-only). */
async function copyTree(from: string, to: string): Promise<void> {
  await Deno.mkdir(to, { recursive: true });
  for await (const entry of Deno.readDir(from)) {
    const source = join(from, entry.name);
    const target = join(to, entry.name);
    if (entry.isDirectory) {
      await copyTree(source, target);
    } else if (entry.isFile) {
      await Deno.writeFile(target, await Deno.readFile(source), { mode: 0o644 });
    }
  }
}

/**
 * The project's functions each stage's run executes: V8 call counts of a
 * process that runs the stage, above those of a process that only loads the
 * pipeline. Two processes at a time.
 */
async function executedFunctions(
  root: string,
  stages: string[],
  mapper: SourceMapper,
): Promise<Map<string, { fn: SourceFunction; stages: Set<string> }>> {
  await using coverageRoot = await tempDir();
  const countsOf = async (stage: string) => {
    const dir = coverageRoot.path(stage);
    const result = await output(Deno.execPath(), {
      args: [
        "run",
        "-A",
        `--coverage=${dir}`,
        "--config",
        join(root, "deno.json"),
        RUN_STAGE,
        "pipeline.ts",
        stage,
      ],
      cwd: root,
      env: { NO_COLOR: "1" },
    });
    if (!result.success) throw new Error(`${stage}: ${new TextDecoder().decode(result.stderr)}`);
    return await readCounts(dir, `file://${root}/`);
  };
  const base = await countsOf("--load-only");
  const executed = new Map<string, { fn: SourceFunction; stages: Set<string> }>();
  const queue = [...stages];
  const worker = async () => {
    for (let stage = queue.shift(); stage !== undefined; stage = queue.shift()) {
      for (const [key, count] of await countsOf(stage)) {
        if (count <= (base.get(key) ?? 0)) continue;
        const fn = await mapper.functionOf(root, key);
        if (!fn) continue; // a module's top level, or a class's implicit constructor
        const id = `${fn.file}:${fn.start}`;
        const entry = executed.get(id) ?? { fn, stages: new Set<string>() };
        entry.stages.add(stage);
        executed.set(id, entry);
      }
    }
  };
  await Promise.all([worker(), worker()]);
  return new Map([...executed].sort(([a], [b]) => a.localeCompare(b, "en", { numeric: true })));
}

type Edit = (fn: SourceFunction) => { at: number; text: string }[];

/** `void 0;` first in a block body; an expression body becomes `(void 0, body)`. */
const bodyEdit: Edit = (fn) =>
  fn.bodyIsBlock
    ? [{ at: fn.bodyStart + 1, text: " void 0;" }]
    : [{ at: fn.bodyStart, text: "(void 0, " }, { at: fn.bodyEnd, text: ")" }];

/** A comment at the start of the body. */
const commentEdit: Edit = (fn) => [
  { at: fn.bodyIsBlock ? fn.bodyStart + 1 : fn.bodyStart, text: " /* edited: a comment */ " },
];

/**
 * Apply `edit` to each of `functions` (all in one file), run `pivot status
 * --json`, restore the file, and return the stages status says will run.
 */
async function flaggedAfter(
  project: TempProject,
  functions: readonly SourceFunction[],
  edit: Edit,
): Promise<Set<string>> {
  const originals = new Map<string, string>();
  for (const file of new Set(functions.map((fn) => fn.file))) {
    const original = await project.read(file);
    const inserts = functions.filter((fn) => fn.file === file).flatMap(edit)
      .sort((a, b) => b.at - a.at);
    let text = original;
    for (const { at, text: insert } of inserts) text = text.slice(0, at) + insert + text.slice(at);
    originals.set(file, original);
    await Deno.writeTextFile(project.path(file), text);
  }
  try {
    const status = await project.status();
    return new Set(status.stages.filter((s) => s.status !== "up-to-date").map((s) => s.name));
  } finally {
    for (const [file, original] of originals) {
      await Deno.writeTextFile(project.path(file), original);
    }
  }
}

function where(fn: SourceFunction): string {
  return `${fn.file}:${fn.line} ${fn.name}`;
}

function pct(x: number): string {
  return `${(100 * x).toFixed(1)}%`;
}
