/**
 * Hand-built {@link StageDef}s for graph, render, slots and target tests.
 *
 * @module
 */

import type { OutDef, StageDef } from "../../lib/model/stage_def.ts";

/** The project root the fake stages live in. */
export const ROOT = "/project";

/** What a test says about a stage: paths end in `/` for directories. */
export interface StageSketch {
  /** Full name; `@` makes a variant. */
  readonly name: string;
  /** Dep paths. */
  readonly deps?: readonly string[];
  /** Out paths. */
  readonly outs?: readonly string[];
  /** Mutex groups. */
  readonly mutex?: readonly string[];
  /** Pipeline file (default `/project/pipeline.ts`). */
  readonly file?: string;
}

function artifact(path: string, index: number) {
  const isDir = path.endsWith("/");
  const rel = isDir ? path.slice(0, -1) : path;
  return { name: `a${index}`, path: rel, abs: `${ROOT}/${rel}`, isDir, loader: undefined };
}

/** A resolved stage with the given name, deps, outs and mutex groups. */
export function stage(sketch: StageSketch): StageDef {
  const [baseName, variant] = sketch.name.split("@");
  const file = sketch.file ?? `${ROOT}/pipeline.ts`;
  return {
    name: sketch.name,
    baseName,
    variant,
    pipeline: { name: "test", file, dir: ROOT },
    deps: (sketch.deps ?? []).map(artifact),
    outs: (sketch.outs ?? []).map((path, i): OutDef => ({
      ...artifact(path, i),
      kind: "out",
      cache: true,
      selfWritten: false,
    })),
    params: {},
    mutex: sketch.mutex ?? [],
    permissions: { read: [], net: false, env: false, run: false, ffi: false, sys: false },
    lockFile: `${ROOT}/.pivot/stages/${sketch.name}.lock`,
    code: { kind: "export", moduleUrl: `file://${file}`, exportName: baseName },
  };
}

/** Graph options under which the given project-relative paths exist. */
export function existing(...paths: string[]): { exists(abs: string): boolean } {
  const set = new Set(paths.map((p) => `${ROOT}/${p}`));
  return { exists: (abs) => set.has(abs) };
}
