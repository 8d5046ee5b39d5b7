/**
 * `pivot checkout [TARGETS]`: bring cached outs in the workspace to what the
 * lock files record (after `git checkout REV`, say), and tracked data to
 * what its `.pvt` files record.
 *
 * A workspace out whose content is in the cache is replaced without asking:
 * nothing is lost, `checkout` can bring it back (SPEC §6). Only content the
 * cache does not hold (an out edited by hand) needs `--force`.
 *
 * It takes the execution locks of the stages whose outs it writes and of the
 * stages that read them, as `repro` does, so it never swaps an input under a
 * running stage (see lib/engine/stage_lock.ts).
 *
 * @module
 */

import { resolve } from "../../posix_path.ts";
import { restoreOut } from "../../engine/workspace_outs.ts";
import { type EngineContext, stageKey } from "../../engine/context.ts";
import { lockStages, lockWaitMessage } from "../../engine/stage_lock.ts";
import { PivotError } from "../../errors.ts";
import { projectRelative } from "../../model/project.ts";
import type { StageGraph } from "../../graph/graph.ts";
import type { OutDef, StageDef } from "../../model/stage_def.ts";
import { type ArtifactHash, dirManifest, hashArtifact } from "../../storage/artifact_hash.ts";
import { CHECKOUT_MODES, type CheckoutMode } from "../../storage/cache.ts";
import { readLock } from "../../storage/lock_file.ts";
import type { Command } from "../command.ts";
import { withSession } from "../session.ts";
import { selectStages } from "../targets.ts";

/**
 * How `checkout` opens its session: a project of only tracked data too; no
 * code fingerprints (it never decides whether a stage must run); the stages
 * from the load cache when it holds.
 */
const CHECKOUT_SESSION = {
  trackedDataOnly: true,
  fingerprint: false,
  loadCache: "always",
} as const;

/** The `checkout` command. */
export const checkout: Command = {
  name: "checkout",
  summary: "Restore outs from the cache as the lock files record them.",
  usage: "checkout [TARGETS...] [options]   (TARGETS: stage names, out paths or tracked paths)",
  options: {
    mode: {
      type: "string",
      value: "MODE",
      help:
        "reflink (default: a clone where the filesystem can, else a copy), copy, hardlink or symlink",
    },
    force: {
      type: "boolean",
      help: "also overwrite outs edited in the workspace (not in the cache)",
    },
    "only-missing": { type: "boolean", help: "restore only outs missing from the workspace" },
  },
  async run({ values, positionals }, env) {
    const mode = values.mode as string | undefined;
    if (mode !== undefined && !CHECKOUT_MODES.includes(mode as CheckoutMode)) {
      throw new PivotError(
        `checkout: --mode must be one of ${CHECKOUT_MODES.join(", ")}, got '${mode}'`,
      );
    }
    // Restoring needs the stages and the lock files, not code fingerprints:
    // the stages come from the load cache when it holds (their outs, never
    // their code), so the pipeline is not imported and the launcher may
    // answer in its own process (lib/launcher_attempt.ts).
    return await withSession(env, async (session) => {
      const { context } = session;
      const { trackedStatus } = await import("../../storage/track.ts");
      const { walkSkips } = await import("../../storage/project_files.ts");
      const { project, cache } = context;
      // The walk for `.pvt` files skips the stages' outs: a directory out
      // is the stage's whole (each run and each checkout replaces it), never
      // tracked data (`pivot track` refuses a path in a recorded one), and its
      // thousands of files are what a walk of the project would mostly read.
      const skip = [...walkSkips(project.root, cache.dir), ...outPaths(context.graph)];
      const toPath = (path: string) =>
        projectRelative(context.project, resolve(env.cwd, path)).replace(/\/$/, "");
      const allTracked = await trackedStatus(project.root, context.state, skip);
      const trackedPaths = new Set(allTracked.map((t) => t.data.path));
      const tracked = positionals.length === 0
        ? allTracked
        : allTracked.filter((t) => positionals.some((name) => toPath(name) === t.data.path));
      const targets = resolveTargets(
        context.graph,
        positionals.filter((name) => !trackedPaths.has(toPath(name))),
        toPath,
        positionals.length > 0,
      );
      const release = await lockStages(context, stagesToLock(context.graph, targets), {
        signal: env.signal,
        onWait: (stage, holder) =>
          env.output.error(`warning: ${lockWaitMessage(context, stage, holder)}`),
      });
      if (release === undefined) {
        env.output.error("checkout cancelled");
        return 130;
      }
      const checkoutMode = (mode as CheckoutMode | undefined) ?? context.checkoutMode;
      let restored = 0;
      let problems = 0;
      try {
        for (const { stage, outs } of targets) {
          const key = stageKey(context, stage);
          const lock = await readLock(stage.lockFile, key, context.state, context.cache);
          for (const out of outs) {
            if (!out.cache) continue;
            const locked = lock?.outs.find((o) => o.path === out.path);
            if (!locked) {
              if (positionals.length > 0) {
                env.output.error(
                  `${out.path}: stage '${stage.name}' has never been run: run 'pivot repro ${stage.name}'`,
                );
                problems++;
              }
              continue;
            }
            const now = await hashArtifact(
              out.abs,
              out.path,
              out.isDir,
              context.state,
              context.cache,
            );
            if (now?.hash === locked.hash) continue;
            if (now && values["only-missing"]) continue;
            if (now && !values.force && !(await inCache(context, now))) {
              env.output.error(
                `${out.path}: edited in the workspace (its content is not in the cache); use --force to overwrite it`,
              );
              problems++;
              continue;
            }
            if (await restoreOut(context, out, locked, checkoutMode)) {
              restored++;
              if (!env.output.quiet) env.output.line(`restored  ${out.path}`);
            } else {
              env.output.error(`${out.path}: not in the cache: run 'pivot repro ${stage.name}'`);
              problems++;
            }
          }
        }
      } finally {
        await release();
      }
      if (tracked.length > 0) {
        const { checkoutTracked } = await import("../tracked_data.ts");
        const fromTracked = await checkoutTracked(context, tracked, {
          mode: checkoutMode,
          force: Boolean(values.force),
          onlyMissing: Boolean(values["only-missing"]),
        }, env.output);
        restored += fromTracked.restored;
        problems += fromTracked.problems;
      }
      if (!env.output.quiet && restored === 0 && problems === 0) {
        env.output.line("Nothing to restore.");
      }
      return problems > 0 ? 1 : 0;
    }, CHECKOUT_SESSION);
  },
};

/**
 * True when the workspace content `now` is held, intact, by the cache: then
 * replacing it loses nothing (`pivot checkout` at its revision brings it back).
 */
async function inCache(context: EngineContext, now: ArtifactHash): Promise<boolean> {
  // Loaded only here (an out edited in the workspace): see lib/engine/stage_lock.ts.
  const { restorable } = await import("../../engine/decide.ts");
  if (!now.isDir) return await restorable(context, now.hash, false);
  const manifest = await dirManifest(now, context.cache);
  if (!manifest) return false;
  await context.state.loadObjectChunks(now.hash);
  for (const file of manifest.files) {
    if (!(await context.cache.verify(file.hash, context.state, context.warn))) return false;
  }
  return true;
}

/** Every stage's outs, as absolute paths: what the `.pvt` walk need not enter. */
function outPaths(graph: StageGraph): string[] {
  return graph.order.flatMap((stage) => stage.outs.map((out) => out.abs));
}

/** The stages whose outs `targets` writes, and the stages that read those outs. */
function stagesToLock(
  graph: StageGraph,
  targets: readonly { stage: StageDef; outs: readonly OutDef[] }[],
): StageDef[] {
  const names = new Set<string>();
  for (const { stage } of targets) {
    names.add(stage.name);
    for (const reader of graph.downstream.get(stage.name) ?? []) names.add(reader);
  }
  return [...names].map((name) => graph.byName.get(name)!);
}

function resolveTargets(
  graph: StageGraph,
  targets: readonly string[],
  toProjectPath: (path: string) => string,
  named: boolean,
): { stage: StageDef; outs: OutDef[] }[] {
  const whole = (stage: StageDef) => ({ stage, outs: [...stage.outs] });
  // Only tracked data named: no stage.
  if (targets.length === 0) return named ? [] : graph.order.map(whole);
  return targets.flatMap((target) => {
    const stage = graph.byName.get(target);
    if (stage) return [whole(stage)];
    if (/[*?]/.test(target)) return selectStages(graph, [target]).map(whole);
    const path = toProjectPath(target).replace(/\/$/, "");
    const owner = graph.order.find((s) => s.outs.some((o) => o.path === path));
    if (!owner) {
      throw new PivotError(
        `checkout: '${target}' is neither a stage, an out nor tracked data: run 'pivot list --deps' to see them`,
      );
    }
    return [{ stage: owner, outs: owner.outs.filter((o) => o.path === path) }];
  });
}
