/**
 * Editing `.pivot/config.yaml` or `.pivot/config.local.yaml` for `pivot
 * config set|unset` and `pivot remote add|remove|default`: the file is
 * changed as a YAML document (its comments, order and style kept), the
 * result is validated exactly as every command reads it (both files and
 * their merge, lib/pipeline/project_config.ts), and only then written,
 * atomically. A change that would not read back is one line (exit 2) and
 * leaves the file as it was.
 *
 * Writing `config.local.yaml` also makes sure `.pivot/.gitignore` lists it,
 * so credentials never end up in git (projects made before `pivot init`
 * listed it are fixed here).
 *
 * @module
 */

import { join } from "node:path";
import type { Document } from "yaml";
import { PivotError } from "../errors.ts";
import type { Project } from "../model/project.ts";
import {
  checkConfigTexts,
  CONFIG_FILE,
  LOCAL_CONFIG_FILE,
  type ProjectConfig,
} from "../pipeline/project_config.ts";
import { writeTextAtomically } from "../storage/temp_files.ts";

/** Which config file: the tracked one, or the machine's own. */
export type ConfigScope = "project" | "local";

/** The file of `scope`, as named in messages. */
export function configFileOf(scope: ConfigScope): string {
  return scope === "local" ? LOCAL_CONFIG_FILE : CONFIG_FILE;
}

/** The texts of both config files (undefined: absent). */
export async function readConfigTexts(
  project: Project,
): Promise<[string | undefined, string | undefined]> {
  const read = async (file: string) => {
    try {
      return await Deno.readTextFile(join(project.root, file));
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return undefined;
      throw error;
    }
  };
  return [await read(CONFIG_FILE), await read(LOCAL_CONFIG_FILE)];
}

/** What {@link editConfig} did. */
export interface Edited {
  /** The settings as they now read. */
  readonly config: ProjectConfig;
  /** Some file changed (false: the edits found nothing to change). */
  readonly changed: boolean;
}

/**
 * One file's edit: change the YAML document (an empty one when the file is
 * absent); return false when there was nothing to change.
 */
export type ConfigEdit = (doc: Document) => boolean | void;

/**
 * Apply `edits` to the config files' YAML documents, validate both files as
 * they would then read (so a remote removed from both files, or renamed, is
 * checked as a whole), and write the files that changed.
 *
 * @throws {PivotError} when the edited settings would not validate, naming
 * the file, the key and what is expected; nothing is written then.
 *
 * @example
 * ```ts ignore
 * await editConfig(project, { local: (doc) => doc.setIn(["core", "remote"], "origin") });
 * ```
 */
export async function editConfig(
  project: Project,
  edits: Partial<Record<ConfigScope, ConfigEdit>>,
): Promise<Edited> {
  const { parseDocument } = await import("yaml");
  const texts = await readConfigTexts(project);
  const next: [string | undefined, string | undefined] = [...texts];
  const scopes: ConfigScope[] = ["project", "local"];
  for (const [index, scope] of scopes.entries()) {
    const edit = edits[scope];
    if (!edit) continue;
    const before = texts[index];
    const doc = parseDocument(before ?? "");
    // The validation names the line of a file that does not parse; no edit is made to one.
    if (doc.errors.length > 0) await checkConfigTexts(project, texts);
    if (edit(doc) === false) continue;
    let after = doc.toString({ lineWidth: 0 });
    // Everything removed: an empty file rather than `{}`.
    if (after.trim() === "{}") after = "";
    if (before === undefined && scope === "project") after = `${await schemaLine()}\n${after}`;
    if (after !== before) next[index] = after;
  }
  let config: ProjectConfig;
  try {
    config = await checkConfigTexts(project, next);
  } catch (error) {
    if (!(error instanceof PivotError)) throw error;
    // The line would be the edited text's, which was not written: drop it.
    throw new PivotError(
      `${error.message.replace(/^(\S+\.yaml):\d+:/, "$1:")}; nothing was written`,
      { cause: error },
    );
  }
  let changed = false;
  for (const [index, scope] of scopes.entries()) {
    if (next[index] === texts[index]) continue;
    writeTextAtomically(join(project.root, configFileOf(scope)), next[index]!);
    if (scope === "local") await ignoreLocalConfig(project);
    changed = true;
  }
  return { config, changed };
}

/** {@link editConfig} of one file. */
export function editOne(project: Project, scope: ConfigScope, edit: ConfigEdit): Promise<Edited> {
  return editConfig(project, { [scope]: edit });
}

/**
 * Delete the setting at `path` from `doc`, and the mappings left empty
 * above it; false when it was not there.
 */
export function deleteSetting(doc: Document, path: readonly string[]): boolean {
  if (!doc.hasIn(path)) return false;
  doc.deleteIn(path);
  for (let depth = path.length - 1; depth > 0; depth--) {
    const parent = doc.getIn(path.slice(0, depth)) as { items?: unknown[] } | undefined;
    if (!parent || !Array.isArray(parent.items) || parent.items.length > 0) break;
    doc.deleteIn(path.slice(0, depth));
  }
  return true;
}

/** `# yaml-language-server: $schema=…` for a new config.yaml, as `pivot init` writes it. */
async function schemaLine(): Promise<string> {
  const { findSchema, schemaComment } = await import("../schemas/mod.ts");
  return schemaComment(findSchema("config")!);
}

const LOCAL_IGNORE = "/config.local.yaml";

/** Make sure `.pivot/.gitignore` lists `config.local.yaml`. */
async function ignoreLocalConfig(project: Project): Promise<void> {
  const path = join(project.pivotDir, ".gitignore");
  let text = "";
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  const lines = text.split("\n").map((line) => line.trim());
  if (lines.includes(LOCAL_IGNORE) || lines.includes("config.local.yaml")) return;
  const separator = text === "" || text.endsWith("\n") ? "" : "\n";
  writeTextAtomically(path, `${text}${separator}${LOCAL_IGNORE}\n`);
}
