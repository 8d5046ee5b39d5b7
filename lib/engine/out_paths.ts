/**
 * Outs must stay data: an out never overwrites the pipeline's own code. The
 * path checks that need no code (inside the project, not in `.pivot/` or a
 * `.git/`, no symbolic link leading out) are made when the pipeline is loaded
 * (`lib/pipeline/_resolve_declared.ts`); this one needs the fingerprints,
 * which know every module a stage's code comes from.
 *
 * @module
 */

import { join } from "../posix_path.ts";
import { PivotError } from "../errors.ts";
import { escapesThroughLink, isInside } from "../model/project.ts";
import type { OutDef } from "../model/stage_def.ts";
import { fromFileUrl } from "../paths.ts";
import type { EngineContext } from "./context.ts";

/**
 * Refuse an out that is (or, for a directory, holds) a source module of the
 * pipeline: a pipeline file, the module of a stage's run function, or any
 * module a stage's code manifest draws from.
 *
 * @throws {PivotError} naming the stage, the out and the module.
 */
export function refuseOutsOverCode(
  context: Pick<EngineContext, "project" | "graph" | "fingerprints">,
): void {
  // Stages share their modules (and stages of one shape their list of
  // files): each URL, list and file is looked at once, not once a stage.
  const urls = new Set<string>();
  const lists = new Set<readonly string[]>();
  const code = new Set<string>();
  for (const stage of context.graph.order) {
    code.add(stage.pipeline.file);
    if (stage.code.kind !== "command" && stage.code.moduleUrl.startsWith("file:")) {
      urls.add(stage.code.moduleUrl);
    }
    const files = context.fingerprints.get(stage.name)?.files;
    if (files !== undefined) lists.add(files);
  }
  for (const url of urls) code.add(fromFileUrl(url));
  for (const files of lists) for (const file of files) code.add(join(context.project.root, file));
  for (const stage of context.graph.order) {
    for (const out of stage.outs) {
      const module = out.isDir
        ? [...code].find((file) => isInside(out.abs, file))
        : code.has(out.abs)
        ? out.abs
        : undefined;
      if (module === undefined) continue;
      const rel = module.slice(context.project.root.length + 1);
      throw new PivotError(
        `stage '${stage.name}': out '${out.name}' (${out.path}) ${
          out.isDir ? `holds ${rel}, ` : "is "
        }a source module of the pipeline: running the stage would overwrite its code; write the out elsewhere`,
      );
    }
  }
}

const realRoots = new Map<string, string>();

/**
 * Check, right before writing `out`, that no symbolic link made since the
 * pipeline was loaded leads it outside the project.
 *
 * @throws {PivotError} naming the out and where it really is.
 */
export function refuseEscapingOut(root: string, out: OutDef): void {
  // The root's real path is resolved once a process; the out's directories
  // are resolved every time (a link may have been made since).
  let realRoot = realRoots.get(root);
  if (realRoot === undefined) {
    const resolved = new Map<string, string>();
    escapesThroughLink(root, out.abs, resolved);
    realRoot = resolved.get(root);
    if (realRoot !== undefined) realRoots.set(root, realRoot);
  }
  const really = escapesThroughLink(
    root,
    out.abs,
    realRoot === undefined ? new Map() : new Map([[root, realRoot]]),
  );
  if (really === undefined) return;
  throw new PivotError(
    `out '${out.name}' (${out.path}) leads outside the project through a symbolic link (it is really ${really}): nothing was written there; write outs inside the project`,
  );
}
