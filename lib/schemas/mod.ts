/**
 * JSON Schemas of the YAML files users write or commit: `pivot.yaml`,
 * `.pivot/config.yaml` (and `config.local.yaml`) and `.pvt` files. The JSON
 * files beside this module are the source; they are published with the
 * package, so an editor's YAML language server can fetch them by URL (the
 * `# yaml-language-server: $schema=…` line `pivot init` writes), and `pivot
 * schema NAME` prints them. Validators of these files use the same objects.
 *
 * @module
 */

import { jsrUrl } from "../jsr.ts";
import { VERSION } from "../version.ts";
import pivotYaml from "./pivot_yaml.schema.json" with { type: "json" };
import config from "./config.schema.json" with { type: "json" };
import pvt from "./pvt.schema.json" with { type: "json" };

/** A JSON Schema (draft-07) object. */
export type JsonSchema = Readonly<Record<string, unknown>>;

/** The schema of `pivot.yaml` / `pivot.yml`. */
export const PIVOT_YAML_SCHEMA: JsonSchema = pivotYaml;
/** The schema of `.pivot/config.yaml` and `.pivot/config.local.yaml`. */
export const CONFIG_SCHEMA: JsonSchema = config;
/** The schema of a `.pvt` file. */
export const PVT_SCHEMA: JsonSchema = pvt;

/** One schema `pivot schema` knows. */
export interface SchemaEntry {
  /** Its name on the command line. */
  readonly name: "pivot-yaml" | "config" | "pvt";
  /** The files it describes. */
  readonly files: string;
  /** The JSON file beside this module. */
  readonly file: string;
  /** The schema. */
  readonly schema: JsonSchema;
}

/** Every schema, by name. */
export const SCHEMAS: readonly SchemaEntry[] = [
  {
    name: "pivot-yaml",
    files: "pivot.yaml, pivot.yml",
    file: "pivot_yaml.schema.json",
    schema: PIVOT_YAML_SCHEMA,
  },
  {
    name: "config",
    files: ".pivot/config.yaml, .pivot/config.local.yaml",
    file: "config.schema.json",
    schema: CONFIG_SCHEMA,
  },
  { name: "pvt", files: "*.pvt", file: "pvt.schema.json", schema: PVT_SCHEMA },
];

/**
 * The schema named `name`: `pivot-yaml`, `config` or `pvt`, or a file name
 * it describes (`pivot.yaml`, `config.yaml`, `data.csv.pvt`).
 *
 * @example
 * ```ts
 * findSchema("config.yaml")?.name; // "config"
 * ```
 */
export function findSchema(name: string): SchemaEntry | undefined {
  const base = name.split("/").pop() ?? name;
  if (base === "pivot.yaml" || base === "pivot.yml") return SCHEMAS[0];
  if (base === "config.yaml" || base === "config.local.yaml") return SCHEMAS[1];
  if (base.endsWith(".pvt")) return SCHEMAS[2];
  return SCHEMAS.find((entry) => entry.name === name);
}

/**
 * Where editors can fetch a schema: its file in this version of the
 * `@pivot/core` package on JSR (the registry Deno uses, see `JSR_URL`).
 *
 * @example
 * ```ts
 * schemaUrl(SCHEMAS[1]); // "https://jsr.io/@pivot/core/0.1.0/lib/schemas/config.schema.json"
 * ```
 */
export function schemaUrl(entry: SchemaEntry): string {
  return `${jsrUrl()}@pivot/core/${VERSION}/lib/schemas/${entry.file}`;
}

/**
 * The first line of a YAML file Pivot writes, so that editors with a YAML
 * language server validate and complete it.
 *
 * @example
 * ```ts
 * schemaComment(SCHEMAS[2]); // "# yaml-language-server: $schema=https://jsr.io/…/pvt.schema.json"
 * ```
 */
export function schemaComment(entry: SchemaEntry): string {
  return `# yaml-language-server: $schema=${schemaUrl(entry)}`;
}
