/**
 * `dvc.yaml` → `pivot.yaml`. Command stages in `pivot.yaml` take DVC's
 * fields and rules as they are (SPEC §12), so the conversion mostly keeps
 * the file — with its comments, through the `yaml` package's document
 * model — and deals with what Pivot has no place for:
 *
 * - top-level `metrics` and `plots` that name an out of a stage become that
 *   out's kind (moved to the stage's `metrics`/`plots`); others, plot
 *   definitions across files, `params`, `artifacts` and `datasets` are left
 *   out and reported;
 * - out options Pivot does not have (`remote`, `push`, `checkpoint`) and plot
 *   templates it cannot draw are dropped and reported;
 * - a params file Pivot cannot read (Python, TOML) becomes a dep: the stage
 *   still re-runs when the file changes, but on any change.
 *
 * @module
 */

import { PivotError } from "../errors.ts";

/** The result of {@link convertDvcYaml}. */
export interface Conversion {
  /** The `pivot.yaml` text. */
  readonly text: string;
  /** What could not be converted as it was, and why: one line each. */
  readonly notes: readonly string[];
}

/** DVC plot templates Pivot draws (see docs/migrating-from-dvc.md). */
const PLOT_TEMPLATES = new Set([
  "simple",
  "linear",
  "smooth",
  "scatter",
  "scatter_jitter",
  "confusion",
  "confusion_normalized",
  "bar_horizontal",
  "bar_horizontal_sorted",
]);
const DROPPED_OUT_OPTIONS: Readonly<Record<string, string>> = {
  remote: "Pivot pushes every cached out to the remote you name (pivot push -r REMOTE)",
  push: "Pivot pushes every cached out",
  checkpoint: "checkpoints are gone from DVC too",
};
const NAME = /^[A-Za-z0-9_-]+$/;

type YamlModule = typeof import("yaml");
type YMap = import("yaml").YAMLMap<unknown, unknown>;
type YSeq = import("yaml").YAMLSeq<unknown>;

/**
 * Convert the text of a `dvc.yaml` (`label` names it in messages) into the
 * text of an equivalent `pivot.yaml`, with notes on what was not converted.
 *
 * @throws {PivotError} for malformed YAML, a top level that is not a
 * mapping, or a stage name Pivot cannot take.
 *
 * @example
 * ```ts
 * const { text, notes } = await convertDvcYaml(await Deno.readTextFile("dvc.yaml"), "dvc.yaml");
 * ```
 */
export async function convertDvcYaml(source: string, label: string): Promise<Conversion> {
  const yaml: YamlModule = await import("yaml");
  const doc = yaml.parseDocument(source, { keepSourceTokens: false });
  if (doc.errors.length > 0) {
    throw new PivotError(`${label}: invalid YAML: ${doc.errors[0].message.split("\n")[0]}`);
  }
  const root = doc.contents;
  if (!yaml.isMap(root)) throw new PivotError(`${label}: expected a mapping with 'stages'`);
  const notes: string[] = [];
  const stages = root.get("stages", true);
  const stageMaps = new Map<string, YMap>();
  if (yaml.isMap(stages)) {
    for (const pair of stages.items) {
      const name = String(yaml.isScalar(pair.key) ? pair.key.value : pair.key);
      if (!NAME.test(name)) {
        throw new PivotError(
          `${label}: stage name '${name}' has characters Pivot does not allow in names (letters, digits, '_', '-'): rename the stage first`,
        );
      }
      if (!yaml.isMap(pair.value)) continue;
      const body = pair.value.get("do", true);
      const spec = yaml.isMap(body) ? body : pair.value;
      stageMaps.set(name, pair.value);
      convertStage(yaml, name, spec, notes);
    }
  } else if (stages !== undefined) {
    throw new PivotError(`${label}: 'stages' must be a mapping of stages`);
  }

  for (const pair of [...root.items]) {
    const key = String(yaml.isScalar(pair.key) ? pair.key.value : pair.key);
    if (key === "stages" || key === "vars") continue;
    if (key === "metrics" || key === "plots") {
      moveTopLevelOuts(yaml, key, pair.value, stageMaps, notes);
    } else if (key === "params") {
      notes.push(
        "top-level 'params' (params files for 'dvc params show') is left out: 'pivot params show' shows the params of every stage",
      );
    } else if (key === "artifacts") {
      notes.push(
        "top-level 'artifacts' (DVC's model registry) is left out: Pivot has no artifact registry",
      );
    } else if (key === "datasets") {
      notes.push("top-level 'datasets' is left out: Pivot has no dataset registry");
    } else {
      notes.push(`top-level '${key}' is left out: Pivot does not know it`);
    }
    keepComment(yaml, root, pair);
    root.delete(pair.key);
  }
  doc.commentBefore =
    ` Converted from ${label} by 'pivot import-dvc'. Command stages take DVC's fields;\n see docs/migrating-from-dvc.md.${
      doc.commentBefore ? `\n${doc.commentBefore}` : ""
    }`;
  return { text: doc.toString({ lineWidth: 0 }), notes };
}

/** A comment above a pair that is deleted moves to the next pair (or the document's head). */
function keepComment(yaml: YamlModule, map: YMap, pair: YMap["items"][number]): void {
  const comment = yaml.isNode(pair.key) ? pair.key.commentBefore : undefined;
  if (!comment) return;
  const index = map.items.indexOf(pair);
  const next = map.items[index + 1]?.key;
  if (yaml.isNode(next)) {
    next.commentBefore = next.commentBefore ? `${comment}\n${next.commentBefore}` : comment;
  } else if (index === 0) {
    map.commentBefore = map.commentBefore ? `${map.commentBefore}\n${comment}` : comment;
  }
}

function text(yaml: YamlModule, node: unknown): string | undefined {
  if (yaml.isScalar(node)) return node.value === null ? undefined : String(node.value);
  return typeof node === "string" ? node : undefined;
}

/** Drop what Pivot cannot take from one stage (or a foreach's `do`). */
function convertStage(yaml: YamlModule, name: string, spec: YMap, notes: string[]): void {
  for (const section of ["outs", "metrics", "plots"]) {
    const list = spec.get(section, true);
    if (!yaml.isSeq(list)) continue;
    for (const item of list.items) {
      if (!yaml.isMap(item) || item.items.length !== 1) continue;
      const [{ key, value: options }] = item.items;
      const path = text(yaml, key) ?? "?";
      if (!yaml.isMap(options)) continue;
      for (const option of [...options.items]) {
        const optionName = text(yaml, option.key) ?? "";
        if (Object.hasOwn(DROPPED_OUT_OPTIONS, optionName)) {
          notes.push(
            `stage '${name}': '${path}': option '${optionName}' is left out (${
              DROPPED_OUT_OPTIONS[optionName]
            })`,
          );
          options.delete(option.key);
        } else if (optionName === "template" && section === "plots") {
          const template = text(yaml, option.value) ?? "";
          if (!PLOT_TEMPLATES.has(template) && !template.includes("${")) {
            notes.push(
              `stage '${name}': '${path}': plot template '${template}' is left out: Pivot draws linear, scatter, bar and confusion plots (it uses linear)`,
            );
            options.delete(option.key);
          }
        }
      }
      if (options.items.length === 0) item.set(key, null);
    }
  }
  const params = spec.get("params", true);
  if (!yaml.isSeq(params)) return;
  const moved: string[] = [];
  for (const item of [...params.items]) {
    if (!yaml.isMap(item)) continue;
    for (const pair of [...item.items]) {
      const file = text(yaml, pair.key) ?? "";
      if (!/\.(py|toml)$/i.test(file)) continue;
      moved.push(file);
      item.delete(pair.key);
    }
    if (item.items.length === 0) params.delete(params.items.indexOf(item));
  }
  if (moved.length === 0) return;
  const deps = seqAt(yaml, spec, "deps");
  for (const file of moved) {
    deps.add(file);
    notes.push(
      `stage '${name}': params file '${file}' is a dep now: Pivot reads YAML and JSON params files, so the stage re-runs on any change to it, not only to the keys it names`,
    );
  }
  if (params.items.length === 0) spec.delete("params");
}

/**
 * Top-level `metrics`/`plots` entries that are a stage's out become that
 * out's kind; the rest is reported.
 */
function moveTopLevelOuts(
  yaml: YamlModule,
  section: "metrics" | "plots",
  value: unknown,
  stages: ReadonlyMap<string, YMap>,
  notes: string[],
): void {
  const noun = section === "metrics" ? "metric" : "plot";
  if (!yaml.isSeq(value)) return;
  for (const item of value.items) {
    const path = text(yaml, item);
    if (path === undefined) {
      const id = yaml.isMap(item) ? text(yaml, item.items[0]?.key) : undefined;
      notes.push(
        `top-level plot '${
          id ?? "?"
        }' (a plot across files) is left out: declare each file as a plot of the stage that writes it, with x and y`,
      );
      continue;
    }
    const owner = [...stages].find(([, stage]) => outEntryIndex(yaml, stage, path) >= 0);
    if (!owner) {
      const around = [...stages].find(([, stage]) =>
        outsOf(yaml, stage).some((out) => path.startsWith(`${out.replace(/\/$/, "")}/`))
      );
      notes.push(
        `top-level ${noun} '${path}' is left out: ${
          around
            ? `it is inside an out of stage '${around[0]}', and a ${noun} must be an out of its own`
            : "no stage writes it"
        }: list it under '${section}' of the stage that writes it to see it in 'pivot ${section} show'`,
      );
      continue;
    }
    const [name, stage] = owner;
    const outs = seqAt(yaml, stage, "outs");
    const index = outEntryIndex(yaml, stage, path);
    const entry = outs.items[index];
    outs.delete(index);
    if (outs.items.length === 0) stage.delete("outs");
    seqAt(yaml, stage, section).add(entry);
    notes.push(`top-level ${noun} '${path}' is now a ${noun} of stage '${name}'`);
  }
}

/** The list at `key` of `map`, made (empty) when there is none. */
function seqAt(yaml: YamlModule, map: YMap, key: string): YSeq {
  const found: unknown = map.get(key, true);
  if (yaml.isSeq(found)) return found as YSeq;
  const seq = new yaml.YAMLSeq();
  map.set(key, seq);
  return seq;
}

function outsOf(yaml: YamlModule, stage: YMap): string[] {
  const outs = stage.get("outs", true);
  if (!yaml.isSeq(outs)) return [];
  return outs.items.flatMap((item) => {
    const path = yaml.isMap(item) ? text(yaml, item.items[0]?.key) : text(yaml, item);
    return path === undefined ? [] : [path];
  });
}

function outEntryIndex(yaml: YamlModule, stage: YMap, path: string): number {
  // Only a plain stage (no foreach, matrix or wdir) has outs written as their project paths.
  if (stage.has("foreach") || stage.has("matrix") || stage.has("wdir")) return -1;
  return outsOf(yaml, stage).indexOf(path);
}
