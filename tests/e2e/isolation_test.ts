/**
 * Stage isolation end to end (issue 10, item 1): a stage must not change the
 * result of a stage that runs after it in the same warm worker, and nothing
 * it leaves running may write after it returned. Each test runs an
 * "attacker" stage, then a "victim" stage that depends on it, with `-j 1` so
 * that both run in the one worker, and checks the victim's out is what a
 * fresh worker would have produced.
 */

import { assert, assertEquals, assertMatch, assertNotMatch } from "../_assert.ts";
import { test } from "../_harness.ts";
import { TempProject } from "../_project.ts";

/**
 * A pipeline of two stages: `attack` (whose body is `attack`) writes
 * `a.txt`; `victim` reads it and writes `b.txt` from `victim` (an expression
 * over `a`, the text of `a.txt`).
 */
function twoStages(attack: string, victim: string, victimOut = "loaders.text()"): string {
  return `import { dep, loaders, out, Pipeline } from "jsr:@pivot/core";
export const pipeline = new Pipeline("iso");
pipeline.stage({
  name: "attack",
  outs: { a: out("a.txt", loaders.text()) },
  run: (_deps, ctx) => {
    ${attack}
    return { a: "a" };
  },
});
pipeline.stage({
  name: "victim",
  deps: { a: dep("a.txt", loaders.text()) },
  outs: { b: out("b.txt", ${victimOut}) },
  run: ({ a }) => ({ b: ${victim} }),
});
`;
}

/** Run both stages in one worker; both must succeed. */
async function reproInOneWorker(p: TempProject, ...args: string[]): Promise<void> {
  const { result, events } = await p.events("repro", "-j", "1", ...args);
  assertEquals(result.code, 0, result.stderr);
  assertEquals(TempProject.byStatus(events), { ran: ["attack", "victim"] });
}

test("a timer a stage leaves running cannot write into a later stage's outs", async () => {
  // The attack of issue 10: an interval that keeps overwriting the next
  // stage's out where it is staged (the folder of its own out), as soon as
  // that stage has saved it.
  await using p = await TempProject.create({
    "pipeline.ts": twoStages(
      `const poison = ctx.outs.a.replace(/a\\.txt$/, "b.txt");
    setInterval(() => {
      try {
        if (Deno.readTextFileSync(poison) !== "poisoned") Deno.writeTextFileSync(poison, "poisoned");
      } catch { /* not saved yet */ }
    }, 0);`,
      "a + ' then b'",
    ),
  });
  for (let round = 0; round < 3; round++) {
    await reproInOneWorker(p, "--force");
    assertEquals(await p.read("b.txt"), "a then b", `round ${round}`);
  }
});

test("work a stage leaves running unseen cannot write into a later stage's outs beside its own", async () => {
  // No timer: a chain of awaited operations the stage forgot to await,
  // which Pivot cannot see, so the worker runs the next stage. It keeps
  // writing the next stage's out where that is staged if each run's outs
  // shared the folder their paths share (\`data/\`).
  await using p = await TempProject.create({
    "pipeline.ts": `import { dep, loaders, out, Pipeline } from "jsr:@pivot/core";
export const pipeline = new Pipeline("iso");
pipeline.stage({
  name: "attack",
  outs: { a: out("data/a.txt", loaders.text()) },
  run: (_deps, ctx) => {
    const poison = ctx.outs.a.replace(/a\\.txt$/, "b.txt");
    (async () => {
      for (let i = 0; i < 3000; i++) {
        await Deno.stat(ctx.tmpDir).catch(() => {});
        await Deno.writeTextFile(poison, "poisoned").catch(() => {});
      }
    })();
    return { a: "a" };
  },
});
pipeline.stage({
  name: "victim",
  deps: { a: dep("data/a.txt", loaders.text()) },
  outs: { b: out("data/b.txt") },
  run: async ({ a }, ctx) => {
    for (let i = 0; i < 200; i++) await Deno.stat(ctx.tmpDir);
    await Deno.writeTextFile(ctx.outs.b, a + " then b");
    for (let i = 0; i < 200; i++) await Deno.stat(ctx.tmpDir);
  },
});
`,
  });
  for (let round = 0; round < 3; round++) {
    await reproInOneWorker(p, "--force");
    assertEquals(await p.read("data/b.txt"), "a then b", `round ${round}`);
  }
});

test("nothing a stage leaves running can change its out once Pivot has taken it", async () => {
  // The stage keeps its out open and, once Pivot has linked the file into
  // the cache (its link count grows), writes through the open handle: into
  // the committed out and the cache object, if it could still run.
  await using p = await TempProject.create({
    "pipeline.ts": `import { out, Pipeline } from "jsr:@pivot/core";
export const pipeline = new Pipeline("iso");
pipeline.stage({
  name: "leaky",
  outs: { log: out("log.txt") },
  run: (_deps, ctx) => {
    const file = Deno.openSync(ctx.outs.log, { write: true, create: true, truncate: true });
    file.writeSync(new TextEncoder().encode("complete"));
    setInterval(() => {
      if (file.statSync().nlink < 2) return;
      file.seekSync(0, Deno.SeekMode.Start);
      file.writeSync(new TextEncoder().encode("poisoned"));
    }, 0);
  },
});
pipeline.stage({
  name: "next",
  outs: { o: out("next.txt") },
  run: (_deps, ctx) => { for (let i = 0; i < 20; i++) Deno.writeTextFileSync(ctx.outs.o, String(i)); },
});
`,
  });
  const { result } = await p.events("repro", "-j", "1");
  assertEquals(result.code, 0, result.stderr);
  assertEquals(await p.read("log.txt"), "complete");
  assertEquals(await p.read("next.txt"), "19");
  // The cached object is what was committed, too.
  await Deno.remove(p.path("log.txt"));
  const checkout = await p.pivot("checkout");
  assertEquals(checkout.code, 0, checkout.stderr);
  assertEquals(await p.read("log.txt"), "complete");
});

test("a patched JSON.stringify does not reach a later stage", async () => {
  await using p = await TempProject.create({
    "pipeline.ts": twoStages(
      `JSON.stringify = () => '"poisoned"';`,
      "{ from: a }",
      "loaders.json()",
    ),
  });
  await reproInOneWorker(p);
  assertEquals(JSON.parse(await p.read("b.txt")), { from: "a" });
});

test("a global set by one stage is not seen by a later stage", async () => {
  await using p = await TempProject.create({
    "pipeline.ts": twoStages(
      `(globalThis as Record<string, unknown>).scale = 10;`,
      "String(((globalThis as Record<string, unknown>).scale as number ?? 1) * 2)",
    ),
  });
  await reproInOneWorker(p);
  assertEquals(await p.read("b.txt"), "2");
});

test("a patched prototype does not reach a later stage", async () => {
  await using p = await TempProject.create({
    "pipeline.ts": twoStages(
      `Array.prototype.map = function () { return ["poisoned"]; };
    Object.defineProperty(Object.prototype, "extra", { value: 1, enumerable: true, configurable: true, writable: true });`,
      "[1, 2].map((x) => x * 2).join(',') + ';' + Object.keys({ ...{ k: 1 } }).join(',') + ';' + ('extra' in {})",
    ),
  });
  await reproInOneWorker(p);
  assertEquals(await p.read("b.txt"), "2,4;k;false");
});

test("a replaced Math.random does not reach a later stage", async () => {
  await using p = await TempProject.create({
    "pipeline.ts": twoStages(
      `Math.random = () => 0.25;`,
      "[Math.random(), Math.random(), Math.random()].every((x) => x === 0.25) ? 'seeded' : 'fresh'",
    ),
  });
  await reproInOneWorker(p);
  assertEquals(await p.read("b.txt"), "fresh");
});

test("Deno.chdir in a stage fails that stage and changes no other stage's directory", async () => {
  await using p = await TempProject.create({
    "pipeline.ts": `import { loaders, out, Pipeline } from "jsr:@pivot/core";
export const pipeline = new Pipeline("iso");
pipeline.stage({
  name: "wander",
  outs: { a: out("a.txt", loaders.text()) },
  run: (_deps, ctx) => { Deno.chdir(ctx.tmpDir); return { a: Deno.cwd() }; },
});
pipeline.stage({
  name: "stay",
  outs: { b: out("b.txt", loaders.text()) },
  run: () => ({ b: Deno.cwd() }),
});
`,
  });
  const { result, events } = await p.events("repro", "-j", "1", "--keep-going");
  assertEquals(result.code, 1, result.stderr);
  assertEquals(TempProject.byStatus(events), { failed: ["wander"], ran: ["stay"] });
  const wander = events.find((e) => e.stage === "wander")!;
  assertMatch(String(wander.error), /Deno\.chdir/);
  assertMatch(String(wander.error), /working directory/);
  assertEquals(await p.read("b.txt"), p.root);
  assert(!(await p.exists("a.txt")), "the failed stage left no out");
});

test("an error from work a stage left running is blamed on it, not on the next stage", async () => {
  // A forgotten `await`: a chain of operations (no timer, nothing Pivot can
  // see) that fails after the stage has ended, while the next stage runs in
  // the same worker. The two stages meet through module state, which a
  // worker's stages share: the chain fails once the victim has started, and
  // the victim, in that worker, waits for it to fail.
  await using p = await TempProject.create({
    "pipeline.ts": `import { dep, loaders, out, Pipeline } from "jsr:@pivot/core";
export const pipeline = new Pipeline("iso");
let attacked = false;
let victimStarted = false;
let thrown = false;
pipeline.stage({
  name: "attack",
  outs: { a: out("a.txt", loaders.text()) },
  run: (_deps, ctx) => {
    attacked = true;
    (async () => {
      while (!victimStarted) await Deno.stat(ctx.tmpDir).catch(() => {});
      thrown = true;
      throw new Error("the forgotten promise failed");
    })();
    return { a: "a" };
  },
});
pipeline.stage({
  name: "victim",
  deps: { a: dep("a.txt", loaders.text()) },
  outs: { b: out("b.txt", loaders.text()) },
  run: async ({ a }) => {
    victimStarted = true;
    // Only in the worker that ran attack: another worker has no such chain.
    while (attacked && !thrown) await new Promise((resolve) => setTimeout(resolve, 10));
    await new Promise((resolve) => setTimeout(resolve, 10));
    return { b: a + " then b" };
  },
});
`,
  });
  const { result, events } = await p.events("repro", "-j", "1");
  assertEquals(result.code, 0, result.stderr);
  assertEquals(TempProject.byStatus(events), { ran: ["attack", "victim"] });
  assertEquals(await p.read("b.txt"), "a then b");
  assertMatch(
    result.stderr,
    /warning: stage 'attack' left work running after it finished, and it threw Error: the forgotten promise failed/,
  );
  assertNotMatch(result.stderr, /error: Uncaught/);
});
