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
 * Loads pipelines, each in a new isolate (see the module doc). Starting a
 * worker costs tens of milliseconds of CPU before it can import the user's
 * modules (the runtime's bootstrap, then Pivot's loader); {@link prepare}
 * does that ahead of need, so that watch mode's reload after a code change
 * pays only for the user's modules. A prepared worker has imported nothing
 * of the user's, so it is as fresh as one started at the time of the load.
 */
export class FreshLoader {
  #spare: LoaderWorker | undefined;

  /** Start the worker of the next load now, if none is waiting. */
  prepare(): void {
    this.#spare ??= new LoaderWorker();
  }

  /** True while a prepared worker waits for a load. */
  get prepared(): boolean {
    return this.#spare !== undefined;
  }

  /**
   * Load the pipeline in `file` (with the producers it needs from other
   * pipelines) in the prepared worker, or in a new one.
   */
  load(project: Project, file: string, paramsYaml: ParamsYaml): Promise<LoadedStages> {
    let worker = this.#spare;
    this.#spare = undefined;
    if (worker === undefined || worker.failure !== undefined) {
      // A prepared worker that failed to start is tried again, once, now.
      worker?.terminate();
      worker = new LoaderWorker();
    }
    return worker.load({ project, file, paramsYaml });
  }

  /** Terminate a prepared worker. */
  close(): void {
    this.#spare?.terminate();
    this.#spare = undefined;
  }
}

/** One loader worker: started at construction, used for one load. */
class LoaderWorker {
  readonly #worker = new Worker(new URL("./_load_worker_main.ts", import.meta.url), {
    type: "module",
  });
  /** Why the worker failed before it was asked anything. */
  failure: string | undefined;
  #settle: ((reply: LoadReply | { readonly failed: string }) => void) | undefined;

  constructor() {
    this.#worker.onmessage = ({ data }: MessageEvent<LoadReply>) => this.#done(data);
    this.#worker.onerror = (event) => {
      event.preventDefault();
      this.failure ??= event.message;
      this.#done({ failed: event.message });
    };
  }

  load(request: LoadRequest): Promise<LoadedStages> {
    return new Promise<LoadedStages>((resolve, reject) => {
      this.#settle = (reply) => {
        if ("failed" in reply) {
          reject(new PivotError(`${request.file}: failed to load: ${reply.failed}`));
        } else if (reply.ok) resolve(reply.loaded);
        else reject(reply.userError ? new PivotError(reply.message) : new Error(reply.message));
      };
      this.#worker.postMessage(request);
    });
  }

  #done(reply: LoadReply | { readonly failed: string }): void {
    const settle = this.#settle;
    if (settle === undefined) return; // not asked yet: `failure` tells
    this.#settle = undefined;
    this.terminate();
    settle(reply);
  }

  terminate(): void {
    this.#worker.terminate();
  }
}
