/**
 * `pivot commit [STAGES]`: record the workspace as it is — outs into the
 * cache, current code, params and dep hashes into the lock files — for
 * stages run with `--no-commit` or by hand.
 *
 * @module
 */

import { join } from "node:path";
import { decide } from "../../engine/decide.ts";
import { OutputError, storeWorkspaceOuts } from "../../engine/outputs.ts";
import { recordRun } from "../../engine/record.ts";
import { stageKey } from "../../engine/context.ts";
import { acquireExecLock } from "../../storage/exec_lock.ts";
import type { Command } from "../command.ts";
import { withSession } from "../session.ts";
import { selectStages } from "../targets.ts";

/** The `commit` command. */
export const commit: Command = {
  name: "commit",
  summary: "Record the workspace as it is into lock files and the cache.",
  usage: "commit [STAGES...] [options]",
  options: {},
  async run({ positionals }, env) {
    let failed = 0;
    return await withSession(env, async (session) => {
      const { context } = session;
      const stages = positionals.length > 0
        ? selectStages(context.graph, positionals)
        : context.graph.order;
      for (const stage of stages) {
        const lock = await acquireExecLock(
          join(context.project.tmpDir, "locks"),
          stageKey(context, stage),
          {
            signal: env.signal,
          },
        );
        try {
          const decision = await decide(context, stage, { forced: false, upstreamWillRun: false });
          if (decision.status === "up-to-date" && decision.restore.length === 0) {
            if (env.output.verbose) env.output.line(`unchanged  ${stage.name}`);
            continue;
          }
          const outs = await storeWorkspaceOuts(context, stage);
          await recordRun(context, decision, outs);
          env.output.line(`committed  ${stage.name}`);
        } catch (error) {
          if (!(error instanceof OutputError)) throw error;
          env.output.error(error.message);
          failed++;
        } finally {
          await lock.release();
        }
      }
      return failed > 0 ? 1 : 0;
    });
  },
};
