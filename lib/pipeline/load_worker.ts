/**
 * Loading a pipeline in a fresh isolate. A module, once imported, stays in
 * its isolate: importing an edited `pipeline.ts` again in the same process
 * returns the old code. Watch mode therefore loads each new version of the
 * pipeline in a new worker (with the process's permissions), which runs the
 * ordinary loader and sends back the resolved stages — plain data.
 *
 * @module
 */

import { PivotError } from "../errors.ts";
import type { LoadedStages } from "./discovery.ts";
import type { ParamsYaml } from "./params.ts";
import type { Project } from "../model/project.ts";

/** What the loader worker is asked. */
export interface LoadRequest {
  /** The project. */
  readonly project: Project;
  /** The pipeline file. */
  readonly file: string;
  /** `params.yaml` overrides. */
  readonly paramsYaml: ParamsYaml;
}

/** What the loader worker answers. */
export type LoadReply =
  | { readonly ok: true; readonly loaded: LoadedStages }
  | { readonly ok: false; readonly message: string; readonly userError: boolean };

/**
 * Load the pipeline in `file` (with the producers it needs from other
 * pipelines) in a new isolate (see the module doc), so that every module it
 * imports is read afresh.
 */
export function loadStagesFresh(
  project: Project,
  file: string,
  paramsYaml: ParamsYaml,
): Promise<LoadedStages> {
  const worker = new Worker(new URL("./_load_worker_main.ts", import.meta.url), {
    type: "module",
  });
  return new Promise<LoadedStages>((resolve, reject) => {
    worker.onmessage = ({ data }: MessageEvent<LoadReply>) => {
      worker.terminate();
      if (data.ok) resolve(data.loaded);
      else reject(data.userError ? new PivotError(data.message) : new Error(data.message));
    };
    worker.onerror = (event) => {
      event.preventDefault();
      worker.terminate();
      reject(new PivotError(`${file}: failed to load: ${event.message}`));
    };
    worker.postMessage({ project, file, paramsYaml } satisfies LoadRequest);
  });
}
