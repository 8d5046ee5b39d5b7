/**
 * Opening a project without loading its pipeline: for commands that work on
 * Pivot's own files (lock files, `.pvt` files, the cache, the state store)
 * rather than on stages (`data`, `track`, `gc`, `history`). They then work
 * even when the pipeline does not load, and start faster.
 *
 * @module
 */

import { findProject } from "../pipeline/find_project.ts";
import { type ProjectConfig, readProjectConfig } from "../pipeline/project_config.ts";
import type { Project } from "../model/project.ts";
import { Cache, type CheckoutMode } from "../storage/cache.ts";
import { walkSkips } from "../storage/project_files.ts";
import { StateStore } from "../storage/state.ts";
import type { CommandEnv } from "./command.ts";
import { type GitNeed, needingGit } from "./git_need.ts";

/** An open project, without its pipeline. */
export interface ProjectSession {
  /** The project. */
  readonly project: Project;
  /** Its cache. */
  readonly cache: Cache;
  /** Its state store. */
  readonly state: StateStore;
  /** Directories a walk of the project skips (a cache inside it, outside `.pivot/`). */
  readonly skip: readonly string[];
  /** Prints a warning line. */
  readonly warn: (message: string) => void;
  /** How the config says to place cached files in the workspace (`cache.type`). */
  readonly checkoutMode: CheckoutMode;
  /** The project's settings. */
  readonly config: ProjectConfig;
}

/**
 * Open the project holding `env.cwd` (its config, cache and state store),
 * give it to `use`, and close it (flushing state) however `use` ends.
 *
 * @throws {PivotError} when there is no project, or its config is invalid.
 *
 * @example
 * ```ts ignore
 * await withProject(env, async ({ project, cache }) => { ... });
 * ```
 */
export async function withProject<T>(
  env: CommandEnv,
  use: (session: ProjectSession) => T | Promise<T>,
  options: {
    /** Why the command needs git, said when there is none (`git_need.ts`). */
    readonly git?: GitNeed;
  } = {},
): Promise<T> {
  const project = findProject(env.cwd);
  const state = await StateStore.open(project.stateDir);
  try {
    // Through the state's cache of the parsed files: an unchanged config
    // costs no YAML parse (nor loading the parser, ~20-50 ms).
    const config = await readProjectConfig(project, { state });
    const warn = (message: string) => env.output.error(`warning: ${message}`);
    const cache = new Cache(config.cacheDir);
    const skip = walkSkips(project.root, cache.dir);
    return await needingGit(options.git, async () =>
      await use({
        project,
        cache,
        state,
        skip,
        warn,
        checkoutMode: config.checkoutMode,
        config,
      }));
  } finally {
    await state.close();
  }
}
