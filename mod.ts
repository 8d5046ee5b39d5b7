/**
 * Pivot: a pipeline tool that re-runs exactly what your code change affects.
 *
 * Define stages as typed functions beside their deps and outs, export the
 * pipeline from `pipeline.ts`, and run `pivot repro` (the `jsr:@pivot/cli`
 * command). Pivot runs a stage again only when its deps, params, loaders or
 * the code its run function reaches have changed.
 *
 * This module only declares: importing it, and registering stages, reads and
 * writes nothing and needs no permissions. Stages run later, in workers that
 * may read their deps and write their outs and nothing else, unless a stage
 * declares more (see {@link StagePermissions}).
 *
 * - {@link Pipeline} holds the stages; {@link defineStage} makes a reusable one.
 * - {@link dep} declares an input; {@link out}, {@link metric}, {@link plot}
 *   and {@link incremental} declare outputs.
 * - `loaders` reads and writes files: `json`, `yaml`, `csv`, `jsonl`, `text`,
 *   `bytes`, `files` (a directory as an object of its files) and `pathOnly`,
 *   or any object with `load`/`save`.
 *
 * @example
 * ```ts
 * import { dep, loaders, out, Pipeline } from "jsr:@pivot/core";
 *
 * export const pipeline = new Pipeline("example");
 *
 * pipeline.stage({
 *   name: "count",
 *   deps: { words: dep("words.txt", loaders.text()) },
 *   outs: { total: out("total.json", loaders.json<{ n: number }>()) },
 *   run: ({ words }) => ({ total: { n: words.split(/\s+/).length } }),
 * });
 * ```
 *
 * @module
 */

/**
 * The built-in loaders, which read a dep into the value a stage receives and
 * save a returned value into an out: {@link loaders.json}, {@link loaders.yaml},
 * {@link loaders.csv}, {@link loaders.jsonl}, {@link loaders.text},
 * {@link loaders.bytes}, {@link loaders.files} (a directory) and
 * {@link loaders.pathOnly}.
 *
 * @example
 * ```ts
 * import { dep, loaders, out } from "jsr:@pivot/core";
 *
 * const rows = dep("rows.csv", loaders.csv({ columns: { value: "number" } }));
 * const summary = out("summary.json", loaders.json<{ total: number }>());
 * ```
 */
export * as loaders from "./lib/api/loaders.ts";
export type {
  BuiltinLoader,
  CsvColumnType,
  CsvColumnValue,
  CsvOptions,
  CsvRow,
  FilesOptions,
  JsonOptions,
  Loader,
  PathOnlyLoader,
  Reader,
  Writer,
} from "./lib/api/loaders.ts";
export { dep, incremental, metric, out, plot } from "./lib/api/artifacts.ts";
export type {
  Dep,
  MetricValue,
  Out,
  OutBase,
  OutKind,
  OutOptions,
  PathOut,
  PlotDisplay,
  PlotOptions,
  PlotTemplate,
  ValueOut,
} from "./lib/api/artifacts.ts";
export { defineStage, Pipeline, PipelineDefinitionError } from "./lib/api/pipeline.ts";
export type { CallSite, RegisteredStage, StageDefinition } from "./lib/api/pipeline.ts";
export type {
  Deps,
  DepValues,
  Outs,
  OutValues,
  ParamsOf,
  ParamsSpec,
  StageContext,
  StageFunction,
  StageOverrides,
  StagePermissions,
  StageResult,
  StageSpec,
  ValueOutKeys,
} from "./lib/api/stage.ts";
export type { StandardSchemaV1 } from "./lib/api/standard_schema.ts";
