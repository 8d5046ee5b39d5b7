import { parseDenoCheck } from "../../lib/pipeline/type_check.ts";
import { assertEquals } from "../_assert.ts";
import { test } from "../_harness.ts";

const OUTPUT = `Check pipeline.ts
\x1b[1mTS2322 \x1b[0m[ERROR]: Type 'string' is not assignable to type 'number'.
  run: () => ({ model: { w: "not a number" } }),
                         ^
    at \x1b[36mfile:///p/pipeline.ts\x1b[0m:\x1b[33m9\x1b[0m:\x1b[33m26\x1b[0m

    The expected type comes from property 'w' which is declared here on type '{ w: number; }'
      outs: { model: out("model.json", loaders.json<{ w: number }>()) },
                                                      ^
        at file:///p/pipeline.ts:8:51

TS2304 [ERROR]: Cannot find name 'nope'.
    at file:///p/lib/x.ts:3:1

Found 2 errors.

error: Type checking failed.
`;

test("deno check output parses into one error per TS code, at its own position", () => {
  assertEquals(parseDenoCheck(OUTPUT), [
    {
      code: "TS2322",
      message: "Type 'string' is not assignable to type 'number'.",
      url: "file:///p/pipeline.ts",
      line: 9,
      column: 26,
    },
    {
      code: "TS2304",
      message: "Cannot find name 'nope'.",
      url: "file:///p/lib/x.ts",
      line: 3,
      column: 1,
    },
  ]);
});

test("an error without a position is kept, without one", () => {
  assertEquals(parseDenoCheck("TS1234 [ERROR]: Something global.\n"), [
    {
      code: "TS1234",
      message: "Something global.",
      url: undefined,
      line: undefined,
      column: undefined,
    },
  ]);
  assertEquals(parseDenoCheck("Check pipeline.ts\n"), []);
});
