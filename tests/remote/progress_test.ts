/** The transfer reporter and the job queue. */

import { test } from "../_harness.ts";
import { assert, assertEquals } from "../_assert.ts";
import { TransferProgress } from "../../lib/remote/progress.ts";
import { WorkQueue } from "../../lib/remote/work_queue.ts";

test("progress shows count, bytes and rate, and ends with one summary line", () => {
  let now = 0;
  const lines: string[] = [];
  const progress = new TransferProgress({
    verb: "push",
    status: (l) => lines.push(l),
    now: () => now,
  });
  progress.plan(3, 3 * 1024 * 1024);
  now = 1000;
  progress.bytes(2 * 1024 * 1024);
  progress.done("transferred", 2 * 1024 * 1024);
  now = 1050; // within the 100 ms interval: not drawn
  progress.done("skipped");
  now = 2000;
  progress.done("failed");
  assertEquals(lines.length, 3);
  assertEquals(lines[1], "push: 0/3 objects, 2.00/3.00 MiB, 2.00 MiB/s");
  assertEquals(lines[2], "push: 3/3 objects, 2.00/3.00 MiB, 1.00 MiB/s, 1 failed");
  assertEquals(progress.summary, { transferred: 1, skipped: 1, failed: 1, bytes: 2 * 1024 * 1024 });
  assertEquals(
    progress.finalLine(),
    "push: 1 transferred, 1 skipped, 1 failed (2.0 MiB in 2.0 s, 1.0 MiB/s)",
  );
});

test("the job queue runs at most N jobs at once, urgent ones first", async () => {
  const queue = new WorkQueue(2);
  let running = 0, peak = 0;
  const order: string[] = [];
  const job = (name: string) => async () => {
    running++;
    peak = Math.max(peak, running);
    await new Promise((resolve) => setTimeout(resolve, 1));
    order.push(name);
    running--;
  };
  for (const name of ["a", "b", "c", "d"]) queue.add(job(name));
  queue.add(job("urgent"), true);
  await queue.drain();
  assertEquals(peak, 2);
  assertEquals(order.length, 5);
  assert(order.indexOf("urgent") < order.indexOf("d"), order.join(","));
});

test("the job queue stops at the first error and reports it", async () => {
  const queue = new WorkQueue(1);
  let ran = 0;
  queue.add(() => Promise.reject(new Error("boom")));
  queue.add(() => Promise.resolve(void ran++));
  let message = "";
  try {
    await queue.drain();
  } catch (error) {
    message = (error as Error).message;
  }
  assertEquals([message, ran], ["boom", 0]);
});
