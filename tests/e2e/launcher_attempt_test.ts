/**
 * The launcher's attempt (lib/launcher_attempt.ts, lib/cli/main_in_launcher.ts):
 * a no-op `repro`, `status` or `list` answered from the load cache runs in the
 * launcher's own process, with exactly the output, exit code and recorded
 * history of the child (forced with `PIVOT_IN_LAUNCHER=off`); anything that
 * needs the user's code falls back to the child, which then prints
 * everything once, as it does alone.
 *
 * Files written moments ago are "racy" (neither the verified index nor the
 * load cache records them), so the projects are dated a minute back.
 */

import { age, runPivot, TempProject } from "../_project.ts";
import { assert, assertEquals } from "../_assert.ts";
import { test } from "../_harness.ts";

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

/** How a command ran: in the launcher's process, in the child after an attempt, or only in the child. */
type Way = "launcher" | "fell back" | "child";

interface Run {
  readonly code: number;
  readonly stdout: string;
  /** Stderr without the trace. */
  readonly stderr: string;
  readonly way: Way;
  /** Why the attempt fell back (the trace's words), if it did. */
  readonly why: string | undefined;
}

/** `pivot ARGS` with the trace on; `child`: with the attempt turned off. */
async function pivot(project: TempProject, args: string[], child = false): Promise<Run> {
  const result = await runPivot(project.root, args, {
    PIVOT_TRACE: "1",
    ...(child ? { PIVOT_IN_LAUNCHER: "off" } : {}),
  });
  const lines = result.stderr.split("\n");
  const trace = lines.filter((line) => line.startsWith("[trace]"));
  const attempted = trace.some((line) => line.includes("in the launcher's process"));
  const why = trace.find((line) => line.includes("needs the child process"))
    ?.replace(/.*needs the child process: /, "");
  const way: Way = !attempted ? "child" : why === undefined ? "launcher" : "fell back";
  return {
    code: result.code,
    stdout: result.stdout,
    stderr: lines.filter((line) => !line.startsWith("[trace]")).join("\n"),
    way,
    why,
  };
}

/** `text` with durations and start times blanked. */
function timeless(text: string): string {
  return text
    .replace(/"(duration_ms|started|ended|started_at|ended_at)":\s*("[^"]*"|\d+)/g, '"$1":0')
    .replace(/\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d(\.\d+)?Z?/g, "DATE")
    .replace(/\b\d+(\.\d+)?m?s\b/g, "T")
    .replace(/\b[a-z0-9]{8}-[a-z0-9]{4}\b/g, "ID");
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

test("a stale stage falls back to the child, which runs it and prints everything once", async () => {
  // The same change in two projects: one with the attempt, one with the child alone.
  const runs: Run[] = [];
  for (const child of [false, true]) {
    await using project = await cachedProject();
    await project.write("data/in.txt", "changed\n");
    age(project);
    const run = await pivot(project, ["repro"], child);
    assertEquals(run.code, 0, run.stderr);
    assertEquals(await project.read("build/b.txt"), "CHANGEDCHANGED");
    runs.push(run);
    // Once the outs are out of the racy window and recorded again, it is a no-op once more.
    age(project);
    assertEquals((await pivot(project, ["repro"], child)).code, 0);
    const again = await pivot(project, ["status"], child);
    assertEquals([again.code, again.way], [0, child ? "child" : "launcher"], again.stderr);
  }
  const [attempted, alone] = runs;
  assertEquals(attempted.way, "fell back");
  assertEquals(attempted.why, "importing the pipeline");
  assertEquals([timeless(attempted.stdout), attempted.stderr], [
    timeless(alone.stdout),
    alone.stderr,
  ]);
});

test("an edited pipeline falls back to the child, which loads it with the user's deno.json", async () => {
  await using project = await cachedProject();
  // A module found only through the user's import map: the child's config has it.
  await project.writeConfig({ "shouting": "./lib/shout.ts" });
  await project.write("pipeline.ts", PIPELINE.replace('"./lib/shout.ts"', '"shouting"'));
  await project.write("data/in.txt", "mapped\n");
  const run = await pivot(project, ["repro"]);
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
  const fell = await pivot(project, ["repro"]);
  assertEquals([fell.code, fell.way], [0, "fell back"], fell.stderr);
  for (const run of [here, fell]) {
    const warnings = run.stderr.split("\n").filter((line) => line.includes("secret_access_key"));
    assertEquals(warnings.length, 1, run.stderr);
  }
});
