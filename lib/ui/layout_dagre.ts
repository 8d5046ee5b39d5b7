/**
 * Laying out the DAG with dagre (a layered graph layout: ranks in one
 * direction, crossings reduced, edges routed around nodes). Variants of one
 * stage (`train@small`, `train@large`) are laid out inside a box of their
 * own, a dagre cluster, so a matrix reads as one unit. Runs in a worker
 * (`layouts.ts`): 176 stages take about 150 ms of CPU.
 *
 * @module
 */

import dagre from "@dagrejs/dagre";
import {
  type Direction,
  type Layout,
  NODE_HEIGHT,
  NODE_SEP,
  NODE_WIDTH,
  type PlacedEdge,
  type PlacedGroup,
  type PlacedNode,
  type Point,
  RANK_SEP,
  variantGroups,
} from "./layout.ts";
import type { StageNode } from "./protocol.ts";

/**
 * Above this many stages, dagre's search for the node order with the fewest
 * crossings is skipped: on the 176-stage benchmark it triples the layout's
 * time, and a graph that large is read by panning and searching anyway.
 */
const ORDER_SEARCH_LIMIT = 80;

/** Lay out `stages` (with their upstream links), ranks going `direction`. */
export function layoutGraph(stages: readonly StageNode[], direction: Direction): Layout {
  const groups = variantGroups(stages);
  // A compound graph costs more to lay out: only when there are variants to box.
  const g = new dagre.graphlib.Graph({ compound: groups.size > 0, multigraph: false });
  g.setGraph({
    rankdir: direction,
    nodesep: NODE_SEP,
    ranksep: RANK_SEP,
    edgesep: 8,
    marginx: 24,
    marginy: 24,
  });
  g.setDefaultEdgeLabel(() => ({}));
  const names = new Set(stages.map((s) => s.name));
  for (const stage of stages) g.setNode(stage.name, { width: NODE_WIDTH, height: NODE_HEIGHT });
  for (const [id, members] of groups) {
    g.setNode(id, { label: id.split("\u0000")[1], paddingTop: 26, padding: 12 });
    for (const member of members) g.setParent(member, id);
  }
  for (const stage of stages) {
    for (const up of stage.upstream) if (names.has(up)) g.setEdge(up, stage.name);
  }
  dagre.layout(g, { disableOptimalOrderHeuristic: stages.length > ORDER_SEARCH_LIMIT });

  const nodes: PlacedNode[] = [];
  for (const stage of stages) {
    const n = g.node(stage.name);
    nodes.push({
      name: stage.name,
      x: (n.x ?? 0) - NODE_WIDTH / 2,
      y: (n.y ?? 0) - NODE_HEIGHT / 2,
      width: NODE_WIDTH,
      height: NODE_HEIGHT,
    });
  }
  const placedGroups: PlacedGroup[] = [...groups].map(([id, members]) => {
    const n = g.node(id);
    return {
      id,
      label: id.split("\u0000")[1] ?? id,
      members,
      x: (n.x ?? 0) - n.width / 2,
      y: (n.y ?? 0) - n.height / 2 - 14,
      width: n.width,
      height: n.height + 14,
    };
  });
  const edges: PlacedEdge[] = g.edges().map((e) => ({
    from: e.v,
    to: e.w,
    // Whole pixels: the layout travels as JSON.
    points: (g.edge(e)?.points ?? []).map((p: Point) => ({
      x: Math.round(p.x),
      y: Math.round(p.y),
    })),
  }));
  const graph = g.graph();
  return {
    direction,
    nodes,
    groups: placedGroups,
    edges,
    width: Math.max(graph.width ?? 0, 1),
    height: Math.max(graph.height ?? 0, 1),
  };
}
