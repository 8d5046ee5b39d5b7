/**
 * The record of the last verified no-op (lib/cli/noop_record.ts): a no-op
 * `repro` of every stage, after the launcher's gate held, is answered from
 * it without decoding the load cache or the verified index, with the output
 * and history of the full way; and every part of what it rests on, changed,
 * sends the next `repro` (and `status`, which reads the same record) the
 * full way, which answers right.
 *
 * Which way a command took is read from the trace (`PIVOT_TRACE=1`):
 * "session: answered from the no-op record". The full way to compare with is
 * the child alone (`PIVOT_IN_LAUNCHER=off`), which neither reads nor writes
 * the record. Files written moments ago are "racy" (not recorded), so the
 * projects are dated a minute back.
 */

import { age, runPivot, TempProject } from "../_project.ts";
import { assert, assertEquals } from "../_assert.ts";
import { test } from "../_harness.ts";
import { timeless } from "./_timeless.ts";

const PIPELINE = `import { dep, loaders, out, Pipeline } from "jsr:@pivot/core";
import { shout } from "./lib/shout.ts";

export const pipeline = new Pipeline("record");

pipeline.stage({
  name: "a",
  deps: { src: dep("data/in.txt", loaders.text()) },
  outs: { o: out("build/a.txt", loaders.text()) },
  params: { suffix: "!" },
  run: ({ src }, { params }) => ({ o: shout(src) + params.suffix }),
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

const FROM_RECORD = "session: answered from the no-op record";

interface Run {
  readonly code: number;
  readonly stdout: string;
  /** Stderr without the trace. */
  readonly stderr: string;
  /** Answered from the record. */
  readonly recorded: boolean;
  readonly trace: string;
}

/** `pivot ARGS` with the trace on; `child`: the full way alone (no attempt, no record). */
async function pivot(project: TempProject, args: string[], child = false): Promise<Run> {
  const result = await runPivot(project.root, args, {
    PIVOT_TRACE: "1",
    ...(child ? { PIVOT_IN_LAUNCHER: "off" } : {}),
  });
  const lines = result.stderr.split("\n");
  const trace = lines.filter((line) => line.startsWith("[trace]")).join("\n");
  return {
    code: result.code,
    stdout: result.stdout,
    stderr: lines.filter((line) => !line.startsWith("[trace]")).join("\n"),
    recorded: trace.includes(FROM_RECORD),
    trace,
  };
}

/**
 * A project run once and aged, then no-op `repro`s until one is answered
 * from the record (the first that passes the gate writes it, the next takes
 * it): at most four.
 */
async function recordedProject(): Promise<TempProject> {
  const project = await TempProject.create(FILES);
  const first = await project.pivot("repro");
  assertEquals(first.code, 0, first.stderr);
  age(project);
  await settle(project);
  return project;
}

/**
 * The way each of `count` no-op `repro`s took: "record" (answered from it),
 * "written" (the full way, writing it) or "full".
 */
async function noopWays(project: TempProject, count: number): Promise<string[]> {
  const ways: string[] = [];
  for (let i = 0; i < count; i++) {
    const run = await pivot(project, ["repro"]);
    assertEquals(run.code, 0, run.stderr);
    ways.push(
      run.recorded ? "record" : run.trace.includes("noop record: written") ? "written" : "full",
    );
  }
  return ways;
}

/** No-op `repro`s until one is answered from the record; fails after four. */
async function settle(project: TempProject): Promise<void> {
  for (let i = 0; i < 4; i++) {
    const run = await pivot(project, ["repro"]);
    assertEquals(run.code, 0, run.stderr);
    if (run.recorded) return;
  }
  throw new Error("no no-op was answered from the record");
}

test("after a run, the first no-op settles the cached outs' object directories: the second writes the record, the third takes it", async () => {
  await using project = await TempProject.create(FILES);
  assertEquals((await project.pivot("repro")).code, 0);
  age(project);
  assertEquals(await noopWays(project, 3), ["full", "written", "record"]);
});

test("the second no-op repro is answered from the record, printing what the full way prints", async () => {
  await using project = await TempProject.create(FILES);
  assertEquals((await project.pivot("repro")).code, 0);
  age(project);
  // The first no-op records the stamps the age changed (and the object directories'); a later one
  // passes the gate with the index unchanged and writes the record; the one after takes it.
  const ways = await noopWays(project, 4);
  assertEquals(
    ways.slice(ways.indexOf("written")),
    ["written", "record", "record"].slice(0, 4 - ways.indexOf("written")),
  );
  assert(ways.indexOf("written") >= 1 && ways.indexOf("written") <= 2, ways.join(" "));
  const lines = [
    ["repro"],
    ["repro", "--json"],
    ["repro", "-v"],
    ["-v", "repro", "--json"],
    // Options that change nothing in a no-op's answer.
    ["repro", "-q"],
    ["repro", "-k"],
    ["repro", "-j", "1"],
    ["-q", "repro", "--keep-going", "--jobs", "3", "--json"],
    ["status"],
    ["status", "--json"],
    ["status", "-v"],
  ];
  for (const args of lines) {
    const here = await pivot(project, args);
    const full = await pivot(project, args, true);
    assertEquals([here.recorded, full.recorded], [true, false], args.join(" "));
    assertEquals(
      [here.code, timeless(here.stdout), here.stderr],
      [full.code, timeless(full.stdout), full.stderr],
      args.join(" "),
    );
  }
  const json = await pivot(project, ["repro", "--json"]);
  const events = json.stdout.trim().split("\n").map((line) => JSON.parse(line));
  assertEquals(events.slice(0, 2), [
    { type: "stage", stage: "a", status: "skipped", reason: "up to date", duration_ms: 0 },
    { type: "stage", stage: "b", status: "skipped", reason: "up to date", duration_ms: 0 },
  ]);
  assertEquals(events[2].skipped, 2);
});

test("a repro answered from the record in the launcher loads none of the full way's session", async () => {
  await using project = await recordedProject();
  const run = await pivot(project, ["repro"]);
  assertEquals([run.code, run.recorded], [0, true], run.stderr);
  // The full `repro`'s session (lib/cli/session.ts) marks its start; the record's answer does not.
  assert(!run.trace.includes("session: start"), run.trace);
  assert(!run.trace.includes("does not answer"), run.trace);
});

test("a configuration warning sends repro the full way, which prints it once and answers", async () => {
  await using project = await recordedProject();
  await using twin = await recordedProject();
  // A credential in the tracked file: accepted, with a warning.
  const config = "remotes:\n  origin:\n    url: s3://bucket/team\n    secret_access_key: s3cr3t\n";
  for (const each of [project, twin]) await rewrite(each, ".pivot/config.yaml", config);
  const run = await pivot(project, ["repro"]);
  const full = await pivot(twin, ["repro"], true);
  assert(run.trace.includes("the no-op record does not answer: configuration warnings"), run.trace);
  assertEquals(run.stderr.split("\n").filter((line) => line.startsWith("warning:")).length, 1);
  assertEquals(
    [run.code, timeless(run.stdout), run.stderr],
    [full.code, timeless(full.stdout), full.stderr],
  );
});

test("a repro answered from the record is recorded in the history as the full way records it", async () => {
  await using project = await recordedProject();
  const here = await pivot(project, ["repro", "-v"]);
  const full = await pivot(project, ["repro", "-v"], true);
  assertEquals([here.recorded, full.recorded], [true, false]);
  const history = await runPivot(project.root, ["history", "--json", "-n", "2"]);
  assertEquals(history.code, 0, history.stderr);
  const [newest, before] = (JSON.parse(history.stdout) as { runs: unknown[] }).runs;
  assertEquals(timeless(JSON.stringify(before)), timeless(JSON.stringify(newest)));
  assert(JSON.stringify(before).includes('"pivot repro -v"'), history.stdout);
  assert(JSON.stringify(before).includes('"skipped":2'), history.stdout);
});

/**
 * Write `content` to `rel` dated 30 seconds back (out of the racy window), touching nothing
 * else: `age` would change every stamp, and the gate would stop at the first.
 */
async function rewrite(project: TempProject, rel: string, content: string): Promise<void> {
  await project.write(rel, content);
  const then = new Date(Date.now() - 30_000);
  Deno.utimeSync(project.path(rel), then, then);
}

/** A change to a project with a record, and what the next `repro` must show. */
interface Change {
  readonly name: string;
  readonly change: (project: TempProject) => Promise<void>;
  /** What the trace says stopped the fast answer: the gate's words, or the record's. */
  readonly caught: RegExp;
  /** Checks the project after the next `repro` (default: nothing more than a zero exit). */
  readonly after?: (project: TempProject, run: Run) => Promise<void>;
}

const CHANGES: Change[] = [
  {
    name: "a dep's content",
    caught: /no-op gate: \S*data\/in\.txt changed/,
    change: async (project) => {
      await project.write("data/in.txt", "changed\n");
      age(project);
    },
    after: async (project) => assertEquals(await project.read("build/b.txt"), "CHANGED!CHANGED!"),
  },
  {
    name: "a helper module",
    caught: /noop record: load cache key: \S*lib\/shout\.ts changed/,
    change: async (project) => {
      await rewrite(
        project,
        "lib/shout.ts",
        "export function shout(text: string): string {\n  return text.trim() + '.';\n}\n",
      );
    },
    after: async (project) => assertEquals(await project.read("build/b.txt"), "hi.!hi.!"),
  },
  {
    name: "the pipeline module",
    caught: /noop record: load cache key: \S*pipeline\.ts changed/,
    change: async (project) => {
      await rewrite(project, "pipeline.ts", PIPELINE.replace("a + a", "a + '|' + a"));
    },
    after: async (project) => assertEquals(await project.read("build/b.txt"), "HI!|HI!"),
  },
  {
    name: "params",
    caught: /noop record: load cache key: /,
    change: async (project) => {
      await rewrite(project, "params.yaml", "a:\n  suffix: '?'\n");
    },
    after: async (project) => assertEquals(await project.read("build/b.txt"), "HI?HI?"),
  },
  {
    name: "deno.json",
    caught: /noop record: load cache key: /,
    change: async (project) => {
      const config = JSON.parse(await project.read("deno.json"));
      await rewrite(project, "deno.json", JSON.stringify({ ...config, tasks: { x: "true" } }));
    },
  },
  {
    name: "the deno.lock file",
    caught: /noop record: load cache key: \S*deno\.lock (changed|appeared)/,
    change: async (project) => {
      await rewrite(project, "deno.lock", JSON.stringify({ version: "5" }));
    },
  },
  {
    name: "the pivot configuration",
    caught: /noop record: configuration changed/,
    change: async (project) => {
      assertEquals((await project.pivot("config", "set", "core.history", "7")).code, 0);
    },
  },
  {
    name: "a stage's lock file",
    caught: /no-op gate: \S*b\.lock changed/,
    change: async (project) => {
      const lock = await project.read(".pivot/stages/b.lock");
      await rewrite(project, ".pivot/stages/b.lock", lock + "\n");
    },
  },
  {
    name: "a cache object removed",
    caught: /noop record: \S*\/files\/[0-9a-f]{2} changed/,
    change: (project) => {
      const objects = project.path(".pivot", "cache", "files");
      const dir = [...Deno.readDirSync(objects)][0].name;
      const file = [...Deno.readDirSync(`${objects}/${dir}`)][0].name;
      Deno.removeSync(`${objects}/${dir}/${file}`);
      return Promise.resolve();
    },
  },
  {
    name: "the verified index, by another run",
    caught: /no-op gate: /,
    change: async (project) => {
      // Runs `a` again: its out and lock are written anew, and the index with them.
      assertEquals((await project.pivot("run", "-f", "a")).code, 0);
      age(project);
    },
  },
  {
    name: "the load cache file alone",
    caught: /noop record: the load cache file changed/,
    change: async (project) => {
      // The same bytes written again: its key holds, the file's stamp does not.
      await rewrite(
        project,
        ".pivot/state/load-cache.json",
        await project.read(".pivot/state/load-cache.json"),
      );
    },
  },
  {
    name: "the verified index's generation alone",
    caught: /noop record: the verified index changed/,
    change: async (project) => {
      // The same index saved again under another generation, as another process's save would.
      const state = await project.state();
      const generation = crypto.randomUUID();
      for await (const { key, value } of state.kv.list<object>({ prefix: ["verified"] })) {
        await state.kv.set(key, { ...value, generation });
      }
      await project.closeState();
    },
  },
];

for (const { name, caught, change, after } of CHANGES) {
  test(`a change to ${name} sends the next repro the full way, which answers right`, async () => {
    await using project = await recordedProject();
    await change(project);
    // A twin made and changed the same way. `status` reads the same record: its first command is
    // a `status` (through the launcher, as `project`'s `repro` is); then the full way alone, which
    // neither reads nor writes the record, gives the answers to match. (One twin for both, not a
    // third project: a project's set-up is five runs.)
    await using twin = await recordedProject();
    await change(twin);
    const status = await pivot(twin, ["status"]);
    const expectedStatus = await pivot(twin, ["status"], true);
    const expected = await pivot(twin, ["repro"], true);
    assertEquals([status.code, status.recorded], [0, false], status.stderr);
    assert(caught.test(status.trace), status.trace);
    assertEquals([status.stdout, status.stderr], [expectedStatus.stdout, expectedStatus.stderr]);
    const run = await pivot(project, ["repro"]);
    assertEquals([run.code, run.recorded], [0, false], run.stderr);
    assert(caught.test(run.trace), run.trace);
    assertEquals(
      [timeless(run.stdout), run.stderr],
      [timeless(expected.stdout), expected.stderr],
      name,
    );
    await after?.(project, run);
    // Once everything is recorded again, the record answers again.
    age(project);
    await settle(project);
  });
}

test("status from the record shows tracked data as it is now, as the full way does", async () => {
  await using project = await recordedProject();
  await rewrite(project, "data/extra.txt", "one\n");
  assertEquals((await project.pivot("track", "data/extra.txt")).code, 0);
  age(project);
  // Tracking added a cache object: the record is written again.
  await settle(project);
  for (const content of ["one\n", "two\n"]) {
    await rewrite(project, "data/extra.txt", content);
    for (const args of [["status"], ["status", "--json"]]) {
      const here = await pivot(project, args);
      const full = await pivot(project, args, true);
      assertEquals([here.recorded, full.recorded], [true, false], `${content} ${args}`);
      assertEquals([here.code, here.stdout, here.stderr], [full.code, full.stdout, full.stderr]);
    }
  }
  const json = JSON.parse((await pivot(project, ["status", "--json"])).stdout);
  assertEquals(json.tracked.length, 1, JSON.stringify(json));
  assert(json.tracked[0].status !== "up-to-date", JSON.stringify(json));
});

test("a forged gate snapshot does not fool the record: the changed dep runs", async () => {
  await using project = await recordedProject();
  await project.write("data/in.txt", "changed\n");
  age(project);
  // Every path with the stamp it has now, the generation kept: the gate holds.
  const snapshot = project.path(".pivot", "state", "noop-stamps.json");
  const stored = JSON.parse(Deno.readTextFileSync(snapshot)) as { paths: string[] };
  const stamps = stored.paths.flatMap((path) => {
    const info = Deno.statSync(path);
    return [info.mtime?.getTime() ?? 0, info.size, info.ino ?? 0];
  });
  Deno.writeTextFileSync(snapshot, JSON.stringify({ ...stored, stamps }));
  const run = await pivot(project, ["repro"]);
  assertEquals([run.code, run.recorded], [0, false], run.stderr);
  assert(run.trace.includes("noop record: another snapshot"), run.trace);
  assertEquals(await project.read("build/b.txt"), "CHANGED!CHANGED!");
});

const OTHER_LINES: string[][] = [
  ["repro", "--force"],
  ["repro", "-f"],
  ["repro", "a"],
  ["repro", "b", "--json"],
  ["repro", "--dry-run"],
  ["repro", "-n", "--json"],
  ["repro", "--explain"],
  ["repro", "--no-commit"],
  // A value of -j the full way refuses (exit 2), or one written otherwise.
  ["repro", "-j", "0"],
  ["repro", "-j", "x"],
  ["repro", "--jobs=2"],
  ["repro", "-j"],
  ["status", "a"],
  ["status", "--explain"],
  ["status", "--check"],
  ["status", "-q"],
  ["list"],
];

test("any other command line goes the full way, and leaves the record answering", async () => {
  await using project = await recordedProject();
  for (const args of OTHER_LINES) {
    const run = await pivot(project, args);
    const full = await pivot(project, args, true);
    assertEquals([run.recorded, run.code], [false, full.code], args.join(" "));
    assertEquals(
      [timeless(run.stdout), run.stderr],
      [timeless(full.stdout), full.stderr],
      args.join(" "),
    );
    // `--force` ran every stage: the index and outs changed, so the record holds no more.
    if (args[1] === "--force" || args[1] === "-f") {
      age(project);
    }
    await settle(project);
  }
});
