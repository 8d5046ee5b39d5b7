/**
 * `.pivot/config.yaml`: project settings, tracked in git. Optional; every
 * setting has a default.
 *
 * @module
 */

import { isAbsolute, join, resolve } from "node:path";
import { PivotError } from "../errors.ts";
import { CHECKOUT_MODES, type CheckoutMode, DEFAULT_CHECKOUT_MODE } from "../storage/cache.ts";
import type { Project } from "../model/project.ts";
import { DEFAULT_HISTORY_LIMIT } from "../storage/run_history.ts";

/** Project settings. */
export interface ProjectConfig {
  /** Cache directory (absolute). Default `.pivot/cache`. */
  readonly cacheDir: string;
  /** How outs are placed in the workspace. Default `reflink` (else a copy). */
  readonly checkoutMode: CheckoutMode;
  /** Default parallelism; undefined: the number of cores. */
  readonly jobs: number | undefined;
  /** `core.history`: how many runs `pivot history` keeps (0: none are recorded). Default 100. */
  readonly history: number;
  /** The whole parsed file, for `pivot config`. */
  readonly raw: Readonly<Record<string, unknown>>;
}

/** True when `path` is a directory or nothing (it can be created there). */
function isDirectoryOrAbsent(path: string): boolean {
  try {
    return Deno.statSync(path).isDirectory;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return true;
    if (error instanceof Deno.errors.NotADirectory) return false;
    throw error;
  }
}

/** The path of a project's config file. */
function configPath(project: Project): string {
  return join(project.pivotDir, "config.yaml");
}

/** Read the project's config (defaults when the file is absent). */
export async function readProjectConfig(project: Project): Promise<ProjectConfig> {
  let text: string | undefined;
  try {
    text = await Deno.readTextFile(configPath(project));
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  const where = ".pivot/config.yaml";
  let raw: Record<string, unknown> = {};
  // `pivot init` writes comments only: no need to load `yaml` (~0.1 s) for those.
  if (text !== undefined && !commentsOnly(text)) {
    const { parse } = await import("yaml");
    try {
      raw = parse(text) ?? {};
    } catch (error) {
      throw new PivotError(`${where}: not valid YAML: ${(error as Error).message.split("\n")[0]}`);
    }
    if (typeof raw !== "object" || Array.isArray(raw)) {
      throw new PivotError(`${where}: expected a mapping of settings`);
    }
  }
  const cache = (raw.cache ?? {}) as Record<string, unknown>;
  const dir = cache.dir;
  if (dir !== undefined && typeof dir !== "string") {
    throw new PivotError(`${where}: cache.dir must be a path, got ${JSON.stringify(dir)}`);
  }
  const mode = cache.type ?? DEFAULT_CHECKOUT_MODE;
  if (!CHECKOUT_MODES.includes(mode as CheckoutMode)) {
    throw new PivotError(
      `${where}: cache.type must be one of ${CHECKOUT_MODES.join(", ")}, got ${
        JSON.stringify(mode)
      }`,
    );
  }
  const jobs = (raw.core as Record<string, unknown> | undefined)?.jobs;
  if (jobs !== undefined && (!Number.isInteger(jobs) || (jobs as number) < 1)) {
    throw new PivotError(
      `${where}: core.jobs must be a positive integer, got ${JSON.stringify(jobs)}`,
    );
  }
  const history = (raw.core as Record<string, unknown> | undefined)?.history;
  if (history !== undefined && (!Number.isInteger(history) || (history as number) < 0)) {
    throw new PivotError(
      `${where}: core.history must be a whole number of runs to keep (0 or more), got ${
        JSON.stringify(history)
      }`,
    );
  }
  const cacheDir = dir === undefined
    ? project.cacheDir
    : isAbsolute(dir)
    ? dir
    : resolve(project.pivotDir, dir);
  if (!isDirectoryOrAbsent(cacheDir)) {
    throw new PivotError(
      `${where}: cache.dir must be a directory, but ${cacheDir} is a file (or under one): point it at a directory, or remove the key to use .pivot/cache`,
    );
  }
  return {
    history: (history as number | undefined) ?? DEFAULT_HISTORY_LIMIT,
    cacheDir,
    checkoutMode: mode as CheckoutMode,
    jobs: jobs as number | undefined,
    raw,
  };
}

/** True when a YAML text has nothing but blank lines and comments. */
function commentsOnly(text: string): boolean {
  return text.split("\n").every((line) => /^\s*(#.*)?$/.test(line));
}
