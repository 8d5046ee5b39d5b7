/**
 * The layouts of the current graph, one per direction, computed by dagre in
 * a worker and kept until the graph changes. The server works them out as
 * soon as it starts (and after each reload), while the browser loads the
 * page, so a page rarely waits for one; and the server's event loop never
 * waits for dagre, so events keep flowing while it works.
 *
 * The worker is made from a small script that imports `layout_dagre.ts` by
 * its URL. That module is also a literal dynamic import below (the fallback
 * when no worker can be made), so it is in Pivot's module graph: Deno caches
 * it with the rest of Pivot, from JSR too, and the worker finds it offline.
 *
 * @module
 */

import type { Direction, Layout } from "./layout.ts";
import type { StageNode } from "./protocol.ts";

interface Pending {
  readonly resolve: (layout: Layout) => void;
  readonly reject: (error: Error) => void;
}

/** Layouts of one graph version at a time. */
export class Layouts {
  #version = -1;
  #stages: readonly StageNode[] = [];
  #cache = new Map<Direction, Promise<Layout>>();
  #worker: Worker | undefined;
  #pending = new Map<number, Pending>();
  #nextId = 0;
  #closed = false;

  /**
   * Forget the layouts of an older graph, and start on both directions of
   * this one (`first` first).
   */
  prepare(version: number, stages: readonly StageNode[], first: Direction = "TB"): void {
    if (version === this.#version) return;
    this.#version = version;
    this.#stages = stages;
    this.#cache = new Map();
    for (const direction of [first, first === "TB" ? "LR" : "TB"] as const) {
      this.get(version, direction).catch(() => {});
    }
  }

  /** The layout of graph `version` in `direction` (the current graph's, when `version` is older). */
  get(version: number, direction: Direction): Promise<Layout> {
    if (version !== this.#version) {
      throw new Error(`graph version ${version} is not the current one`);
    }
    let layout = this.#cache.get(direction);
    if (!layout) {
      layout = this.#compute(this.#stages, direction);
      this.#cache.set(direction, layout);
    }
    return layout;
  }

  /** The graph version the layouts are for. */
  get version(): number {
    return this.#version;
  }

  #compute(stages: readonly StageNode[], direction: Direction): Promise<Layout> {
    if (this.#closed) return Promise.reject(new Error("closed"));
    const worker = this.#ensureWorker();
    if (!worker) {
      return import("./layout_dagre.ts").then(({ layoutGraph }) => layoutGraph(stages, direction));
    }
    const id = this.#nextId++;
    return new Promise<Layout>((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      worker.postMessage({ id, stages, direction });
    });
  }

  #ensureWorker(): Worker | undefined {
    if (this.#worker) return this.#worker;
    const module = new URL("./layout_dagre.ts", import.meta.url).href;
    const script = `import { layoutGraph } from ${JSON.stringify(module)};
self.onmessage = ({ data }) => {
  try {
    self.postMessage({ id: data.id, layout: layoutGraph(data.stages, data.direction) });
  } catch (error) {
    self.postMessage({ id: data.id, error: String(error?.message ?? error) });
  }
};`;
    try {
      const url = URL.createObjectURL(new Blob([script], { type: "text/javascript" }));
      this.#worker = new Worker(url, { type: "module" });
    } catch {
      return undefined;
    }
    this.#worker.onmessage = (
      event: MessageEvent<{ id: number; layout?: Layout; error?: string }>,
    ) => {
      const { id, layout, error } = event.data;
      const pending = this.#pending.get(id);
      this.#pending.delete(id);
      if (!pending) return;
      if (layout) pending.resolve(layout);
      else pending.reject(new Error(`the layout failed: ${error}`));
    };
    this.#worker.onerror = (event) => {
      event.preventDefault();
      this.#failAll(new Error(`the layout worker failed: ${event.message}`));
      this.#worker?.terminate();
      this.#worker = undefined;
    };
    return this.#worker;
  }

  #failAll(error: Error): void {
    for (const pending of this.#pending.values()) pending.reject(error);
    this.#pending.clear();
    this.#cache = new Map();
  }

  /** Stop the worker. */
  close(): void {
    this.#closed = true;
    this.#worker?.terminate();
    this.#worker = undefined;
    this.#failAll(new Error("closed"));
  }
}
