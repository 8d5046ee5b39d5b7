/**
 * The launcher's attempt (lib/launcher_attempt.ts, lib/cli/main_in_launcher.ts):
 * a no-op `repro`, `status` or `list` answered from the load cache (and a
 * `checkout`, which needs the stages' outs, not their code) runs in the
 * launcher's own process, with exactly the output, exit code and recorded
 * history of the child (forced with `PIVOT_IN_LAUNCHER=off`); anything that
 * needs the user's code falls back to the child, which then prints
 * everything once, as it does alone.
 *
 * Before it attempts `repro` or `status`, the launcher stats what a no-op
 * compares (the no-op gate, lib/noop_stamps.ts) and hands a touched or
 * edited dep to the child at once; `PIVOT_NOOP_GATE=off` shows that the
 * attempt alone still falls back correctly.
 *
 * Files written moments ago are "racy" (neither the verified index nor the
 * load cache records them), so the projects are dated a minute back.
 */

import { age, runPivot, TempProject } from "../_project.ts";
import { assert, assertEquals } from "../_assert.ts";
import { test } from "../_harness.ts";
import { timeless } from "./_timeless.ts";

const PIPELINE = `import { dep, loaders, out, Pipeline } from "jsr:@pivot/core";
import { shout } from "./lib/shout.ts";

export const pipeline = new Pipeline("attempt");

pipeline.stage({
  name: "a",
  deps: { src: dep("data/in.txt", loaders.text()) },
  outs: { o: out("build/a.txt", loaders.text()) },
  run: ({ src }) => ({ o: shout(src) }),
});

pipeline.stage({
  name: "b",
  deps: { a: dep("build/a.txt", loaders.text()) },
  outs: { o: out("build/b.txt", loaders.text()) },
  run: ({ a }) => ({ o: a + a }),
});
`;

const FILES = {
  "pipeline.ts": PIPELINE,
  "lib/shout.ts": `export function shout(text: string): string {
  return text.trim().toUpperCase();
}
`,
  "data/in.txt": "hi\n",
};

/**
 * How a command ran: in the launcher's process, in the child after an
 * attempt, in the child because the no-op gate found a path changed (no
 * attempt), or only in the child.
 */
type Way = "launcher" | "fell back" | "gated" | "child";

/** How {@link pivot} runs a command: as a user would, without the no-op gate, or the child alone. */
type Mode = "launcher" | "no gate" | "child";

interface Run {
  readonly code: number;
  readonly stdout: string;
  /** Stderr without the trace. */
  readonly stderr: string;
  readonly way: Way;
  /** Why the attempt fell back or the gate handed over (the trace's words), if it did. */
  readonly why: string | undefined;
}

/** `pivot ARGS` with the trace on; `child`: with the attempt turned off. */
async function pivot(
  project: TempProject,
  args: string[],
  mode: Mode | boolean = "launcher",
): Promise<Run> {
  if (typeof mode === "boolean") mode = mode ? "child" : "launcher";
  const result = await runPivot(project.root, args, {
    PIVOT_TRACE: "1",
    ...(mode === "child" ? { PIVOT_IN_LAUNCHER: "off" } : {}),
    ...(mode === "no gate" ? { PIVOT_NOOP_GATE: "off" } : {}),
  });
  const lines = result.stderr.split("\n");
  const trace = lines.filter((line) => line.startsWith("[trace]"));
  const attempted = trace.some((line) => line.includes("in the launcher's process"));
  const gated = trace.find((line) => line.includes("the child runs the command"))
    ?.replace(/.*no-op gate: (.*): the child runs the command/, "$1");
  const fell = trace.find((line) => line.includes("needs the child process"))
    ?.replace(/.*needs the child process: /, "");
  const way: Way = gated !== undefined
    ? "gated"
    : !attempted
    ? "child"
    : fell === undefined
    ? "launcher"
    : "fell back";
  const why = gated ?? fell;
  return {
    code: result.code,
    stdout: result.stdout,
    stderr: lines.filter((line) => !line.startsWith("[trace]")).join("\n"),
    way,
    why,
  };
}

/** A project run once, aged, and run again, so that the load cache and the verified index hold. */
async function cachedProject(files: Record<string, string> = FILES): Promise<TempProject> {
  const project = await TempProject.create(files);
  const first = await project.pivot("repro");
  assertEquals(first.code, 0, first.stderr);
  age(project);
  const second = await project.pivot("repro");
  assertEquals(second.code, 0, second.stderr);
  return project;
}

test("right after a run, nothing aged, the second no-op is answered in the launcher from stamps", async () => {
  // Files the run wrote are older than the next command's clock marker: the
  // first no-op records them (reading no file), the second passes the gate.
  await using project = await TempProject.create(FILES);
  const run = await pivot(project, ["repro"]);
  assertEquals(run.code, 0, run.stderr);
  const first = await pivot(project, ["repro"]);
  assertEquals(first.code, 0, first.stderr);
  const second = await pivot(project, ["repro"]);
  assertEquals([second.code, second.way], [0, "launcher"], second.why);
  assertEquals(timeless(second.stdout), timeless(first.stdout));
});

const NO_OPS: string[][] = [
  ["repro"],
  ["repro", "b"],
  ["repro", "--json"],
  ["repro", "-n"],
  ["repro", "--explain"],
  ["status"],
  ["status", "--json"],
  ["status", "--check"],
  ["list"],
  ["list", "--deps"],
  ["list", "--json"],
  ["repro", "--no-such-option"],
  ["status", "no-such-stage"],
  ["list", "extra"],
];

test("a no-op answered in the launcher's process prints what the child prints", async () => {
  await using project = await cachedProject();
  for (const args of NO_OPS) {
    const here = await pivot(project, args);
    const child = await pivot(project, args, true);
    assertEquals(here.way, "launcher", `${args.join(" ")}: ${here.why}`);
    assertEquals(child.way, "child");
    assertEquals(
      [here.code, timeless(here.stdout), timeless(here.stderr)],
      [child.code, timeless(child.stdout), timeless(child.stderr)],
      args.join(" "),
    );
  }
});

test("a no-op in the launcher's process records the run in the history as the child does", async () => {
  await using project = await cachedProject();
  const here = await pivot(project, ["repro"]);
  assertEquals([here.way, here.code], ["launcher", 0]);
  const child = await pivot(project, ["repro"], true);
  assertEquals([child.way, child.code], ["child", 0]);
  const history = await runPivot(project.root, ["history", "--json", "-n", "2"]);
  assertEquals(history.code, 0, history.stderr);
  const [newest, before] = (JSON.parse(history.stdout) as { runs: unknown[] }).runs;
  assertEquals(timeless(JSON.stringify(before)), timeless(JSON.stringify(newest)));
  assert(JSON.stringify(newest).includes('"pivot repro"'), history.stdout);
});

test("a stale stage goes to the child, which runs it and prints everything once", async () => {
  // The same change in three projects: as a user runs it (the gate hands it to the child before
  // any attempt), without the gate (the attempt falls back), and with the child alone.
  const runs: Run[] = [];
  for (const mode of ["launcher", "no gate", "child"] as const) {
    await using project = await cachedProject();
    await project.write("data/in.txt", "changed\n");
    age(project);
    const run = await pivot(project, ["repro"], mode);
    assertEquals(run.code, 0, run.stderr);
    assertEquals(await project.read("build/b.txt"), "CHANGEDCHANGED");
    runs.push(run);
    // Once the outs are out of the racy window and recorded again, it is a no-op once more.
    age(project);
    assertEquals((await pivot(project, ["repro"], mode)).code, 0);
    const again = await pivot(project, ["status"], mode);
    assertEquals([again.code, again.way], [0, mode === "child" ? "child" : "launcher"], again.why);
  }
  const [gated, attempted, alone] = runs;
  assertEquals(gated.way, "gated");
  assert(gated.why?.endsWith("/data/in.txt changed"), gated.why);
  assertEquals(attempted.way, "fell back");
  assertEquals(attempted.why, "importing the pipeline");
  for (const run of [gated, attempted]) {
    assertEquals([timeless(run.stdout), run.stderr], [timeless(alone.stdout), alone.stderr]);
  }
});

test("a dep touched with its content unchanged is hashed and answered in the launcher, as by the child", async () => {
  const runs: Run[] = [];
  for (const mode of ["launcher", "child"] as const) {
    await using project = await cachedProject();
    for (const [command, seconds] of [["status", 30], ["repro", 40]] as const) {
      // Either command records the stamp again (the content is unchanged): touched before each.
      const then = new Date(Date.now() - seconds * 1000);
      Deno.utimeSync(project.path("data", "in.txt"), then, then);
      const run = await pivot(project, [command], mode);
      assertEquals(run.code, 0, run.stderr);
      runs.push(run);
    }
    // `list` compares no stamps: never gated.
    assertEquals((await pivot(project, ["list"], mode)).way, mode);
    // Either recorded the stamp again, and the snapshot with it: a no-op in the launcher.
    const again = await pivot(project, ["status"], mode);
    assertEquals(again.way, mode, again.why);
  }
  const [status, repro, statusAlone, reproAlone] = runs;
  for (const [run, alone] of [[status, statusAlone], [repro, reproAlone]]) {
    assertEquals([run.way, alone.way], ["launcher", "child"], run.why);
    assertEquals([timeless(run.stdout), run.stderr], [timeless(alone.stdout), alone.stderr]);
  }
});

test("a dep rewritten with the same size is hashed by the launcher and run by the child", async () => {
  await using project = await cachedProject();
  await project.write("data/in.txt", "ho\n");
  const then = new Date(Date.now() - 30_000);
  Deno.utimeSync(project.path("data", "in.txt"), then, then);
  const run = await pivot(project, ["repro"]);
  assertEquals([run.code, run.way], [0, "gated"], run.stderr);
  assert(run.why?.endsWith("/data/in.txt changed (its content)"), run.why);
  assertEquals(await project.read("build/b.txt"), "HOHO");
});

test("a missing, torn or stale gate snapshot sends the command to the child, which writes it again", async () => {
  await using project = await cachedProject();
  const snapshot = project.path(".pivot", "state", "noop-stamps.json");
  const expected = await pivot(project, ["status"], "child");
  // Stale while the verified index holds (as an older Pivot would leave it): a stamp that differs.
  const stale = () => {
    const stored = JSON.parse(Deno.readTextFileSync(snapshot)) as { stamps: number[] };
    stored.stamps[0] -= 1000;
    Deno.writeTextFileSync(snapshot, JSON.stringify(stored));
  };
  const damages = [
    () => Deno.removeSync(snapshot),
    () => Deno.writeTextFileSync(snapshot, "{"),
    stale,
  ];
  for (const damage of damages) {
    damage();
    const run = await pivot(project, ["status"]);
    assertEquals(run.code, 0, run.stderr);
    assertEquals([run.stdout, run.stderr], [expected.stdout, expected.stderr]);
    const again = await pivot(project, ["status"]);
    assertEquals(again.way, "launcher", again.why);
  }
});

test("a gate snapshot that holds is not trusted: the attempt's own check finds a stale stage", async () => {
  await using project = await cachedProject();
  await project.write("data/in.txt", "changed\n");
  age(project);
  // Forge the snapshot: every path with the stamp it has now, so the gate lets the attempt go on.
  const snapshot = project.path(".pivot", "state", "noop-stamps.json");
  const stored = JSON.parse(Deno.readTextFileSync(snapshot)) as { paths: string[] };
  const stamps = stored.paths.flatMap((path) => {
    const info = Deno.statSync(path);
    return [info.mtime?.getTime() ?? 0, info.size, info.ino ?? 0];
  });
  Deno.writeTextFileSync(snapshot, JSON.stringify({ ...stored, stamps }));
  const run = await pivot(project, ["repro"]);
  assertEquals(
    [run.code, run.way, run.why],
    [0, "fell back", "importing the pipeline"],
    run.stderr,
  );
  assertEquals(await project.read("build/b.txt"), "CHANGEDCHANGED");
});

test("the gate's layout is only a guess: one that does not fit makes the check stat every path", async () => {
  await using project = await cachedProject();
  const snapshot = project.path(".pivot", "state", "noop-stamps.json");
  const stored = JSON.parse(Deno.readTextFileSync(snapshot)) as {
    paths: string[];
    layout: number[];
  };
  // Per stage in order (a, b): its lock file, its dep, its out.
  assertEquals(
    stored.layout.map((at) => stored.paths[at].slice(project.root.length + 1)),
    [".pivot/stages/a.lock", "data/in.txt", "build/a.txt"].concat(
      [".pivot/stages/b.lock", "build/a.txt", "build/b.txt"],
    ),
  );
  const expected = await pivot(project, ["status", "--json"], "child");
  const layoutTrace = async () => {
    const result = await runPivot(project.root, ["status", "--json"], { PIVOT_TRACE: "1" });
    assertEquals(result.code, 0, result.stderr);
    assertEquals(timeless(result.stdout), timeless(expected.stdout));
    // Answered in the launcher's process, every stage verified, either way.
    assert(result.stderr.includes("in the launcher's process"), result.stderr);
    assert(!result.stderr.includes("needs the child process"), result.stderr);
    assert(result.stderr.includes("every stage verified"), result.stderr);
    return result.stderr.includes("the gate's layout does not fit");
  };
  assertEquals(await layoutTrace(), false, "the layout written fits");
  // The lock files' places swapped (a's lock where b's is said to be), then a layout too short.
  const [a, b] = [stored.layout[0], stored.layout[3]];
  const damaged = [
    [b, ...stored.layout.slice(1, 3), a, ...stored.layout.slice(4)],
    stored.layout.slice(0, 5),
  ];
  for (const layout of damaged) {
    Deno.writeTextFileSync(snapshot, JSON.stringify({ ...stored, layout }));
    assertEquals(await layoutTrace(), true, JSON.stringify(layout));
  }
});

test("an edited pipeline falls back to the child, which loads it with the user's deno.json", async () => {
  await using project = await cachedProject();
  // A module found only through the user's import map: the child's config has it.
  await project.writeConfig({ "shouting": "./lib/shout.ts" });
  await project.write("pipeline.ts", PIPELINE.replace('"./lib/shout.ts"', '"shouting"'));
  await project.write("data/in.txt", "mapped\n");
  // Without the gate, which would hand the edited dep to the child before any attempt.
  const run = await pivot(project, ["repro"], "no gate");
  assertEquals([run.code, run.way], [0, "fell back"], run.stderr);
  assertEquals(await project.read("build/a.txt"), "MAPPED");
  const list = await pivot(project, ["list"]);
  assertEquals([list.code, list.stdout], [0, "a\nb\n"]);
});

test("a warning met before the attempt falls back is printed once", async () => {
  await using project = await cachedProject();
  // A credential in the tracked config: every command warns about it.
  await project.write(
    ".pivot/config.yaml",
    "remotes:\n  store:\n    url: s3://bucket/path\n    secret_access_key: x\n",
  );
  age(project);
  // The settings are part of what the verified index holds: one run records them.
  assertEquals((await project.pivot("repro")).code, 0);
  const here = await pivot(project, ["status"]);
  assertEquals([here.code, here.way], [0, "launcher"], `${here.why}\n${here.stderr}`);
  await project.write("data/in.txt", "changed\n");
  age(project);
  const fell = await pivot(project, ["repro"], "no gate");
  assertEquals([fell.code, fell.way], [0, "fell back"], fell.stderr);
  for (const run of [here, fell]) {
    const warnings = run.stderr.split("\n").filter((line) => line.includes("secret_access_key"));
    assertEquals(warnings.length, 1, run.stderr);
  }
});

/** A stage writing a directory of files, and one counting them with a helper that uses `Deno`. */
const DIRECTORY_FILES = {
  "pipeline.ts": `import { dep, loaders, out, Pipeline } from "jsr:@pivot/core";

function countFiles(dir: string): number {
  let files = 0;
  for (const entry of Deno.readDirSync(dir)) {
    files += entry.isDirectory ? countFiles(\`\${dir}/\${entry.name}\`) : 1;
  }
  return files;
}

export const pipeline = new Pipeline("directory");

pipeline.stage({
  name: "generate",
  deps: { seed: dep("seed.txt", loaders.text()) },
  outs: { gen: out("gen/") },
  run: ({ seed }, ctx) => {
    for (const d of ["d0", "d1"]) {
      Deno.mkdirSync(\`\${ctx.outs.gen}/\${d}\`, { recursive: true });
      for (let i = 0; i < 5; i++) {
        Deno.writeTextFileSync(\`\${ctx.outs.gen}/\${d}/f\${i}.txt\`, \`\${seed.trim()} \${d} \${i}\\n\`);
      }
    }
  },
});

pipeline.stage({
  name: "count",
  deps: { gen: dep("gen/") },
  outs: { count: out("count.txt", loaders.text()) },
  run: ({ gen }) => ({ count: \`\${countFiles(gen)}\\n\` }),
});
`,
  "seed.txt": "seed\n",
};

test("checkout of a directory out runs in the launcher's process and places what the child places", async () => {
  const seen: Run[][] = [];
  for (const mode of ["launcher", "child"] as const) {
    await using project = await cachedProject(DIRECTORY_FILES);
    // The pipeline's stage code uses `Deno`: it is cached all the same.
    assert(await project.exists(".pivot/state/load-cache.json"), "no load cache");
    const runs: Run[] = [];
    const checkout = async (...args: string[]) => {
      const run = await pivot(project, ["checkout", ...args], mode);
      assertEquals(run.way, mode, run.why);
      runs.push(run);
      return run;
    };
    const file = (path: string) => project.path("gen", ...path.split("/"));
    // The whole directory, hard-linked.
    await Deno.remove(project.path("gen"), { recursive: true });
    assertEquals((await checkout("--mode", "hardlink")).code, 0);
    assertEquals(await project.read("gen/d1/f4.txt"), "seed d1 4\n");
    assert((Deno.statSync(file("d1/f4.txt")).nlink ?? 1) > 1, "not hard-linked");
    // A missing file (copies from here on: a hard link's content is the cache's).
    await Deno.remove(project.path("gen"), { recursive: true });
    assertEquals((await checkout("--mode", "copy")).code, 0);
    await Deno.remove(file("d0/f3.txt"));
    assertEquals((await checkout()).code, 0);
    assertEquals(await project.read("gen/d0/f3.txt"), "seed d0 3\n");
    // A file replaced by content the cache does not hold: noticed, refused, kept.
    await project.write("gen/d0/f1.txt", "edited\n");
    age(project);
    const status = await pivot(project, ["status"], mode);
    assertEquals(status.code, 0, status.stderr);
    assert(/generate .*\(restore gen\)/.test(status.stdout), status.stdout);
    assert(/count +will run/.test(status.stdout), status.stdout);
    runs.push(status);
    assertEquals((await checkout()).code, 1);
    assertEquals(await project.read("gen/d0/f1.txt"), "edited\n");
    assertEquals((await checkout("--force")).code, 0);
    assertEquals(await project.read("gen/d0/f1.txt"), "seed d0 1\n");
    // An edited pipeline: the load cache misses, and the child loads it.
    await project.write(
      "pipeline.ts",
      DIRECTORY_FILES["pipeline.ts"].replace('"directory"', '"directory2"'),
    );
    await Deno.remove(project.path("gen"), { recursive: true });
    const edited = await pivot(project, ["checkout"], mode);
    assertEquals([edited.code, edited.way], [0, mode === "launcher" ? "fell back" : "child"]);
    assertEquals(edited.why, mode === "launcher" ? "importing the pipeline" : undefined);
    runs.push(edited);
    assertEquals(await project.read("gen/d1/f0.txt"), "seed d1 0\n");
    seen.push(runs);
  }
  const [here, child] = seen;
  assertEquals(
    here.map((run) => [run.code, run.stdout, run.stderr]),
    child.map((run) => [run.code, run.stdout, run.stderr]),
  );
});
