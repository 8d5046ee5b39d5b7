/**
 * The run function itself, and what must not count: formatting, comments,
 * types, its own name, unreached code, other stages' code.
 */

import { changesAfter } from "./_fingerprint.ts";
import { assertEquals } from "../_assert.ts";
import { test } from "../_harness.ts";

const PIPELINE = `import { loaders, out, Pipeline } from "jsr:@pivot/core";

export const pipeline = new Pipeline("t");

/** Doubles a number. */
function double(x: number): number {
  return x * 2;
}

function unused(): number {
  return 1;
}

function otherHelper(): number {
  return 3;
}

pipeline.stage({
  name: "a",
  outs: { x: out("x.json", loaders.json<number>()) },
  run: train,
});

pipeline.stage({
  name: "b",
  outs: { y: out("y.json", loaders.json<number>()) },
  run: () => ({ y: otherHelper() }),
});

export function train(_deps: unknown, _ctx: unknown): { x: number } {
  const value = double(21);
  return { x: value + unusedLocal() };

  function unusedLocal() {
    return 0;
  }
}
`;

const files = { "pipeline.ts": PIPELINE };

test("editing the run function's body changes self:run only", async () => {
  const changes = await changesAfter(
    files,
    (p) => p.edit("pipeline.ts", "double(21)", "double(22)"),
  );
  assertEquals(changes, { a: ["self:run"], b: [] });
});

test("editing a same-module helper changes func:<name>", async () => {
  const changes = await changesAfter(files, (p) => p.edit("pipeline.ts", "x * 2", "x * 3"));
  assertEquals(changes, { a: ["func:double"], b: [] });
});

test("comments, JSDoc, whitespace, semicolons and quote style change nothing", async () => {
  const reformatted = `import { loaders, out, Pipeline } from 'jsr:@pivot/core'
export const pipeline = new Pipeline('t')

/**
 * Doubles a number; the JSDoc was rewritten.
 * @param x the number
 */
function double (x: number): number { return x*2 } // trailing comment


function unused(): number { return 1 }

function otherHelper(): number {
    /* block comment */
    return 3
}

pipeline.stage({
    name: 'a',
    outs: { "x": out('x.json', loaders.json<number>()) },
    run: train
})

pipeline.stage({ name: "b", outs: { y: out("y.json", loaders.json<number>()) }, run: () => ({ y: otherHelper() }) })

export function train (_deps: unknown, _ctx: unknown): { x: number } {
    const value = double(21) // the answer, halved
    return {
        x: value + unusedLocal(),
    }
    function unusedLocal () { return 0 }
}
`;
  const changes = await changesAfter(files, (p) => p.write("pipeline.ts", reformatted));
  assertEquals(changes, { a: [], b: [] });
});

test("type annotations, interfaces, type aliases and import type change nothing", async () => {
  const typed = `import { loaders, out, Pipeline } from "jsr:@pivot/core";
import type { StageContext } from "jsr:@pivot/core";
import { type Outs } from "jsr:@pivot/core";

export const pipeline = new Pipeline("t");

interface Result {
  x: number;
}
type Num = number;
type Ctx = StageContext<Outs>;

/** Doubles a number. */
function double<T extends Num>(x: T): Num {
  return (x as number) * 2;
}

function unused(): number {
  return 1;
}

function otherHelper(): Num {
  return 3 satisfies number;
}

pipeline.stage({
  name: "a",
  outs: { x: out("x.json", loaders.json<Num>()) },
  run: train,
});

pipeline.stage({
  name: "b",
  outs: { y: out("y.json", loaders.json<number>()) },
  run: () => ({ y: otherHelper() }),
});

export function train(this: void, _deps: Record<string, never>, _ctx: Ctx): Result {
  const value: number = double<number>(21)!;
  return { x: value + unusedLocal() } as Result;

  function unusedLocal(): 0 {
    return 0;
  }
}
`;
  const changes = await changesAfter(files, (p) => p.write("pipeline.ts", typed));
  assertEquals(changes, { a: [], b: [] });
});

test("renaming the stage function changes nothing", async () => {
  const changes = await changesAfter(
    files,
    (p) => p.write("pipeline.ts", PIPELINE.replaceAll("train", "fitModel")),
  );
  assertEquals(changes, { a: [], b: [] });
});

test("renaming an inline run function changes nothing", async () => {
  const inline = PIPELINE.replace(
    "run: () => ({ y: otherHelper() })",
    "run: function first() { return { y: otherHelper() }; }",
  );
  const changes = await changesAfter(
    { "pipeline.ts": inline },
    (p) => p.edit("pipeline.ts", "function first()", "function second()"),
  );
  assertEquals(changes, { a: [], b: [] });
});

test("code in the same file that the stage does not reach changes nothing", async () => {
  const changes = await changesAfter(files, (p) => p.edit("pipeline.ts", "return 1;", "return 2;"));
  assertEquals(changes, { a: [], b: [] });
});

test("another stage's code changes only that stage", async () => {
  const changes = await changesAfter(files, (p) => p.edit("pipeline.ts", "return 3;", "return 4;"));
  assertEquals(changes, { a: [], b: ["func:otherHelper"] });
});

test("a local variable rename may change self:run (allowed)", async () => {
  const changes = await changesAfter(
    files,
    (p) => p.write("pipeline.ts", PIPELINE.replaceAll("value", "result")),
  );
  assertEquals(changes, { a: ["self:run"], b: [] });
});
