/** `verify --remote` problems from what `status --remote` found. */

import { assertEquals } from "../_assert.ts";
import { test } from "../_harness.ts";
import { remoteProblems } from "../../lib/cli/remote_status.ts";

const h = (n: number) => n.toString(16).padStart(16, "0");

test("each out or tracked data the remote lacks is one problem saying what fixes it", () => {
  const problems = remoteProblems({
    remote: "origin",
    checked: 4,
    missing: [
      { path: "counts.json", stage: "count", hash: h(1), local: true },
      {
        path: "words",
        stage: "split",
        hash: h(2),
        files: { missing: 3, total: 120 },
        local: false,
      },
      { path: "raw/images", stage: undefined, hash: h(3), local: false },
    ],
  });
  assertEquals(problems, [
    {
      stage: "count",
      path: "counts.json",
      problem: "not on remote 'origin'; 'pivot push' uploads it",
    },
    {
      stage: "split",
      path: "words",
      problem: "not on remote 'origin' (3 of its 120 files); not in the local cache either: " +
        "run 'pivot repro split', then 'pivot push'",
    },
    {
      path: "raw/images",
      problem: "not on remote 'origin'; not in the local cache either",
    },
  ]);
  assertEquals(remoteProblems({ remote: "origin", checked: 2, missing: [] }), []);
});
