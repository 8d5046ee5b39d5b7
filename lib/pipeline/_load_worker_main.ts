/**
 * Entry of the loader worker (see `load_worker.ts`): load one pipeline and
 * send back its resolved stages.
 *
 * @module
 */

import { messageOf, PivotError } from "../errors.ts";
import { loadStagesWithProducers } from "./discovery.ts";
import type { LoadReply, LoadRequest } from "./load_worker.ts";

const scope = self as unknown as {
  onmessage: (event: MessageEvent<LoadRequest>) => void;
  postMessage(reply: LoadReply): void;
};

scope.onmessage = async ({ data }) => {
  try {
    const loaded = await loadStagesWithProducers(data.project, data.file, {
      paramsYaml: data.paramsYaml,
    });
    scope.postMessage({ ok: true, loaded });
  } catch (error) {
    scope.postMessage({
      ok: false,
      message: messageOf(error),
      userError: error instanceof PivotError,
    });
  }
};
