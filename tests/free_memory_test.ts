/**
 * Giving memory back after a burst (`lib/free_memory.ts`): the major
 * collection it runs needs V8's `--expose-gc` for a moment, and no other
 * context may see a `gc` global afterwards, neither this one nor a worker's.
 */

import {
  BURST_REGROW_BYTES,
  REGROW_BYTES,
  releaseFreedMemory,
  releaseHeapAndFreed,
  releaseHeapIfGrown,
  releaseHeapIfRegrown,
} from "../lib/free_memory.ts";
import { assert, assertEquals } from "./_assert.ts";
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

test("after a first collection, the heap is collected again once it has regrown", async () => {
  // A first collection, as before a big pipeline's first worker.
  let ballast: unknown[] | undefined = Array.from(
    { length: 3_000_000 },
    (_, i) => ({ i, s: `item ${i}` }),
  );
  await releaseHeapAndFreed();
  ballast = undefined;
  const regrowth: unknown[][] = [];
  const start = Deno.memoryUsage().heapTotal;
  while (Deno.memoryUsage().heapTotal < start + 2 * REGROW_BYTES) {
    regrowth.push(Array.from({ length: 100_000 }, (_, i) => ({ i, s: `more ${i}` })));
  }
  const before = Deno.memoryUsage().heapUsed;
  regrowth.length = 0; // garbage now, but nothing has collected it yet
  releaseHeapIfRegrown();
  const after = Deno.memoryUsage().heapUsed;
  assert(after < before - REGROW_BYTES, `heap used ${before} -> ${after}`);
  assertEquals(ballast, undefined);
});

test("during a burst, the heap is collected once it has grown past the bar", async () => {
  // Garbage enough to pass COLLECT_FROM_BYTES (and BURST_REGROW_BYTES past any
  // earlier collection of this process), none of it collected yet.
  let garbage: unknown[][] = [];
  const start = Deno.memoryUsage().heapTotal;
  while (
    Deno.memoryUsage().heapTotal < Math.max(start, 96 * 1024 * 1024) + 2 * BURST_REGROW_BYTES
  ) {
    garbage.push(Array.from({ length: 100_000 }, (_, i) => ({ i, s: `burst ${i}` })));
  }
  const before = Deno.memoryUsage().heapUsed;
  garbage = [];
  await releaseHeapIfGrown();
  const after = Deno.memoryUsage().heapUsed;
  assert(after < before - BURST_REGROW_BYTES, `heap used ${before} -> ${after}`);
  assertEquals(garbage.length, 0);
});
