import { ObjectWriter } from "../../lib/storage/object_writer.ts";
import { stampOf } from "../../lib/storage/state.ts";
import { listTree, tempDir } from "../_project.ts";
import { assert, assertEquals } from "../_assert.ts";
import { test } from "../_harness.ts";

const encode = (text: string) => new TextEncoder().encode(text);

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
