/**
 * The project's `params.yaml` overrides, read through the state store's
 * cache of its parse: apart from the pipeline's loading (lib/pipeline/
 * load.ts), for the launcher's fast answer of a no-op (lib/cli/
 * noop_answer.ts), which loads no more than it needs.
 *
 * @module
 */

import { join } from "../posix_path.ts";
import type { Project } from "../model/project.ts";
import { emptyParamsYaml, PARAMS_FILE, type ParamsYaml } from "./params.ts";
import { type FileStamp, NS, sameStamp, stampOf, type StateStore } from "../storage/state.ts";

interface CachedParamsYaml extends FileStamp {
  readonly stages: ParamsYaml["stages"];
  readonly notMappings?: ParamsYaml["notMappings"];
}

/**
 * The project's `params.yaml` overrides. Parsed results are cached in the
 * state store by the file's stamp, so an unchanged file costs a `stat`, not a
 * YAML parse (nor the ~30 ms import of the parser).
 */
export async function readParamsOverrides(
  project: Project,
  state: StateStore,
): Promise<ParamsYaml> {
  const file = join(project.root, PARAMS_FILE);
  let stamp: FileStamp;
  try {
    stamp = stampOf(Deno.statSync(file));
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return emptyParamsYaml();
    throw error;
  }
  const key = [NS.parsed, PARAMS_FILE];
  const cached = await state.get<CachedParamsYaml>(key);
  if (cached && sameStamp(cached, stamp)) {
    return {
      file: PARAMS_FILE,
      stages: cached.stages,
      ...(cached.notMappings ? { notMappings: cached.notMappings } : {}),
    };
  }
  const { readParamsYaml } = await import("./params_file.ts");
  const paramsYaml = await readParamsYaml(project.root);
  state.defer(key, {
    ...stamp,
    stages: paramsYaml.stages,
    ...(paramsYaml.notMappings ? { notMappings: paramsYaml.notMappings } : {}),
  });
  return paramsYaml;
}
