/**
 * The DAG's drawing, as the server sends it and the page draws it: node
 * boxes, variant boxes and edge routes, computed by dagre on the server
 * (`layout_dagre.ts`, in a worker: `layouts.ts`). Types and the small
 * helpers both sides need; no layout code, so the page's bundle carries none.
 *
 * @module
 */

import type { StageNode } from "./protocol.ts";

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

/** The whole drawing (`GET /api/layout`). */
export interface Layout {
  /** Which way ranks go. */
  readonly direction: Direction;
  /** The stage boxes. */
  readonly nodes: readonly PlacedNode[];
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

/** Space between nodes of one rank. */
export const NODE_SEP = 18;
/** Space between ranks. */
export const RANK_SEP = 48;

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
