/**
 * The layer check (`deno task layers`): reads the imports of every module
 * under `lib/` and of `mod.ts` and `cli.ts`, and fails when
 *
 * - a module imports one of a higher layer, or of another layer on its own
 *   level (layers on one level are independent of each other);
 * - a module imports a private (`_`-prefixed) module of another folder;
 * - modules import each other in a circle (type-only imports included: a
 *   circle of types is still a circle of concepts);
 * - a folder under `lib/` belongs to no layer.
 *
 * {@link LAYERS} is the order; docs/architecture.md mirrors it. Imports are
 * read with TypeScript's `preProcessFile` (static, `export … from`, `import
 * type` and literal dynamic `import()`), not with a regular expression, so
 * comments and strings that look like imports do not count.
 *
 * Needs read permission for the repository.
 *
 * @example
 * ```sh
 * deno task layers        # prints "layers: N modules, M imports, all in order" or the violations
 * ```
 *
 * @module
 */

import ts from "typescript";

/**
 * The layers, bottom first. A module may import modules of its own layer and
 * of any layer on a lower level, never one on its own level or above.
 * `lib/*.ts` are the files directly in `lib/`; a folder covers its
 * sub-folders (`lib/cli/` holds `lib/cli/commands/`).
 */
export const LAYERS: readonly (readonly string[])[] = [
  // Helpers with no knowledge of pipelines: errors, paths, events, own code, trace, version.
  ["lib/*.ts"],
  // The shared model: stage definitions, the project, artifact and loader-spec types; the JSON
  // Schemas of the files users write (pivot.yaml, config.yaml, .pvt).
  ["lib/model/", "lib/schemas/"],
  // What users import (mod.ts); content-addressed storage, lock files, state.
  ["lib/api/", "lib/storage/"],
  // Code fingerprints; the stage graph; stage workers; remotes.
  ["lib/fingerprint/", "lib/graph/", "lib/worker/", "lib/remote/"],
  // Loading pipelines, beside (not below) what runs them: the engine, graph, fingerprint and
  // worker never import loading code. Deciding and scheduling waves; metrics, plots and data
  // commands' logic; DVC interop.
  ["lib/pipeline/", "lib/engine/", "lib/outputs/", "lib/dvc/"],
  // Watch mode: file watcher and agent socket.
  ["lib/watch/"],
  // The web UI.
  ["lib/ui/"],
  // The command line.
  ["lib/cli/"],
  // Entry points.
  ["mod.ts", "cli.ts"],
];

/** One import that breaks a rule. */
export interface Violation {
  /** The importing module (repository-relative). */
  readonly from: string;
  /** What is wrong, in one line. */
  readonly message: string;
}

/** What {@link checkLayers} found. */
export interface LayerReport {
  /** Modules read. */
  readonly modules: number;
  /** Imports between them. */
  readonly imports: number;
  /** Imports against the order, and folders in no layer. */
  readonly violations: readonly Violation[];
  /** Circles of imports, each as `a.ts -> b.ts -> a.ts`. */
  readonly cycles: readonly string[];
}

/** The layer of a repository-relative module path, or undefined. */
export function layerOf(path: string): { level: number; layer: string } | undefined {
  let best: { level: number; layer: string } | undefined;
  LAYERS.forEach((layers, level) => {
    for (const layer of layers) {
      const matches = layer === "lib/*.ts"
        ? /^lib\/[^/]+\.ts$/.test(path)
        : layer.endsWith("/")
        ? path.startsWith(layer)
        : path === layer;
      if (matches && (best === undefined || layer.length > best.layer.length)) {
        best = { level, layer };
      }
    }
  });
  return best;
}

/** The repository-relative module paths `source` (at `path`) imports locally. */
export function importsOf(path: string, source: string): string[] {
  const info = ts.preProcessFile(source, true, true);
  const result: string[] = [];
  for (const { fileName } of info.importedFiles) {
    if (!fileName.startsWith("./") && !fileName.startsWith("../")) continue;
    result.push(normalize(`${dirOf(path)}/${fileName}`));
  }
  return result;
}

function dirOf(path: string): string {
  const slash = path.lastIndexOf("/");
  return slash < 0 ? "." : path.slice(0, slash);
}

function normalize(path: string): string {
  const parts: string[] = [];
  for (const part of path.split("/")) {
    if (part === "..") parts.pop();
    else if (part !== "." && part !== "") parts.push(part);
  }
  return parts.join("/");
}

/** Check the modules `files` (repository-relative path → source text). */
export function checkLayers(files: ReadonlyMap<string, string>): LayerReport {
  const violations: Violation[] = [];
  const edges = new Map<string, string[]>();
  let imports = 0;
  for (const [from, source] of files) {
    const fromLayer = layerOf(from);
    if (fromLayer === undefined) {
      violations.push({
        from,
        message: `is in no layer: add its folder to LAYERS in tools/check_layers.ts ` +
          `(and to the order in docs/architecture.md)`,
      });
    }
    const targets = importsOf(from, source).filter((to) => files.has(to));
    edges.set(from, targets);
    imports += targets.length;
    for (const to of targets) {
      const toLayer = layerOf(to);
      if (fromLayer === undefined || toLayer === undefined) continue;
      if (toLayer.layer !== fromLayer.layer && toLayer.level >= fromLayer.level) {
        const where = toLayer.level === fromLayer.level ? "on its own level" : "above it";
        violations.push({
          from,
          message: `imports ${to}: layer ${toLayer.layer} is ${where} (${fromLayer.layer}); ` +
            `move what both need down a layer (see docs/architecture.md)`,
        });
      }
      const name = to.slice(to.lastIndexOf("/") + 1);
      if (name.startsWith("_") && dirOf(to) !== dirOf(from)) {
        violations.push({
          from,
          message: `imports ${to}, which is private to ${dirOf(to)}/: ` +
            `export what it needs from a public module there`,
        });
      }
    }
  }
  return { modules: files.size, imports, violations, cycles: findCycles(edges) };
}

/** One circle through each strongly connected group of modules (Tarjan). */
function findCycles(edges: ReadonlyMap<string, readonly string[]>): string[] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const groups: string[][] = [];
  let counter = 0;
  const visit = (node: string) => {
    index.set(node, counter);
    low.set(node, counter++);
    stack.push(node);
    onStack.add(node);
    for (const next of edges.get(node) ?? []) {
      if (!index.has(next)) {
        visit(next);
        low.set(node, Math.min(low.get(node)!, low.get(next)!));
      } else if (onStack.has(next)) {
        low.set(node, Math.min(low.get(node)!, index.get(next)!));
      }
    }
    if (low.get(node) === index.get(node)) {
      const group: string[] = [];
      let member: string;
      do {
        member = stack.pop()!;
        onStack.delete(member);
        group.push(member);
      } while (member !== node);
      const selfLoop = (edges.get(node) ?? []).includes(node);
      if (group.length > 1 || selfLoop) groups.push(group);
    }
  };
  for (const node of [...edges.keys()].sort()) if (!index.has(node)) visit(node);
  return groups.map((group) => circleIn(new Set(group), edges));
}

/** A shortest circle through the first (sorted) member of `group`. */
function circleIn(group: ReadonlySet<string>, edges: ReadonlyMap<string, readonly string[]>) {
  const start = [...group].sort()[0];
  const previous = new Map<string, string>();
  const queue = [start];
  for (let i = 0; i < queue.length; i++) {
    for (const next of edges.get(queue[i]) ?? []) {
      if (!group.has(next)) continue;
      if (next === start) {
        const path = [start];
        for (let at = queue[i]; at !== start; at = previous.get(at)!) path.splice(1, 0, at);
        return [...path, start].join(" -> ");
      }
      if (!previous.has(next)) {
        previous.set(next, queue[i]);
        queue.push(next);
      }
    }
  }
  return [...group].join(" -> ");
}

/** The modules the check reads: `lib/**.ts`, `mod.ts`, `cli.ts`, by relative path. */
export function readModules(root: string): Map<string, string> {
  const files = new Map<string, string>();
  const walk = (dir: string) => {
    for (const entry of Deno.readDirSync(`${root}/${dir}`)) {
      const path = `${dir}/${entry.name}`;
      if (entry.isDirectory) walk(path);
      else if (entry.isFile && path.endsWith(".ts")) {
        files.set(path, Deno.readTextFileSync(`${root}/${path}`));
      }
    }
  };
  walk("lib");
  for (const entry of ["mod.ts", "cli.ts"]) {
    files.set(entry, Deno.readTextFileSync(`${root}/${entry}`));
  }
  return files;
}

if (import.meta.main) {
  const root = new URL("../", import.meta.url).pathname.replace(/\/$/, "");
  const report = checkLayers(readModules(root));
  for (const { from, message } of report.violations) console.error(`layers: ${from} ${message}`);
  for (const cycle of report.cycles) {
    console.error(`layers: import circle: ${cycle}: break it by moving what both need apart`);
  }
  const problems = report.violations.length + report.cycles.length;
  if (problems > 0) {
    console.error(`layers: ${problems} problem(s) in ${report.modules} modules`);
    Deno.exit(1);
  }
  console.log(`layers: ${report.modules} modules, ${report.imports} imports, all in order`);
}
