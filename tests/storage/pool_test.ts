import { eachLimited, eventLoopTurn, TURN_MS } from "../../lib/storage/pool.ts";
import { assert, assertEquals, assertRejects } from "../_assert.ts";
import { test } from "../_harness.ts";

test("eachLimited calls the work on every item, at most `limit` at a time", async () => {
  const items = Array.from({ length: 50 }, (_, i) => i);
  const seen: number[] = [];
  let running = 0;
  let most = 0;
  await eachLimited(items, 4, async (item, index) => {
    assertEquals(item, index);
    running++;
    most = Math.max(most, running);
    await eventLoopTurn();
    seen.push(item);
    running--;
  });
  assertEquals(seen.sort((a, b) => a - b), items);
  assertEquals(most, 4);
});

test("eachLimited throws the first error once the running calls have settled", async () => {
  const started: number[] = [];
  const settled: number[] = [];
  await assertRejects(
    () =>
      eachLimited([0, 1, 2, 3, 4, 5], 2, async (item) => {
        started.push(item);
        if (item === 1) throw new Error("item 1 failed");
        await eventLoopTurn();
        settled.push(item);
      }),
    Error,
    /item 1 failed/,
  );
  // Item 0 ran beside item 1 and settled; nothing started after the failure.
  assertEquals(started, [0, 1]);
  assertEquals(settled, [0]);
});

test("eachLimited gives the event loop a turn during synchronous work", async () => {
  // Each item holds the thread for a fifth of a turn's length: without the
  // pauses, the timer would fire only after the last item.
  const items = Array.from({ length: 40 }, (_, i) => i);
  let done = 0;
  let doneWhenFired: number | undefined;
  const timer = setTimeout(() => doneWhenFired = done, 0);
  try {
    await eachLimited(items, 8, (_item) => {
      const until = performance.now() + TURN_MS / 5;
      while (performance.now() < until) {
        // busy: a synchronous write of a small object stands for this
      }
      done++;
      return Promise.resolve();
    });
  } finally {
    clearTimeout(timer);
  }
  assert(doneWhenFired !== undefined, "the timer never fired");
  assert(doneWhenFired < items.length, `the timer fired only after all ${items.length} items`);
});
