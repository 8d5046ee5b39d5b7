/**
 * What a V8 heap snapshot holds, summed: the live heap by kind and name of
 * node (constructor, closure, string…), and the suspended `async` functions
 * by name (a `Generator` object each). For finding what a burst keeps alive
 * before tuning the collector (docs/lessons.md, "Answers from a worker wait
 * for the event loop").
 *
 * Take a snapshot where the heap is large, for example in the code under
 * study: `(await import("node:v8")).default.writeHeapSnapshot("/tmp/x.heapsnapshot")`
 * (it collects first, so it holds only what is reachable). Then:
 *
 * ```sh
 * deno run --allow-read tools/heap_summary.ts /tmp/x.heapsnapshot [TOP]
 * ```
 *
 * @module
 */

/** The parts of a `.heapsnapshot` file this reads. */
interface Snapshot {
  readonly snapshot: {
    readonly meta: {
      readonly node_fields: string[];
      readonly node_types: [string[], ...unknown[]];
      readonly edge_fields: string[];
      readonly edge_types: [string[], ...unknown[]];
    };
  };
  readonly nodes: number[];
  readonly edges: number[];
  readonly strings: string[];
}

/** Node kinds whose name is a constructor or function name (others: a value's text). */
const NAMED = new Set(["object", "closure", "native", "hidden", "code", "array"]);

/** Bytes and count per key, as they are summed. */
type Tallies = Map<string, { bytes: number; count: number }>;

/** Bytes and count per key, largest first. */
export interface Tally {
  readonly key: string;
  readonly bytes: number;
  readonly count: number;
}

/**
 * The live heap of `snapshot` by node kind and name, and the suspended async
 * functions by name.
 *
 * @example
 * ```ts ignore
 * const { byName, suspended } = summarize(JSON.parse(Deno.readTextFileSync(path)));
 * ```
 */
export function summarize(snapshot: Snapshot): { byName: Tally[]; suspended: Tally[] } {
  const { meta } = snapshot.snapshot;
  const { nodes, edges, strings } = snapshot;
  const nodeTypes = meta.node_types[0];
  const edgeTypes = meta.edge_types[0];
  const width = meta.node_fields.length;
  const type = meta.node_fields.indexOf("type");
  const name = meta.node_fields.indexOf("name");
  const size = meta.node_fields.indexOf("self_size");
  const edgeCount = meta.node_fields.indexOf("edge_count");
  const edgeWidth = meta.edge_fields.length;
  const edgeType = meta.edge_fields.indexOf("type");
  const edgeName = meta.edge_fields.indexOf("name_or_index");
  const edgeTo = meta.edge_fields.indexOf("to_node");
  const byName: Tallies = new Map();
  const suspended: Tallies = new Map();
  const add = (tally: Tallies, key: string, bytes: number) => {
    const entry = tally.get(key) ?? { bytes: 0, count: 0 };
    entry.bytes += bytes;
    entry.count++;
    tally.set(key, entry);
  };
  let edge = 0;
  for (let at = 0; at < nodes.length; at += width) {
    const kind = nodeTypes[nodes[at + type]!] ?? "?";
    const label = strings[nodes[at + name]!] ?? "";
    const bytes = nodes[at + size]!;
    add(byName, `${kind} ${NAMED.has(kind) ? label.slice(0, 60) : ""}`.trim(), bytes);
    const nodeEdges = nodes[at + edgeCount]!;
    if (kind === "object" && label === "Generator") {
      for (let e = edge; e < edge + nodeEdges * edgeWidth; e += edgeWidth) {
        // Element and hidden edges are named by an index, the others by a string.
        const named = !["element", "hidden"].includes(edgeTypes[edges[e + edgeType]!] ?? "");
        if (named && strings[edges[e + edgeName]!] === "function") {
          add(suspended, strings[nodes[edges[e + edgeTo]! + name]!] || "(anonymous)", bytes);
        }
      }
    }
    edge += nodeEdges * edgeWidth;
  }
  const sorted = (tally: Tallies) =>
    [...tally].map(([key, { bytes, count }]) => ({ key, bytes, count }))
      .sort((a, b) => b.bytes - a.bytes);
  return { byName: sorted(byName), suspended: sorted(suspended) };
}

if (import.meta.main) {
  const [path, top = "25"] = Deno.args;
  if (path === undefined) {
    console.error("usage: deno run --allow-read tools/heap_summary.ts FILE.heapsnapshot [TOP]");
    Deno.exit(2);
  }
  const { byName, suspended } = summarize(JSON.parse(Deno.readTextFileSync(path)));
  const total = byName.reduce((sum, entry) => sum + entry.bytes, 0);
  const mb = (bytes: number) => (bytes / 1e6).toFixed(2).padStart(8);
  console.log(`live heap ${mb(total)} MB`);
  for (const { key, bytes, count } of byName.slice(0, Number(top))) {
    console.log(`${mb(bytes)} MB ${String(count).padStart(9)}  ${key}`);
  }
  console.log("suspended async functions:");
  for (const { key, count } of suspended.slice(0, 10)) {
    console.log(`${String(count).padStart(9)}  ${key}`);
  }
}
