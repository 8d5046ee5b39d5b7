/**
 * Stage failures end to end (issue 10, items 7, 8 and 14): a stage that exits
 * its worker, throws from a timer or leaves a rejected promise fails with a
 * message that says so, the run goes on, and a failure names the user's
 * file:line (the stack with `-v`).
 */

import { assert, assertEquals, assertMatch, assertNotMatch } from "../_assert.ts";
import { test } from "../_harness.ts";
import { TempProject } from "../_project.ts";
import { hashBytes } from "../../lib/storage/hash.ts";

/** Output that is one of Deno's own uncaught-error reports. */
const RAW_DENO_ERROR = /error: Uncaught|\(in worker|\n\s+at /;

const EXITS = `import { loaders, out, Pipeline } from "jsr:@pivot/core";
import process from "node:process";
export const pipeline = new Pipeline("exits");
pipeline.stage({
  name: "deno_exit",
  outs: { o: out("deno_exit.txt", loaders.text()) },
  run: () => { Deno.exit(3); },
});
pipeline.stage({
  name: "process_exit",
  outs: { o: out("process_exit.txt", loaders.text()) },
  run: () => { process.exit(4); },
});
pipeline.stage({
  name: "self_close",
  outs: { o: out("self_close.txt", loaders.text()) },
  run: () => { self.close(); return new Promise(() => {}); },
});
pipeline.stage({
  name: "fine",
  outs: { o: out("fine.txt", loaders.text()) },
  run: () => ({ o: "fine" }),
});
`;

test("a stage that exits fails naming the exit code, and the others go on", {
  timeLimit: 60_000,
}, async () => {
  await using p = await TempProject.create({ "pipeline.ts": EXITS });
  const { result, events } = await p.events("repro", "-j", "1", "--keep-going");
  assertEquals(result.code, 1, result.stderr);
  assertEquals(TempProject.byStatus(events), {
    failed: ["deno_exit", "process_exit", "self_close"],
    ran: ["fine"],
  });
  const error = (stage: string) => String(events.find((e) => e.stage === stage)!.error);
  assertMatch(error("deno_exit"), /stage 'deno_exit' .*Deno\.exit\(3\)/);
  assertMatch(error("deno_exit"), /exit code 3/);
  assertMatch(error("process_exit"), /process\.exit\(4\).*exit code 4/);
  assertMatch(error("self_close"), /self\.close\(\)/);
  assertEquals(await p.read("fine.txt"), "fine");
  assertNotMatch(result.stderr, RAW_DENO_ERROR);
});

test("a stage that exits while other stages run does not stop them", {
  timeLimit: 60_000,
}, async () => {
  await using p = await TempProject.create({ "pipeline.ts": EXITS });
  const { result, events } = await p.events("repro", "-j", "2", "--keep-going");
  assertEquals(result.code, 1, result.stderr);
  assertEquals(TempProject.byStatus(events).ran, ["fine"]);
  assertEquals(TempProject.byStatus(events).failed?.length, 3);
});

const UNCAUGHT = `import { loaders, out, Pipeline } from "jsr:@pivot/core";
export const pipeline = new Pipeline("uncaught");
pipeline.stage({
  name: "timer_throws",
  outs: { o: out("timer.txt", loaders.text()) },
  run: () =>
    new Promise((resolve) => {
      setTimeout(() => { throw new RangeError("the timer went wrong"); }, 0);
      setTimeout(() => resolve({ o: "too late" }), 5000);
    }),
});
pipeline.stage({
  name: "promise_rejects",
  outs: { o: out("promise.txt", loaders.text()) },
  run: () => {
    Promise.reject(new Error("the promise went wrong"));
    return { o: "returned anyway" };
  },
});
pipeline.stage({
  name: "fine",
  outs: { o: out("fine.txt", loaders.text()) },
  run: () => ({ o: "fine" }),
});
`;

test("an uncaught error in a stage's timer or promise fails that stage with its message", {
  timeLimit: 60_000,
}, async () => {
  await using p = await TempProject.create({ "pipeline.ts": UNCAUGHT });
  for (const jobs of ["1", "2"]) {
    const { result, events } = await p.events("repro", "-j", jobs, "--keep-going", "--force");
    assertEquals(result.code, 1, result.stderr);
    assertEquals(TempProject.byStatus(events), {
      failed: ["promise_rejects", "timer_throws"],
      ran: ["fine"],
    });
    const error = (stage: string) => String(events.find((e) => e.stage === stage)!.error);
    assertMatch(error("timer_throws"), /^stage 'timer_throws' .*RangeError: the timer went wrong/);
    assertMatch(error("promise_rejects"), /^stage 'promise_rejects' .*the promise went wrong/);
    assertNotMatch(result.stderr, RAW_DENO_ERROR);
    assert(!(await p.exists("promise.txt")), "a failed stage leaves no out");
  }
});

const MODEL = `/** Rows of the training table. */
export interface Row {
  name: string;
  values: number[];
}

export function firstWidth(rows: Row[]): number {
  const first: Row | undefined = rows[0];
  return first!.values.length;
}
`;

const LOCATED = `import { dep, loaders, out, Pipeline } from "jsr:@pivot/core";
import { firstWidth, type Row } from "./lib/model.ts";
export const pipeline = new Pipeline("located");

pipeline.stage({
  name: "train",
  deps: { rows: dep("rows.json", loaders.json<Row[]>()) },
  outs: { width: out("width.txt", loaders.text()) },
  run: ({ rows }) => ({ width: String(firstWidth(rows)) }),
});
`;

test("a failing stage names the user's file:line (of the .ts source) in its one line", async () => {
  await using p = await TempProject.create({
    "pipeline.ts": LOCATED,
    "lib/model.ts": MODEL,
    "rows.json": "[]",
  });
  const { result, events } = await p.events("repro");
  assertEquals(result.code, 1, result.stderr);
  const train = events.find((e) => e.stage === "train")!;
  assertMatch(
    String(train.error),
    /^stage 'train' failed at lib\/model\.ts:9:\d+: TypeError: Cannot read properties of undefined \(reading 'values'\)$/,
  );

  const human = await p.pivot("repro");
  assertEquals(human.code, 1);
  assertMatch(human.stderr, /FAILED\s+train: stage 'train' failed at lib\/model\.ts:9:/);
  assertNotMatch(human.stderr, /\n\s+at /);
});

test("with -v a failing stage shows its stack, in the project's files", async () => {
  await using p = await TempProject.create({
    "pipeline.ts": LOCATED,
    "lib/model.ts": MODEL,
    "rows.json": "[]",
  });
  const { stderr, code } = await p.pivot("repro", "-v");
  assertEquals(code, 1);
  assertMatch(stderr, /\n\s+at firstWidth \(lib\/model\.ts:9:\d+\)/);
  assertMatch(stderr, /\n\s+at .*\(?pipeline\.ts:9:\d+\)?/);
  assertNotMatch(stderr, /worker_main\.ts|ext:/);
});

test("a stage defined in pivot.yaml names its module's line too", async () => {
  await using p = await TempProject.create({
    "pivot.yaml": `stages:
  train:
    run: stages.ts#train
    deps: { rows: rows.json }
    outs: { width: width.txt }
`,
    "stages.ts": `import { firstWidth, type Row } from "./lib/model.ts";

export function train({ rows }: { rows: Row[] }): { width: string } {
  return { width: String(firstWidth(rows)) };
}
`,
    "lib/model.ts": MODEL,
    "rows.json": "[]",
  });
  const { result, events } = await p.events("repro");
  assertEquals(result.code, 1, result.stderr);
  assertMatch(
    String(events.find((e) => e.stage === "train")!.error),
    /failed at lib\/model\.ts:9:/,
  );
});

// `upper` puts a directory where its own lock file goes while it runs (as
// anything in the way of a lock file would), only for the input "hello": its
// outs are placed, the stages below it may have started (they read outs, not
// lock files), and then its lock file cannot be written.
const LOCK_IN_THE_WAY = `import { dep, loaders, out, Pipeline } from "jsr:@pivot/core";
export const pipeline = new Pipeline("lock_in_the_way");
pipeline.stage({
  name: "upper",
  deps: { text: dep("in.txt", loaders.text()) },
  outs: { o: out("upper.txt", loaders.text()) },
  permissions: { run: ["mkdir"] },
  run: ({ text }) => {
    if (text === "hello") {
      const lock = new URL("./.pivot/stages/upper.lock/in-the-way", import.meta.url).pathname;
      // test-conventions: allow (the stage's own process, not the test's)
      new Deno.Command("mkdir", { args: ["-p", lock] }).outputSync();
    }
    return { o: text.toUpperCase() };
  },
});
pipeline.stage({
  name: "shout",
  deps: { text: dep("upper.txt", loaders.text()) },
  outs: { o: out("shout.txt", loaders.text()) },
  run: ({ text }) => ({ o: text + "!" }),
});
pipeline.stage({
  name: "last",
  deps: { text: dep("shout.txt", loaders.text()), again: dep("upper.txt", loaders.text()) },
  outs: { o: out("last.txt", loaders.text()) },
  run: ({ text, again }) => ({ o: text + again }),
});
`;

test(
  "a lock file that cannot be written fails its stage and claims nothing; what ran below it read the real outs",
  {
    timeLimit: 60_000,
  },
  async () => {
    await using p = await TempProject.create({ "pipeline.ts": LOCK_IN_THE_WAY, "in.txt": "hello" });
    const { result, events } = await p.events("repro");
    assertEquals(result.code, 1, result.stderr);
    const byName = new Map(events.filter((e) => e.type === "stage").map((e) => [e.stage, e]));
    assertEquals(byName.get("upper")?.status, "failed");
    assertMatch(
      String(byName.get("upper")?.error),
      /stage 'upper': its outs are in place but its run could not be recorded, so it will run again: .*rename '\.pivot\/stages\/upper\.lock\./,
    );
    // Nothing claims the run: no lock file, no temporary file left beside it.
    assert((await Deno.stat(p.path(".pivot/stages/upper.lock"))).isDirectory);
    const left = [...Deno.readDirSync(p.path(".pivot/stages"))].map((e) => e.name);
    assertEquals(left.filter((name) => name.startsWith("upper.lock.")), []);
    assertEquals(await p.read("upper.txt"), "HELLO");
    // A stage below may have started before the failure (the outs it reads
    // were in place) or been blocked; one that ran recorded what it read.
    const ran = new Set<string>();
    for (const name of ["shout", "last"]) {
      const status = byName.get(name)?.status;
      assert(status === "ran" || status === "blocked", `${name}: ${status}`);
      if (status === "ran") ran.add(name);
    }
    if (ran.has("shout")) assertEquals(await p.read("shout.txt"), "HELLO!");
    if (ran.has("shout") && !ran.has("last")) {
      // Blocked by the stage that failed, not by the one between that ran:
      // either before it was taken, or taken (its upstreams' outs were in
      // place) and then not started once the failure was known.
      assert(
        ["upstream 'upper' did not complete", "not started after a failure (use --keep-going)"]
          .includes(String(byName.get("last")?.reason)),
        `last: ${byName.get("last")?.reason}`,
      );
    }

    // Out of the way (and no longer put back), the next run re-runs `upper`,
    // which has no lock file, and only what below it did not run.
    await Deno.remove(p.path(".pivot/stages/upper.lock"), { recursive: true });
    await p.write("in.txt", "Hello");
    const second = await p.events("repro");
    assertEquals(second.result.code, 0, second.result.stderr);
    const expected: Record<string, string[]> = { ran: ["upper"] };
    for (const name of ["shout", "last"]) {
      (expected[ran.has(name) ? "skipped" : "ran"] ??= []).push(name);
    }
    for (const names of Object.values(expected)) names.sort();
    assertEquals(TempProject.byStatus(second.events), expected);
    assertEquals(await p.read("last.txt"), "HELLO!HELLO");
    const third = await p.events("repro");
    assertEquals(TempProject.byStatus(third.events), { skipped: ["last", "shout", "upper"] });
  },
);

test(
  "an out that cannot be stored in the cache after it was placed fails its stage, and no lock file claims it",
  {
    timeLimit: 60_000,
  },
  async () => {
    await using p = await TempProject.create({ "pipeline.ts": LOCK_IN_THE_WAY, "in.txt": "Hi" });
    // A file where the object of upper's out ("HI") needs a directory.
    const hash = await hashBytes(new TextEncoder().encode("HI"));
    await p.write(`.pivot/cache/files/${hash.slice(0, 2)}`, "in the way");
    const { result, events } = await p.events("repro");
    assertEquals(result.code, 1, result.stderr);
    const upper = events.find((e) => e.type === "stage" && e.stage === "upper");
    assertEquals(upper?.status, "failed");
    assertMatch(
      String(upper?.error),
      /stage 'upper': its outs are in place but its run could not be recorded, so it will run again/,
    );
    assert(!(await p.exists(".pivot/stages/upper.lock")), "no lock file claims the run");
    assertEquals(await p.read("upper.txt"), "HI");

    await Deno.remove(p.path(`.pivot/cache/files/${hash.slice(0, 2)}`));
    const again = await p.events("repro");
    assertEquals(again.result.code, 0, again.result.stderr);
    assertEquals(TempProject.byStatus(again.events).ran?.includes("upper"), true);
    const verify = await p.pivot("verify");
    assertEquals(verify.code, 0, verify.stdout + verify.stderr);
  },
);
