/** The file watcher's early notice of a code change. */

import { type ChangeBatch, Watcher } from "../../lib/watch/watcher.ts";
import { assert, assertEquals } from "../_assert.ts";
import { test, testSignal } from "../_harness.ts";
import { tempDir } from "../_project.ts";

test("a code file's change is told at once, before its batch; a dep's is not", async () => {
  await using dir = await tempDir();
  await dir.write("data/input.txt", "a");
  await dir.write("lib/helper.ts", "export const x = 1;\n");
  const seen: string[] = [];
  const batches: ChangeBatch[] = [];
  let wake = () => {};
  const watcher = new Watcher({
    depFiles: new Set([dir.path("data/input.txt")]),
    depDirs: [],
    codeFiles: new Set([dir.path("lib/helper.ts")]),
    outs: [],
  }, {
    debounceMs: 100,
    onBatch: (batch) => {
      seen.push("batch");
      batches.push(batch);
      wake();
    },
    onCodeSeen: () => seen.push("code seen"),
    onError: (error) => {
      throw error;
    },
  });
  const batch = async (write: () => Promise<void>) => {
    const before = batches.length;
    const signal = testSignal();
    // The watch may start a little after the constructor returns: write until seen.
    while (batches.length === before) {
      signal.throwIfAborted();
      await write();
      await new Promise<void>((resolve) => {
        wake = resolve;
        setTimeout(resolve, 500);
      });
    }
    return batches[batches.length - 1];
  };
  try {
    const data = await batch(() => dir.write("data/input.txt", "b"));
    assertEquals([data.data.length, data.code.length], [1, 0]);
    assertEquals(seen.filter((s) => s === "code seen").length, 0, "a dep's change is not code");
    seen.length = 0;
    const code = await batch(() => dir.write("lib/helper.ts", "export const x = 2;\n"));
    assertEquals(code.code, [dir.path("lib/helper.ts")]);
    assertEquals(seen[0], "code seen", "told before the batch");
    assertEquals(seen.at(-1), "batch");
  } finally {
    watcher.close();
  }
});

test("the debounce counts from the change, not from the end of a slow onCodeSeen", async () => {
  await using dir = await tempDir();
  await dir.write("lib/helper.ts", "export const x = 1;\n");
  const debounceMs = 400;
  let toldAt = 0;
  let calls = 0;
  let delivered: (at: number) => void = () => {};
  const batchAt = new Promise<number>((resolve) => delivered = resolve);
  const watcher = new Watcher({
    depFiles: new Set(),
    depDirs: [],
    codeFiles: new Set([dir.path("lib/helper.ts")]),
    outs: [],
  }, {
    debounceMs,
    onBatch: () => delivered(performance.now()),
    // Holds the thread longer than the debounce, as starting isolates does on a loaded machine.
    onCodeSeen: () => {
      calls++;
      const until = performance.now() + 3 * debounceMs;
      while (performance.now() < until) { /* busy */ }
      toldAt = performance.now();
    },
    onError: (error) => {
      throw error;
    },
  });
  try {
    const signal = testSignal();
    let seen = false;
    batchAt.then(() => seen = true);
    // The watch may start a little after the constructor returns: write until seen.
    while (!seen && calls === 0) {
      signal.throwIfAborted();
      await dir.write("lib/helper.ts", "export const x = 2;\n");
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const at = await batchAt;
    // Armed before onCodeSeen ran, the debounce had ended when it returned:
    // the batch follows at once, not a whole debounce later.
    assert(at - toldAt < debounceMs, `batch ${(at - toldAt).toFixed(0)} ms after onCodeSeen`);
  } finally {
    watcher.close();
  }
});
