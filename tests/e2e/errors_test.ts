import { runPivot, tempDir, TempProject, WAIT_FOR_FILE } from "../_project.ts";
import { assert, assertEquals, assertMatch, assertNotMatch } from "../_assert.ts";
import { test } from "../_harness.ts";

function pipeline(body: string): string {
  return `import { dep, loaders, out, Pipeline } from "jsr:@pivot/core";
export const pipeline = new Pipeline("p");
${body}`;
}

/** A usage error: exit 2, one line on stderr, no stack trace. */
function assertUsageError(result: { code: number; stderr: string }, pattern: RegExp): void {
  assertEquals(result.code, 2, result.stderr);
  assertMatch(result.stderr, pattern);
  const lines = result.stderr.trim().split("\n");
  assertEquals(lines.length, 1, `expected one line, got:\n${result.stderr}`);
  assertNotMatch(result.stderr, /\n\s+at /);
}

// With two jobs, `boom` and `slow` start together. `boom` fails only once
// `slow` has started (its marker exists; a minute at most), so `slow` is past
// the check that stops new stages after a failure (lib/engine/engine.ts,
// `wave.stopping`) whatever the machine's load, and is running when `boom`
// fails unless its 600 ms have passed.
const FAILING = pipeline(`
${WAIT_FOR_FILE}
pipeline.stage({
  name: "boom",
  outs: { o: out("boom.txt", loaders.text()) },
  permissions: { read: ["slow-started"] },
  run: async () => {
    await waitForFile("slow-started");
    throw new Error("kaboom");
  },
});
pipeline.stage({
  name: "after_boom",
  deps: { b: dep("boom.txt", loaders.text()) },
  outs: { o: out("after.txt", loaders.text()) },
  run: ({ b }) => ({ o: b }),
});
pipeline.stage({
  name: "slow",
  outs: { o: out("slow.txt", loaders.text()) },
  permissions: { run: ["touch"] },
  run: async () => {
    // A stage may write only its outs; a program it starts may write anywhere.
    const marker = new URL("./slow-started", import.meta.url).pathname;
    // test-conventions: allow (the stage's own process, not the test's)
    new Deno.Command("touch", { args: [marker] }).outputSync();
    await new Promise((resolve) => setTimeout(resolve, 600));
    return { o: "slow" };
  },
});
pipeline.stage({
  name: "independent",
  deps: { s: dep("slow.txt", loaders.text()) },
  outs: { o: out("independent.txt", loaders.text()) },
  run: ({ s }) => ({ o: s + " and fine" }),
});
`);

test("a failing stage stops new stages by default; running ones finish", async () => {
  await using p = await TempProject.create({ "pipeline.ts": FAILING });
  const { result, events } = await p.events("repro", "-j", "2");
  assertEquals(result.code, 1);
  assertEquals(TempProject.byStatus(events), {
    failed: ["boom"],
    ran: ["slow"],
    blocked: ["after_boom", "independent"],
  });
  const boom = events.find((e) => e.stage === "boom")!;
  assertMatch(String(boom.error), /kaboom/);
  assert(!(await p.exists(".pivot/stages/boom.lock")), "a failed stage writes no lock");
  assert(!(await p.exists("boom.txt")), "a failed stage leaves no out");
});

test("--keep-going runs every stage that does not depend on the failure", async () => {
  await using p = await TempProject.create({ "pipeline.ts": FAILING });
  const { result, events } = await p.events("repro", "-k", "-j", "2");
  assertEquals(result.code, 1);
  assertEquals(TempProject.byStatus(events), {
    failed: ["boom"],
    blocked: ["after_boom"],
    ran: ["independent", "slow"],
  });
  const summary = events.at(-1)!;
  assertEquals([summary.ran, summary.failed, summary.blocked], [2, 1, 1]);
});

test("a failed re-run keeps the previous outs restorable and the old lock", async () => {
  const ok = pipeline(`
pipeline.stage({ name: "s", outs: { o: out("s.txt", loaders.text()) }, run: () => ({ o: "v1" }) });
`);
  await using p = await TempProject.create({ "pipeline.ts": ok });
  assertEquals((await p.pivot("repro")).code, 0);
  const lock = await p.read(".pivot/stages/s.lock");
  await p.write("pipeline.ts", ok.replace(`({ o: "v1" })`, `{ throw new Error("nope"); }`));
  assertEquals((await p.pivot("repro")).code, 1);
  assertEquals(await p.read(".pivot/stages/s.lock"), lock);
  assertEquals(await p.read("s.txt"), "v1");
});

test("a write outside the declared outs fails the stage, naming the path", async () => {
  await using p = await TempProject.create({
    "pipeline.ts": pipeline(`
pipeline.stage({
  name: "sneaky",
  outs: { o: out("o.txt", loaders.text()) },
  run: () => { Deno.writeTextFileSync("elsewhere.txt", "x"); return { o: "x" }; },
});
`),
  });
  const { result, events } = await p.events("repro");
  assertEquals(result.code, 1);
  const error = String(events.find((e) => e.stage === "sneaky")?.error);
  assertMatch(error, /'elsewhere\.txt'/);
  assertMatch(error, /not a declared out: declare it in outs/);
  assert(!(await p.exists("elsewhere.txt")));
});

test("a read of an undeclared file fails the stage, naming the path", async () => {
  await using p = await TempProject.create({
    "secret.txt": "s",
    "pipeline.ts": pipeline(`
pipeline.stage({
  name: "peeker",
  outs: { o: out("o.txt", loaders.text()) },
  run: () => ({ o: Deno.readTextFileSync("secret.txt") }),
});
`),
  });
  const { events } = await p.events("repro");
  assertMatch(
    String(events.find((e) => e.stage === "peeker")?.error),
    /'secret\.txt' at pipeline\.ts:\d+:\d+, which is not a declared dep/,
  );
});

test("stages get no env, net or run access unless they declare it", async () => {
  await using p = await TempProject.create({
    "pipeline.ts": pipeline(`
pipeline.stage({
  name: "envy",
  outs: { o: out("o.txt", loaders.text()) },
  run: () => ({ o: Deno.env.get("HOME") ?? "" }),
});
pipeline.stage({
  name: "allowed",
  outs: { o: out("a.txt", loaders.text()) },
  permissions: { env: ["HOME"] },
  run: () => ({ o: Deno.env.get("HOME") ?? "none" }),
});
`),
  });
  const { events } = await p.events("repro", "-k");
  assertMatch(
    String(events.find((e) => e.stage === "envy")?.error),
    /needs env access to 'HOME'/,
  );
  assertEquals(events.find((e) => e.stage === "allowed")?.status, "ran");
});

test(
  "a stage opening a device path is told Deno keeps those from stages, not to declare an 'all' permission",
  {
    ignore: Deno.build.os !== "linux",
  },
  async () => {
    await using p = await TempProject.create({
      "pipeline.ts": pipeline(`
pipeline.stage({
  name: "peek",
  outs: { o: out("o.txt", loaders.text()) },
  permissions: { read: ["/dev/full"] },
  run: () => ({ o: Deno.readTextFileSync("/dev/full") }),
});
`),
    });
    const { events } = await p.events("repro");
    const error = String(events.find((e) => e.stage === "peek")?.error);
    assertMatch(error, /opened '\/dev\/full'.*Deno lets no sandboxed stage open/);
    assertNotMatch(error, /permissions: \{ all/);
  },
);

test("a cycle is an error naming the stages in it", async () => {
  await using p = await TempProject.create({
    "pipeline.ts": pipeline(`
pipeline.stage({ name: "x", deps: { y: dep("y.txt") }, outs: { o: out("x.txt") }, run: function x() {} });
pipeline.stage({ name: "y", deps: { x: dep("x.txt") }, outs: { o: out("y.txt") }, run: function y() {} });
`),
  });
  assertUsageError(await p.pivot("repro"), /cycle: (x -> y -> x|y -> x -> y)/);
});

test("a dep that neither exists nor is produced is an error naming both", async () => {
  await using p = await TempProject.create({
    "pipeline.ts": pipeline(`
pipeline.stage({ name: "needy", deps: { d: dep("nowhere.csv") }, outs: { o: out("o.txt") }, run: function needy() {} });
`),
  });
  assertUsageError(
    await p.pivot("repro"),
    /stage 'needy' depends on 'nowhere\.csv', which does not exist/,
  );
});

test("two stages producing one path is an error naming both", async () => {
  await using p = await TempProject.create({
    "pipeline.ts": pipeline(`
pipeline.stage({ name: "one", outs: { o: out("same.txt") }, run: function one() {} });
pipeline.stage({ name: "two", outs: { o: out("same.txt") }, run: function two() {} });
`),
  });
  assertUsageError(await p.pivot("status"), /'same\.txt' is an out of both 'one' and 'two'/);
});

test("overlapping outs are an error", async () => {
  await using p = await TempProject.create({
    "pipeline.ts": pipeline(`
pipeline.stage({ name: "dir", outs: { o: out("data/") }, run: function dir() {} });
pipeline.stage({ name: "file", outs: { o: out("data/file.txt") }, run: function file() {} });
`),
  });
  assertUsageError(await p.pivot("list"), /inside out directory 'data' of 'dir'/);
});

test("an unknown stage name is an error with a suggestion", async () => {
  await using p = await TempProject.create({
    "pipeline.ts": pipeline(`
pipeline.stage({ name: "train", outs: { o: out("o.txt") }, run: function train() {} });
`),
  });
  assertUsageError(
    await p.pivot("repro", "trian"),
    /unknown stage 'trian': did you mean 'train'\?/,
  );
});

test("without .pivot/ a command fails with a hint to run pivot init", async () => {
  await using p = await TempProject.create({ "pipeline.ts": pipeline("") }, { init: false });
  assertUsageError(await p.pivot("repro"), /no \.pivot\/ directory .*run 'pivot init'/);
});

test("a syntax error in the pipeline is a one-line error", async () => {
  await using p = await TempProject.create({ "pipeline.ts": pipeline("pipeline.stage({ name: ") });
  assertUsageError(await p.pivot("repro"), /^error: pipeline\.ts:3:\d+: SyntaxError: /);
});

test("an unknown option is a usage error", async () => {
  await using p = await TempProject.create({ "pipeline.ts": pipeline("") });
  assertUsageError(
    await p.pivot("repro", "--frobnicate"),
    /repro: unknown option '--frobnicate'/,
  );
  assertUsageError(await p.pivot("repro", "-j", "zero"), /--jobs expects an integer/);
  assertUsageError(await p.pivot("fly"), /unknown command 'fly'/);
});

test("a pipeline file that exports no Pipeline is an error", async () => {
  await using p = await TempProject.create({ "pipeline.ts": "export const x = 1;\n" });
  assertUsageError(await p.pivot("list"), /exports no Pipeline/);
});

test("user code resolves with the user's import map and npm packages", async () => {
  await using p = await TempProject.create({
    "pipeline.ts": `import { loaders, out, Pipeline } from "jsr:@pivot/core";
import isNumber from "is-number";
export const pipeline = new Pipeline("npm");
pipeline.stage({
  name: "check",
  outs: { o: out("o.json", loaders.json<boolean[]>()) },
  run: () => ({ o: [isNumber(5), isNumber("x")] }),
});
`,
  }, { imports: { "is-number": "npm:is-number@7.0.0" } });
  const result = await p.pivot("repro");
  assertEquals(result.code, 0, result.stderr);
  assertEquals(JSON.parse(await p.read("o.json")), [true, false]);
});

test("--help and --version work anywhere", async () => {
  await using dir = await tempDir();
  const help = await runPivot(dir.root, ["--help"]);
  assertEquals(help.code, 0);
  assertMatch(help.stdout, /Commands:/);
  const version = await runPivot(dir.root, ["--version"]);
  assertMatch(version.stdout, /^pivot \d+\.\d+\.\d+/);
  const reproHelp = await runPivot(dir.root, ["repro", "--help"]);
  assertMatch(reproHelp.stdout, /--keep-going/);
});
