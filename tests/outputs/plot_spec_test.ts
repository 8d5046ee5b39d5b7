import { compile } from "vega-lite";
import type { PlotDisplay } from "../../lib/api/artifacts.ts";
import { chartOf, fieldRef, type RevisionRows } from "../../lib/outputs/plot_spec.ts";
import { assert, assertEquals, assertMatch } from "../_assert.ts";
import { test } from "../_harness.ts";

const ROC = [{ fpr: 0, tpr: 0 }, { fpr: 0.5, tpr: 0.8 }, { fpr: 1, tpr: 1 }];

function chart(display: PlotDisplay, revisions: RevisionRows[], warnings: string[] = []) {
  return chartOf({ path: "p.csv", display, revisions, warn: (m) => warnings.push(m) });
}

function at(rev: string, rows: Record<string, unknown>[]): RevisionRows {
  return { rev, rows };
}

/** The spec compiled by the real Vega-Lite: what a browser would draw, and its warnings. */
function compiled(spec: Record<string, unknown>) {
  const warnings: string[] = [];
  const logger = {
    level: () => logger,
    error: (...m: unknown[]) => (warnings.push(`error: ${m.join(" ")}`), logger),
    warn: (...m: unknown[]) => (warnings.push(m.join(" ")), logger),
    info: () => logger,
    debug: () => logger,
  };
  // deno-lint-ignore no-explicit-any
  const vega = compile(spec as any, { logger: logger as any }).spec;
  return { vega: vega as unknown as { marks?: { type: string; from?: unknown }[] }, warnings };
}

/** Every mark type in a compiled Vega spec, nested groups included. */
function markTypes(spec: { marks?: unknown[] }): string[] {
  return (spec.marks ?? []).flatMap((mark) => {
    const m = mark as { type: string; marks?: unknown[] };
    return m.type === "group" ? markTypes(m) : [m.type];
  });
}

for (
  const [template, marks] of [
    ["linear", ["line", "symbol"]],
    ["scatter", ["symbol"]],
    ["bar", ["rect"]],
  ] as const
) {
  test(`the ${template} template compiles to ${marks.join(" and ")} marks`, () => {
    const result = chart({ x: "fpr", y: "tpr", template }, [at("workspace", ROC)])!;
    assertEquals(result.template, template);
    const { vega, warnings } = compiled(result.spec);
    assertEquals(warnings, []);
    assertEquals(markTypes(vega).sort(), [...marks].sort());
  });
}

test("the confusion template counts rows by actual and predicted class", () => {
  const rows = [
    { actual: "cat", predicted: "cat" },
    { actual: "cat", predicted: "dog" },
    { actual: "cat", predicted: "cat" },
  ];
  const result = chart({ template: "confusion", x: "actual", y: "predicted" }, [
    at("workspace", rows),
  ])!;
  const { vega, warnings } = compiled(result.spec);
  assertEquals(warnings, []);
  assertEquals(markTypes(vega).sort(), ["rect", "text"]);
  assertEquals(result.spec.transform, [{
    aggregate: [{ op: "count", as: "count" }],
    groupby: ["actual", "predicted"],
  }]);
});

test("without x, the row number is the x axis as 'step'; without y, the last column", () => {
  const result = chart({}, [at("workspace", [{ loss: 3, acc: 0.1 }, { loss: 2, acc: 0.4 }])])!;
  assertEquals([result.x, result.y], ["step", ["acc"]]);
  assertEquals(result.data, [{ loss: 3, acc: 0.1, step: 0 }, { loss: 2, acc: 0.4, step: 1 }]);
  assertEquals(compiled(result.spec).warnings, []);
});

test("a column called step is the default x axis as it is", () => {
  const result = chart({}, [at("workspace", [{ step: 10, loss: 3 }, { step: 20, loss: 2 }])])!;
  assertEquals([result.x, result.y, result.data[1]], ["step", ["loss"], { step: 20, loss: 2 }]);
});

test("several y columns are folded into one series each", () => {
  const result = chart({ y: ["train", "val"] }, [
    at("workspace", [{ train: 1, val: 2 }, { train: 0.5, val: 1 }]),
  ])!;
  assertEquals(result.spec.transform, [{ fold: ["train", "val"], as: ["column", "value"] }]);
  const encoding = result.spec.encoding as Record<string, { field: string }>;
  assertEquals([encoding.y.field, encoding.color.field], ["value", "column"]);
  assertEquals(compiled(result.spec).warnings, []);
});

test("two revisions are overlaid in one chart, coloured by revision, oldest first", () => {
  const result = chart({ x: "fpr", y: "tpr" }, [
    at("HEAD", ROC.slice(0, 2)),
    at("workspace", ROC),
  ])!;
  assertEquals(result.revisions, ["HEAD", "workspace"]);
  assertEquals(result.data.map((row) => row.rev), [
    "HEAD",
    "HEAD",
    "workspace",
    "workspace",
    "workspace",
  ]);
  const encoding = result.spec.encoding as Record<string, Record<string, unknown>>;
  assertEquals(encoding.color, {
    field: "rev",
    type: "nominal",
    title: "revision",
    sort: ["HEAD", "workspace"],
  });
  assertEquals(compiled(result.spec).warnings, []);
});

test("the revision column does not overwrite a data column named rev", () => {
  const result = chart({ y: "v" }, [at("a", [{ rev: 1, v: 1 }]), at("b", [{ rev: 2, v: 2 }])])!;
  assertEquals(result.revisionField, "revision");
  assertEquals(result.data[0], { rev: 1, v: 1, step: 0, revision: "a" });
});

test("confusion matrices at two revisions are drawn side by side", () => {
  const rows = [{ a: "x", p: "y" }];
  const result = chart({ template: "confusion", x: "a", y: "p" }, [
    at("HEAD", rows),
    at("w", rows),
  ])!;
  assertEquals((result.spec.facet as { column: { field: string } }).column.field, "rev");
  assertEquals(compiled(result.spec).warnings, []);
});

test("a missing x column is an error naming it and the columns there are", () => {
  let message = "";
  try {
    chart({ x: "fpx", y: "tpr" }, [at("workspace", ROC)]);
  } catch (error) {
    message = (error as Error).message;
  }
  assertMatch(message, /^p\.csv: no column 'fpx' \(its columns: fpr, tpr\): set x and y/);
});

test("a revision lacking a column is left out with a warning; missing everywhere is an error", () => {
  const warnings: string[] = [];
  const result = chart({ x: "fpr", y: "tpr" }, [
    at("HEAD", [{ fpr: 0, recall: 1 }]),
    at("workspace", ROC),
  ], warnings)!;
  assertEquals(result.revisions, ["workspace"]);
  assertMatch(warnings[0], /^p\.csv at HEAD: no column 'tpr' .*: left out of the chart$/);
  let message = "";
  try {
    chart({ y: "nope" }, [at("HEAD", ROC), at("workspace", ROC)]);
  } catch (error) {
    message = (error as Error).message;
  }
  assertMatch(message, /^p\.csv: no revision has the columns 'nope'/);
});

test("text on the y axis is an error, except for confusion matrices", () => {
  let message = "";
  try {
    chart({ y: "label" }, [at("workspace", [{ label: "cat" }])]);
  } catch (error) {
    message = (error as Error).message;
  }
  assertMatch(message, /^p\.csv: column 'label' is not numeric \("cat" in row 1\)/);
});

test("the confusion template without x and y says what it needs", () => {
  let message = "";
  try {
    chart({ template: "confusion" }, [at("workspace", [{ a: "x", b: "y" }])]);
  } catch (error) {
    message = (error as Error).message;
  }
  assertMatch(message, /confusion template needs x \(the actual class column\) and one y/);
});

test("no rows at any revision draws nothing, with a warning", () => {
  const warnings: string[] = [];
  assertEquals(chart({}, [at("workspace", [])], warnings), undefined);
  assertEquals(warnings, ["p.csv: no rows to draw"]);
});

test("column names with dots are fields, not nested access", () => {
  assertEquals(fieldRef("metrics.auc[0]"), "metrics\\.auc\\[0\\]");
  const result = chart({ x: "a.b", y: "c.d" }, [at("workspace", [{ "a.b": 1, "c.d": 2 }])])!;
  assert(compiled(result.spec).vega.marks !== undefined);
  assertEquals(compiled(result.spec).warnings, []);
});
