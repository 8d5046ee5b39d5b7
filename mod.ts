/**
 * Pivot: a pipeline tool that re-runs exactly what your code change affects.
 *
 * Define stages as typed functions beside their deps and outs, export the
 * pipeline from `pipeline.ts`, and run `pivot repro`.
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

import * as loaders from "./lib/api/loaders.ts";

export { loaders };
export type {
  BuiltinLoader,
  CsvColumnType,
  CsvOptions,
  CsvRow,
  JsonOptions,
  Loader,
  LoaderSpec,
  PathOnlyLoader,
  Reader,
  Writer,
} from "./lib/api/loaders.ts";
export { dep, incremental, metric, out, plot } from "./lib/api/artifacts.ts";
export type {
  Dep,
  MetricValue,
  Out,
  OutKind,
  OutOptions,
  PathOut,
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
} from "./lib/api/stage.ts";
export type { StandardSchemaV1 } from "./lib/api/standard_schema.ts";
