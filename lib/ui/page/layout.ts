/**
 * The DAG's layout, by dagre (a layered graph layout: ranks left to right,
 * crossings reduced, edges routed around nodes). Variants of one stage
 * (`train@small`, `train@large`) are laid out inside a box of their own, a
 * dagre cluster, so a matrix reads as one unit.
 *
 * @module
 */

import dagre from "@dagrejs/dagre";
import type { StageNode } from "../protocol.ts";

/** Size of a stage node, in layout units (CSS pixels at zoom 1). */
export const NODE_WIDTH = 190;
/** Height of a stage node. */
export const NODE_HEIGHT = 46;

/** A point. */
export interface Point {
  readonly x: number;
  readonly y: number;
}

/** A rectangle by its top-left corner. */
export interface Box {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

/** A laid-out stage. */
export interface PlacedNode extends Box {
  /** Stage name. */
  readonly name: string;
}

/** The box around the variants of one stage. */
export interface PlacedGroup extends Box {
  /** Its key (`<pipeline>\u0000<group>`). */
  readonly id: string;
  /** The name the variants share. */
  readonly label: string;
  /** Its stages. */
  readonly members: readonly string[];
}

/** A laid-out edge: upstream → downstream. */
export interface PlacedEdge {
  /** Upstream stage. */
  readonly from: string;
  /** Downstream stage. */
  readonly to: string;
  /** The route, from the upstream node's border to the downstream node's. */
  readonly points: readonly Point[];
}

/** The whole drawing. */
export interface Layout {
  /** Which way ranks go. */
  readonly direction: Direction;
  /** Nodes by name. */
  readonly nodes: ReadonlyMap<string, PlacedNode>;
  /** Variant boxes. */
  readonly groups: readonly PlacedGroup[];
  /** Edges. */
  readonly edges: readonly PlacedEdge[];
  /** Size of the drawing. */
  readonly width: number;
  readonly height: number;
}

/** The groups of variants: those with two or more stages. */
export function variantGroups(stages: readonly StageNode[]): Map<string, string[]> {
  const groups = new Map<string, string[]>();
  for (const stage of stages) {
    if (stage.group === undefined) continue;
    const id = `${stage.pipeline}\u0000${stage.group}`;
    groups.set(id, [...(groups.get(id) ?? []), stage.name]);
  }
  for (const [id, members] of groups) if (members.length < 2) groups.delete(id);
  return groups;
}

/** Which way ranks go: left to right, or top to bottom. */
export type Direction = "LR" | "TB";

const NODE_SEP = 18;
const RANK_SEP = 48;

/**
 * The direction whose drawing is closest in shape to the screen: a long
 * chain reads best top to bottom (nodes are wider than tall), a wide matrix
 * left to right. Estimated from the longest path and the widest rank.
 */
export function chooseDirection(stages: readonly StageNode[], aspect: number): Direction {
  const rank = new Map<string, number>();
  const perRank = new Map<number, number>();
  for (const stage of stages) {
    const r = Math.max(-1, ...stage.upstream.map((up) => rank.get(up) ?? -1)) + 1;
    rank.set(stage.name, r);
    perRank.set(r, (perRank.get(r) ?? 0) + 1);
  }
  const depth = perRank.size;
  const breadth = Math.max(1, ...perRank.values());
  const lr = (depth * (NODE_WIDTH + RANK_SEP)) / (breadth * (NODE_HEIGHT + NODE_SEP));
  const tb = (breadth * (NODE_WIDTH + NODE_SEP)) / (depth * (NODE_HEIGHT + RANK_SEP));
  const off = (ratio: number) => Math.abs(Math.log(ratio / aspect));
  return off(lr) <= off(tb) ? "LR" : "TB";
}

/**
 * Above this many stages, dagre's search for the node order with the fewest
 * crossings is skipped: on the 176-stage benchmark it triples the layout's
 * time, and a graph that large is read by panning and searching anyway.
 */
const ORDER_SEARCH_LIMIT = 80;

/** Lay out `stages` (with their upstream links), ranks going `direction`. */
export function layoutGraph(stages: readonly StageNode[], direction: Direction = "LR"): Layout {
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

  const nodes = new Map<string, PlacedNode>();
  for (const stage of stages) {
    const n = g.node(stage.name);
    nodes.set(stage.name, {
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
    points: (g.edge(e)?.points ?? []).map((p: Point) => ({ x: p.x, y: p.y })),
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

/** An SVG path through `points`: straight ends, smoothed bends. */
export function edgePath(points: readonly Point[]): string {
  if (points.length === 0) return "";
  const [first, ...rest] = points;
  let d = `M${first!.x.toFixed(1)},${first!.y.toFixed(1)}`;
  for (let i = 0; i < rest.length - 1; i++) {
    const p = rest[i]!;
    const next = rest[i + 1]!;
    d += ` Q${p.x.toFixed(1)},${p.y.toFixed(1)} ${((p.x + next.x) / 2).toFixed(1)},${
      ((p.y + next.y) / 2).toFixed(1)
    }`;
  }
  const last = rest[rest.length - 1];
  if (last) d += ` L${last.x.toFixed(1)},${last.y.toFixed(1)}`;
  return d;
}
