import { acquireExecLock, type LockHolder, tryExecLock } from "../../lib/storage/exec_lock.ts";
import { listTree, tempDir } from "../_project.ts";
import { assert, assertEquals, assertRejects } from "../_assert.ts";
import { spawn, test } from "../_harness.ts";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Whether `promise` has settled within `ms`. */
async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<false>((resolve) => timer = setTimeout(() => resolve(false), ms));
  try {
    return await Promise.race([promise.then(() => true, () => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function writeForeignLock(path: string, owner: Record<string, unknown>): Promise<void> {
  await Deno.mkdir(path.slice(0, path.lastIndexOf("/")), { recursive: true });
  await Deno.writeTextFile(path, JSON.stringify(owner));
}

test("acquire writes a lock file with this process's pid and host; release removes it", async () => {
  await using dir = await tempDir();
  const lock = await acquireExecLock(dir.path("locks"), "train");
  const owner = JSON.parse(await Deno.readTextFile(dir.path("locks/train.lock")));
  assertEquals(owner.pid, Deno.pid);
  assertEquals(owner.host, Deno.hostname());
  await lock.release();
  assertEquals(await listTree(dir.path("locks")), []);
  await lock.release(); // releasing twice is harmless
});

test("tryExecLock takes a free lock at once, and leaves a held or stale one to acquire", async () => {
  await using dir = await tempDir();
  const lock = tryExecLock(dir.path("locks"), "train");
  assert(lock !== undefined, "a free lock is taken");
  assertEquals(JSON.parse(await Deno.readTextFile(dir.path("locks/train.lock"))).pid, Deno.pid);
  assertEquals(tryExecLock(dir.path("locks"), "train"), undefined, "a held lock is not");
  await lock.release();
  assertEquals(await listTree(dir.path("locks")), []);
  // A lock whose owner is gone is not broken here (acquireExecLock does that).
  await writeForeignLock(dir.path("locks/train.lock"), {
    pid: 999999,
    host: Deno.hostname(),
    since: 0,
  });
  assertEquals(tryExecLock(dir.path("locks"), "train"), undefined);
  const taken = await acquireExecLock(dir.path("locks"), "train");
  await taken.release();
});

test("a second acquire waits until the first is released", async () => {
  await using dir = await tempDir();
  const first = await acquireExecLock(dir.root, "train");
  const waits: LockHolder[] = [];
  const second = acquireExecLock(dir.root, "train", { onWait: (holder) => waits.push(holder) });
  assertEquals(await settlesWithin(second, 150), false);
  assertEquals(waits.length, 1);
  assertEquals(waits[0].owner?.pid, Deno.pid);
  assertEquals(waits[0].path, dir.path("train.lock"));
  await first.release();
  assertEquals(await settlesWithin(second, 2000), true);
  await (await second).release();
  assertEquals(waits.length, 1, "onWait is called once");
});

test("locks of different names do not block each other", async () => {
  await using dir = await tempDir();
  const waits: LockHolder[] = [];
  const onWait = (holder: LockHolder) => waits.push(holder);
  const a = await acquireExecLock(dir.root, "train@small", { onWait });
  const b = await acquireExecLock(dir.root, "train@large", { onWait });
  assertEquals(waits, [], "neither acquire waited");
  // Both are held at once, each in its own file.
  assertEquals(await listTree(dir.root), ["train%40large.lock", "train%40small.lock"]);
  for (const file of ["train%40large.lock", "train%40small.lock"]) {
    assertEquals(JSON.parse(await dir.read(file)).pid, Deno.pid);
  }
  await a.release();
  assertEquals(await listTree(dir.root), ["train%40large.lock"], "releasing one keeps the other");
  await b.release();
  assertEquals(await listTree(dir.root), []);
});

test("the lock file name encodes '@' and '/' so every name is one file in the dir", async () => {
  await using dir = await tempDir();
  const a = await acquireExecLock(dir.root, "train@small");
  const b = await acquireExecLock(dir.root, "sub/.pivot/stages/train@small.lock");
  assertEquals(await listTree(dir.root), [
    "sub%2F.pivot%2Fstages%2Ftrain%40small.lock.lock",
    "train%40small.lock",
  ]);
  await a.release();
  await b.release();
});

test("a stale lock whose pid is dead on this host is taken over", async () => {
  await using dir = await tempDir();
  const path = dir.path("train.lock");
  await writeForeignLock(path, { pid: 999999, host: Deno.hostname(), since: 0 });
  const waits: LockHolder[] = [];
  const lock = await acquireExecLock(dir.root, "train", { onWait: (o) => waits.push(o) });
  assertEquals(waits, []);
  assertEquals(JSON.parse(await Deno.readTextFile(path)).pid, Deno.pid);
  await lock.release();
  assertEquals(await listTree(dir.root), []);
});

test("a lock held by a live process (pid 1) is waited for", async () => {
  await using dir = await tempDir();
  await writeForeignLock(dir.path("train.lock"), { pid: 1, host: Deno.hostname(), since: 0 });
  const controller = new AbortController();
  const waiting = acquireExecLock(dir.root, "train", { signal: controller.signal });
  assertEquals(await settlesWithin(waiting, 150), false);
  controller.abort();
  await assertRejects(() => waiting);
});

test("a lock from another host is never considered stale", async () => {
  await using dir = await tempDir();
  await writeForeignLock(dir.path("train.lock"), { pid: 999999, host: "elsewhere", since: 0 });
  const controller = new AbortController();
  const waiting = acquireExecLock(dir.root, "train", { signal: controller.signal });
  assertEquals(await settlesWithin(waiting, 150), false);
  controller.abort();
  await assertRejects(() => waiting);
  assertEquals(JSON.parse(await Deno.readTextFile(dir.path("train.lock"))).host, "elsewhere");
});

test("aborting the signal rejects a waiting acquire promptly", async () => {
  await using dir = await tempDir();
  const held = await acquireExecLock(dir.root, "train");
  const controller = new AbortController();
  const waiting = acquireExecLock(dir.root, "train", { signal: controller.signal });
  await sleep(50);
  const start = performance.now();
  controller.abort(new Error("cancelled by test"));
  await assertRejects(() => waiting, /cancelled by test/);
  assert(performance.now() - start < 1000);
  await held.release();
});

test("an already-aborted signal rejects without taking the lock", async () => {
  await using dir = await tempDir();
  await assertRejects(() => acquireExecLock(dir.root, "train", { signal: AbortSignal.abort() }));
  assertEquals(await listTree(dir.root), []);
});

test("an unparsable lock file is stale only once it is older than a few seconds", async () => {
  await using dir = await tempDir();
  const path = dir.path("train.lock");
  await Deno.writeTextFile(path, "{half-writ");
  const controller = new AbortController();
  const waiting = acquireExecLock(dir.root, "train", { signal: controller.signal });
  assertEquals(await settlesWithin(waiting, 150), false);
  controller.abort();
  await assertRejects(() => waiting);
  const old = new Date(Date.now() - 60_000);
  await Deno.utime(path, old, old);
  const lock = await acquireExecLock(dir.root, "train");
  assertEquals(JSON.parse(await Deno.readTextFile(path)).pid, Deno.pid);
  await lock.release();
});

test("a lock held by a process that was killed is taken over", async () => {
  await using dir = await tempDir();
  const module = new URL("../../lib/storage/exec_lock.ts", import.meta.url).href;
  const code = `
    const { acquireExecLock } = await import(${JSON.stringify(module)});
    await acquireExecLock(${JSON.stringify(dir.root)}, "train");
    console.log("held");
    setInterval(() => {}, 1000);
  `;
  const child = spawn(Deno.execPath(), {
    args: ["eval", code],
    stdout: "piped",
    stderr: "inherit",
  });
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  assertEquals((await reader.read()).value?.trim(), "held");
  const controller = new AbortController();
  const blocked = acquireExecLock(dir.root, "train", { signal: controller.signal });
  assertEquals(await settlesWithin(blocked, 150), false);
  controller.abort();
  await assertRejects(() => blocked);

  child.kill("SIGKILL");
  await child.status;
  await reader.cancel();
  const lock = await acquireExecLock(dir.root, "train");
  assertEquals(JSON.parse(await Deno.readTextFile(dir.path("train.lock"))).pid, Deno.pid);
  await lock.release();
});

test("a lock taken while another is held in the directory is a hard link to it, not a new file", async () => {
  await using dir = await tempDir();
  const a = await acquireExecLock(dir.root, "a");
  const b = await acquireExecLock(dir.root, "b");
  const [infoA, infoB] = [Deno.statSync(dir.path("a.lock")), Deno.statSync(dir.path("b.lock"))];
  assertEquals(infoB.ino, infoA.ino, "one inode");
  assertEquals(infoB.nlink, 2);
  assertEquals(JSON.parse(await dir.read("b.lock")).pid, Deno.pid);
  await a.release();
  assertEquals(await listTree(dir.root), ["b.lock"], "releasing one keeps the other");
  assertEquals(Deno.statSync(dir.path("b.lock")).nlink, 1);
  assertEquals(JSON.parse(await dir.read("b.lock")).pid, Deno.pid);
  // Linked to the one still held.
  const c = await acquireExecLock(dir.root, "c");
  assertEquals(Deno.statSync(dir.path("c.lock")).ino, infoB.ino);
  await b.release();
  await c.release();
  assertEquals(await listTree(dir.root), []);
  // None held: a new file.
  const d = await acquireExecLock(dir.root, "d");
  assertEquals(Deno.statSync(dir.path("d.lock")).nlink, 1);
  assertEquals(JSON.parse(await dir.read("d.lock")).pid, Deno.pid);
  await d.release();
});

test("a lock whose held sibling was removed behind its back is made as a file", async () => {
  await using dir = await tempDir();
  const a = await acquireExecLock(dir.root, "a");
  await Deno.remove(dir.path("a.lock"));
  const b = await acquireExecLock(dir.root, "b");
  assertEquals(Deno.statSync(dir.path("b.lock")).nlink, 1);
  assertEquals(JSON.parse(await dir.read("b.lock")).pid, Deno.pid);
  await a.release();
  await b.release();
  assertEquals(await listTree(dir.root), []);
});

test("another process waits for a lock linked to another, and takes it once released", async () => {
  await using dir = await tempDir();
  const a = await acquireExecLock(dir.root, "a");
  const b = await acquireExecLock(dir.root, "b");
  assertEquals(Deno.statSync(dir.path("b.lock")).nlink, 2);
  const module = new URL("../../lib/storage/exec_lock.ts", import.meta.url).href;
  const code = `
    const { acquireExecLock } = await import(${JSON.stringify(module)});
    const lock = await acquireExecLock(${JSON.stringify(dir.root)}, "b", {
      onWait: (holder) => console.log("waiting for " + holder.owner?.pid),
    });
    console.log("took");
    await lock.release();
  `;
  const child = spawn(Deno.execPath(), {
    args: ["eval", code],
    stdout: "piped",
    stderr: "inherit",
  });
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  assertEquals((await reader.read()).value?.trim(), `waiting for ${Deno.pid}`);
  await b.release();
  let rest = "";
  for (let read = await reader.read(); !read.done; read = await reader.read()) rest += read.value;
  assertEquals(rest.trim(), "took");
  assertEquals((await child.status).code, 0);
  await a.release();
  assertEquals(await listTree(dir.root), []);
});
