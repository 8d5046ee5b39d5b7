/**
 * A stage's params: its defaults (a plain object or a Standard Schema), then
 * overrides from `register()` (or `pivot.yaml`), then `params.yaml`.
 *
 * Precedence, lowest to highest (see docs/params.md):
 *
 * 1. the defaults: the plain object, or what the schema fills in;
 * 2. `register(def, { params })` overrides (for `pivot.yaml` stages: the
 *    stage's `params:` merged with its matrix variant's);
 * 3. `params.yaml` under the base name (`train:` applies to every `train@…`);
 * 4. `params.yaml` under the full name (`train@small:`).
 *
 * Layers are deep-merged: a nested mapping overrides key by key, while any
 * other value (arrays included) replaces the lower one whole.
 *
 * @module
 */

import type { ParamsSpec } from "../api/stage.ts";
import { isStandardSchema, type StandardSchemaV1 } from "../api/standard_schema.ts";
import { PivotError } from "../errors.ts";
import { didYouMean } from "../suggest.ts";
import { cloneJson, deepMerge, formatKeyPath, hasPath, isPlainObject, short } from "./_values.ts";

/** The name of the overrides file at the project root. */
export const PARAMS_FILE = "params.yaml";

/** Param values by name (possibly nested). */
export type ParamValues = Readonly<Record<string, unknown>>;

/** The contents of a `params.yaml`. */
export interface ParamsYaml {
  /** The file as named in messages (`params.yaml`). */
  readonly file: string;
  /** Overrides by stage key: a full name (`train@small`) or a base name (`train`). */
  readonly stages: Readonly<Record<string, ParamValues>>;
  /**
   * Top-level entries that are not mappings (`seed: 42`, read by command
   * stages), with the error a stage of that name gets.
   */
  readonly notMappings?: Readonly<Record<string, string>>;
}

/** The part of a stage that {@link resolveParams} needs; a `RegisteredStage` fits. */
export interface StageParamsInput {
  /** Full name (`train` or `train@small`). */
  readonly name: string;
  /** Name without the variant. */
  readonly baseName: string;
  /** Plain defaults, a Standard Schema, or undefined (no params). */
  readonly params: ParamsSpec | undefined;
  /** Overrides from `register()` or `pivot.yaml`, applied over the defaults. */
  readonly paramOverrides?: ParamValues;
}

/** Options of {@link resolveParams}. */
export interface ResolveParamsOptions {
  /** The parsed `params.yaml` (default: none). */
  paramsYaml?: ParamsYaml;
  /**
   * Where the stage is defined, to start messages about its defaults and
   * `register()` overrides (`pipeline.ts:12`, `pivot.yaml`). Default: `pipeline`.
   */
  where?: string;
}

/** An empty `params.yaml`: what a project without one has. */
export function emptyParamsYaml(file: string = PARAMS_FILE): ParamsYaml {
  return { file, stages: {} };
}

/**
 * The params a stage runs with: its defaults, overridden by its `register()`
 * overrides, then by `params.yaml` under its base name, then under its full
 * name (highest). Layers are deep-merged (nested mappings key by key).
 *
 * With plain defaults, every override must name a known key and have the
 * JSON type of its default (number, string, boolean, array, object;
 * recursively in nested objects; a `null` default accepts anything). With a
 * Standard Schema, the merged overrides are validated by the schema (which
 * may be async) and its defaults fill the keys they leave out; the result is
 * the schema's output.
 *
 * @returns a fresh object the caller may keep: defaults are never shared.
 * @throws {PivotError} one line naming the layer's source (`params.yaml`,
 * `pipeline.ts:12`), the stage, the param's key path, what was expected and
 * what was found:
 * `params.yaml: stage 'train': param 'epochs' must be a number, got "ten"`.
 *
 * @example
 * ```ts
 * const params = await resolveParams(
 *   { name: "train", baseName: "train", params: { epochs: 10 } },
 *   { paramsYaml: parseParamsYaml("train: { epochs: 20 }") },
 * ); // { epochs: 20 }
 * ```
 */
export async function resolveParams(
  stage: StageParamsInput,
  options: ResolveParamsOptions = {},
): Promise<Record<string, unknown>> {
  const where = options.where ?? "pipeline";
  const layers = overrideLayers(stage, options.paramsYaml, where);
  if (isStandardSchema(stage.params)) {
    return await validateWithSchema(stage.name, stage.params, layers, where);
  }
  const defaults = stage.params ?? {};
  if (!isPlainObject(defaults)) {
    throw new PivotError(
      `${where}: stage '${stage.name}': params must be a plain object of defaults or a Standard Schema, got ${
        describeValue(defaults)
      }`,
    );
  }
  checkJsonDefaults(defaults, [], (path, found) =>
    new PivotError(
      `${where}: stage '${stage.name}': param '${
        formatKeyPath(path)
      }' has a default that is not JSON data (null, boolean, number, string, array, object): got ${found}`,
    ));
  let result = cloneJson(defaults) as Record<string, unknown>;
  for (const layer of layers) {
    result = mergeChecked(result, layer.values, [], layer) as Record<string, unknown>;
  }
  return result;
}

/** One source of overrides, with what to name in its messages. */
interface Layer {
  /** `params.yaml`, `pipeline.ts:12`. */
  readonly source: string;
  /** The stage key under which the values were found. */
  readonly stage: string;
  /** The override values. */
  readonly values: ParamValues;
}

function overrideLayers(
  stage: StageParamsInput,
  paramsYaml: ParamsYaml | undefined,
  where: string,
): Layer[] {
  const layers: Layer[] = [];
  if (stage.paramOverrides !== undefined) {
    layers.push({ source: where, stage: stage.name, values: stage.paramOverrides });
  }
  const stages = paramsYaml?.stages ?? {};
  const file = paramsYaml?.file ?? PARAMS_FILE;
  for (const name of [stage.baseName, stage.name]) {
    const problem = paramsYaml?.notMappings?.[name];
    if (problem !== undefined && Object.hasOwn(paramsYaml!.notMappings!, name)) {
      throw new PivotError(problem);
    }
  }
  // Own-property lookups: a stage named `constructor` must not find Object.prototype's.
  if (stage.baseName !== stage.name && Object.hasOwn(stages, stage.baseName)) {
    layers.push({ source: file, stage: stage.baseName, values: stages[stage.baseName] });
  }
  if (Object.hasOwn(stages, stage.name)) {
    layers.push({ source: file, stage: stage.name, values: stages[stage.name] });
  }
  return layers;
}

/** Merge `override` into `base` (a clone), checking keys and JSON types against `base`. */
function mergeChecked(
  base: unknown,
  override: unknown,
  path: readonly string[],
  layer: Layer,
): unknown {
  if (base === null || base === undefined) return cloneJson(override);
  const expected = jsonTypeOf(base);
  const found = jsonTypeOf(override);
  if (expected !== found) {
    const at = path.length === 0 ? "params" : `param '${formatKeyPath(path)}'`;
    throw new PivotError(
      `${layer.source}: stage '${layer.stage}': ${at} must be ${withArticle(expected)}, got ${
        describeValue(override)
      }`,
    );
  }
  if (expected !== "object") return cloneJson(override);
  const merged: Record<string, unknown> = { ...(base as Record<string, unknown>) };
  for (const [key, value] of Object.entries(override as Record<string, unknown>)) {
    // `register(def, { params: { epochs: undefined } })` type-checks; it overrides nothing.
    if (value === undefined) continue;
    if (!Object.hasOwn(merged, key)) {
      const known = Object.keys(merged);
      const scope = path.length === 0 ? "" : ` in '${formatKeyPath(path)}'`;
      throw new PivotError(
        `${layer.source}: stage '${layer.stage}': unknown param '${formatKeyPath([...path, key])}'${
          didYouMean(key, known)
        } (known${scope}: ${known.join(", ") || "none"})`,
      );
    }
    merged[key] = mergeChecked(merged[key], value, [...path, key], layer);
  }
  return merged;
}

async function validateWithSchema(
  stageName: string,
  schema: StandardSchemaV1,
  layers: readonly Layer[],
  where: string,
): Promise<Record<string, unknown>> {
  let input: Record<string, unknown> = {};
  for (const layer of layers) input = deepMerge(input, layer.values);
  const result = await schema["~standard"].validate(input);
  if (result.issues !== undefined) {
    const issue = result.issues[0];
    const path = (issue?.path ?? []).map((segment) =>
      typeof segment === "object" && segment !== null ? segment.key : segment
    );
    // Blame the highest layer that set the failing key; if none did, the defaults are at fault.
    const layer = [...layers].reverse().find((candidate) => hasPath(candidate.values, path));
    const source = layer?.source ?? where;
    const stage = layer?.stage ?? stageName;
    const at = path.length === 0 ? "params" : `param '${formatKeyPath(path)}'`;
    const more = result.issues.length > 1 ? ` (and ${result.issues.length - 1} more)` : "";
    throw new PivotError(
      `${source}: stage '${stage}': ${at}: ${issue?.message ?? "invalid"}${more}`,
    );
  }
  if (!isPlainObject(result.value)) {
    throw new PivotError(
      `${where}: stage '${stageName}': params schema must produce an object, got ${
        describeValue(result.value)
      }`,
    );
  }
  return result.value;
}

type JsonType = "null" | "boolean" | "number" | "string" | "array" | "object" | "other";

function jsonTypeOf(value: unknown): JsonType {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  if (isPlainObject(value)) return "object";
  const type = typeof value;
  return type === "boolean" || type === "number" || type === "string" ? type : "other";
}

function withArticle(type: JsonType): string {
  return type === "array" || type === "object" || type === "other" ? `an ${type}` : `a ${type}`;
}

/** `"ten"`, `5`, `[1,2]`, `a function` — short, for messages. */
function describeValue(value: unknown): string {
  if (value === undefined) return "undefined";
  if (typeof value === "function") return "a function";
  if (typeof value === "bigint") return `${value}n`;
  if (typeof value === "symbol") return "a symbol";
  if (
    typeof value === "object" && value !== null && !Array.isArray(value) && !isPlainObject(value)
  ) {
    return `an instance of ${value.constructor?.name ?? "a class"}`;
  }
  try {
    return short(JSON.stringify(value) ?? String(value));
  } catch {
    return String(value);
  }
}

function checkJsonDefaults(
  value: unknown,
  path: readonly string[],
  fail: (path: readonly string[], found: string) => Error,
): void {
  if (Array.isArray(value)) {
    value.forEach((item, index) => checkJsonDefaults(item, [...path, `[${index}]`], fail));
  } else if (isPlainObject(value)) {
    for (const [key, item] of Object.entries(value)) checkJsonDefaults(item, [...path, key], fail);
  } else if (jsonTypeOf(value) === "other") {
    throw fail(path, describeValue(value));
  }
}
