/**
 * `pivot verify [STAGES] [--allow-missing] [--json]`: the CI gate (docs/verify.md).
 * Every stage is up to date (its code, params and deps are those its lock
 * file records), every cached out and every tracked path is restorable from
 * the cache, and tracked data is as its `.pvt` file records it. Exit 1 with
 * one line per problem.
 *
 * It decides exactly as `repro` does (the same `decide` per stage, with the
 * same caches), and only reads: it costs what a no-op `repro` costs, plus a
 * look for each file object of the directory outs in the workspace (a no-op
 * looks only for their manifests).
 *
 * @module
 */

import { type Decision, missingFromCache } from "../../engine/decide.ts";
import { stageKey } from "../../engine/context.ts";
import type { Hash } from "../../storage/hash.ts";
import type { Command } from "../command.ts";
import { withSession } from "../session.ts";
import { selectStages } from "../targets.ts";

/** One thing that is not as it should be (SPEC §6 `verify --json`). */
interface Problem {
  readonly stage?: string;
  readonly path?: string;
  readonly problem: string;
}

/** The `verify` command. */
export const verify: Command = {
  name: "verify",
  summary:
    "CI gate: every stage up to date, every out and tracked file restorable (exit 1 if not).",
  usage: "verify [STAGES...] [--allow-missing] [--remote [-r NAME]] [--json]",
  options: {
    "allow-missing": {
      type: "boolean",
      help: "data absent from the workspace or the cache is no problem; only changes are",
    },
    remote: {
      type: "boolean",
      short: "c",
      help:
        "judge restorable by the remote (what 'pivot pull' can bring back), not the local cache",
    },
    "remote-name": {
      type: "string",
      short: "r",
      value: "NAME",
      help: "the remote for --remote (default: core.remote, or the only one); implies --remote",
    },
    json: { type: "boolean", help: "JSON on stdout: {ok, problems: [{stage?, path?, problem}]}" },
  },
  async run({ values, positionals }, env) {
    const allowMissing = Boolean(values["allow-missing"]);
    const requested = values["remote-name"] as string | undefined;
    const onRemote = Boolean(values.remote) || requested !== undefined;
    return await withSession(env, async (session) => {
      const { context } = session;
      const { graph, project, cache, state } = context;
      const shown = positionals.length > 0 ? selectStages(graph, positionals) : graph.order;
      const { predictStatus } = await import("../../engine/plan.ts");
      const { trackedStatus } = await import("../../storage/track.ts");
      const { walkSkips } = await import("../../storage/project_files.ts");
      const skip = walkSkips(project.root, cache.dir);
      const tracked = positionals.length > 0 ? [] : await trackedStatus(project.root, state, skip);

      let assumed: Map<string, Hash> | undefined;
      if (allowMissing || onRemote) {
        // Data recorded but absent counts as what was recorded (with --remote,
        // whether it can be restored is the remote's question, below).
        const { readLock } = await import("../../storage/lock_file.ts");
        assumed = new Map(tracked.map((t) => [t.data.path, t.data.hash]));
        for (const stage of graph.order) {
          const lock = await readLock(stage.lockFile, stageKey(context, stage), state);
          for (const entry of [...(lock?.deps ?? []), ...(lock?.outs ?? [])]) {
            assumed.set(entry.path, entry.hash);
          }
        }
      }
      const decisions = await predictStatus(context, shown, {
        assumed,
        missingOutsOk: allowMissing || onRemote,
      });

      const problems: Problem[] = [];
      // With --remote, data is restorable when the remote has it (checked
      // below), whatever the local cache holds.
      const localCacheCounts = !allowMissing && !onRemote;
      for (const decision of decisions) {
        const problem = stageProblem(decision, allowMissing || onRemote);
        if (problem) problems.push({ stage: decision.stage.name, problem });
        if (!localCacheCounts || decision.status !== "up-to-date") continue;
        for (const out of await missingFromCache(cache, decision)) {
          problems.push({
            stage: decision.stage.name,
            path: out.path,
            problem:
              `in the workspace but not in the cache: 'pivot commit ${decision.stage.name}' stores it`,
          });
        }
      }
      for (const { data, status } of tracked) {
        if (status === "modified") {
          problems.push({
            path: data.path,
            problem:
              `modified since it was tracked (${data.path}.pvt): 'pivot track ${data.path}' records it`,
          });
          continue;
        }
        if (!localCacheCounts) continue;
        if (!(await cache.hasWhole(data.hash, data.files !== undefined))) {
          problems.push({
            path: data.path,
            problem: status === "missing"
              ? "missing, and not in the cache: it cannot be restored"
              : `not in the cache: 'pivot track ${data.path}' stores it`,
          });
        }
      }
      if (onRemote && !allowMissing) {
        const { remoteProblems, remoteStatusOfStages } = await import("../remote_status.ts");
        const status = await remoteStatusOfStages(
          context,
          shown,
          positionals.length > 0,
          requested,
        );
        problems.push(...remoteProblems(status));
      }

      if (values.json) {
        env.output.line(JSON.stringify({ ok: problems.length === 0, problems }, null, 2));
      } else if (problems.length > 0) {
        for (const { stage, path, problem } of problems) {
          const where = stage !== undefined && path !== undefined
            ? `stage '${stage}', ${path}`
            : stage !== undefined
            ? `stage '${stage}'`
            : path!;
          env.output.line(`${where}: ${problem}`);
        }
      } else if (!env.output.quiet) {
        const trackedText = tracked.length > 0 ? ` and ${tracked.length} tracked paths` : "";
        const stagesText = graph.order.length > 0
          ? `${decisions.length} ${decisions.length === 1 ? "stage" : "stages"} up to date`
          : "no stages";
        env.output.line(
          `OK: ${stagesText}${trackedText}, ${
            allowMissing
              ? "nothing changed"
              : onRemote
              ? "everything restorable from the remote"
              : "everything restorable"
          }.`,
        );
      }
      return problems.length > 0 ? 1 : 0;
    }, { trackedDataOnly: true });
  },
};

/** Why a stage fails the check, or undefined when it passes. */
function stageProblem(decision: Decision, allowMissing: boolean): string | undefined {
  if (decision.status === "up-to-date") return undefined;
  const reasons = decision.reasons.filter((reason) => !(allowMissing && reason === "outs-missing"));
  if (reasons.length === 0) return undefined;
  const { changes } = decision;
  const details: string[] = [];
  for (const reason of reasons) {
    switch (reason) {
      case "code":
        details.push(`code changed (${changes.code.map((c) => c.key).join(", ")})`);
        break;
      case "params":
        details.push(`params changed (${changes.params.map((c) => c.key).join(", ")})`);
        break;
      case "deps":
        details.push(`deps changed (${changes.deps.map((c) => c.path).join(", ")})`);
        break;
      case "never-run":
        details.push("never run");
        break;
      case "outs-missing":
        details.push("outs missing, and not in the cache");
        break;
      case "upstream":
        details.push("an upstream stage will run");
        break;
      default:
        details.push(reason);
    }
  }
  return `not up to date: ${details.join("; ")}: run 'pivot repro ${decision.stage.name}'`;
}
