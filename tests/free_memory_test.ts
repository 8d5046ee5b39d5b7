/**
 * Giving memory back after a burst (`lib/free_memory.ts`): the major
 * collection it runs needs V8's `--expose-gc` for a moment, and no other
 * context may see a `gc` global afterwards, neither this one nor a worker's.
 */

import { releaseFreedMemory, releaseHeapAndFreed } from "../lib/free_memory.ts";
import { assertEquals } from "./_assert.ts";
import { test } from "./_harness.ts";

test("releasing memory leaves no gc global in this context nor in a worker made after", async () => {
  // Past the thresholds, so that the collection and the trim both run.
  const ballast = Array.from({ length: 3_000_000 }, (_, i) => ({ i, s: `item ${i}` }));
  await releaseHeapAndFreed();
  releaseFreedMemory();
  assertEquals(ballast.length, 3_000_000);
  assertEquals(typeof (globalThis as { gc?: unknown }).gc, "undefined");
  const worker = new Worker(
    "data:text/javascript,postMessage(typeof globalThis.gc)",
    { type: "module" },
  );
  try {
    const seen = await new Promise((resolve) => worker.onmessage = (e) => resolve(e.data));
    assertEquals(seen, "undefined");
  } finally {
    worker.terminate();
  }
});
