import { basename, dirname } from "node:path";
import {
  cleanLeftovers,
  closeTempJournal,
  stagingRootPath,
  tempPath,
  useTempJournal,
  writeTextAtomicallyAsync,
} from "../../lib/storage/temp_files.ts";
import { selfToken } from "../../lib/process_identity.ts";
import { assert, assertEquals, assertMatch } from "../_assert.ts";
import { listTree, tempDir } from "../_project.ts";
import { test } from "../_harness.ts";

/** A token whose process cannot run: a pid above the kernel's maximum. */
function deadToken(): string {
  const pidMax = Number(Deno.readTextFileSync("/proc/sys/kernel/pid_max"));
  return `${pidMax + 1}-12345`;
}

test("a temporary name is beside its target and carries this process's token", () => {
  const temp = tempPath("/p/out/model.json");
  assertEquals(dirname(temp), "/p/out");
  assertMatch(basename(temp), new RegExp(`^model\\.json\\.${selfToken()}\\.\\d+\\.tmp$`));
  assert(tempPath("/p/out/model.json") !== temp, "each name is new");
});

test("a journal notes each directory once, before its first temporary file, and is removed at the end", async () => {
  await using dir = await tempDir();
  await Deno.mkdir(dir.path(".pivot/tmp"), { recursive: true });
  useTempJournal(dir.path(".pivot/tmp"));
  tempPath(dir.path("a/x.json"));
  tempPath(dir.path("a/y.json"));
  tempPath(dir.path("b/z.json"));
  const journal = dir.path(".pivot/tmp", `journal-${selfToken()}`);
  assertEquals(await Deno.readTextFile(journal), `${dir.path("a")}\n${dir.path("b")}\n`);
  closeTempJournal();
  assertEquals(await listTree(dir.path(".pivot/tmp")), []);
});

test("cleaning removes what an ended process left: its temporary files, journal and staging folders", async () => {
  await using dir = await tempDir();
  const token = deadToken();
  await dir.write(`.pivot/tmp/journal-${token}`, `${dir.path("out")}\n${dir.path("gone")}\n`);
  await dir.write(`out/model.json.${token}.3.tmp`, "partial");
  await dir.write(`out/big.${token}.4.tmp/part.txt`, "partial directory");
  await dir.write("out/model.json", "kept");
  await dir.write(`out/model.json.${selfToken()}.1.tmp`, "this process's: kept");
  await dir.write("out/notes.tmp", "not ours: kept");
  await dir.write(`.pivot/tmp/run-${token}.2.w0/o1/a.txt`, "staged");
  await dir.write(`.pivot/tmp/run-${token}.2.w0/o1~gen/d000/f.txt`, "staged below the top");
  await dir.write(`.pivot/tmp/run-${token}.2.w0/t1/scratch`, "scratch");
  await dir.write(`.pivot/tmp/run-${token}.2.d0/in.txt`, "a dep's link");
  // As Pivot staged until the fifteenth session of issue 16.
  await dir.write(`.pivot/tmp/run-${token}.1/w0-3f2a9c1e/runs/r1/outs/a.txt`, "staged");
  const cleaned = cleanLeftovers(dir.path(".pivot/tmp"));
  assertEquals(cleaned, { files: 2, folders: 3 });
  assertEquals(await listTree(dir.path("out")), [
    "model.json",
    `model.json.${selfToken()}.1.tmp`,
    "notes.tmp",
  ]);
  assertEquals(await listTree(dir.path(".pivot/tmp")), []);
});

test("cleaning leaves a running process's journal and staging folder alone", async () => {
  await using dir = await tempDir();
  const mine = stagingRootPath(dir.path(".pivot/tmp"), 1).slice(dir.root.length + 1);
  await dir.write(`${mine}.w0/t1/x`, "in use");
  await dir.write(`${mine}.d0/in.txt`, "in use");
  await dir.write(`.pivot/tmp/journal-${selfToken()}`, `${dir.path("out")}\n`);
  await dir.write(`out/model.json.${selfToken()}.9.tmp`, "being written");
  assertEquals(cleanLeftovers(dir.path(".pivot/tmp")), { files: 0, folders: 0 });
  assert(await dir.exists(`out/model.json.${selfToken()}.9.tmp`));
  assert(await dir.exists(`${mine}.w0/t1/x`) && await dir.exists(`${mine}.d0/in.txt`));
});

test("staging folders named as before tokens (run-<pid>-<time>) are cleaned by pid", async () => {
  await using dir = await tempDir();
  const pidMax = Number(Deno.readTextFileSync("/proc/sys/kernel/pid_max"));
  await dir.write(`.pivot/tmp/run-${pidMax + 1}-mbq3x1kz/w0/outs/a`, "old");
  await dir.write(`.pivot/tmp/run-${Deno.pid}-mbq3x1kz/w0/outs/a`, "old, pid alive");
  await dir.write(".pivot/tmp/locks/train.lock", "{}");
  assertEquals(cleanLeftovers(dir.path(".pivot/tmp")).folders, 1);
  assertEquals((await listTree(dir.path(".pivot/tmp"))).filter((n) => !n.includes("/")), [
    "locks",
    `run-${Deno.pid}-mbq3x1kz`,
  ]);
});

test("cleaning a project without .pivot/tmp does nothing", () => {
  assertEquals(cleanLeftovers("/nonexistent/.pivot/tmp"), { files: 0, folders: 0 });
});

test("an atomic write on the blocking pool replaces the file whole, and a failed one leaves no temporary file", async () => {
  await using dir = await tempDir();
  const path = dir.path("out/model.json");
  await Deno.mkdir(dir.path("out"));
  await Deno.writeTextFile(path, "old");
  await writeTextAtomicallyAsync(path, "new");
  assertEquals(await Deno.readTextFile(path), "new");
  assertEquals([...Deno.readDirSync(dir.path("out"))].map((e) => e.name), ["model.json"]);
  // A directory in the way: the rename fails, the error is thrown and the temporary file removed.
  const blocked = dir.path("out/sub");
  await Deno.mkdir(`${blocked}/inner`, { recursive: true });
  let failed = false;
  await writeTextAtomicallyAsync(blocked, "text").catch(() => failed = true);
  assert(failed, "writing over a non-empty directory fails");
  assertEquals([...Deno.readDirSync(dir.path("out"))].map((e) => e.name).sort(), [
    "model.json",
    "sub",
  ]);
});
