import { ObjectWriter, UNANSWERED_MAX } from "../../lib/storage/object_writer.ts";
import { type FileStamp, stampOf } from "../../lib/storage/state.ts";
import { listTree, tempDir } from "../_project.ts";
import { assert, assertEquals } from "../_assert.ts";
import { test } from "../_harness.ts";

const encode = (text: string) => new TextEncoder().encode(text);

/**
 * {@link UNANSWERED_MAX} objects `files/o<i>` under `dir` given to the
 * thread without a turn of the event loop, as a store reading files gives
 * them: the thread makes them, but none of its answers is taken yet. Where
 * the thread is behind, it is waited for without a turn too (at most 10 s).
 * Their answers, in order.
 */
function giveWithoutTurn(
  writer: ObjectWriter,
  dir: { path(relative: string): string },
): Promise<FileStamp | undefined>[] {
  const answers = [];
  for (let i = 0; i < UNANSWERED_MAX; i++) {
    const deadline = performance.now() + 10_000;
    while (!writer.ready) {
      if (performance.now() > deadline) throw new Error("the writer thread stayed behind for 10 s");
    }
    const object = dir.path(`files/o${i}`);
    answers.push(writer.write(`${object}.tmp`, object, encode(`object ${i}`)));
  }
  return answers;
}

test("ObjectWriter makes each object read-only under its name, answering its true stamp", async () => {
  await using dir = await tempDir();
  await Deno.mkdir(dir.path("files"));
  using writer = ObjectWriter.start();
  assert(writer !== undefined);
  // More than one batch and more than the thread may fall behind by: some
  // are posted while it works, some refused (`ready` false) meanwhile.
  const made = [];
  let refused = 0;
  for (let i = 0; i < 600; i++) {
    const object = dir.path(`files/o${i}`);
    if (!writer.ready) {
      refused++;
      continue;
    }
    made.push({ object, i, stamp: writer.write(`${object}.tmp`, object, encode(`object ${i}`)) });
  }
  assertEquals(made.length + refused, 600);
  for (const { object, i, stamp } of made) {
    const answered = await stamp;
    const info = await Deno.stat(object);
    assertEquals(answered, stampOf(info));
    assertEquals(info.mode! & 0o777, 0o444);
    assertEquals(await Deno.readTextFile(object), `object ${i}`);
  }
  assertEquals((await listTree(dir.path("files"))).filter((n) => n.endsWith(".tmp")), []);
});

test("ObjectWriter answers undefined for an object it cannot make, leaving nothing of it", async () => {
  await using dir = await tempDir();
  using writer = ObjectWriter.start();
  assert(writer !== undefined);
  // No such directory: the create fails.
  const missing = dir.path("absent/o1");
  assertEquals(await writer.write(`${missing}.tmp`, missing, encode("x")), undefined);
  // Something already at the temporary name: not the thread's to remove.
  // Where the filesystem has unnamed files (O_TMPFILE: ext4, tmpfs) the
  // temporary name is not used and the object is made; else it is not.
  await Deno.writeTextFile(dir.path("taken.tmp"), "someone else's");
  const taken = await writer.write(dir.path("taken.tmp"), dir.path("o2"), encode("y"));
  assertEquals(await Deno.readTextFile(dir.path("taken.tmp")), "someone else's");
  if (taken === undefined) assertEquals(await listTree(dir.root), ["taken.tmp"]);
  else {
    assertEquals(taken, stampOf(await Deno.stat(dir.path("o2"))));
    assertEquals(await Deno.readTextFile(dir.path("o2")), "y");
    assertEquals(await listTree(dir.root), ["o2", "taken.tmp"]);
  }
  // The thread goes on with the next.
  const info = await writer.write(dir.path("o3.tmp"), dir.path("o3"), encode("z"));
  assertEquals(info, stampOf(await Deno.stat(dir.path("o3"))));
});

test("ObjectWriter once closed takes nothing and answers undefined", async () => {
  await using dir = await tempDir();
  const writer = ObjectWriter.start();
  assert(writer !== undefined);
  writer.close();
  assertEquals(writer.ready, false);
  assertEquals(await writer.write(dir.path("o.tmp"), dir.path("o"), encode("x")), undefined);
  assertEquals(await listTree(dir.root), []);
});

test("ObjectWriter.catchUp waits until this thread has taken the thread's answers", async () => {
  await using dir = await tempDir();
  await Deno.mkdir(dir.path("files"));
  using writer = ObjectWriter.start();
  assert(writer !== undefined);
  let answered = 0;
  const stamps = giveWithoutTurn(writer, dir).map((stamp) => stamp.then((s) => (answered++, s)));
  assertEquals(answered, 0);
  await writer.catchUp();
  assert(
    answered >= UNANSWERED_MAX / 2,
    `${answered} of ${UNANSWERED_MAX} answered when caught up`,
  );
  for (const [i, stamp] of stamps.entries()) {
    assertEquals(await stamp, stampOf(await Deno.stat(dir.path(`files/o${i}`))));
  }
  // Few unanswered: no wait (it settles before a timer of 0 ms fires).
  const first = await Promise.race([
    writer.catchUp().then(() => "caught up"),
    new Promise((resolve) => setTimeout(() => resolve("timer"), 0)),
  ]);
  assertEquals(first, "caught up");
});

test("ObjectWriter.catchUp does not wait for a closed thread", async () => {
  await using dir = await tempDir();
  await Deno.mkdir(dir.path("files"));
  const writer = ObjectWriter.start();
  assert(writer !== undefined);
  const stamps = giveWithoutTurn(writer, dir);
  const caughtUp = writer.catchUp();
  writer.close();
  await caughtUp;
  // Each is answered: a stamp, or undefined for one the thread had not answered.
  for (const stamp of stamps) {
    const answer = await stamp;
    assert(answer === undefined || answer.size > 0);
  }
});
