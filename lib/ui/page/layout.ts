/**
 * The page's side of the layout: the server's {@link Layout} with its nodes
 * indexed by name, and edge routes as SVG paths.
 *
 * @module
 */

import type { Layout, PlacedNode, Point } from "../layout.ts";

/** A layout with its nodes by name. */
export interface DrawnLayout extends Omit<Layout, "nodes"> {
  /** Nodes by name. */
  readonly nodes: ReadonlyMap<string, PlacedNode>;
}

/** Index `layout`'s nodes by name. */
export function drawn(layout: Layout): DrawnLayout {
  return { ...layout, nodes: new Map(layout.nodes.map((node) => [node.name, node])) };
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
