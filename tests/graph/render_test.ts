import { buildGraph } from "../../lib/graph/graph.ts";
import { renderDag } from "../../lib/graph/render.ts";
import { existing, stage } from "./_stages.ts";
import { assert, assertEquals, assertMatch } from "../_assert.ts";
import { test } from "../_harness.ts";

const graph = buildGraph([
  stage({ name: "prep", deps: ["raw.csv"], outs: ["clean.csv"] }),
  stage({ name: "train", deps: ["clean.csv"], outs: ["models/"] }),
  stage({ name: "eval", deps: ["models/best.json", "clean.csv"], outs: ["metrics.json"] }),
], existing("raw.csv"));

const lines = (...rows: string[]) => rows.join("\n");

test("text shows stages by level with what they wait for and their files", () => {
  assertEquals(
    renderDag(graph, graph.order, { format: "text", stagesOnly: false }),
    lines(
      "prep",
      "  in   raw.csv",
      "  out  clean.csv",
      "  train  <- prep",
      "    in   clean.csv",
      "    out  models/",
      "    eval  <- train, prep",
      "      in   models/best.json",
      "      in   clean.csv",
      "      out  metrics.json",
    ),
  );
});

test("text with stages only leaves out the files", () => {
  assertEquals(
    renderDag(graph, graph.order, { format: "text", stagesOnly: true }),
    lines("prep", "  train  <- prep", "    eval  <- train, prep"),
  );
});

test("text of a subset starts its levels at the subset's own roots", () => {
  assertEquals(
    renderDag(graph, graph.order.slice(1), { format: "text", stagesOnly: true }),
    lines("train", "  eval  <- train"),
  );
});

test("dot draws stages as boxes, files as notes, and a dir out feeding a dep inside it", () => {
  assertEquals(
    renderDag(graph, graph.order, { format: "dot", stagesOnly: false }),
    lines(
      "digraph pipeline {",
      "  rankdir=TB;",
      '  n0 [label="prep", shape=box];',
      '  n1 [label="train", shape=box];',
      '  n2 [label="eval", shape=box];',
      '  n3 [label="raw.csv", shape=note];',
      '  n4 [label="clean.csv", shape=note];',
      '  n5 [label="models/", shape=note];',
      '  n6 [label="models/best.json", shape=note];',
      '  n7 [label="metrics.json", shape=note];',
      "  n3 -> n0;",
      "  n0 -> n4;",
      "  n4 -> n1;",
      "  n1 -> n5;",
      "  n6 -> n2;",
      "  n5 -> n6;",
      "  n4 -> n2;",
      "  n2 -> n7;",
      "}",
    ),
  );
});

test("dot with stages only draws stage-to-stage edges", () => {
  assertEquals(
    renderDag(graph, graph.order, { format: "dot", stagesOnly: true }),
    lines(
      "digraph pipeline {",
      "  rankdir=TB;",
      '  n0 [label="prep", shape=box];',
      '  n1 [label="train", shape=box];',
      '  n2 [label="eval", shape=box];',
      "  n0 -> n1;",
      "  n1 -> n2;",
      "  n0 -> n2;",
      "}",
    ),
  );
});

test("dot escapes quotes and backslashes in labels", () => {
  const odd = buildGraph([stage({ name: "s", outs: ['we"ird\\name.txt'] })], existing());
  assertMatch(
    renderDag(odd, odd.order, { format: "dot", stagesOnly: false }),
    /label="we\\"ird\\\\name\.txt"/,
  );
});

const mermaidStages = lines(
  "flowchart TD",
  '  n0["prep"]',
  '  n1["train"]',
  '  n2["eval"]',
  "  n0 --> n1",
  "  n1 --> n2",
  "  n0 --> n2",
);

test("mermaid draws stages as boxes and files as parallelograms", () => {
  const text = renderDag(graph, graph.order, { format: "mermaid", stagesOnly: false });
  const rows = text.split("\n");
  assertEquals(rows[0], "flowchart TD");
  assert(rows.includes('  n0["prep"]'));
  assert(rows.includes('  n5[/"models/"/]'));
  assert(rows.includes("  n5 --> n6"));
  assertEquals(rows.length, 1 + 8 + 8);
});

test("mermaid with stages only draws stage-to-stage edges", () => {
  assertEquals(
    renderDag(graph, graph.order, { format: "mermaid", stagesOnly: true }),
    mermaidStages,
  );
});

test("md wraps the mermaid chart in a fenced code block", () => {
  assertEquals(
    renderDag(graph, graph.order, { format: "md", stagesOnly: true }),
    "```mermaid\n" + mermaidStages + "\n```",
  );
  assertEquals(
    renderDag(graph, graph.order, { format: "md", stagesOnly: false }),
    "```mermaid\n" + renderDag(graph, graph.order, { format: "mermaid", stagesOnly: false }) +
      "\n```",
  );
});

test("a subset leaves out edges to stages outside it", () => {
  const dot = renderDag(graph, graph.order.slice(1), { format: "dot", stagesOnly: true });
  assertEquals(
    dot,
    lines(
      "digraph pipeline {",
      "  rankdir=TB;",
      '  n0 [label="train", shape=box];',
      '  n1 [label="eval", shape=box];',
      "  n0 -> n1;",
      "}",
    ),
  );
});

test("mermaid writes a quote in a label as #quot;", () => {
  const graph = buildGraph([stage({ name: "a", outs: ['say "hi".txt'] })], existing());
  const text = renderDag(graph, graph.order, { format: "mermaid", stagesOnly: false });
  assertMatch(text, /\[\/"say #quot;hi#quot;\.txt"\/\]/);
});
