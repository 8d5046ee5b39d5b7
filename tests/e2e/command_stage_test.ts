/**
 * Command stages (`cmd:` in pivot.yaml, SPEC §12) end to end: processes,
 * output, failures, cancellation, and their part in the cache, the run
 * cache, status --explain, plots and watch mode.
 */

import { assert, assertEquals, assertMatch } from "../_assert.ts";
import { test } from "../_harness.ts";
import { spawnPivot, TempProject } from "../_project.ts";
import { WatchProcess } from "./_watch.ts";

async function project(pivotYaml: string, files: Record<string, string> = {}) {
  return await TempProject.create({ "pivot.yaml": pivotYaml, ...files }, { imports: null });
}

test("a command runs in its working directory; its output streams with the stage's prefix", async () => {
  await using p = await project(
    `stages:
  count:
    cmd:
      - echo "lines of $(basename $PWD)/input.txt:" && wc -l < input.txt
      - echo to stderr >&2 && wc -l < input.txt > ../out/count.txt
      - echo "stage=$PIVOT_STAGE dvc=$DVC_STAGE"
    wdir: data
    deps: [input.txt]
    outs: [../out/count.txt]
`,
    { "data/input.txt": "a\nb\nc\n" },
  );
  const run = await p.pivot("repro");
  assertEquals(run.code, 0, run.stderr);
  assertMatch(run.stdout, /\[count\] lines of data\/input\.txt:\n\[count\] 3\n/);
  assertMatch(run.stderr, /\[count\] to stderr/);
  assertMatch(run.stdout, /\[count\] stage=count dvc=count/);
  assertEquals((await p.read("out/count.txt")).trim(), "3");
  const again = await p.events("repro");
  assertEquals(TempProject.byStatus(again.events), { skipped: ["count"] });
});

test("a failing command fails its stage with its exit code; nothing is recorded or run below it", async () => {
  await using p = await project(`stages:
  bad:
    cmd: echo partial > out.txt && exit 3
    outs: [out.txt]
  below:
    cmd: cp out.txt copy.txt
    deps: [out.txt]
    outs: [copy.txt]
`);
  const run = await p.events("repro");
  assertEquals(run.result.code, 1);
  assertEquals(TempProject.byStatus(run.events), { failed: ["bad"], blocked: ["below"] });
  const failed = run.events.find((e) => e.stage === "bad");
  assertEquals(
    failed?.error,
    "stage 'bad': command failed with exit code 3: echo partial > out.txt && exit 3",
  );
  assertEquals(await p.exists(".pivot/stages/bad.lock"), false);
});

test("a declared out the command did not write fails the stage, naming it", async () => {
  await using p = await project(`stages:
  lazy:
    cmd: echo hi > one.txt
    outs: [one.txt, two.txt]
`);
  const run = await p.events("repro");
  assertEquals(run.result.code, 1);
  assertEquals(
    run.events.find((e) => e.stage === "lazy")?.error,
    "stage 'lazy': the command did not write 'two.txt' (declared in outs): make it write the path, or remove it from outs",
  );
});

test("files a command changes that no stage declares are reported; ignored ones are not", async () => {
  await using p = await project(
    `stages:
  sloppy:
    cmd: echo out > out.txt && echo log > run.log && mkdir -p scratch && echo tmp > scratch/t.txt && echo note > notes.txt
    deps: [notes.txt]
    outs: [out.txt]
`,
    { ".gitignore": "scratch/\n", "notes.txt": "before\n" },
  );
  const run = await p.pivot("repro");
  assertEquals(run.code, 0, run.stderr);
  assertMatch(
    run.stderr,
    /warning: stage 'sloppy' changed 2 files that no stage declares: notes\.txt, run\.log: declare them as outs \(or metrics, plots\), or git-ignore them/,
  );
  assert(!run.stderr.includes("scratch"), run.stderr);
});

test("Ctrl-C stops the command and everything it started", async () => {
  await using p = await project(`stages:
  slow:
    cmd: echo $$ > pids && (sleep 60 & echo $! >> pids; wait) && touch done.txt
    outs: [done.txt]
`);
  const child = spawnPivot(p.root, ["repro"]);
  const deadline = Date.now() + 60_000;
  while ((await p.read("pids").catch(() => "")).trim().split("\n").length < 2) {
    assert(Date.now() < deadline, "the command never started");
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const pids = (await p.read("pids")).trim().split("\n").map(Number);
  child.kill("SIGINT");
  const status = await child.status;
  await child.stdout.cancel();
  await child.stderr.cancel();
  assertEquals(status.code, 130);
  for (const pid of pids) assertEquals(await alive(pid), false, `process ${pid} is still running`);
  assertEquals(await p.exists(".pivot/stages/slow.lock"), false);
});

async function alive(pid: number): Promise<boolean> {
  // A process being reaped may linger a moment.
  for (let i = 0; i < 50; i++) {
    try {
      const stat = await Deno.readTextFile(`/proc/${pid}/stat`);
      if (stat.split(") ")[1]?.startsWith("Z")) return false;
    } catch {
      return false;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return true;
}

test("status --explain names a changed command and its params; the run cache restores", async () => {
  await using p = await project(
    `stages:
  greet:
    cmd: echo "\${greeting.word}, \${greeting.name}" > greeting.txt
    params: [greeting.word]
    outs: [greeting.txt]
`,
    { "params.yaml": "greeting:\n  word: hello\n  name: world\n" },
  );
  assertEquals((await p.pivot("repro")).code, 0);
  await p.edit("params.yaml", "word: hello", "word: bye");
  const explained = await p.pivot("status", "--explain");
  assertMatch(explained.stdout, /Reasons: code, params/);
  assertMatch(explained.stdout, /cmd {2}[0-9a-f]{8} -> [0-9a-f]{8} {2}pivot\.yaml:3/);
  assertMatch(explained.stdout, /\n {4}greeting\.word: "hello" -> "bye"/);
  const changed = await p.events("repro");
  assertEquals(TempProject.byStatus(changed.events), { ran: ["greet"] });
  assertEquals((await p.read("greeting.txt")).trim(), "bye, world");
  await p.edit("params.yaml", "word: bye", "word: hello");
  const back = await p.events("repro");
  assertEquals(TempProject.byStatus(back.events), { restored: ["greet"] });
  assertEquals((await p.read("greeting.txt")).trim(), "hello, world");
  // A key the stage interpolates without naming it changes the command, so it runs
  // (as in DVC); one it neither names nor interpolates changes nothing.
  await p.edit("params.yaml", "name: world", "name: there");
  const renamed = await p.events("repro");
  assertEquals(TempProject.byStatus(renamed.events), { ran: ["greet"] });
  assertEquals(renamed.events.find((e) => e.stage === "greet")?.reason, "code");
  await p.write("params.yaml", (await p.read("params.yaml")) + "other: 1\n");
  assertEquals(TempProject.byStatus((await p.events("repro")).events), { skipped: ["greet"] });
});

test("persist keeps an out across runs; always_changed runs every time; frozen never runs", async () => {
  await using p = await project(
    `stages:
  append:
    cmd: echo run >> log.txt
    always_changed: true
    outs:
      - log.txt:
          persist: true
  frozen:
    cmd: exit 1
    frozen: true
    outs: [given.txt]
`,
    { "given.txt": "made by hand\n" },
  );
  const first = await p.events("repro");
  assertEquals(first.result.code, 0, first.result.stderr);
  assertEquals(TempProject.byStatus(first.events), { ran: ["append"], restored: ["frozen"] });
  const second = await p.events("repro");
  assertEquals(TempProject.byStatus(second.events), { ran: ["append"], skipped: ["frozen"] });
  assertEquals(await p.read("log.txt"), "run\nrun\n");
  await Deno.remove(p.path("given.txt"));
  const restored = await p.events("repro");
  assertEquals(TempProject.byStatus(restored.events).restored, ["frozen"]);
  assertEquals(await p.read("given.txt"), "made by hand\n");
});

test("an out written without a trailing slash may be a directory", async () => {
  await using p = await project(`stages:
  split:
    cmd: mkdir -p parts && echo a > parts/a && echo b > parts/b
    outs: [parts]
  join:
    cmd: cat parts/a parts/b > joined.txt
    deps: [parts]
    outs: [joined.txt]
`);
  const first = await p.events("repro");
  assertEquals(TempProject.byStatus(first.events), { ran: ["join", "split"] });
  assertEquals(await p.read("joined.txt"), "a\nb\n");
  assertEquals(TempProject.byStatus((await p.events("repro")).events), {
    skipped: ["join", "split"],
  });
  await Deno.remove(p.path("parts"), { recursive: true });
  const restored = await p.events("repro");
  assertEquals(TempProject.byStatus(restored.events), { restored: ["split"], skipped: ["join"] });
  assertEquals(await p.read("parts/b"), "b\n");
});

test("a command stage's plots are shown by pivot plots", async () => {
  await using p = await project(`stages:
  curve:
    cmd: printf 'step,loss\\n1,0.9\\n2,0.5\\n' > loss.csv
    plots:
      - loss.csv:
          x: step
          y: loss
          template: simple
`);
  assertEquals((await p.pivot("repro")).code, 0);
  const shown = await p.pivot("plots", "show", "--json");
  assertEquals(shown.code, 0, shown.stderr);
  assertMatch(shown.stdout, /loss\.csv/);
  assertMatch(shown.stdout, /"loss"/);
});

test("watch mode re-runs a command stage when its dep (the script) changes", async () => {
  await using p = await project(
    `stages:
  build:
    cmd: sh build.sh > built.txt
    deps: [build.sh]
    outs: [built.txt]
`,
    { "build.sh": "echo v1\n" },
  );
  await using w = WatchProcess.start(p.root);
  assertEquals(await w.ranIn(1), ["build"]);
  await p.write("build.sh", "echo v2\n");
  assertEquals(await w.ranIn(2), ["build"]);
  assertEquals((await p.read("built.txt")).trim(), "v2");
});

test("params.yaml of a command-stage project holds DVC's groups of values, not stage names", async () => {
  await using p = await project(
    `stages:
  greet:
    cmd: echo "\${greeting.word}" > greeting.txt
    params: [greeting.word]
    outs: [greeting.txt]
`,
    { "params.yaml": "greeting:\n  word: hello\nunused:\n  x: 1\n" },
  );
  const result = await p.pivot("repro");
  assertEquals(result.code, 0, result.stderr);
  assertEquals((await p.read("greeting.txt")).trim(), "hello");
});
