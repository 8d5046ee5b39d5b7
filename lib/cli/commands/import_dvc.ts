/**
 * `pivot import-dvc [DIR]` (SPEC §12): move a DVC project to Pivot without
 * losing what DVC already computed.
 *
 * 1. Every `dvc.yaml` under DIR becomes a `pivot.yaml` beside it
 *    (`lib/dvc/convert.ts`); each is parsed by Pivot before anything is
 *    written, so a file Pivot would refuse writes nothing.
 * 2. `.pivot/` is made at DIR if no project holds it yet.
 * 3. For each stage whose `dvc.lock` entry still matches the workspace
 *    (DVC's md5 hashes, `lib/dvc/lock_match.ts`), the workspace is recorded
 *    as `pivot commit` records it: outs into Pivot's cache, Pivot's hashes
 *    into its lock file. The first `pivot repro` then runs exactly what
 *    `dvc repro` would have run.
 * 4. The data of every `.dvc` file becomes tracked data (`PATH.pvt`,
 *    `lib/dvc/tracked_data.ts`) where the workspace holds what it records.
 * 5. Everything that could not be converted is listed, with the reason.
 *
 * Outs and data missing from the workspace but present in DVC's local cache
 * are brought back from it first (as `dvc checkout` would).
 *
 * @module
 */

import { basename, dirname, join, relative } from "node:path";
import { PivotError } from "../../errors.ts";
import type { EngineContext } from "../../engine/context.ts";
import { recordRun } from "../../engine/record.ts";
import { withStageLock } from "../../engine/stage_lock.ts";
import { storeWorkspaceOuts } from "../../engine/workspace_outs.ts";
import { PIVOT_DIR } from "../../model/project.ts";
import type { StageDef } from "../../model/stage_def.ts";
import { findProject, pipelineFileIn } from "../../pipeline/find_project.ts";
import { readProjectConfig } from "../../pipeline/project_config.ts";
import { Cache } from "../../storage/cache.ts";
import { StateStore } from "../../storage/state.ts";
import type { Command, CommandEnv } from "../command.ts";
import { openSession } from "../session.ts";
import { initProject } from "./init.ts";

/** One `dvc.yaml`, converted. */
interface Converted {
  /** Absolute path of the `dvc.yaml`. */
  readonly source: string;
  /** Absolute path of the `pivot.yaml` to write. */
  readonly target: string;
  /** Its text. */
  readonly text: string;
  /** How many stages it declares (variants counted). */
  readonly stages: number;
}

/** The `import-dvc` command. */
export const importDvc: Command = {
  name: "import-dvc",
  summary: "Convert a DVC project (dvc.yaml, dvc.lock, .dvc files) into a Pivot project.",
  usage: "import-dvc [DIR] [options]",
  options: {
    force: { type: "boolean", short: "f", help: "replace an existing pivot.yaml" },
  },
  async run({ positionals, values }, env) {
    if (positionals.length > 1) {
      throw new PivotError(
        `import-dvc takes one directory, got ${positionals.length}: pivot import-dvc [DIR]`,
      );
    }
    const dir = join(env.cwd, positionals[0] ?? ".").replace(/\/+$/, "") || "/";
    if (!isDirectory(dir)) {
      throw new PivotError(`import-dvc: '${positionals[0]}' is not a directory`);
    }
    const { findDvcFiles, dvcIgnore } = await import("../../dvc/discover.ts");
    const found = findDvcFiles(dir);
    if (found.pipelines.length === 0 && found.dataFiles.length === 0) {
      throw new PivotError(
        `import-dvc: no dvc.yaml or .dvc file in ${dir}: run it in a DVC project (or name one: pivot import-dvc DIR)`,
      );
    }
    const notes: string[] = [];
    const converted = await convertAll(found.pipelines, dir, values.force === true, notes);

    if (!isDirectory(join(dir, PIVOT_DIR)) && !projectAbove(dir)) {
      await initProject(dir);
      env.output.line(`Initialised ${PIVOT_DIR}/ in ${dir}`);
    }
    for (const item of converted) {
      await Deno.writeTextFile(item.target, item.text);
      env.output.line(
        `wrote      ${relative(dir, item.target) || basename(item.target)}  (from ${
          relative(dir, item.source)
        }, ${item.stages} stage${item.stages === 1 ? "" : "s"})`,
      );
    }
    const ignored = await dvcIgnore(dir);
    const { dvcCacheDir } = await import("../../dvc/dvc_cache.ts");
    const config = await readDvcConfig(dir);
    const cacheDir = dvcCacheDir(dir, config?.cacheDir);
    if (found.dataFiles.length > 0) {
      await importDataFiles(found.dataFiles, { dir, env, ignored, cacheDir, notes });
    }
    let failed = 0;
    for (const item of converted) {
      failed += await recordMatchingStages(item, { dir, env, ignored, cacheDir, notes });
    }
    for (const remote of config?.remotes ?? []) {
      notes.push(
        `DVC remote '${remote.name}' (${remote.url}) is not added: pivot remote add ${remote.name} ${remote.url}${
          remote.isDefault ? ` && pivot remote default ${remote.name}` : ""
        }`,
      );
    }
    if (notes.length > 0) {
      env.output.line("Not converted as it was:");
      for (const note of notes) env.output.line(`  ${note}`);
    }
    if (converted.length > 0 && !env.output.quiet) {
      env.output.line("Next: 'pivot status' shows what will run; 'pivot repro' runs it.");
    }
    return failed > 0 ? 1 : 0;
  },
};

function isDirectory(path: string): boolean {
  try {
    return Deno.statSync(path).isDirectory;
  } catch {
    return false;
  }
}

function projectAbove(dir: string): boolean {
  for (let at = dirname(dir); at !== dirname(at); at = dirname(at)) {
    if (isDirectory(join(at, PIVOT_DIR))) return true;
  }
  return false;
}

/** Convert every `dvc.yaml`, refusing before anything is written if one cannot be. */
async function convertAll(
  pipelines: readonly string[],
  root: string,
  force: boolean,
  notes: string[],
): Promise<Converted[]> {
  const { convertDvcYaml } = await import("../../dvc/convert.ts");
  const { parsePivotYaml } = await import("../../pipeline/pivot_yaml.ts");
  const result: Converted[] = [];
  for (const source of pipelines) {
    const label = relative(root, source) || "dvc.yaml";
    const dir = dirname(source);
    const existing = pipelineFileIn(dir);
    if (existing !== undefined && !(force && existing.endsWith("pivot.yaml"))) {
      throw new PivotError(
        `import-dvc: ${relative(root, existing)} exists already: ${
          existing.endsWith("pivot.yaml") ? "pass --force to replace it" : "move it away first"
        }`,
      );
    }
    const { text, notes: found } = await convertDvcYaml(await Deno.readTextFile(source), label);
    const target = join(dir, "pivot.yaml");
    let parsed;
    try {
      parsed = parsePivotYaml(text, target, { label: `${relative(root, target)} (from ${label})` });
    } catch (error) {
      if (!(error instanceof PivotError)) throw error;
      throw new PivotError(`import-dvc: ${label} cannot be converted: ${error.message}`);
    }
    notes.push(...found.map((note) => `${label}: ${note}`));
    result.push({ source, target, text, stages: parsed.stages.length });
  }
  return result;
}

async function readDvcConfig(dir: string) {
  const { parseDvcConfig } = await import("../../dvc/dvc_files.ts");
  let text = "";
  for (const name of ["config", "config.local"]) {
    try {
      text += (await Deno.readTextFile(join(dir, ".dvc", name))) + "\n";
    } catch {
      // absent
    }
  }
  return text === "" ? undefined : parseDvcConfig(text);
}

interface RecordOptions {
  readonly dir: string;
  readonly env: CommandEnv;
  readonly ignored: (path: string, isDir: boolean) => boolean;
  readonly cacheDir: string | undefined;
  readonly notes: string[];
}

/**
 * Record the stages of one converted pipeline whose `dvc.lock` entries match
 * the workspace; resolves with the number of stages that failed to record.
 */
async function recordMatchingStages(item: Converted, options: RecordOptions): Promise<number> {
  const { env, dir } = options;
  const lockFile = join(dirname(item.source), "dvc.lock");
  let lockText: string;
  try {
    lockText = await Deno.readTextFile(lockFile);
  } catch {
    env.output.line(`no lock    ${relative(dir, lockFile)}: every stage will run`);
    return 0;
  }
  const { parseDvcLock } = await import("../../dvc/dvc_files.ts");
  const { matchLock } = await import("../../dvc/lock_match.ts");
  const { restoreFromDvcCache } = await import("../../dvc/dvc_cache.ts");
  const locks = await parseDvcLock(lockText, relative(dir, lockFile));
  const warn = (message: string) => env.output.error(`warning: ${message}`);
  let session;
  try {
    session = await openSession({ cwd: dirname(item.target), warn });
  } catch (error) {
    if (!(error instanceof PivotError)) throw error;
    env.output.error(
      `not recorded: ${
        relative(dir, item.target)
      } does not load yet (${error.message}): every stage will run`,
    );
    return 0;
  }
  let failed = 0;
  try {
    const ownStages = (context: EngineContext) =>
      context.graph.order.filter((stage) => stage.pipeline.file === item.target);
    let context = session.context;
    if (options.cacheDir) {
      let brought = 0;
      for (const stage of ownStages(context)) {
        const lock = locks[stage.name];
        if (lock === undefined) continue;
        brought += await bringBackOuts(
          stage,
          lock.outs,
          options.cacheDir,
          restoreFromDvcCache,
          options,
        );
      }
      // An out's kind (file or directory) is read from the workspace when the pipeline loads.
      if (brought > 0) context = await session.reload();
    }
    const recorded: string[] = [];
    for (const stage of ownStages(context)) {
      const lock = locks[stage.name];
      if (lock === undefined) {
        env.output.line(`will run   ${stage.name}: dvc.lock has no entry for it`);
        continue;
      }
      const match = await matchLock(stage, lock, {
        root: context.project.root,
        ignored: options.ignored,
      });
      if (!match.ok) {
        env.output.line(`will run   ${stage.name}: ${match.why}`);
        continue;
      }
      const done = await withStageLock(
        context,
        stage,
        { forced: false, signal: env.signal },
        async (decision) => {
          if (decision.status === "up-to-date" && decision.restore.length === 0) return true;
          await recordRun(context, decision, await storeWorkspaceOuts(context, stage));
          return true;
        },
      );
      if (done) recorded.push(stage.name);
      else failed++;
    }
    if (recorded.length > 0) {
      env.output.line(`recorded   ${recorded.join(", ")}  (dvc.lock matches the workspace)`);
    }
  } finally {
    await session.close();
  }
  return failed;
}

/**
 * Track the data of every `.dvc` file as `pivot track` does (`PATH.pvt`
 * beside it, content in Pivot's cache), where the workspace holds (or DVC's
 * cache gives back) what the `.dvc` file records.
 */
async function importDataFiles(files: readonly string[], options: RecordOptions): Promise<void> {
  const { env, dir, notes } = options;
  const project = findProject(dir);
  const config = await readProjectConfig(project);
  const state = await StateStore.open(project.stateDir);
  const { importDvcData } = await import("../../dvc/tracked_data.ts");
  const tracked: string[] = [];
  try {
    for (const file of files) {
      const label = relative(dir, file);
      let done;
      try {
        done = await importDvcData(file, {
          root: project.root,
          cache: new Cache(config.cacheDir),
          state,
          dvcCacheDir: options.cacheDir,
          ignored: options.ignored,
        });
      } catch (error) {
        // A .dvc file DVC itself would refuse is reported, not fatal: the rest is converted.
        if (!(error instanceof PivotError)) throw error;
        notes.push(`${error.message}: not converted`);
        continue;
      }
      for (const path of done.restored) {
        env.output.line(`restored   ${path}  (from DVC's cache, for ${label})`);
      }
      tracked.push(...done.tracked.map((path) => `${path}.pvt`));
      notes.push(...done.notes.map((note) => `${label}: ${note}`));
    }
  } finally {
    await state.close();
  }
  if (tracked.length > 0) {
    env.output.line(
      `tracked    ${tracked.join(", ")}  (from .dvc files; remove those when DVC goes)`,
    );
  }
}

/**
 * Outs the workspace lacks but DVC's local cache holds are written back first;
 * resolves with how many were.
 */
async function bringBackOuts(
  stage: StageDef,
  outs: readonly { path: string; md5: string | undefined }[],
  cacheDir: string,
  restore: (cacheDir: string, md5: string, dest: string) => Promise<boolean>,
  options: RecordOptions,
): Promise<number> {
  if (stage.code.kind !== "command") return 0;
  let brought = 0;
  for (const out of outs) {
    if (out.md5 === undefined) continue;
    const abs = join(stage.code.wdir, out.path);
    try {
      Deno.statSync(abs);
      continue;
    } catch {
      // missing: look in DVC's cache
    }
    if (await restore(cacheDir, out.md5, abs)) {
      options.env.output.line(
        `restored   ${relative(options.dir, abs)}  (from DVC's cache, for stage '${stage.name}')`,
      );
      brought++;
    }
  }
  return brought;
}
