/** Run-cache entries read from a remote are validated before the run cache trusts them. */

import { assertEquals } from "../_assert.ts";
import { test } from "../_harness.ts";
import { parseRunOuts } from "../../lib/remote/run_cache.ts";

const OUT = { path: "m.json", hash: "0123456789abcdef", kind: "out", isDir: false };

test("a valid entry gives its outs (files and size kept for a directory)", () => {
  const dir = { path: "d", hash: "fedcba9876543210", kind: "out", isDir: true, files: 3, size: 12 };
  assertEquals(parseRunOuts({ outs: [OUT, dir] }), [OUT, dir]);
  assertEquals(parseRunOuts({ outs: [] }), []);
});

test("anything else says what is wrong", () => {
  const cases: [unknown, string][] = [
    [null, "'outs' is not a list"],
    [{ outs: "x" }, "'outs' is not a list"],
    [{ outs: [3] }, "outs[0] is not a mapping"],
    [{ outs: [{ ...OUT, path: "/etc/passwd" }] }, "outs[0].path is not a project-relative path"],
    [{ outs: [{ ...OUT, path: "../up" }] }, "outs[0].path is not a project-relative path"],
    [{ outs: [{ ...OUT, hash: "xyz" }] }, "outs[0].hash is not a content hash"],
    [
      { outs: [{ ...OUT, kind: "model" }] },
      "outs[0].kind is not one of out, metric, plot, incremental",
    ],
    [{ outs: [{ ...OUT, isDir: "no" }] }, "outs[0].isDir is not true or false"],
    [{ outs: [{ ...OUT, files: -1 }] }, "outs[0]: files and size must be whole numbers"],
  ];
  for (const [entry, problem] of cases) assertEquals(parseRunOuts(entry), problem);
});
