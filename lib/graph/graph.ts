/**
 * The pipeline graph: artifacts (paths) and stages, linked by declared deps
 * and outs. A dep on a directory matches outs inside it, and a dep inside an
 * out directory matches that out. Building it checks for duplicate or
 * overlapping outs, cycles, and deps that neither exist nor are produced.
 *
 * @module
 */

import { PivotError } from "../errors.ts";
import { isUnder, OutIndex } from "../model/overlap.ts";
import type { OutDef, StageDef } from "../model/stage_def.ts";

/** Where a path comes from. */
export interface Producer {
  /** The stage that produces it. */
  readonly stage: StageDef;
  /** The out that covers it. */
  readonly out: OutDef;
}

/** The validated graph of a pipeline. */
export interface StageGraph {
  /** Stages in a topological order (upstream first, ties by declaration). */
  readonly order: readonly StageDef[];
  /** Stages by name. */
  readonly byName: ReadonlyMap<string, StageDef>;
  /** Direct upstream stage names of each stage. */
  readonly upstream: ReadonlyMap<string, ReadonlySet<string>>;
  /** Direct downstream stage names of each stage. */
  readonly downstream: ReadonlyMap<string, ReadonlySet<string>>;
  /** For each stage and dep path: the producers of that dep (empty: an input). */
  readonly producersOfDep: ReadonlyMap<string, ReadonlyMap<string, readonly Producer[]>>;
}

/** How the graph asks whether a path exists on disk. */
export interface GraphOptions {
  /** True when the absolute path exists. */
  exists(abs: string): boolean;
}

/** Build and validate the graph of `stages`. */
export function buildGraph(stages: readonly StageDef[], options: GraphOptions): StageGraph {
  const byName = new Map<string, StageDef>();
  // Declaration index by name: the topological order's tie-break, and its counters' slots.
  const indexOf = new Map<string, number>();
  for (let i = 0; i < stages.length; i++) {
    const stage = stages[i];
    const twin = byName.get(stage.name);
    if (twin !== undefined) {
      throw new PivotError(
        `stage '${stage.name}' is defined twice (in ${twin.pipeline.file} and ${stage.pipeline.file}): rename one`,
      );
    }
    byName.set(stage.name, stage);
    indexOf.set(stage.name, i);
  }
  const outs = new OutIndex<Producer>();
  for (const stage of stages) {
    for (const out of stage.outs) {
      const clash = outs.get(out.path);
      if (clash) {
        throw new PivotError(
          clash.stage === stage
            ? `stage '${stage.name}' declares '${out.path}' as two outs: declare it once`
            : `'${out.path}' is an out of both '${clash.stage.name}' and '${stage.name}': each path has one producer`,
        );
      }
      outs.add({ stage, out });
    }
  }
  for (const stage of stages) {
    for (const out of stage.outs) {
      // Without directory outs or outs below this one, only this out is at its path.
      if (!outs.mayOverlapOthers(out.path)) continue;
      for (const other of outs.overlapping(out.path)) {
        if (other.out === out) continue;
        const [outer, inner] = isUnder(out.path, other.out.path) ? [other, { stage, out }] : [
          { stage, out },
          other,
        ];
        throw new PivotError(
          `out '${inner.out.path}' of '${inner.stage.name}' is inside out directory '${outer.out.path}' of '${outer.stage.name}': outs must not overlap`,
        );
      }
    }
  }

  const upstreamSets: Set<string>[] = [];
  const downstreamSets: Set<string>[] = [];
  for (let i = 0; i < stages.length; i++) {
    upstreamSets.push(new Set());
    downstreamSets.push(new Set());
  }
  const producersOfDep = new Map<string, Map<string, Producer[]>>();
  for (let i = 0; i < stages.length; i++) {
    const stage = stages[i];
    const perDep = new Map<string, Producer[]>();
    producersOfDep.set(stage.name, perDep);
    const up = upstreamSets[i];
    for (const dep of stage.deps) {
      const producers = outs.overlapping(dep.path);
      perDep.set(dep.path, producers);
      if (producers.length === 0 && !options.exists(dep.abs)) {
        throw new PivotError(
          `stage '${stage.name}' depends on '${dep.path}', which does not exist and no stage produces it: create it or add a stage with it in outs`,
        );
      }
      for (const producer of producers) {
        const name = producer.stage.name;
        if (up.has(name)) continue;
        up.add(name);
        downstreamSets[indexOf.get(name)!].add(stage.name);
      }
    }
  }
  const upstream = new Map<string, Set<string>>();
  const downstream = new Map<string, Set<string>>();
  for (let i = 0; i < stages.length; i++) {
    upstream.set(stages[i].name, upstreamSets[i]);
    downstream.set(stages[i].name, downstreamSets[i]);
  }
  const order = topologicalOrder(stages, indexOf, upstreamSets, downstreamSets);
  return { order, byName, upstream, downstream, producersOfDep };
}

/**
 * What {@link buildGraph} derived from a list of stages, as plain data, for
 * the load cache (lib/cli/load_cache.ts), which keeps it beside the stages
 * under the same key: the graph is a function of the stages but for which
 * input deps exist, and {@link graphFromShape} checks those again.
 */
export interface GraphShape {
  /** The topological order, as declaration indexes. */
  readonly order: number[];
  /**
   * Per stage and per dep, in declaration order: the number of its
   * producers, then each as its stage's declaration index and the index of
   * the out among that stage's outs.
   */
  readonly producers: number[];
}

/** The shape of `graph`, built by {@link buildGraph} from `stages`. */
export function graphShape(stages: readonly StageDef[], graph: StageGraph): GraphShape {
  const indexOf = new Map<StageDef, number>();
  stages.forEach((stage, i) => indexOf.set(stage, i));
  const producers: number[] = [];
  for (const stage of stages) {
    const perDep = graph.producersOfDep.get(stage.name)!;
    for (const dep of stage.deps) {
      const list = perDep.get(dep.path)!;
      producers.push(list.length);
      for (const { stage: producer, out } of list) {
        producers.push(indexOf.get(producer)!, producer.outs.indexOf(out));
      }
    }
  }
  return { order: graph.order.map((stage) => indexOf.get(stage)!), producers };
}

/**
 * The graph {@link buildGraph} gave for `stages` when `shape` was taken
 * (see {@link graphShape}), without its checks: they held then for the
 * same stages. Undefined when an input dep (one no stage produces) no
 * longer exists: {@link buildGraph} says which. Throws on a shape that does
 * not fit the stages.
 */
export function graphFromShape(
  stages: readonly StageDef[],
  shape: GraphShape,
  options: GraphOptions,
): StageGraph | undefined {
  const n = stages.length;
  const { producers } = shape;
  const byName = new Map<string, StageDef>();
  for (let i = 0; i < n; i++) byName.set(stages[i].name, stages[i]);
  if (byName.size !== n) throw new Error("a graph of stages with one name");
  // Each input dep's path is asked about once; the edges are only checked here
  // (a damaged shape is a miss now, not an error later).
  const present = new Map<string, boolean>();
  let missing = false;
  let k = 0;
  for (let i = 0; i < n; i++) {
    for (const dep of stages[i].deps) {
      const count = producers[k++];
      if (!(count >= 0)) throw new Error("a damaged graph");
      if (count === 0) {
        let there = present.get(dep.abs);
        if (there === undefined) present.set(dep.abs, there = options.exists(dep.abs));
        if (!there) missing = true;
        continue;
      }
      for (let c = 0; c < count; c++, k += 2) {
        if (stages[producers[k]]?.outs[producers[k + 1]] === undefined) {
          throw new Error("a producer of nothing");
        }
      }
    }
  }
  if (k !== producers.length) throw new Error("a damaged graph");
  const placed = new Uint8Array(n);
  const order: StageDef[] = [];
  for (const i of shape.order) {
    if (!(i >= 0 && i < n) || placed[i] === 1) throw new Error("a damaged order");
    placed[i] = 1;
    order.push(stages[i]);
  }
  if (order.length !== n) throw new Error("a damaged order");
  if (missing) return undefined;
  // A no-op `repro` reads neither the edges nor the producers (10,000 stages:
  // 20,000 sets): each is made when first asked for.
  let edges: ReturnType<typeof edgesFromShape> | undefined;
  let producersOfDep: Map<string, Map<string, Producer[]>> | undefined;
  return {
    order,
    byName,
    get upstream() {
      return (edges ??= edgesFromShape(stages, producers)).upstream;
    },
    get downstream() {
      return (edges ??= edgesFromShape(stages, producers)).downstream;
    },
    get producersOfDep() {
      return producersOfDep ??= producersFromShape(stages, producers);
    },
  };
}

/** The upstream and downstream sets of `stages` by the producers of a {@link GraphShape}, checked. */
function edgesFromShape(
  stages: readonly StageDef[],
  producers: readonly number[],
): { upstream: Map<string, Set<string>>; downstream: Map<string, Set<string>> } {
  const n = stages.length;
  const upstreamSets: Set<string>[] = [];
  const downstreamSets: Set<string>[] = [];
  for (let i = 0; i < n; i++) {
    upstreamSets.push(new Set());
    downstreamSets.push(new Set());
  }
  let k = 0;
  for (let i = 0; i < n; i++) {
    const stage = stages[i];
    const up = upstreamSets[i];
    for (let d = 0; d < stage.deps.length; d++) {
      const count = producers[k++];
      for (let c = 0; c < count; c++, k += 2) {
        const from = stages[producers[k]];
        if (up.has(from.name)) continue;
        up.add(from.name);
        downstreamSets[producers[k]].add(stage.name);
      }
    }
  }
  const upstream = new Map<string, Set<string>>();
  const downstream = new Map<string, Set<string>>();
  for (let i = 0; i < n; i++) {
    upstream.set(stages[i].name, upstreamSets[i]);
    downstream.set(stages[i].name, downstreamSets[i]);
  }
  return { upstream, downstream };
}

function producersFromShape(
  stages: readonly StageDef[],
  producers: readonly number[],
): Map<string, Map<string, Producer[]>> {
  // One producer object an out, as the out index of buildGraph hands out.
  const made = new Map<OutDef, Producer>();
  const result = new Map<string, Map<string, Producer[]>>();
  let k = 0;
  for (const stage of stages) {
    const perDep = new Map<string, Producer[]>();
    result.set(stage.name, perDep);
    for (const dep of stage.deps) {
      const list: Producer[] = [];
      const count = producers[k++];
      for (let c = 0; c < count; c++) {
        const from = stages[producers[k++]];
        const out = from.outs[producers[k++]];
        let producer = made.get(out);
        if (producer === undefined) made.set(out, producer = { stage: from, out });
        list.push(producer);
      }
      perDep.set(dep.path, list);
    }
  }
  return result;
}

/**
 * Kahn's order over declaration indexes: `upstream[i]` and `downstream[i]`
 * are the names of stage `i`'s neighbours, `indexOf` their indexes.
 */
function topologicalOrder(
  stages: readonly StageDef[],
  indexOf: ReadonlyMap<string, number>,
  upstream: readonly ReadonlySet<string>[],
  downstream: readonly ReadonlySet<string>[],
): StageDef[] {
  const waiting = new Int32Array(stages.length);
  // Ready stages by declaration index: the earliest-declared goes first, so
  // output order is stable; a heap keeps a wide graph from costing n² log n.
  const ready = new MinHeap();
  for (let i = 0; i < stages.length; i++) {
    waiting[i] = upstream[i].size;
    if (waiting[i] === 0) ready.push(i);
  }
  const order: StageDef[] = [];
  while (ready.size > 0) {
    const i = ready.pop();
    order.push(stages[i]);
    for (const next of downstream[i]) {
      const j = indexOf.get(next)!;
      if (--waiting[j] === 0) ready.push(j);
    }
  }
  if (order.length < stages.length) {
    const upstreamByName = new Map(stages.map((s, i) => [s.name, upstream[i]]));
    const cycle = findCycle(stages.filter((_, i) => waiting[i] > 0), upstreamByName);
    throw new PivotError(
      `the pipeline has a cycle: ${cycle.join(" -> ")}: remove one of these deps`,
    );
  }
  return order;
}

function findCycle(
  stuck: readonly StageDef[],
  upstream: ReadonlyMap<string, ReadonlySet<string>>,
): string[] {
  const inStuck = new Set(stuck.map((s) => s.name));
  // Walk upstream from any stuck stage until a name repeats: that loop is a cycle.
  const path: string[] = [];
  const seen = new Map<string, number>();
  let current = stuck[0].name;
  while (!seen.has(current)) {
    seen.set(current, path.length);
    path.push(current);
    current = [...upstream.get(current)!].find((name) => inStuck.has(name))!;
  }
  return [...path.slice(seen.get(current)!), current].reverse();
}

/** `names` and every stage upstream of them, in topological order. */
export function withUpstream(graph: StageGraph, names: Iterable<string>): StageDef[] {
  return closure(graph, names, () => graph.upstream);
}

/** `names` and every stage downstream of them, in topological order. */
export function withDownstream(graph: StageGraph, names: Iterable<string>): StageDef[] {
  return closure(graph, names, () => graph.downstream);
}

/** `names` and every stage `edgesOf()` leads to from them; the edges are read only when needed. */
function closure(
  graph: StageGraph,
  names: Iterable<string>,
  edgesOf: () => ReadonlyMap<string, ReadonlySet<string>>,
): StageDef[] {
  const stack = [...names];
  // Nothing named (the driver asks for the downstream of no changed file at every run).
  if (stack.length === 0) return [];
  const edges = edgesOf();
  const included = new Set<string>();
  while (stack.length > 0) {
    const name = stack.pop()!;
    if (included.has(name)) continue;
    included.add(name);
    stack.push(...edges.get(name)!);
  }
  return graph.order.filter((stage) => included.has(stage.name));
}

/** A binary min-heap of numbers. */
class MinHeap {
  readonly #items: number[] = [];

  get size(): number {
    return this.#items.length;
  }

  push(value: number): void {
    const items = this.#items;
    let i = items.push(value) - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (items[parent] <= value) break;
      items[i] = items[parent];
      i = parent;
    }
    items[i] = value;
  }

  /** The smallest value, removed (the heap must not be empty). */
  pop(): number {
    const items = this.#items;
    const top = items[0];
    const last = items.pop()!;
    if (items.length > 0) {
      let i = 0;
      for (;;) {
        const left = 2 * i + 1;
        if (left >= items.length) break;
        const child = left + 1 < items.length && items[left + 1] < items[left] ? left + 1 : left;
        if (items[child] >= last) break;
        items[i] = items[child];
        i = child;
      }
      items[i] = last;
    }
    return top;
  }
}
