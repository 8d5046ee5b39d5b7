/**
 * Values of any size in the state store (`_blob.ts`): chunked under Deno KV's
 * 64 KiB value cap, committed under its 800 KB commit cap, read back whole.
 */

import { readBlob, writeBlob } from "../../lib/fingerprint/_blob.ts";
import { StateStore } from "../../lib/storage/state.ts";
import { assertEquals } from "../_assert.ts";
import { test } from "../_harness.ts";
import { tempDir } from "../_project.ts";

/** A JSON value of about `size` characters that does not compress into anything regular. */
function value(size: number, seed: number): { seed: number; items: string[] } {
  const items: string[] = [];
  let x = seed;
  for (let total = 0; total < size; total += 17) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    items.push(x.toString(36).padStart(7, "0") + "-" + (x % 977));
  }
  return { seed, items };
}

test("large and many blobs survive a flush and a reopen: chunks and commits fit KV's limits", async () => {
  await using temp = await tempDir();
  const dir = temp.root;
  const written = new Map<number, ReturnType<typeof value>>();
  let state = await StateStore.open(dir);
  // One value of 2 MB (34 chunks), and 40 just under the inline limit:
  // committed in one flush, they exceed 800 KB many times over.
  written.set(0, value(2_000_000, 1));
  for (let i = 1; i <= 40; i++) written.set(i, value(55_000, i + 1));
  for (const [i, v] of written) writeBlob(state, ["test", "blob", i], v);
  await state.close();
  state = await StateStore.open(dir);
  for (const [i, v] of written) assertEquals(await readBlob(state, ["test", "blob", i]), v);
  // A value rewritten smaller reads as the new value.
  writeBlob(state, ["test", "blob", 0], value(100, 9));
  await state.close();
  state = await StateStore.open(dir);
  assertEquals(await readBlob(state, ["test", "blob", 0]), value(100, 9));
  await state.close();
});

test("a small value whose bytes were damaged on disk reads as missing, not as other JSON or an error", async () => {
  await using temp = await tempDir();
  let state = await StateStore.open(temp.root);
  writeBlob(state, ["test", "small", 0], { url: "file:///p/a.ts", hash: "0123456789abcdef" });
  writeBlob(state, ["test", "small", 1], { url: "file:///p/b.ts" });
  await state.close();
  state = await StateStore.open(temp.root);
  for (const [i, from, to] of [[0, "a.ts", "q.ts"], [1, `"}`, `\u0001}`]] as const) {
    // The stored header's bytes edited as a damaged page would: still valid JSON, or not.
    const key = ["test", "small", i];
    const header = (await state.kv.get<{ n: number; b: Uint8Array }>(key)).value!;
    const text = new TextDecoder().decode(header.b).replace(from, to);
    await state.kv.set(key, { ...header, b: new TextEncoder().encode(text) });
  }
  await state.close();
  state = await StateStore.open(temp.root);
  assertEquals(await readBlob(state, ["test", "small", 0]), undefined);
  assertEquals(await readBlob(state, ["test", "small", 1]), undefined);
  await state.close();
});

test("a large value written by this process reads back from the queue, then from KV, over an older one", async () => {
  await using temp = await tempDir();
  const dir = temp.root;
  let state = await StateStore.open(dir);
  const key = ["test", "blob", "large"];
  // Committed first: 34 chunks.
  writeBlob(state, key, value(2_000_000, 1));
  await state.close();
  state = await StateStore.open(dir);
  // Rewritten with fewer chunks, still queued: its chunks, not the committed ones.
  const newer = value(1_000_000, 2);
  writeBlob(state, key, newer);
  assertEquals(await readBlob(state, key), newer);
  await state.flush();
  assertEquals(await readBlob(state, key), newer);
  // Small again: kept as written, read without the store.
  writeBlob(state, key, value(100, 3));
  assertEquals(await readBlob(state, key), value(100, 3));
  await state.close();
  state = await StateStore.open(dir);
  assertEquals(await readBlob(state, key), value(100, 3));
  await state.close();
});
