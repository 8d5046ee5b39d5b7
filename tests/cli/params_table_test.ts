import {
  diffParams,
  flattenParams,
  formatParamsDiff,
  formatParamsShow,
} from "../../lib/cli/params_table.ts";
import { PivotError } from "../../lib/errors.ts";
import { assert, assertEquals, assertThrows } from "../_assert.ts";
import { test } from "../_harness.ts";

const PARAMS = {
  prep: { sep: ",", dropEmpty: true },
  train: { epochs: 10, optimizer: { lr: 0.0123456, momentum: 0.9 }, layers: [64, 32] },
};

// --- flattening and diffing ---

test("nested params flatten to dotted keys; arrays and empty objects stay values", () => {
  assertEquals(flattenParams({ a: { b: { c: 1 } }, list: [1, { x: 2 }], none: {} }), {
    "a.b.c": 1,
    list: [1, { x: 2 }],
    none: {},
  });
});

test("diff reports modified, added and removed params by dotted key", () => {
  const old = { train: { epochs: 10, optimizer: { lr: 0.1 }, dropout: 0.5 } };
  const current = { train: { epochs: 20, optimizer: { lr: 0.1, momentum: 0.9 } } };
  assertEquals(diffParams(old, current), [
    { stage: "train", key: "epochs", old: 10, new: 20, change: "modified" },
    { stage: "train", key: "optimizer.momentum", old: undefined, new: 0.9, change: "added" },
    { stage: "train", key: "dropout", old: 0.5, new: undefined, change: "removed" },
  ]);
});

test("diff covers stages present on one side only", () => {
  assertEquals(diffParams({ gone: { a: 1 } }, { fresh: { b: 2 } }), [
    { stage: "fresh", key: "b", old: undefined, new: 2, change: "added" },
    { stage: "gone", key: "a", old: 1, new: undefined, change: "removed" },
  ]);
});

test("diff ignores equal arrays and sees a change of type", () => {
  const old = { s: { list: [1, 2], n: 1 } };
  const current = { s: { list: [1, 2], n: "1" } };
  assertEquals(diffParams(old, current), [
    { stage: "s", key: "n", old: 1, new: "1", change: "modified" },
  ]);
});

// --- show ---

test("show renders an aligned text table with dotted keys", () => {
  assertEquals(
    formatParamsShow(PARAMS),
    [
      "Stage  Key                 Value",
      "prep   sep                 ,",
      "prep   dropEmpty           true",
      "train  epochs              10",
      "train  optimizer.lr        0.0123456",
      "train  optimizer.momentum  0.9",
      "train  layers              [64,32]",
      "",
    ].join("\n"),
  );
});

test("show --md renders a Markdown table with escaped pipes", () => {
  assertEquals(
    formatParamsShow({ s: { sep: "|", n: 1 } }, { format: "md" }),
    "| Stage | Key | Value |\n| --- | --- | --- |\n| s | sep | \\| |\n| s | n | 1 |\n",
  );
});

test("show --json keeps params nested under a params key", () => {
  assertEquals(JSON.parse(formatParamsShow(PARAMS, { format: "json" })), { params: PARAMS });
});

test("--precision rounds floats in tables and JSON, leaving integers alone", () => {
  const text = formatParamsShow({ t: { lr: 0.0123456, n: 10, list: [1.23456] } }, {
    precision: 3,
  });
  assert(text.includes("lr    0.012"), text);
  assert(text.includes("n     10"), text);
  assert(text.includes("list  [1.235]"), text);
  assertEquals(
    JSON.parse(formatParamsShow({ t: { lr: 0.0123456 } }, { format: "json", precision: 2 })),
    { params: { t: { lr: 0.01 } } },
  );
});

test("an invalid precision is a PivotError", () => {
  const error = assertThrows(() => formatParamsShow(PARAMS, { precision: -1 }), PivotError);
  assertEquals(error.message, "--precision must be a whole number from 0 to 20, got -1");
});

test("show with no params says so, and JSON is an empty object", () => {
  assertEquals(formatParamsShow({ s: {} }), "No params.\n");
  assertEquals(JSON.parse(formatParamsShow({}, { format: "json" })), { params: {} });
});

test("strings with line breaks are quoted so the table stays one row", () => {
  assertEquals(formatParamsShow({ s: { x: "a\nb" } }), 'Stage  Key  Value\ns      x    "a\\nb"\n');
});

// --- diff ---

const CHANGES = diffParams(
  { train: { epochs: 10, dropout: 0.5 } },
  { train: { epochs: 20, seed: null } },
);

test("diff renders a text table with - for absent values", () => {
  assertEquals(
    formatParamsDiff(CHANGES),
    [
      "Stage  Key      Old  New   Change",
      "train  epochs   10   20    modified",
      "train  seed     -    null  added",
      "train  dropout  0.5  -     removed",
      "",
    ].join("\n"),
  );
});

test("diff --md renders a Markdown table", () => {
  assertEquals(
    formatParamsDiff(CHANGES.slice(0, 1), { format: "md" }),
    "| Stage | Key | Old | New | Change |\n| --- | --- | --- | --- | --- |\n| train | epochs | 10 | 20 | modified |\n",
  );
});

test("diff --json lists changes with null for absent values", () => {
  assertEquals(JSON.parse(formatParamsDiff(CHANGES, { format: "json" })), {
    diff: [
      { stage: "train", key: "epochs", old: 10, new: 20, change: "modified" },
      { stage: "train", key: "seed", old: null, new: null, change: "added" },
      { stage: "train", key: "dropout", old: 0.5, new: null, change: "removed" },
    ],
  });
});

test("diff without changes says so, and JSON is an empty list", () => {
  assertEquals(formatParamsDiff([]), "No param changes.\n");
  assertEquals(JSON.parse(formatParamsDiff([], { format: "json" })), { diff: [] });
});

test("JSON writes NaN and Infinity (possible in YAML) as strings, not null", () => {
  assertEquals(
    JSON.parse(formatParamsShow({ s: { a: NaN, b: -Infinity } }, { format: "json" })),
    { params: { s: { a: "NaN", b: "-Infinity" } } },
  );
});
