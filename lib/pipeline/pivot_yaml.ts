/**
 * `pivot.yaml` (or `pivot.yml`): stages that name their run function by
 * module path and export (`run: stages.ts#train`), with path and params
 * overrides and matrix expansion into `name@variant` stages (SPEC §7), and
 * command stages written as in DVC's `dvc.yaml` (`cmd: python train.py`,
 * SPEC §12; parsed by `_command_yaml.ts`).
 *
 * This module only parses and validates the file into {@link PivotYamlStage}
 * entries, with the matrix expanded (`matrix.ts`) and `${var}` substituted
 * (`substitute.ts`); the pipeline loader (`load_yaml.ts`) imports the
 * functions and builds `StageDef`s. Design decisions are in
 * docs/pivot-yaml.md.
 *
 * @example
 * ```yaml
 * stages:
 *   train:
 *     run: stages.ts#train
 *     deps: { data: "data/${dataset}.json" }
 *     outs: { model: "models/${model}_${dataset}.json" }
 *     params: { epochs: 10 }
 *     matrix:
 *       model:
 *         small: { params: { epochs: 5 } }
 *         large: { params: { epochs: 50 } }
 *       dataset: [train, test]
 * ```
 *
 * @module
 */

import { basename, dirname, isAbsolute, resolve } from "node:path";
import { messageOf, PivotError } from "../errors.ts";
import { toFileUrl } from "../paths.ts";
import { didYouMean } from "../suggest.ts";
import { deepMerge, formatKeyPath, hasPath } from "./_values.ts";
import { parseYamlSource, yamlKindOf, type YamlPath } from "./_yaml_source.ts";
import { CommandStageParser, type PivotYamlCommandStage } from "./_command_yaml.ts";
import { expandMatrix, type MatrixDimension, type MatrixValue } from "./matrix.ts";
import {
  dvcText,
  substitute,
  substituteParams,
  SubstitutionError,
  unboxFloats,
  YamlFloat,
} from "./substitute.ts";

export type {
  CommandOutEntry,
  CommandParamsEntry,
  PivotYamlCommandStage,
} from "./_command_yaml.ts";

type Variables = Readonly<Record<string, MatrixValue>>;

/** Where a stage's run function is: `run: stages.ts#train`. */
export interface PivotYamlRun {
  /** Absolute path of the module (resolved against the YAML file's directory). */
  readonly module: string;
  /** `file://` URL of the module. */
  readonly moduleUrl: string;
  /** The export holding the function (or a `defineStage` definition). */
  readonly exportName: string;
}

/** One function stage of a `pivot.yaml`, after matrix expansion and `${var}` substitution. */
export interface PivotYamlStage {
  /** Absent: a function stage (command stages say `"command"`). */
  readonly kind?: undefined;
  /** Full name: `train`, or `train@small_test` for a matrix variant. */
  readonly name: string;
  /** The stage key in the YAML file (`train`). */
  readonly baseName: string;
  /** The variant (`small_test`), or undefined outside a matrix. */
  readonly variant: string | undefined;
  /** The run function. */
  readonly run: PivotYamlRun;
  /** Dep paths by name, relative to {@link PivotYamlFile.dir}. */
  readonly deps: Readonly<Record<string, string>>;
  /** Out paths by name, relative to {@link PivotYamlFile.dir}. */
  readonly outs: Readonly<Record<string, string>>;
  /** Metric paths by name, relative to {@link PivotYamlFile.dir}. */
  readonly metrics: Readonly<Record<string, string>>;
  /** Plot paths by name, relative to {@link PivotYamlFile.dir}. */
  readonly plots: Readonly<Record<string, string>>;
  /** Param overrides: the stage's `params`, deep-merged with its variant's. */
  readonly params: Readonly<Record<string, unknown>>;
  /** Mutex groups (a variant's `mutex` replaces the stage's). */
  readonly mutex: readonly string[];
  /** The value of each matrix dimension for this variant (`{}` outside a matrix). */
  readonly matrixValues: Readonly<Record<string, MatrixValue>>;
  /** `pivot.yaml:3`: where the stage is declared, to start the loader's messages. */
  readonly where: string;
}

/** A parsed `pivot.yaml`. */
export interface PivotYamlFile {
  /** Absolute path of the file. */
  readonly file: string;
  /** Absolute directory of the file: the base of every relative path in it. */
  readonly dir: string;
  /** The top-level `pipeline:` name, if given (the loader picks a default). */
  readonly name: string | undefined;
  /** Stages in declaration order, each matrix (or foreach) expanded in place. */
  readonly stages: readonly (PivotYamlStage | PivotYamlCommandStage)[];
  /**
   * Absolute paths of the other files the parse read (or looked for):
   * `params.yaml` and `vars` files of command stages. The parse holds while
   * they are unchanged.
   */
  readonly inputs: readonly string[];
}

/** Options of {@link parsePivotYaml}. */
export interface PivotYamlOptions {
  /** How messages name the file (default: its base name, `pivot.yaml`). */
  label?: string;
  /**
   * Read a data file (`params.yaml`, a `vars` file) for command stages'
   * interpolation: plain values with floats boxed, undefined when it does
   * not exist. Default: read it from disk ({@link readDataFile}).
   */
  readData?: (abs: string) => unknown;
}

/**
 * Parse and validate the text of a YAML pipeline whose absolute path is
 * `file`. Matrix stages are expanded (cross product, first dimension
 * outermost; variant name = values joined by `_`) and `${dim}` is substituted
 * in dep/out/metric/plot paths and in param string values. Paths stay
 * relative to the file's directory.
 *
 * @throws {PivotError} one line naming the file, line and stage: malformed
 * YAML, an unknown key (with a suggestion), a wrong type, a bad `run`, an
 * invalid stage or variant name, duplicate variants, an unknown `${var}`.
 *
 * @example
 * ```ts
 * const parsed = parsePivotYaml("stages:\n  prep:\n    run: stages.ts#prep\n", "/p/pivot.yaml");
 * parsed.stages[0].run.exportName; // "prep"
 * ```
 */
export function parsePivotYaml(
  text: string,
  file: string,
  options: PivotYamlOptions = {},
): PivotYamlFile {
  const label = options.label ?? basename(file);
  const source = parseYamlSource(text, label, { mapAsMap: true, boxFloats: true });
  const validator = new YamlValidator(source.where, dirname(file));
  const root = source.value;
  if (root === undefined || root === null) {
    validator.fail([], `the file is empty: add 'stages:' with at least one stage`);
  }
  const top = validator.mapping(root, [], "the top level", "stages: { name: { run: … } }");
  validator.checkKeys(top, [], TOP_KEYS, "top level: ");
  const name = top.get("pipeline");
  if (name !== undefined && (typeof name !== "string" || !NAME.test(name))) {
    validator.fail(
      ["pipeline"],
      `'pipeline' must be a name (letters, digits, '_', '-'), got ${yamlKindOf(name)}`,
    );
  }
  if (!top.has("stages")) validator.fail([], `missing 'stages': add stages: { name: { run: … } }`);
  const stages = validator.mapping(top.get("stages"), ["stages"], "'stages'", "name: { run: … }");
  const commands = new CommandStageParser({
    dir: dirname(file),
    where: source.where,
    line: source.line,
    readData: options.readData ?? readDataFile,
  }, toData(top.get("vars")));
  const result: (PivotYamlStage | PivotYamlCommandStage)[] = [];
  for (const [key, value] of stages) {
    const path = ["stages", key as string];
    if (isCommandStage(value)) {
      validator.stageName(String(key), path);
      result.push(...commands.stages(String(key), toData(value) as Record<string, unknown>, path));
    } else result.push(...validator.stage(String(key), value, path));
  }
  if (top.has("vars") && !result.some((stage) => stage.kind === "command")) {
    validator.fail(["vars"], `'vars' is for command stages (cmd: …): this file has none`);
  }
  return {
    file,
    dir: dirname(file),
    name: name as string | undefined,
    stages: result,
    inputs: commands.files,
  };
}

/** A stage mapping that runs a command (DVC's fields) rather than a function. */
function isCommandStage(value: unknown): boolean {
  return value instanceof Map && (value.has("cmd") || value.has("foreach") || value.has("do"));
}

/**
 * Read a YAML or JSON data file (`params.yaml`, a `vars` file) with floats
 * boxed, or undefined when it does not exist.
 *
 * @throws {PivotError} when it cannot be read or parsed.
 */
export function readDataFile(abs: string): unknown {
  let text: string;
  try {
    text = Deno.readTextFileSync(abs);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw new PivotError(`${abs}: cannot read: ${messageOf(error)}`, { cause: error });
  }
  return parseYamlSource(text, basename(abs), { boxFloats: true }).value ?? {};
}

// --- validation ---

const TOP_KEYS = ["pipeline", "stages", "vars"];
const STAGE_KEYS = ["run", "deps", "outs", "metrics", "plots", "params", "mutex", "matrix"];
const VARIANT_KEYS = ["deps", "outs", "metrics", "plots", "params", "mutex"];
const PATH_SECTIONS = ["deps", "outs", "metrics", "plots"] as const;
type PathSection = typeof PATH_SECTIONS[number];
const SECTION_NOUN: Record<PathSection, string> = {
  deps: "dep",
  outs: "out",
  metrics: "metric",
  plots: "plot",
};

const NAME = /^[A-Za-z0-9_-]+$/;
const DIMENSION = /^[A-Za-z_][A-Za-z0-9_]*$/;
const EXPORT_NAME = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** A value with the YAML path it came from, for messages. */
interface Located<T> {
  readonly value: T;
  readonly path: YamlPath;
}

/** What a stage or a matrix variant declares. */
interface Overrides {
  readonly paths: Record<PathSection, Map<string, Located<string>>>;
  readonly params: Located<Record<string, unknown>> | undefined;
  readonly mutex: Located<string[]> | undefined;
}

/** One dimension of a matrix: its values, each with its overrides. */
type Dimension = MatrixDimension<Overrides>;

/** Validates the parsed YAML, failing with `file:line: message`. */
class YamlValidator {
  constructor(
    readonly where: (path: YamlPath) => string,
    readonly dir: string,
  ) {}

  fail(path: YamlPath, message: string): never {
    throw new PivotError(`${this.where(path)}: ${message}`);
  }

  /** `value` as a Map with string keys; `what` and `example` explain a mismatch. */
  mapping(value: unknown, path: YamlPath, what: string, example: string): Map<string, unknown> {
    if (!(value instanceof Map)) {
      this.fail(path, `${what} must be a mapping (${example}), got ${yamlKindOf(value)}`);
    }
    const result = new Map<string, unknown>();
    for (const [key, item] of value) {
      // YAML keys may be numbers or booleans; messages and names use their text.
      if (result.has(String(key))) this.fail([...path, key], `${what}: key '${key}' appears twice`);
      result.set(String(key), item);
    }
    return result;
  }

  /** Typo protection: every key of `map` is one of `known`. `at` starts the message. */
  checkKeys(map: Map<string, unknown>, path: YamlPath, known: readonly string[], at: string) {
    for (const key of map.keys()) {
      if (!known.includes(key)) {
        this.fail(
          [...path, key],
          `${at}unknown key '${key}'${didYouMean(key, known)} (known: ${known.join(", ")})`,
        );
      }
    }
  }

  /** A stage key must be a name: letters, digits, `_`, `-`. */
  stageName(name: string, path: YamlPath): void {
    if (name.includes("@")) {
      this.fail(
        path,
        `invalid stage name '${name}': '@' is reserved for variants, which a matrix names for you`,
      );
    }
    if (!NAME.test(name)) {
      this.fail(path, `invalid stage name '${name}': use letters, digits, '_' and '-'`);
    }
  }

  stage(name: string, value: unknown, path: YamlPath): PivotYamlStage[] {
    this.stageName(name, path);
    const at = `stage '${name}'`;
    const spec = this.mapping(value, path, at, "run: stages.ts#train");
    this.checkKeys(spec, path, STAGE_KEYS, `${at}: `);
    const run = this.run(spec.get("run"), spec.has("run"), [...path, "run"], at);
    const base = this.overrides(spec, path, at);
    const where = this.where(path);
    if (!spec.has("matrix")) {
      const single = this.expand(name, undefined, base, [], {}, at);
      return [{ ...single, run, where }];
    }
    const dimensions = this.matrix(spec.get("matrix"), [...path, "matrix"], at);
    const seen = new Map<string, string>();
    return expandMatrix(dimensions).map((variant) => {
      const earlier = seen.get(variant.name);
      if (earlier !== undefined) {
        this.fail(
          [...path, "matrix"],
          `${at}: matrix makes variant '${variant.name}' twice, from (${earlier}) and (${variant.combination}): rename a value`,
        );
      }
      seen.set(variant.name, variant.combination);
      const expanded = this.expand(
        `${name}@${variant.name}`,
        variant.name,
        base,
        variant.items,
        variant.values,
        at,
      );
      return { ...expanded, run, where };
    });
  }

  run(value: unknown, present: boolean, path: YamlPath, at: string): PivotYamlRun {
    const example = "run: stages.ts#train";
    if (!present) {
      this.fail(
        path.slice(0, -1),
        `${at}: missing 'run': add ${example} (or cmd: python train.py for a command stage)`,
      );
    }
    if (typeof value !== "string") {
      this.fail(path, `${at}: 'run' must be a string (${example}), got ${yamlKindOf(value)}`);
    }
    const hash = value.lastIndexOf("#");
    if (hash < 0) {
      this.fail(
        path,
        `${at}: run '${value}' names no export: write it as module#export (${example})`,
      );
    }
    const module = value.slice(0, hash);
    const exportName = value.slice(hash + 1);
    if (module === "") {
      this.fail(
        path,
        `${at}: run '${value}' names no module: write it as module#export (${example})`,
      );
    }
    if (value.includes("${")) {
      this.fail(
        path,
        `${at}: run '${value}' cannot use variables: every variant runs one function`,
      );
    }
    if (isAbsolute(module) || /^[A-Za-z][A-Za-z0-9+.-]*:/.test(module)) {
      this.fail(
        path,
        `${at}: run module '${module}' must be a path relative to the YAML file's directory (${example})`,
      );
    }
    if (!EXPORT_NAME.test(exportName)) {
      this.fail(path, `${at}: run '${value}': '${exportName}' is not an export name`);
    }
    const abs = resolve(this.dir, module);
    return { module: abs, moduleUrl: toFileUrl(abs), exportName };
  }

  /** The deps/outs/metrics/plots/params/mutex a stage or a variant declares. */
  overrides(spec: Map<string, unknown>, path: YamlPath, at: string): Overrides {
    const paths = {} as Record<PathSection, Map<string, Located<string>>>;
    for (const section of PATH_SECTIONS) {
      paths[section] = new Map();
      const value = spec.get(section);
      if (value === undefined || value === null) continue;
      const sectionPath = [...path, section];
      const noun = SECTION_NOUN[section];
      const map = this.mapping(value, sectionPath, `${at}: '${section}'`, `${noun}_name: path`);
      for (const [key, item] of map) {
        if (typeof item !== "string" || item === "") {
          this.fail(
            [...sectionPath, key],
            `${at}: ${noun} '${key}' must be a path (a non-empty string), got ${yamlKindOf(item)}`,
          );
        }
        paths[section].set(key, { value: item, path: [...sectionPath, key] });
      }
    }
    let params: Located<Record<string, unknown>> | undefined;
    const rawParams = spec.get("params");
    if (rawParams !== undefined && rawParams !== null) {
      const paramsPath = [...path, "params"];
      this.mapping(rawParams, paramsPath, `${at}: 'params'`, "epochs: 10");
      params = { value: toPlain(rawParams) as Record<string, unknown>, path: paramsPath };
    }
    let mutex: Located<string[]> | undefined;
    const rawMutex = spec.get("mutex");
    if (rawMutex !== undefined && rawMutex !== null) {
      const mutexPath = [...path, "mutex"];
      if (
        !Array.isArray(rawMutex) ||
        !rawMutex.every((group) => typeof group === "string" && group !== "")
      ) {
        this.fail(
          mutexPath,
          `${at}: 'mutex' must be a list of group names (mutex: [gpu]), got ${
            yamlKindOf(rawMutex)
          }`,
        );
      }
      mutex = { value: rawMutex as string[], path: mutexPath };
    }
    return { paths, params, mutex };
  }

  matrix(value: unknown, path: YamlPath, at: string): Dimension[] {
    const example = "dataset: [train, test]";
    const matrix = this.mapping(value, path, `${at}: 'matrix'`, example);
    if (matrix.size === 0) this.fail(path, `${at}: 'matrix' has no dimensions: add ${example}`);
    const dimensions: Dimension[] = [];
    for (const [name, raw] of matrix) {
      const dimPath = [...path, name];
      const where = `${at}: matrix dimension '${name}'`;
      if (!DIMENSION.test(name)) {
        this.fail(
          dimPath,
          `${at}: invalid matrix dimension '${name}': use letters, digits and '_' (it is used as \${${name}})`,
        );
      }
      const values: Dimension["values"][number][] = [];
      if (Array.isArray(raw)) {
        raw.forEach((boxed, index) => {
          const item = unboxFloats(boxed);
          if (typeof item !== "string" && typeof item !== "number" && typeof item !== "boolean") {
            this.fail(
              [...dimPath, index],
              `${where}: values must be strings, numbers or booleans, got ${yamlKindOf(item)}`,
            );
          }
          const key = String(item);
          if (!NAME.test(key)) {
            this.fail(
              [...dimPath, index],
              `${where}: value '${key}' cannot be part of a variant name (letters, digits, '_', '-'): use a named variant instead, such as ${name}: { v1: { params: { ${name}: ${
                JSON.stringify(item)
              } } } }`,
            );
          }
          if (values.some((earlier) => earlier.key === key)) {
            this.fail([...dimPath, index], `${where}: value '${key}' is listed twice`);
          }
          values.push({ key, value: item, item: this.overrides(new Map(), dimPath, where) });
        });
      } else if (raw instanceof Map) {
        for (const [key, overrides] of this.mapping(raw, dimPath, where, example)) {
          const variantPath = [...dimPath, key];
          const variantAt = `${at}: matrix '${name}': variant '${key}'`;
          if (!NAME.test(key)) {
            this.fail(
              variantPath,
              `${where}: invalid variant name '${key}': use letters, digits, '_' and '-'`,
            );
          }
          const spec = overrides === null || overrides === undefined
            ? new Map<string, unknown>()
            : this.mapping(overrides, variantPath, variantAt, "params: { epochs: 5 }");
          this.checkKeys(spec, variantPath, VARIANT_KEYS, `${variantAt}: `);
          values.push({ key, value: key, item: this.overrides(spec, variantPath, variantAt) });
        }
      } else {
        this.fail(
          dimPath,
          `${where} must be a list (${example}) or a mapping of named variants (model: { small: { params: … } }), got ${
            yamlKindOf(raw)
          }`,
        );
      }
      if (values.length === 0) this.fail(dimPath, `${where} is empty: give it at least one value`);
      dimensions.push({ name, values });
    }
    return dimensions;
  }

  /** `item` with `${dim}` substituted; `what` names it in messages (`dep 'data'`). */
  substituted(item: Located<string>, values: Variables, what: string, at: string) {
    try {
      return substitute(item.value, values);
    } catch (error) {
      if (!(error instanceof SubstitutionError)) throw error;
      this.fail(item.path, `${at}: ${what}: ${error.message}`);
    }
  }

  /** Merged `params` with `${dim}` substituted; an error points at the layer that set the key. */
  substitutedParams(
    params: Record<string, unknown>,
    layers: readonly Located<Record<string, unknown>>[],
    values: Variables,
    at: string,
  ): Record<string, unknown> {
    try {
      return substituteParams(params, values) as Record<string, unknown>;
    } catch (error) {
      if (!(error instanceof SubstitutionError)) throw error;
      // Point at the layer that set this key: the last one that has it.
      const layer = [...layers].reverse().find((candidate) => hasPath(candidate.value, error.keys));
      const path = [...(layer?.path ?? []), ...error.keys];
      this.fail(path, `${at}: param '${formatKeyPath(error.keys)}': ${error.message}`);
    }
  }

  /** Apply the variant's overrides over the stage's, then substitute `${dim}`. */
  expand(
    name: string,
    variant: string | undefined,
    base: Overrides,
    layers: readonly Overrides[],
    values: Variables,
    at: string,
  ): Omit<PivotYamlStage, "run" | "where"> {
    const all = [base, ...layers];
    const paths = {} as Record<PathSection, Record<string, string>>;
    for (const section of PATH_SECTIONS) {
      const merged = new Map<string, Located<string>>();
      for (const layer of all) {
        for (const [key, item] of layer.paths[section]) merged.set(key, item);
      }
      paths[section] = {};
      for (const [key, item] of merged) {
        const what = `${SECTION_NOUN[section]} '${key}'`;
        paths[section][key] = String(this.substituted(item, values, what, at));
      }
    }
    const owner = new Map<string, PathSection>();
    for (const section of PATH_SECTIONS) {
      for (const key of Object.keys(paths[section])) {
        const other = owner.get(key);
        if (other !== undefined) {
          this.fail(
            findPath(all, section, key),
            `${at}: '${key}' is declared in both '${other}' and '${section}': give one another name`,
          );
        }
        owner.set(key, section);
      }
    }
    const paramLayers = all.flatMap((layer) => layer.params ? [layer.params] : []);
    let params: Record<string, unknown> = {};
    for (const layer of paramLayers) params = deepMerge(params, layer.value);
    params = this.substitutedParams(params, paramLayers, values, at);
    const mutex = [...all].reverse().find((layer) => layer.mutex)?.mutex?.value ?? [];
    return {
      name,
      baseName: name.split("@")[0],
      variant,
      deps: paths.deps,
      outs: paths.outs,
      metrics: paths.metrics,
      plots: paths.plots,
      params,
      mutex: [...mutex],
      matrixValues: values,
    };
  }
}

function findPath(layers: readonly Overrides[], section: PathSection, key: string): YamlPath {
  for (const layer of [...layers].reverse()) {
    const item = layer.paths[section].get(key);
    if (item) return item.path;
  }
  return [];
}

/** Maps (from YAML) to plain objects, deeply, floats unboxed. */
function toPlain(value: unknown): unknown {
  return unboxFloats(toData(value));
}

/** Maps (from YAML) to plain objects, deeply, floats still boxed (for command stages). */
function toData(value: unknown): unknown {
  if (value instanceof Map) {
    const result: Record<string, unknown> = {};
    for (const [key, item] of value) {
      result[key instanceof YamlFloat ? dvcText(key) : String(key)] = toData(item);
    }
    return result;
  }
  if (Array.isArray(value)) return value.map(toData);
  return value;
}
