import assert from "node:assert/strict";
import { acquireExecLock } from "../../lib/storage/exec_lock.ts";
import { listTree, tempDir } from "../_helpers.ts";

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

Deno.test("acquire writes a lock file with this process's pid and host; release removes it", async () => {
  await using dir = await tempDir();
  const lock = await acquireExecLock(dir.join("locks"), "train");
  const owner = JSON.parse(await Deno.readTextFile(dir.join("locks/train.lock")));
  assert.equal(owner.pid, Deno.pid);
  assert.equal(owner.host, Deno.hostname());
  await lock.release();
  assert.deepEqual(await listTree(dir.join("locks")), []);
  await lock.release(); // releasing twice is harmless
});

Deno.test("a second acquire waits until the first is released", async () => {
  await using dir = await tempDir();
  const first = await acquireExecLock(dir.path, "train");
  const waits: string[] = [];
  const second = acquireExecLock(dir.path, "train", { onWait: (owner) => waits.push(owner) });
  assert.equal(await settlesWithin(second, 150), false);
  assert.equal(waits.length, 1);
  assert.equal(JSON.parse(waits[0]).pid, Deno.pid);
  await first.release();
  assert.equal(await settlesWithin(second, 2000), true);
  await (await second).release();
  assert.equal(waits.length, 1, "onWait is called once");
});

Deno.test("locks of different names do not block each other", async () => {
  await using dir = await tempDir();
  const a = await acquireExecLock(dir.path, "train@small");
  const b = await acquireExecLock(dir.path, "train@large");
  await a.release();
  await b.release();
});

Deno.test("the lock file name encodes '@' and '/' so every name is one file in the dir", async () => {
  await using dir = await tempDir();
  const a = await acquireExecLock(dir.path, "train@small");
  const b = await acquireExecLock(dir.path, "sub/.pivot/stages/train@small.lock");
  assert.deepEqual(await listTree(dir.path), [
    "sub%2F.pivot%2Fstages%2Ftrain%40small.lock.lock",
    "train%40small.lock",
  ]);
  await a.release();
  await b.release();
});

Deno.test("a stale lock whose pid is dead on this host is taken over", async () => {
  await using dir = await tempDir();
  const path = dir.join("train.lock");
  await writeForeignLock(path, { pid: 999999, host: Deno.hostname(), since: 0 });
  const waits: string[] = [];
  const lock = await acquireExecLock(dir.path, "train", { onWait: (o) => waits.push(o) });
  assert.deepEqual(waits, []);
  assert.equal(JSON.parse(await Deno.readTextFile(path)).pid, Deno.pid);
  await lock.release();
  assert.deepEqual(await listTree(dir.path), []);
});

Deno.test("a lock held by a live process (pid 1) is waited for", async () => {
  await using dir = await tempDir();
  await writeForeignLock(dir.join("train.lock"), { pid: 1, host: Deno.hostname(), since: 0 });
  const controller = new AbortController();
  const waiting = acquireExecLock(dir.path, "train", { signal: controller.signal });
  assert.equal(await settlesWithin(waiting, 150), false);
  controller.abort();
  await assert.rejects(waiting);
});

Deno.test("a lock from another host is never considered stale", async () => {
  await using dir = await tempDir();
  await writeForeignLock(dir.join("train.lock"), { pid: 999999, host: "elsewhere", since: 0 });
  const controller = new AbortController();
  const waiting = acquireExecLock(dir.path, "train", { signal: controller.signal });
  assert.equal(await settlesWithin(waiting, 150), false);
  controller.abort();
  await assert.rejects(waiting);
  assert.equal(JSON.parse(await Deno.readTextFile(dir.join("train.lock"))).host, "elsewhere");
});

Deno.test("aborting the signal rejects a waiting acquire promptly", async () => {
  await using dir = await tempDir();
  const held = await acquireExecLock(dir.path, "train");
  const controller = new AbortController();
  const waiting = acquireExecLock(dir.path, "train", { signal: controller.signal });
  await sleep(50);
  const start = performance.now();
  controller.abort(new Error("cancelled by test"));
  await assert.rejects(waiting, /cancelled by test/);
  assert.ok(performance.now() - start < 1000);
  await held.release();
});

Deno.test("an already-aborted signal rejects without taking the lock", async () => {
  await using dir = await tempDir();
  await assert.rejects(acquireExecLock(dir.path, "train", { signal: AbortSignal.abort() }));
  assert.deepEqual(await listTree(dir.path), []);
});

Deno.test("an unparsable lock file is stale only once it is older than a few seconds", async () => {
  await using dir = await tempDir();
  const path = dir.join("train.lock");
  await Deno.writeTextFile(path, "{half-writ");
  const controller = new AbortController();
  const waiting = acquireExecLock(dir.path, "train", { signal: controller.signal });
  assert.equal(await settlesWithin(waiting, 150), false);
  controller.abort();
  await assert.rejects(waiting);
  const old = new Date(Date.now() - 60_000);
  await Deno.utime(path, old, old);
  const lock = await acquireExecLock(dir.path, "train");
  assert.equal(JSON.parse(await Deno.readTextFile(path)).pid, Deno.pid);
  await lock.release();
});

Deno.test("a lock held by a process that was killed is taken over", async () => {
  await using dir = await tempDir();
  const module = new URL("../../lib/storage/exec_lock.ts", import.meta.url).href;
  const code = `
    const { acquireExecLock } = await import(${JSON.stringify(module)});
    await acquireExecLock(${JSON.stringify(dir.path)}, "train");
    console.log("held");
    setInterval(() => {}, 1000);
  `;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["eval", code],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  assert.equal((await reader.read()).value?.trim(), "held");
  const controller = new AbortController();
  const blocked = acquireExecLock(dir.path, "train", { signal: controller.signal });
  assert.equal(await settlesWithin(blocked, 150), false);
  controller.abort();
  await assert.rejects(blocked);

  child.kill("SIGKILL");
  await child.status;
  await reader.cancel();
  const lock = await acquireExecLock(dir.path, "train");
  assert.equal(JSON.parse(await Deno.readTextFile(dir.join("train.lock"))).pid, Deno.pid);
  await lock.release();
});
