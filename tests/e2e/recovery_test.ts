/**
 * Nothing hangs and nothing is left behind after a crash (issue 10, items
 * 9-12): a stale execution lock whose pid was reused, a damaged state
 * store, temporary files and staging folders of killed commands, and a
 * child `pivot` whose launcher was killed.
 */

import { DatabaseSync } from "node:sqlite";
import { listTree, spawnPivot, TempProject } from "../_project.ts";
import { assert, assertEquals, assertMatch, assertNotMatch } from "../_assert.ts";
import { test } from "../_harness.ts";
import { killAll, processTree, Running, running, waitFor } from "./_kill.ts";

const TRAIN = `import { dep, loaders, out, Pipeline } from "jsr:@pivot/core";
export const pipeline = new Pipeline("p");
pipeline.stage({
  name: "train",
  deps: { data: dep("data.json", loaders.json<number[]>()) },
  outs: { model: out("model.json", loaders.json()) },
  run: ({ data }) => ({ model: { sum: data.reduce((a, b) => a + b, 0) } }),
});
`;

/** A stage that says it started, then waits (a minute at most) unless cancelled. */
const SLOW = `import { loaders, out, Pipeline } from "jsr:@pivot/core";
export const pipeline = new Pipeline("p");
pipeline.stage({
  name: "slow",
  outs: { o: out("slow.txt", loaders.text()) },
  run: async (_deps, ctx) => {
    console.log("started");
    await new Promise((resolve, reject) => {
      const timer = setTimeout(resolve, 60_000);
      ctx.signal.addEventListener("abort", () => {
        clearTimeout(timer);
        reject(ctx.signal.reason);
      });
    });
    return { o: "done" };
  },
});
`;

/** The execution lock file of the stage `train` of the root pipeline. */
const TRAIN_LOCK = ".pivot/tmp/locks/.pivot%2Fstages%2Ftrain.lock.lock";

function bootId(): string {
  return Deno.readTextFileSync("/proc/sys/kernel/random/boot_id").trim();
}

test("a lock whose pid now names another process is stale: repro takes it over and runs", async () => {
  await using p = await TempProject.create({ "pipeline.ts": TRAIN, "data.json": "[1, 2, 3]" });
  // As after a container restart: the pid recorded is alive (this test
  // runner), but it is another process than the one that took the lock.
  await p.write(
    TRAIN_LOCK,
    JSON.stringify({
      pid: Deno.pid,
      host: Deno.hostname(),
      since: Date.now() - 3_600_000,
      start: 1,
      boot: bootId(),
    }),
  );
  const run = new Running(spawnPivot(p.root, ["repro"]));
  await waitFor(async () => !running(run.pid) || await p.exists("model.json"), "repro to finish");
  const status = await run.status;
  assertEquals(status.code, 0, run.stderr);
  assertMatch(run.stdout, /ran\s+train/);
  assertEquals(JSON.parse(await p.read("model.json")), { sum: 6 });
  assert(!(await p.exists(TRAIN_LOCK)), "the lock is released");
});

test("a lock from before a reboot is stale even if its pid is alive", async () => {
  await using p = await TempProject.create({ "pipeline.ts": TRAIN, "data.json": "[1]" });
  await p.write(
    TRAIN_LOCK,
    JSON.stringify({ pid: 1, host: Deno.hostname(), since: 0, start: 0, boot: "another-boot" }),
  );
  const run = new Running(spawnPivot(p.root, ["repro"]));
  await waitFor(() => !running(run.pid), "repro to finish");
  assertEquals((await run.status).code, 0, run.stderr);
  assertMatch(run.stdout, /ran\s+train/);
});

test("waiting for a lock names the lock file, its holder and how to clear it; Ctrl-C says what it waited for", async () => {
  await using p = await TempProject.create({ "pipeline.ts": TRAIN, "data.json": "[1]" });
  await p.write(
    TRAIN_LOCK,
    JSON.stringify({ pid: 4242, host: "build-7", since: Date.parse("2026-01-02T03:04:05Z") }),
  );
  const run = new Running(spawnPivot(p.root, ["repro"]));
  await run.until((r) => /waiting/.test(r.stderr), "the waiting message");
  assertMatch(run.stderr, /stage 'train' is locked by another pivot process/);
  assertMatch(run.stderr, /pivot process 4242 on host 'build-7' since 2026-01-02T03:04:05/);
  assertMatch(run.stderr, /\.pivot\/tmp\/locks\/\.pivot%2Fstages%2Ftrain\.lock\.lock/);
  assertMatch(run.stderr, /if no pivot process is running on 'build-7', remove that file/);
  Deno.kill(run.pid, "SIGINT");
  const status = await run.status;
  assertEquals(status.code, 130);
  assertMatch(
    run.stdout,
    /cancelled\s+train\s+cancelled while waiting for its execution lock, held by/,
  );
});

test("a lock path that cannot be read fails the stage with one line naming it, instead of waiting forever", async () => {
  await using p = await TempProject.create({ "pipeline.ts": TRAIN, "data.json": "[1]" });
  await Deno.mkdir(p.path(TRAIN_LOCK), { recursive: true });
  const result = await p.pivot("repro");
  assertEquals(result.code, 1, result.stderr);
  assertMatch(
    result.stderr,
    /FAILED\s+train: stage 'train': cannot read the lock file \.pivot\/tmp\/locks\/\.pivot%2Fstages%2Ftrain\.lock\.lock: .*remove it if no pivot process is running/,
  );
  assertNotMatch(result.stderr + result.stdout, /cancelled|bug in pivot/);
});

test("a damaged state store is set aside with one line and rebuilt", async () => {
  await using p = await TempProject.create({ "pipeline.ts": TRAIN, "data.json": "[1, 2]" });
  assertEquals((await p.pivot("repro")).code, 0);
  const garbage = new Uint8Array(4096).map((_, i) => (i * 7919) % 251);
  await Deno.writeFile(p.path(".pivot/state/state.db"), garbage);

  const status = await p.pivot("status");
  assertEquals(status.code, 0, status.stderr);
  assertMatch(status.stdout, /train\s+up to date/);
  const lines = status.stderr.trim().split("\n");
  assertEquals(lines.length, 1, status.stderr);
  assertMatch(
    lines[0],
    /^warning: the state store .*\.pivot\/state\/state\.db was damaged \(file is not a database\): moved it to .*state\.db\.corrupt and started a new one/,
  );
  assert(await p.exists(".pivot/state/state.db.corrupt"));

  const again = await p.pivot("repro");
  assertEquals([again.code, again.stderr], [0, ""]);
  assertMatch(again.stdout, /up to date/);
});

test("a truncated state store is set aside too", async () => {
  await using p = await TempProject.create({ "pipeline.ts": TRAIN, "data.json": "[1, 2]" });
  assertEquals((await p.pivot("repro")).code, 0);
  const db = await Deno.readFile(p.path(".pivot/state/state.db"));
  await Deno.writeFile(p.path(".pivot/state/state.db"), db.slice(0, Math.min(9000, db.length - 1)));
  const status = await p.pivot("status");
  assertEquals(status.code, 0, status.stderr);
  assertMatch(status.stderr, /^warning: the state store .* was damaged/);
});

test("a stored value of the wrong type (damage SQLite's checks let through) is set aside too", async () => {
  await using p = await TempProject.create({ "pipeline.ts": TRAIN, "data.json": "[1, 2]" });
  assertEquals((await p.pivot("repro")).code, 0);
  // Every value's bytes become text, as damage inside a record can leave
  // them: the file is a valid database, and KV's read fails on the type.
  const db = new DatabaseSync(p.path(".pivot/state/state.db"));
  db.exec("UPDATE kv SET v = 'damaged'");
  db.close();
  const status = await p.pivot("status");
  assertEquals(status.code, 0, status.stderr);
  assertMatch(status.stdout, /train\s+up to date/);
  assertMatch(
    status.stderr,
    /^warning: the state store .*state\.db (was|is) damaged \(Invalid column type/,
  );
  assertNotMatch(status.stderr, /bug in pivot/);
  const again = await p.pivot("status");
  assertEquals([again.code, again.stderr], [0, ""]);
});

const WIDE = `import { loaders, out, Pipeline } from "jsr:@pivot/core";
export const pipeline = new Pipeline("p");
for (let i = 0; i < 60; i++) {
  pipeline.stage({
    name: \`s\${i}\`,
    outs: { o: out(\`out/s\${i}.json\`, loaders.json()) },
    run: () => ({ o: { i, padding: "x".repeat(2000) } }),
  });
}
`;

test("damage in the middle of the state store, found by whichever read meets it, is set aside and the command completes", async () => {
  await using p = await TempProject.create({ "pipeline.ts": WIDE });
  assertEquals((await p.pivot("repro")).code, 0);
  const path = p.path(".pivot/state/state.db");
  const original = await Deno.readFile(path);
  assert(
    original.length > 64 * 1024,
    `a state store of ${original.length} bytes has a middle to damage`,
  );
  // One page past the first ones (SQLite's header and the tables' roots) is
  // overwritten: the middle one, or the nearest to it that the command's reads
  // meet (some pages hold nothing a status reads, and which ones varies with
  // where SQLite put the records: docs/testing.md).
  const middle = Math.floor(original.length / 2 / 4096);
  const pages = [...Array(Math.floor(original.length / 4096)).keys()]
    .filter((page) => page >= 2)
    .sort((a, b) => Math.abs(a - middle) - Math.abs(b - middle));
  let met = false;
  for (const page of pages) {
    await Deno.writeFile(path, original.slice().fill(0xff, page * 4096, (page + 1) * 4096));
    const status = await p.pivot("status");
    // SQLite's damage can also make Deno's KV panic (a bug of Deno's, exit 1): not Pivot's to catch.
    if (/Deno has panicked/.test(status.stderr)) continue;
    assertEquals(status.code, 0, status.stderr);
    assertEquals(status.stdout.match(/up to date/g)?.length, 60, status.stdout);
    assertNotMatch(status.stderr, /bug in pivot/);
    if (status.stderr === "") continue; // a page that nothing a status does meets
    assertMatch(status.stderr, /^warning: the state store .*state\.db (was|is) damaged/);
    met = true;
    break;
  }
  assert(met, "some page near the middle is met by the command's reads");
  const again = await p.pivot("status");
  assertEquals([again.code, again.stderr], [0, ""]);
});

test(
  "damage met by a command's last writes sets the store aside without running the command twice",
  {
    timeLimit: 300_000,
  },
  async () => {
    // Every page of the store is damaged in turn: some are met by the reads of
    // the command's work (it runs again on a new store), others only by the
    // writes as the store closes, after the output (which must appear once).
    // The closing writes are made many, whatever the machine's load: every
    // out's modification time is moved to the past (its content unchanged),
    // so the status hashes each again and records 60 new stamps as it closes.
    // Those writes also update KV's index of expiry times, whose pages no
    // read of a command meets (docs/testing.md).
    await using p = await TempProject.create({ "pipeline.ts": WIDE });
    assertEquals((await p.pivot("repro")).code, 0);
    const past = new Date("2001-02-03T04:05:06Z");
    for (let i = 0; i < 60; i++) await Deno.utime(p.path(`out/s${i}.json`), past, past);
    const dir = p.path(".pivot/state");
    const original = await Deno.readFile(`${dir}/state.db`);
    let metOnClose = 0;
    for (let at = 2 * 4096; at + 4096 <= original.length; at += 4096) {
      await Deno.remove(dir, { recursive: true });
      await Deno.mkdir(dir);
      await Deno.writeFile(`${dir}/state.db`, original.slice().fill(0xff, at, at + 4096));
      const status = await p.pivot("status");
      // SQLite's damage can also make Deno's KV panic (a bug of Deno's, exit 1): not Pivot's to catch.
      if (/Deno has panicked/.test(status.stderr)) continue;
      assertEquals(status.code, 0, `page at ${at}: ${status.stderr}`);
      assertEquals(
        status.stdout.match(/up to date/g)?.length,
        60,
        `page at ${at}: ${status.stdout}`,
      );
      assertNotMatch(status.stderr, /bug in pivot/);
      if (/the next command starts a new one/.test(status.stderr)) metOnClose++;
    }
    assert(metOnClose > 0, "some page is met only by the closing writes");
  },
);

const MANY = `import { loaders, out, Pipeline } from "jsr:@pivot/core";
export const pipeline = new Pipeline("p");
pipeline.stage({
  name: "many",
  outs: { files: out("many/", loaders.pathOnly()) },
  run: async (_deps, ctx) => {
    // 16 KiB each: a copy checkout of small files is quick, and the test
    // must find it under way to kill it.
    const pad = "x".repeat(16 * 1024);
    for (let i = 0; i < 1500; i++) {
      await Deno.writeTextFile(\`\${ctx.outs.files}/f\${i}.txt\`, \`file \${i}\${pad}\`);
    }
    return {};
  },
});
`;

test("the partial copy of a killed 'checkout --mode copy' is removed by the next command", {
  timeLimit: 300_000,
}, async () => {
  await using p = await TempProject.create({ "pipeline.ts": MANY });
  assertEquals((await p.pivot("repro")).code, 0);
  await Deno.remove(p.path("many"), { recursive: true });

  const leftovers = async () =>
    (await listTree(p.root)).filter((name) => /^[^/]*\.tmp$/.test(name));
  const run = new Running(spawnPivot(p.root, ["checkout", "--mode", "copy"]));
  // Kill it while it builds the directory beside its place.
  await waitFor(async () => (await leftovers()).length > 0, "the checkout's temporary copy");
  killAll(processTree(run.pid));
  await run.status;
  assertEquals((await leftovers()).length, 1, "the killed checkout left its partial copy");

  const status = await p.pivot("status");
  assertEquals(status.code, 0, status.stderr);
  assertEquals(await leftovers(), [], "the next command removed it");
  assertEquals((await listTree(p.path(".pivot/tmp"))).filter((n) => n.startsWith("journal-")), []);
  const checkout = await p.pivot("checkout");
  assertEquals(checkout.code, 0, checkout.stderr);
  assertEquals((await listTree(p.path("many"))).length, 1500);
});

test("the staging folder of a killed repro is removed by the next command", async () => {
  await using p = await TempProject.create({ "pipeline.ts": SLOW });
  const run = new Running(spawnPivot(p.root, ["repro"]));
  await run.until((r) => /\[slow\] started/.test(r.stdout), "the stage to start");
  const staging = async () =>
    (await listTree(p.path(".pivot/tmp"))).filter((name) => /^run-[^/]*$/.test(name));
  // One worker: its writable folder and its dep links' folder.
  const folders = await staging();
  assertEquals(folders.map((name) => name.replace(/^run-[\d-]+\.\d+\./, "")), ["d0", "w0"]);
  killAll(processTree(run.pid));
  await run.status;
  assertEquals(await staging(), folders, "the killed run left its staging folders");

  const status = await p.pivot("status");
  assertEquals(status.code, 0, status.stderr);
  assertEquals(await staging(), []);
});

test("cleaning never touches the staging folder of a running repro", async () => {
  await using p = await TempProject.create({ "pipeline.ts": SLOW });
  const run = new Running(spawnPivot(p.root, ["repro"]));
  await run.until((r) => /\[slow\] started/.test(r.stdout), "the stage to start");
  const before = (await listTree(p.path(".pivot/tmp"))).filter((n) => /^run-[^/]*$/.test(n));
  assertEquals((await p.pivot("list")).code, 0);
  const after = (await listTree(p.path(".pivot/tmp"))).filter((n) => /^run-[^/]*$/.test(n));
  assertEquals(after, before);
  Deno.kill(run.pid, "SIGINT");
  assertEquals((await run.status).code, 130);
});

test("killing only the launcher stops its child: the run is cancelled and nothing is recorded", async () => {
  await using p = await TempProject.create({ "pipeline.ts": SLOW });
  const run = new Running(spawnPivot(p.root, ["repro"]));
  await run.until((r) => /\[slow\] started/.test(r.stdout), "the stage to start");
  const child = processTree(run.pid)[1];
  assert(child !== undefined && running(child), "pivot runs its pipeline in a child process");
  Deno.kill(run.pid, "SIGKILL"); // SIGKILL cannot be passed on to the child
  await waitFor(() => !running(child), "the child to stop", 30_000);
  await run.status;
  assert(!(await p.exists(".pivot/stages/slow.lock")), "a cancelled stage writes no lock");
  assert(!(await p.exists("slow.txt")));
  const status = await p.pivot("status");
  assertMatch(status.stdout, /slow\s+will run/);
});
