/**
 * A stage depends on the members it reads, not on everything next to them:
 * destructured namespace members, one method of an object literal. Using the
 * whole value (a spread, passing it on, `this`) still counts everything.
 */

import { assertEquals } from "../_assert.ts";
import { changesAfter } from "./_fingerprint.ts";
import { test } from "../_harness.ts";

const pipeline = (body: string, run: string, imports = "") =>
  `import { loaders, out, Pipeline } from "jsr:@pivot/core";
${imports}
export const pipeline = new Pipeline("t");

${body}

pipeline.stage({
  name: "a",
  outs: { x: out("x.json", loaders.json<unknown>()) },
  run: ${run},
});
`;

const STATS = `export function mean(xs: number[]) {
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}

export function spare() {
  return 0;
}
`;

const NAMESPACE = `import * as stats from "./lib/stats.ts";`;

/** Each run reads `mean` of lib/stats.ts, never `spare`. */
const PRECISE: Record<string, { body: string; run: string }> = {
  "a renamed destructured namespace member": {
    body: "",
    run: `() => {
    const { mean: average } = stats;
    return { x: average([1, 2]) };
  }`,
  },
  "a namespace member destructured at module level": {
    body: `const { mean } = stats;`,
    run: `() => ({ x: mean([1, 2]) })`,
  },
  "one method of an object literal": {
    body: `const ops = {
  average(xs: number[]) {
    return stats.mean(xs);
  },
  zero: () => stats.spare(),
};`,
    run: `() => ({ x: ops.average([1, 2]) })`,
  },
  "an object literal member destructured": {
    body: `const ops = { average: stats.mean, zero: stats.spare };`,
    run: `() => {
    const { average } = ops;
    return { x: average([1, 2]) };
  }`,
  },
};

for (const [shape, { body, run }] of Object.entries(PRECISE)) {
  const files = { "pipeline.ts": pipeline(body, run, NAMESPACE), "lib/stats.ts": STATS };

  test(`${shape} is followed`, async () => {
    const changes = await changesAfter(files, (p) => p.edit("lib/stats.ts", "xs.length", "2"));
    assertEquals(changes, { a: ["mod:lib/stats.ts#mean"] });
  });

  test(`${shape} leaves out the other members`, async () => {
    const changes = await changesAfter(
      files,
      (p) => p.edit("lib/stats.ts", "return 0", "return 1"),
    );
    assertEquals(changes, { a: [] });
  });
}

/** Each run uses the whole value: `spare` counts too. */
const WHOLE: Record<string, { body: string; run: string }> = {
  "a namespace spread": {
    body: "",
    run: `() => {
    const all = { ...stats };
    return { x: all.mean([1, 2]) };
  }`,
  },
  "a namespace passed on": {
    body: `function pick(m: typeof stats) {
  return m.mean;
}`,
    run: `() => ({ x: pick(stats)([1, 2]) })`,
  },
  "a destructuring rest": {
    body: "",
    run: `() => {
    const { ...rest } = stats;
    return { x: rest.mean([1, 2]) };
  }`,
  },
  "a method that reads `this`": {
    body: `const ops = {
  average(xs: number[]) {
    return this.zero() + stats.mean(xs);
  },
  zero: () => stats.spare(),
};`,
    run: `() => ({ x: ops.average([1, 2]) })`,
  },
  "an object literal with a spread": {
    body:
      `const ops = { ...{ zero: () => stats.spare() }, average: (xs: number[]) => stats.mean(xs) };`,
    run: `() => ({ x: ops.average([1, 2]) })`,
  },
};

for (const [shape, { body, run }] of Object.entries(WHOLE)) {
  const files = { "pipeline.ts": pipeline(body, run, NAMESPACE), "lib/stats.ts": STATS };

  test(`${shape} counts every member`, async () => {
    const changes = await changesAfter(
      files,
      (p) => p.edit("lib/stats.ts", "return 0", "return 1"),
    );
    assertEquals(changes, { a: ["mod:lib/stats.ts#spare"] });
  });
}

test("a method of an object literal changes const:<name>.<member>", async () => {
  const files = {
    "pipeline.ts": pipeline(
      PRECISE["one method of an object literal"].body,
      `() => ({ x: ops.average([1, 2]) })`,
      NAMESPACE,
    ),
    "lib/stats.ts": STATS,
  };
  const changes = await changesAfter(
    files,
    (p) => p.edit("pipeline.ts", "return stats.mean(xs);", "return stats.mean(xs) + 1;"),
  );
  assertEquals(changes, { a: ["const:ops.average"] });
  const other = await changesAfter(
    files,
    (p) => p.edit("pipeline.ts", "zero: () => stats.spare()", "zero: () => 0"),
  );
  assertEquals(other, { a: [] });
});
