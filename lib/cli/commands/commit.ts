/**
 * `pivot commit [STAGES]`: record the workspace as it is — outs into the
 * cache, current code, params and dep hashes into the lock files — for
 * stages run with `--no-commit` or by hand. Each stage goes through the
 * engine's lock → decide → record path (`withStageLock`, `recordRun`), as a
 * run does.
 *
 * @module
 */

import { OutputError } from "../../errors.ts";
import { recordRun } from "../../engine/record.ts";
import {
  lockCancelReason,
  lockErrorMessage,
  lockWaitMessage,
  withStageLock,
} from "../../engine/stage_lock.ts";
import type { LockHolder } from "../../storage/exec_lock.ts";
import { PivotError } from "../../errors.ts";
import { recacheOut, storeWorkspaceOuts } from "../../engine/workspace_outs.ts";
import { missingFromCache } from "../../engine/decide.ts";
import type { Command } from "../command.ts";
import { withSession } from "../session.ts";
import { selectStages } from "../targets.ts";

/** What committing one stage did. */
type Committed = "committed" | "unchanged" | "failed";

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
        let holder: LockHolder | undefined;
        const onWait = (held: LockHolder) => {
          holder = held;
          env.output.error(`warning: ${lockWaitMessage(context, stage, held)}`);
        };
        const result = await withStageLock(
          context,
          stage,
          { forced: false, signal: env.signal, onWait },
          async (decision): Promise<Committed> => {
            if (decision.status === "up-to-date" && decision.restore.length === 0) {
              // Recorded as it is; only what the cache lacks is stored.
              const missing = await missingFromCache(context.cache, decision);
              for (const locked of missing) {
                await recacheOut(context, stage.outs.find((o) => o.path === locked.path)!, locked);
              }
              return missing.length > 0 ? "committed" : "unchanged";
            }
            try {
              await recordRun(context, decision, await storeWorkspaceOuts(context, stage));
              return "committed";
            } catch (error) {
              if (!(error instanceof OutputError)) throw error;
              env.output.error(error.message);
              return "failed";
            }
          },
        ).catch((error) => {
          const message = lockErrorMessage(context, stage, error);
          throw message === undefined ? error : new PivotError(message, { exitCode: 1 });
        });
        if (result === undefined) {
          env.output.error(
            `commit cancelled: stage '${stage.name}' ${lockCancelReason(context, holder)}`,
          );
          return 130;
        }
        if (result === "failed") failed++;
        else if (result === "committed") env.output.line(`committed  ${stage.name}`);
        else if (env.output.verbose) env.output.line(`unchanged  ${stage.name}`);
      }
      return failed > 0 ? 1 : 0;
    });
  },
};
