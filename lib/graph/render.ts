/**
 * Drawing the graph as text, Graphviz DOT, Mermaid, or Mermaid in Markdown.
 *
 * @module
 */

import type { StageDef } from "../model/stage_def.ts";
import type { StageGraph } from "./graph.ts";

/** Output formats of `pivot dag`. */
export type DagFormat = "text" | "dot" | "mermaid" | "md";

/** What to draw. */
export interface RenderOptions {
  /** Format. */
  readonly format: DagFormat;
  /** Stages only (no artifact nodes). */
  readonly stagesOnly: boolean;
}

interface Edge {
  readonly from: string;
  readonly to: string;
}

interface Drawing {
  readonly nodes: { id: string; label: string; kind: "stage" | "artifact" }[];
  readonly edges: Edge[];
}

function drawing(graph: StageGraph, stages: readonly StageDef[], stagesOnly: boolean): Drawing {
  const included = new Set(stages.map((s) => s.name));
  const nodes: Drawing["nodes"] = [];
  const edges: Edge[] = [];
  const ids = new Map<string, string>();
  const id = (key: string, label: string, kind: "stage" | "artifact") => {
    let existing = ids.get(key);
    if (!existing) {
      existing = `n${ids.size}`;
      ids.set(key, existing);
      nodes.push({ id: existing, label, kind });
    }
    return existing;
  };
  for (const stage of stages) id(`stage:${stage.name}`, stage.name, "stage");
  for (const stage of stages) {
    const to = id(`stage:${stage.name}`, stage.name, "stage");
    if (stagesOnly) {
      for (const up of graph.upstream.get(stage.name) ?? []) {
        if (included.has(up)) edges.push({ from: id(`stage:${up}`, up, "stage"), to });
      }
      continue;
    }
    for (const dep of stage.deps) {
      const producers = graph.producersOfDep.get(stage.name)?.get(dep.path) ?? [];
      const artifact = id(`path:${dep.path}`, dep.path + (dep.isDir ? "/" : ""), "artifact");
      edges.push({ from: artifact, to });
      for (const producer of producers) {
        if (producer.out.path !== dep.path && included.has(producer.stage.name)) {
          // A dep inside (or around) a directory out: link the out to the dep.
          edges.push({
            from: id(`path:${producer.out.path}`, producer.out.path + "/", "artifact"),
            to: artifact,
          });
        }
      }
    }
    for (const out of stage.outs) {
      edges.push({
        from: to,
        to: id(`path:${out.path}`, out.path + (out.isDir ? "/" : ""), "artifact"),
      });
    }
  }
  const seen = new Set<string>();
  return {
    nodes,
    edges: edges.filter((e) => {
      const key = `${e.from}>${e.to}`;
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    }),
  };
}

/** A Mermaid label: Mermaid takes `#quot;` for a quote inside quotes. */
function mermaidLabel(text: string): string {
  return `"${text.replace(/"/g, "#quot;")}"`;
}

function quote(text: string): string {
  return `"${text.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
}

/** Render `stages` of `graph`. */
export function renderDag(
  graph: StageGraph,
  stages: readonly StageDef[],
  options: RenderOptions,
): string {
  if (options.format === "text") return renderText(graph, stages, options.stagesOnly);
  const { nodes, edges } = drawing(graph, stages, options.stagesOnly);
  if (options.format === "dot") {
    return [
      "digraph pipeline {",
      "  rankdir=TB;",
      ...nodes.map((n) =>
        `  ${n.id} [label=${quote(n.label)}, shape=${n.kind === "stage" ? "box" : "note"}];`
      ),
      ...edges.map((e) => `  ${e.from} -> ${e.to};`),
      "}",
    ].join("\n");
  }
  const mermaid = [
    "flowchart TD",
    ...nodes.map((n) =>
      n.kind === "stage"
        ? `  ${n.id}[${mermaidLabel(n.label)}]`
        : `  ${n.id}[/${mermaidLabel(n.label)}/]`
    ),
    ...edges.map((e) => `  ${e.from} --> ${e.to}`),
  ].join("\n");
  return options.format === "md" ? "```mermaid\n" + mermaid + "\n```" : mermaid;
}

/**
 * Text: stages by level (a stage's level is one more than its deepest
 * upstream), each with what it waits for and, unless stages only, its files.
 */
function renderText(graph: StageGraph, stages: readonly StageDef[], stagesOnly: boolean): string {
  const included = new Set(stages.map((s) => s.name));
  const level = new Map<string, number>();
  for (const stage of stages) {
    const ups = [...(graph.upstream.get(stage.name) ?? [])].filter((n) => included.has(n));
    level.set(stage.name, ups.length === 0 ? 0 : Math.max(...ups.map((n) => level.get(n)!)) + 1);
  }
  const lines: string[] = [];
  const maxLevel = Math.max(-1, ...level.values());
  for (let l = 0; l <= maxLevel; l++) {
    for (const stage of stages.filter((s) => level.get(s.name) === l)) {
      const ups = [...(graph.upstream.get(stage.name) ?? [])].filter((n) => included.has(n));
      lines.push(`${"  ".repeat(l)}${stage.name}${ups.length ? `  <- ${ups.join(", ")}` : ""}`);
      if (stagesOnly) continue;
      const pad = "  ".repeat(l + 1);
      for (const dep of stage.deps) lines.push(`${pad}in   ${dep.path}${dep.isDir ? "/" : ""}`);
      for (const out of stage.outs) lines.push(`${pad}out  ${out.path}${out.isDir ? "/" : ""}`);
    }
  }
  return lines.join("\n");
}
