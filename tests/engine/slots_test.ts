import { Slots } from "../../lib/engine/slots.ts";
import type { StageDef } from "../../lib/model/stage_def.ts";
import { stage } from "../graph/_stages.ts";
import { assert, assertEquals } from "../_assert.ts";
import { test } from "../_harness.ts";

/** The mutex group that runs a stage alone. */
const EXCLUSIVE = "*";

/** Let resolved promises run their callbacks. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

/** Acquire a slot for a new stage; `granted` turns true when it gets one. */
function request(slots: Slots, name: string, mutex: string[] = []) {
  const s = stage({ name, mutex });
  const entry = { stage: s, granted: false };
  slots.acquire(s).then(() => entry.granted = true);
  return entry;
}

function granted(...entries: { granted: boolean }[]): boolean[] {
  return entries.map((e) => e.granted);
}

test("at most `jobs` stages hold a slot; a release lets the next one in", async () => {
  const slots = new Slots(2);
  const [a, b, c] = ["a", "b", "c"].map((n) => request(slots, n));
  await settle();
  assertEquals(granted(a, b, c), [true, true, false]);
  slots.release(a.stage);
  await settle();
  assertEquals(granted(c), [true]);
});

test("a jobs limit below one still allows one stage", async () => {
  const slots = new Slots(0);
  const [a, b] = ["a", "b"].map((n) => request(slots, n));
  await settle();
  assertEquals(granted(a, b), [true, false]);
});

test("stages sharing a mutex group never run at once", async () => {
  const slots = new Slots(4);
  const a = request(slots, "a", ["gpu"]);
  const b = request(slots, "b", ["gpu", "disk"]);
  const c = request(slots, "c", ["disk"]);
  await settle();
  assertEquals(granted(a, b, c), [true, false, true]);
  slots.release(a.stage);
  await settle();
  assertEquals(b.granted, false, "b still shares 'disk' with c");
  slots.release(c.stage);
  await settle();
  assertEquals(b.granted, true);
});

test("a later stage passes an earlier one that waits only on its mutex", async () => {
  const slots = new Slots(4);
  const a = request(slots, "a", ["gpu"]);
  const b = request(slots, "b", ["gpu"]);
  const c = request(slots, "c");
  await settle();
  assertEquals(granted(a, b, c), [true, false, true]);
});

test("waiters of one mutex group are served in order", async () => {
  const slots = new Slots(4);
  const a = request(slots, "a", ["gpu"]);
  const b = request(slots, "b", ["gpu"]);
  const c = request(slots, "c", ["gpu"]);
  await settle();
  slots.release(a.stage);
  await settle();
  assertEquals(granted(b, c), [true, false]);
});

test("a '*' stage waits for running stages and then runs alone", async () => {
  const slots = new Slots(4);
  const a = request(slots, "a");
  const x = request(slots, "x", [EXCLUSIVE]);
  await settle();
  assertEquals(granted(a, x), [true, false]);
  slots.release(a.stage);
  await settle();
  assertEquals(x.granted, true);
  const c = request(slots, "c");
  const d = request(slots, "d", ["gpu"]);
  await settle();
  assertEquals(granted(c, d), [false, false]);
  slots.release(x.stage);
  await settle();
  assertEquals(granted(c, d), [true, true]);
});

test("a waiting '*' stage is not starved by stages that arrive after it", async () => {
  const slots = new Slots(4);
  const a = request(slots, "a");
  const x = request(slots, "x", [EXCLUSIVE]);
  const later = ["b", "c", "d"].map((n) => request(slots, n));
  await settle();
  assertEquals(granted(a, x, ...later), [true, false, false, false, false]);
  slots.release(a.stage);
  await settle();
  assertEquals(granted(x, ...later), [true, false, false, false]);
  slots.release(x.stage);
  await settle();
  assertEquals(granted(...later), [true, true, true]);
});

test("an abandoned waiter never gets a slot", async () => {
  const slots = new Slots(1);
  const a = request(slots, "a");
  const b = request(slots, "b");
  const c = request(slots, "c");
  await settle();
  slots.abandon(b.stage);
  slots.release(a.stage);
  await settle();
  assertEquals(granted(b, c), [false, true]);
});

test("a random workload never breaks the limits and every stage finishes", async () => {
  let seed = 7;
  const random = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  const groups = [[], [], ["gpu"], ["disk"], ["gpu", "disk"], [EXCLUSIVE]];
  const jobs = 3;
  const slots = new Slots(jobs);
  const running = new Set<StageDef>();
  const check = () => {
    assert(running.size <= jobs);
    const all = [...running];
    for (const s of all) {
      if (s.mutex.includes(EXCLUSIVE)) assertEquals(all.length, 1, `${s.name} runs alone`);
      for (const other of all) {
        if (other === s) continue;
        assert(!s.mutex.some((g) => other.mutex.includes(g)), `${s.name} and ${other.name}`);
      }
    }
  };
  const work = Array.from({ length: 60 }, async (_, i) => {
    const s = stage({ name: `s${i}`, mutex: groups[Math.floor(random() * groups.length)] });
    await new Promise((resolve) => setTimeout(resolve, Math.floor(random() * 5)));
    await slots.acquire(s);
    running.add(s);
    check();
    await new Promise((resolve) => setTimeout(resolve, Math.floor(random() * 4)));
    running.delete(s);
    slots.release(s);
  });
  await Promise.all(work);
  assertEquals(running.size, 0);
});
