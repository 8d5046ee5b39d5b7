/**
 * Command stages of `pivot.yaml` (SPEC §12): stages that run a shell command,
 * written with DVC's fields and rules so that a `dvc.yaml` stage works as it
 * is. This module validates them and expands `foreach`/`do` and `matrix`,
 * interpolating `${…}` from DVC's context: the `params.yaml` beside the file,
 * the top-level `vars`, the stage's `vars`, and `item`/`key` of the variant
 * (`dvc/parsing/__init__.py` and `context.py` are the reference). The
 * pipeline loader (`load_yaml.ts`) reads the params the stages name and
 * builds `StageDef`s. Design notes: docs/command-stages.md.
 *
 * @module
 */

import { isAbsolute, join, normalize, relative } from "node:path";
import { PivotError } from "../errors.ts";
import { didYouMean } from "../suggest.ts";
import { isPlainObject, yamlKindOf } from "./_values.ts";
import type { YamlPath } from "./_yaml_source.ts";
import { dvcMatrixDimension, expandMatrix, foreachVariants } from "./matrix.ts";
import {
  dvcText,
  interpolateDeep,
  SubstitutionError,
  unboxFloats,
  type Variables,
  YamlFloat,
} from "./substitute.ts";

/** A DVC plot template and the Pivot template that draws it. */
const DVC_PLOT_TEMPLATES: Readonly<
  Record<string, "linear" | "scatter" | "bar" | "confusion">
> = {
  simple: "linear",
  linear: "linear",
  smooth: "linear",
  scatter: "scatter",
  scatter_jitter: "scatter",
  confusion: "confusion",
  confusion_normalized: "confusion",
  bar_horizontal: "bar",
  bar_horizontal_sorted: "bar",
};

/** An out of a command stage (an entry of `outs`, `metrics` or `plots`). */
export interface CommandOutEntry {
  /** Path relative to the stage's working directory, as written. */
  readonly path: string;
  /** The section it is listed in. */
  readonly kind: "out" | "metric" | "plot";
  /** `cache:` (default true, as in DVC). */
  readonly cache: boolean;
  /** `persist:`: not removed before the command runs. */
  readonly persist: boolean;
  /** A plot's display options (`template` already mapped to Pivot's). */
  readonly plot?: {
    readonly template?: "linear" | "scatter" | "bar" | "confusion";
    readonly x?: string;
    readonly y?: string;
    readonly title?: string;
    readonly xLabel?: string;
    readonly yLabel?: string;
  };
}

/** Params a command stage depends on: keys of one params file. */
export interface CommandParamsEntry {
  /** The params file, relative to the stage's working directory (`params.yaml` by default). */
  readonly file: string;
  /** Dotted keys (`train.epochs`), or undefined: the whole file. */
  readonly keys: readonly string[] | undefined;
}

/** One command stage of a `pivot.yaml`, after `foreach`/`matrix` expansion and interpolation. */
export interface PivotYamlCommandStage {
  /** Discriminant (function stages have none). */
  readonly kind: "command";
  /** Full name: `train`, or `train@small` for a `foreach`/`matrix` variant. */
  readonly name: string;
  /** The stage key in the YAML file. */
  readonly baseName: string;
  /** The variant's key, or undefined. */
  readonly variant: string | undefined;
  /** `cmd` as written after interpolation: a string or a list of strings. */
  readonly cmd: string | readonly string[];
  /** The commands to run in turn: each line of a string `cmd`, or each entry of a list. */
  readonly commands: readonly string[];
  /** `wdir`, relative to the YAML file's directory (`.` by default). */
  readonly wdir: string;
  /** Dep paths, relative to `wdir`. */
  readonly deps: readonly string[];
  /** Outs, metrics and plots, in that order. */
  readonly outs: readonly CommandOutEntry[];
  /** The params it depends on, by file. */
  readonly params: readonly CommandParamsEntry[];
  /** Mutex groups. */
  readonly mutex: readonly string[];
  /** `frozen: true`. */
  readonly frozen: boolean;
  /** `always_changed: true`. */
  readonly alwaysChanged: boolean;
  /** `desc:`, if any. */
  readonly desc: string | undefined;
  /** `pivot.yaml:3`: where the stage is declared. */
  readonly where: string;
  /** The 1-based line of the stage's declaration. */
  readonly line: number;
  /** Absolute paths of the `vars` and params files its interpolation read. */
  readonly files: readonly string[];
}

/** What the command-stage parser needs from the file being parsed. */
export interface CommandYamlSource {
  /** Absolute directory of the YAML file. */
  readonly dir: string;
  /** `label:line` of the node at `path`. */
  where(path: YamlPath): string;
  /** The 1-based line of the node at `path` (0 when unknown). */
  line(path: YamlPath): number;
  /**
   * Read a data file (YAML or JSON) into plain values, floats boxed as
   * {@link YamlFloat}; undefined when it does not exist. Throws a
   * {@link PivotError} when it cannot be read or parsed.
   */
  readData(abs: string): unknown;
}

/** The keys a command stage may have (DVC's, plus Pivot's `mutex`). */
const COMMAND_STAGE_KEYS = [
  "cmd",
  "wdir",
  "deps",
  "outs",
  "metrics",
  "plots",
  "params",
  "vars",
  "frozen",
  "always_changed",
  "desc",
  "meta",
  "mutex",
  "matrix",
] as const;

const FOREACH_KEYS = ["foreach", "do"];
const OUT_FLAGS = ["cache", "persist", "desc", "type", "labels", "meta"];
const PLOT_FLAGS = [...OUT_FLAGS, "template", "x", "y", "x_label", "y_label", "title", "header"];
const UNSUPPORTED_OUT_FLAGS: Readonly<Record<string, string>> = {
  remote: "Pivot has one remote per project (pivot push -r REMOTE)",
  push: "every cached out is pushed",
  checkpoint: "DVC itself dropped checkpoints",
};
const DEFAULT_PARAMS_FILE = "params.yaml";
const RESERVED = ["item", "key"];

/** Where each leaf of the context came from, for "cannot redefine" messages. */
type Sources = Map<string, string>;

/** DVC's interpolation context: data, where each key came from, and the files loaded. */
interface Context {
  readonly data: Record<string, unknown>;
  readonly sources: Sources;
  /** Loaded files: absolute path → the keys taken (undefined: all). */
  readonly imports: Map<string, readonly string[] | undefined>;
}

/** Parses the command stages of one `pivot.yaml`. */
export class CommandStageParser {
  readonly #source: CommandYamlSource;
  readonly #files = new Set<string>();
  #global: Context | undefined;
  readonly #topVars: unknown;

  /** A parser for the file `source`, whose top-level `vars` is `topVars` (plain values). */
  constructor(source: CommandYamlSource, topVars: unknown) {
    this.#source = source;
    this.#topVars = topVars;
  }

  #fail(path: YamlPath, message: string): never {
    throw new PivotError(`${this.#source.where(path)}: ${message}`);
  }

  /**
   * The global context, built on first use: `params.yaml` beside the file
   * (if it exists), then the top-level `vars`.
   */
  #context(): Context {
    if (this.#global) return this.#global;
    const context: Context = { data: {}, sources: new Map(), imports: new Map() };
    const defaultFile = join(this.#source.dir, DEFAULT_PARAMS_FILE);
    const data = this.#read(defaultFile);
    if (data !== undefined) this.#mergeFile(context, defaultFile, undefined, data, ["vars"], "");
    this.#loadVars(context, this.#topVars, ["vars"], this.#source.dir, "");
    return this.#global = context;
  }

  /** Files read so far (vars and default params files), absolute. */
  get files(): readonly string[] {
    return [...this.#files];
  }

  #read(abs: string): unknown {
    this.#files.add(abs);
    return this.#source.readData(abs);
  }

  /**
   * The stages a `pivot.yaml` entry `name` (a plain object, floats boxed)
   * makes: one, or one per `foreach`/`matrix` variant.
   */
  stages(name: string, spec: Record<string, unknown>, path: YamlPath): PivotYamlCommandStage[] {
    const at = `stage '${name}'`;
    if ("foreach" in spec || "do" in spec) {
      for (const key of Object.keys(spec)) {
        if (!FOREACH_KEYS.includes(key)) {
          this.#fail(
            [...path, key],
            `${at}: a foreach stage has only 'foreach' and 'do' (the stage goes under 'do'), got '${key}'`,
          );
        }
      }
      if (!("foreach" in spec)) {
        this.#fail(path, `${at}: 'do' needs 'foreach': add foreach: [a, b]`);
      }
      if (!("do" in spec)) {
        this.#fail(path, `${at}: 'foreach' needs 'do': put the stage (cmd, deps, …) under 'do'`);
      }
      const template = spec.do;
      if (!isPlainObject(template)) {
        this.#fail(
          [...path, "do"],
          `${at}: 'do' must be a mapping (do: { cmd: … }), got ${
            yamlKindOf(unboxFloats(template))
          }`,
        );
      }
      if ("matrix" in template) {
        this.#fail([...path, "do", "matrix"], `${at}: a stage cannot have both foreach and matrix`);
      }
      this.#checkKeys(template, [...path, "do"], at);
      const context = this.#context();
      const iterable = this.#interpolate(spec.foreach, context, [...path, "foreach"], at, {
        composite: true,
      });
      if (!Array.isArray(iterable) && !isPlainObject(iterable)) {
        this.#fail(
          [...path, "foreach"],
          `${at}: 'foreach' must be a list or a mapping (or \${name} of one), got ${
            yamlKindOf(unboxFloats(iterable))
          }`,
        );
      }
      const variants = foreachVariants(iterable, dvcText);
      this.#checkVariantKeys(variants.map((v) => v.key), [...path, "foreach"], at);
      return variants.map(({ key, item }) => {
        const temporary: Record<string, unknown> = { item };
        if (!Array.isArray(iterable)) temporary.key = key;
        return this.#resolve(name, key, template, [...path, "do"], path, context, temporary);
      });
    }
    this.#checkKeys(spec, path, at);
    if (!("cmd" in spec)) this.#fail(path, `${at}: missing 'cmd': add cmd: python train.py`);
    const context = this.#context();
    if (!("matrix" in spec)) return [this.#resolve(name, undefined, spec, path, path, context, {})];
    const matrixPath = [...path, "matrix"];
    const matrix = this.#interpolate(spec.matrix, context, matrixPath, at, { composite: true });
    if (!isPlainObject(matrix) || Object.keys(matrix).length === 0) {
      this.#fail(
        matrixPath,
        `${at}: 'matrix' must map each dimension to a list of values (matrix: { model: [a, b] })`,
      );
    }
    const dimensions = Object.entries(matrix).map(([dimension, values]) => {
      if (!Array.isArray(values) || values.length === 0) {
        this.#fail(
          [...matrixPath, dimension],
          `${at}: matrix dimension '${dimension}' must be a non-empty list of values, got ${
            yamlKindOf(unboxFloats(values))
          }`,
        );
      }
      return dvcMatrixDimension(dimension, values, dvcText);
    });
    const variants = expandMatrix(dimensions, "-");
    this.#checkVariantKeys(variants.map((v) => v.name), matrixPath, at);
    const { matrix: _, ...template } = spec;
    return variants.map((variant) =>
      this.#resolve(name, variant.name, template, path, path, context, {
        item: variant.values,
        key: variant.name,
      })
    );
  }

  #checkKeys(spec: Record<string, unknown>, path: YamlPath, at: string): void {
    for (const key of Object.keys(spec)) {
      if ((COMMAND_STAGE_KEYS as readonly string[]).includes(key)) continue;
      const hint = key === "run"
        ? ": a stage has either 'run' (a function) or 'cmd' (a command)"
        : didYouMean(key, COMMAND_STAGE_KEYS);
      this.#fail(
        [...path, key],
        `${at}: unknown key '${key}'${hint} (known: ${COMMAND_STAGE_KEYS.join(", ")})`,
      );
    }
  }

  #checkVariantKeys(keys: readonly string[], path: YamlPath, at: string): void {
    const seen = new Set<string>();
    for (const key of keys) {
      if (!/^[A-Za-z0-9_.,+=-]+$/.test(key)) {
        this.#fail(
          path,
          `${at}: variant '${key}' cannot be part of a stage name (letters, digits and _ . , + = -): use a mapping with keys that are`,
        );
      }
      if (seen.has(key)) this.#fail(path, `${at}: two variants are named '${key}'`);
      seen.add(key);
    }
  }

  /** One generated stage: `template` resolved in `context` plus `temporary` (`item`, `key`). */
  #resolve(
    baseName: string,
    variant: string | undefined,
    template: Record<string, unknown>,
    templatePath: YamlPath,
    stagePath: YamlPath,
    global: Context,
    temporary: Record<string, unknown>,
  ): PivotYamlCommandStage {
    const name = variant === undefined ? baseName : `${baseName}@${variant}`;
    const at = `stage '${name}'`;
    const field = (key: string): YamlPath => [...templatePath, key];
    // `item` and `key` are set for this variant only, over whatever the context has.
    let context: Context = {
      data: { ...global.data, ...temporary },
      sources: global.sources,
      imports: global.imports,
    };
    const wdir = template.wdir === undefined ? "." : this.#string(
      this.#interpolate(template.wdir, context, field("wdir"), at),
      field("wdir"),
      at,
      "wdir",
    );
    const rawVars = template.vars;
    if (rawVars !== undefined && rawVars !== null) {
      context = {
        data: structuredCloneData(context.data),
        sources: new Map(context.sources),
        imports: new Map(context.imports),
      };
      const stageDir = join(this.#source.dir, wdir);
      this.#loadVars(context, rawVars, field("vars"), stageDir, name);
    }
    const resolved: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(template)) {
      if (key === "vars") continue;
      resolved[key] = this.#interpolate(value, context, field(key), at, { cmd: key === "cmd" });
    }
    const cmd = this.#cmd(resolved.cmd, field("cmd"), at);
    const outs: CommandOutEntry[] = [
      ...this.#outs(resolved.outs, field("outs"), at, "out"),
      ...this.#outs(resolved.metrics, field("metrics"), at, "metric"),
      ...this.#outs(resolved.plots, field("plots"), at, "plot"),
    ];
    return {
      kind: "command",
      name,
      baseName,
      variant,
      cmd,
      commands: typeof cmd === "string"
        ? cmd.split(/\r?\n/).filter((line) => line.trim() !== "")
        : cmd,
      wdir,
      deps: this.#paths(resolved.deps, field("deps"), at, "dep"),
      outs,
      params: this.#params(resolved.params, field("params"), at),
      mutex: this.#mutex(resolved.mutex, field("mutex"), at),
      frozen: this.#flag(resolved.frozen, field("frozen"), at, "frozen"),
      alwaysChanged: this.#flag(
        resolved.always_changed,
        field("always_changed"),
        at,
        "always_changed",
      ),
      desc: resolved.desc === undefined || resolved.desc === null
        ? undefined
        : this.#string(resolved.desc, field("desc"), at, "desc"),
      where: this.#source.where(stagePath),
      line: this.#source.line(stagePath),
      files: this.files,
    };
  }

  /** `value` interpolated in `context`; an error points at `path` (and the key at fault). */
  #interpolate(
    value: unknown,
    context: Context,
    path: YamlPath,
    at: string,
    options: { cmd?: boolean; composite?: boolean } = {},
  ): unknown {
    try {
      return interpolateDeep(value, context.data as Variables, options);
    } catch (error) {
      if (!(error instanceof SubstitutionError)) throw error;
      const field = String(path[path.length - 1]);
      this.#fail([...path, ...error.keys], `${at}: '${field}': ${error.message}`);
    }
  }

  // --- vars ---

  #loadVars(context: Context, vars: unknown, path: YamlPath, dir: string, stage: string): void {
    if (vars === undefined || vars === null) return;
    const at = stage === "" ? "'vars'" : `stage '${stage}': 'vars'`;
    if (!Array.isArray(vars)) {
      this.#fail(
        path,
        `${at} must be a list of files (params.yaml, other.yaml:key) and mappings, got ${
          yamlKindOf(unboxFloats(vars))
        }`,
      );
    }
    vars.forEach((item, index) => {
      const itemPath = [...path, index];
      if (containsInterpolation(item)) {
        this.#fail(itemPath, `${at}: interpolation ('\${…}') is not allowed in vars`);
      }
      if (typeof item === "string") {
        const colon = item.indexOf(":");
        const file = colon < 0 ? item : item.slice(0, colon);
        const keys = colon < 0
          ? undefined
          : item.slice(colon + 1).split(",").map((key) => key.trim()).filter((key) => key !== "");
        const abs = normalize(isAbsolute(file) ? file : join(dir, file));
        const loaded = context.imports.get(abs);
        if (context.imports.has(abs)) {
          if (loaded === undefined && (keys === undefined || keys.length === 0)) return;
          if (loaded === undefined || keys === undefined || keys.some((k) => loaded.includes(k))) {
            this.#fail(itemPath, `${at}: cannot load '${item}': it is (partly) loaded already`);
          }
        }
        if (/\.py$/i.test(file)) {
          this.#fail(
            itemPath,
            `${at}: '${file}': Python params files are not supported: use YAML or JSON`,
          );
        }
        const data = this.#read(abs);
        if (data === undefined) this.#fail(itemPath, `${at}: '${file}' does not exist`);
        if (!isPlainObject(data)) {
          this.#fail(
            itemPath,
            `${at}: '${file}' must hold a mapping, got ${yamlKindOf(unboxFloats(data))}`,
          );
        }
        let selected: Record<string, unknown> = data;
        if (keys !== undefined && keys.length > 0) {
          selected = {};
          for (const key of keys) {
            if (!Object.hasOwn(data, key)) {
              this.#fail(
                itemPath,
                `${at}: '${file}' has no key '${key}'${didYouMean(key, Object.keys(data))}`,
              );
            }
            selected[key] = data[key];
          }
        }
        this.#mergeFile(
          context,
          abs,
          keys && keys.length > 0 ? keys : undefined,
          selected,
          itemPath,
          stage,
        );
      } else if (isPlainObject(item)) {
        const source = `${stage === "" ? "" : `${stage}.`}vars[${index}]`;
        this.#merge(context, item, source, itemPath, stage);
      } else {
        this.#fail(
          itemPath,
          `${at}: each entry must be a file name or a mapping, got ${
            yamlKindOf(unboxFloats(item))
          }`,
        );
      }
    });
  }

  #mergeFile(
    context: Context,
    abs: string,
    keys: readonly string[] | undefined,
    data: unknown,
    path: YamlPath,
    stage: string,
  ): void {
    const label = relative(this.#source.dir, abs) || abs;
    if (!isPlainObject(data)) {
      this.#fail(path, `${label} must hold a mapping, got ${yamlKindOf(unboxFloats(data))}`);
    }
    this.#merge(context, data, label, path, stage);
    const before = context.imports.get(abs);
    context.imports.set(abs, keys === undefined ? undefined : [...(before ?? []), ...keys]);
  }

  /** DVC's merge of vars: mappings merge key by key; a value set twice is an error. */
  #merge(
    context: Context,
    update: Record<string, unknown>,
    source: string,
    path: YamlPath,
    stage = "",
  ) {
    const walk = (into: Record<string, unknown>, from: Record<string, unknown>, prefix: string) => {
      for (const [key, value] of Object.entries(from)) {
        const dotted = prefix === "" ? key : `${prefix}.${key}`;
        if (prefix === "" && RESERVED.includes(key) && stage !== "") {
          this.#fail(
            path,
            `stage '${stage}': 'vars' cannot set '${key}': it is reserved for foreach and matrix`,
          );
        }
        const existing = into[key];
        if (isPlainObject(existing) && isPlainObject(value)) {
          walk(existing, value, dotted);
        } else if (Object.hasOwn(into, key)) {
          this.#fail(
            path,
            `cannot redefine '${dotted}' from '${source}': it is already defined in '${
              context.sources.get(dotted) ?? "an earlier source"
            }'`,
          );
        } else {
          into[key] = structuredCloneData(value);
          context.sources.set(dotted, source);
          if (isPlainObject(value)) markSources(context.sources, value, dotted, source);
        }
      }
    };
    walk(context.data, update, "");
  }

  // --- fields ---

  #string(value: unknown, path: YamlPath, at: string, what: string): string {
    if (typeof value !== "string" || value === "") {
      this.#fail(
        path,
        `${at}: '${what}' must be a non-empty string, got ${yamlKindOf(unboxFloats(value))}`,
      );
    }
    return value;
  }

  #flag(value: unknown, path: YamlPath, at: string, what: string): boolean {
    if (value === undefined || value === null) return false;
    if (typeof value !== "boolean") {
      this.#fail(
        path,
        `${at}: '${what}' must be true or false, got ${yamlKindOf(unboxFloats(value))}`,
      );
    }
    return value;
  }

  #cmd(value: unknown, path: YamlPath, at: string): string | string[] {
    if (typeof value === "string" && value.trim() !== "") return value;
    if (
      Array.isArray(value) && value.length > 0 &&
      value.every((item) => typeof item === "string" && item.trim() !== "")
    ) {
      return value as string[];
    }
    this.#fail(
      path,
      `${at}: 'cmd' must be a command (a non-empty string) or a list of commands, got ${
        yamlKindOf(unboxFloats(value))
      }`,
    );
  }

  #list(value: unknown, path: YamlPath, at: string, what: string, example: string): unknown[] {
    if (value === undefined || value === null) return [];
    if (!Array.isArray(value)) {
      this.#fail(
        path,
        `${at}: '${what}' must be a list (${example}), got ${yamlKindOf(unboxFloats(value))}`,
      );
    }
    return value;
  }

  #paths(value: unknown, path: YamlPath, at: string, noun: string): string[] {
    return this.#list(value, path, at, `${noun}s`, `${noun}s: [data/raw.csv, src/prepare.py]`)
      .map((item, index) => {
        if (typeof item !== "string" || item === "") {
          this.#fail(
            [...path, index],
            `${at}: each ${noun} must be a path (a non-empty string), got ${
              yamlKindOf(unboxFloats(item))
            }`,
          );
        }
        return item;
      });
  }

  #mutex(value: unknown, path: YamlPath, at: string): string[] {
    const list = this.#list(value, path, at, "mutex", "mutex: [gpu]");
    if (!list.every((group) => typeof group === "string" && group !== "")) {
      this.#fail(path, `${at}: 'mutex' must be a list of group names (mutex: [gpu])`);
    }
    return list as string[];
  }

  #outs(
    value: unknown,
    path: YamlPath,
    at: string,
    kind: CommandOutEntry["kind"],
  ): CommandOutEntry[] {
    const section = kind === "out" ? "outs" : `${kind}s`;
    const flags = kind === "plot" ? PLOT_FLAGS : OUT_FLAGS;
    return this.#list(
      value,
      path,
      at,
      section,
      `${section}: [model.pkl, { data/: { cache: false } }]`,
    )
      .map((item, index) => {
        const itemPath = [...path, index];
        if (typeof item === "string" && item !== "") {
          return { path: item, kind, cache: true, persist: false };
        }
        if (!isPlainObject(item) || Object.keys(item).length !== 1) {
          this.#fail(
            itemPath,
            `${at}: each entry of '${section}' must be a path or { path: { cache: false } }, got ${
              yamlKindOf(unboxFloats(item))
            }`,
          );
        }
        const [outPath, rawOptions] = Object.entries(item)[0];
        const options = rawOptions === null || rawOptions === undefined ? {} : rawOptions;
        const optionsPath = [...itemPath, outPath];
        if (!isPlainObject(options)) {
          this.#fail(
            optionsPath,
            `${at}: options of '${outPath}' must be a mapping (cache: false)`,
          );
        }
        for (const key of Object.keys(options)) {
          if (flags.includes(key)) continue;
          const why = UNSUPPORTED_OUT_FLAGS[key];
          this.#fail(
            [...optionsPath, key],
            why
              ? `${at}: '${outPath}': '${key}' is not supported (${why}): remove it`
              : `${at}: '${outPath}': unknown option '${key}'${didYouMean(key, flags)} (known: ${
                flags.join(", ")
              })`,
          );
        }
        const bool = (key: string, fallback: boolean) => {
          const flag = options[key];
          if (flag === undefined || flag === null) return fallback;
          if (typeof flag !== "boolean") {
            this.#fail(
              [...optionsPath, key],
              `${at}: '${outPath}': '${key}' must be true or false`,
            );
          }
          return flag;
        };
        const entry: CommandOutEntry = {
          path: outPath,
          kind,
          cache: bool("cache", true),
          persist: bool("persist", false),
        };
        if (kind !== "plot") return entry;
        const text = (key: string) => {
          const v = options[key];
          if (v === undefined || v === null) return undefined;
          if (typeof v !== "string") {
            this.#fail([...optionsPath, key], `${at}: '${outPath}': '${key}' must be a string`);
          }
          return v;
        };
        const template = text("template");
        if (template !== undefined && !Object.hasOwn(DVC_PLOT_TEMPLATES, template)) {
          this.#fail(
            [...optionsPath, "template"],
            `${at}: '${outPath}': unknown plot template '${template}'${
              didYouMean(template, Object.keys(DVC_PLOT_TEMPLATES))
            } (known: ${Object.keys(DVC_PLOT_TEMPLATES).join(", ")})`,
          );
        }
        const plot = Object.fromEntries(
          Object.entries({
            template: template === undefined ? undefined : DVC_PLOT_TEMPLATES[template],
            x: text("x"),
            y: text("y"),
            title: text("title"),
            xLabel: text("x_label"),
            yLabel: text("y_label"),
          }).filter(([, v]) => v !== undefined),
        );
        return Object.keys(plot).length > 0 ? { ...entry, plot } : entry;
      });
  }

  /**
   * DVC's `_merge_params`: a string is a key of `params.yaml`; `{file:
   * [keys]}` names keys of another file, `{file: null}` (or `[]`) all of it,
   * and then its keys listed elsewhere are dropped.
   */
  #params(value: unknown, path: YamlPath, at: string): CommandParamsEntry[] {
    const list = this.#list(
      value,
      path,
      at,
      "params",
      "params: [train.epochs, { other.yaml: [lr] }]",
    );
    const whole = new Set<string>();
    for (const item of list) {
      if (!isPlainObject(item)) continue;
      for (const [file, keys] of Object.entries(item)) {
        if (keys === null || keys === undefined || (Array.isArray(keys) && keys.length === 0)) {
          whole.add(file);
        }
      }
    }
    const byFile = new Map<string, string[]>();
    const add = (file: string, keys: readonly string[]) => {
      const known = byFile.get(file) ?? [];
      byFile.set(file, known);
      if (whole.has(file)) return;
      for (const key of keys) if (!known.includes(key)) known.push(key);
    };
    list.forEach((item, index) => {
      if (typeof item === "string" && item !== "") {
        if (!whole.has(DEFAULT_PARAMS_FILE)) add(DEFAULT_PARAMS_FILE, [item]);
      } else if (isPlainObject(item)) {
        for (const [file, keys] of Object.entries(item)) {
          if (whole.has(file)) add(file, []);
          else if (
            Array.isArray(keys) && keys.every((key) => typeof key === "string" && key !== "")
          ) {
            add(file, keys as string[]);
          } else {
            this.#fail(
              [...path, index, file],
              `${at}: params of '${file}' must be a list of keys (${file}: [lr]) or empty (the whole file)`,
            );
          }
        }
      } else {
        this.#fail(
          [...path, index],
          `${at}: each entry of 'params' must be a key (train.epochs) or { file.yaml: [keys] }, got ${
            yamlKindOf(unboxFloats(item))
          }`,
        );
      }
    });
    return [...byFile].map(([file, keys]) => {
      if (/\.py$/i.test(file)) {
        this.#fail(
          path,
          `${at}: params file '${file}': Python params files are not supported: use YAML or JSON`,
        );
      }
      return { file, keys: whole.has(file) ? undefined : keys };
    });
  }
}

function containsInterpolation(value: unknown): boolean {
  if (typeof value === "string") return /(?<!\\)\$\{.*?\}/.test(value);
  if (Array.isArray(value)) return value.some(containsInterpolation);
  if (isPlainObject(value)) {
    return Object.entries(value).some(([k, v]) =>
      containsInterpolation(k) || containsInterpolation(v)
    );
  }
  return false;
}

function markSources(
  sources: Sources,
  value: Record<string, unknown>,
  prefix: string,
  source: string,
) {
  for (const [key, item] of Object.entries(value)) {
    const dotted = `${prefix}.${key}`;
    sources.set(dotted, source);
    if (isPlainObject(item)) markSources(sources, item, dotted, source);
  }
}

/** A deep copy of plain data, keeping {@link YamlFloat} boxes (they are immutable). */
function structuredCloneData<T>(value: T): T {
  if (Array.isArray(value)) return value.map(structuredCloneData) as T;
  if (isPlainObject(value)) {
    const copy: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) copy[key] = structuredCloneData(item);
    return copy as T;
  }
  return value;
}

export { YamlFloat };
