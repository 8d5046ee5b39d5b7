/**
 * Reading `params.yaml`: a mapping of stage names to param overrides. Apart
 * from `params.ts` because it needs the `yaml` package, which the start-up
 * path only loads when the file has changed.
 *
 * @module
 */

import { join } from "node:path";
import { PivotError } from "../errors.ts";
import { emptyParamsYaml, PARAMS_FILE, type ParamsYaml, type ParamValues } from "./params.ts";
import { isPlainObject, parseYamlSource, yamlKindOf } from "./_yaml_source.ts";

/**
 * Parse the text of a `params.yaml`: a mapping of stage names to mappings of
 * param values. An empty file has no overrides; an empty stage entry
 * (`train:`) has none either.
 *
 * @throws {PivotError} naming `file` (and the line) for malformed YAML, a
 * top level that is not a mapping, or a stage entry that is not a mapping.
 *
 * @example
 * ```ts
 * const overrides = parseParamsYaml("train:\n  epochs: 20\n");
 * overrides.stages.train; // { epochs: 20 }
 * ```
 */
export function parseParamsYaml(text: string, file: string = PARAMS_FILE): ParamsYaml {
  const source = parseYamlSource(text, file);
  const value = source.value;
  if (value === undefined || value === null) return emptyParamsYaml(file);
  if (!isPlainObject(value)) {
    throw new PivotError(
      `${
        source.where([])
      }: expected a mapping of stage names to params (train: { epochs: 10 }), got ${
        yamlKindOf(value)
      }`,
    );
  }
  const stages: Record<string, ParamValues> = {};
  const notMappings: Record<string, string> = {};
  for (const [stage, params] of Object.entries(value)) {
    if (params === null || params === undefined) continue;
    if (!isPlainObject(params)) {
      // A plain value is fine for command stages, which name keys of the file
      // (`seed: 42`); it is an error only for a stage of that name.
      notMappings[stage] = `${
        source.where([stage])
      }: stage '${stage}': expected a mapping of param names to values, got ${yamlKindOf(params)}`;
      continue;
    }
    stages[stage] = params;
  }
  return Object.keys(notMappings).length > 0 ? { file, stages, notMappings } : { file, stages };
}

/**
 * Read `params.yaml` at `projectRoot`. A missing file means no overrides.
 *
 * Needs read permission for the file.
 *
 * @throws {PivotError} as {@link parseParamsYaml} does, or when the file
 * cannot be read (it is a directory, permission denied).
 *
 * @example
 * ```ts
 * const paramsYaml = await readParamsYaml("/work/project");
 * ```
 */
export async function readParamsYaml(projectRoot: string): Promise<ParamsYaml> {
  let text: string;
  try {
    text = await Deno.readTextFile(join(projectRoot, PARAMS_FILE));
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return emptyParamsYaml();
    throw new PivotError(`${PARAMS_FILE}: cannot read: ${(error as Error).message}`, {
      cause: error,
    });
  }
  return parseParamsYaml(text);
}
