/**
 * `pivot schema [NAME]`: the JSON Schemas of `pivot.yaml`, the config files
 * and `.pvt` files, for editors and CI linters.
 *
 * @module
 */

import { PivotError } from "../../errors.ts";
import { findSchema, SCHEMAS, schemaUrl } from "../../schemas/mod.ts";
import type { Command } from "../command.ts";

/** The `schema` command. */
export const schema: Command = {
  name: "schema",
  summary: "Print the JSON Schema of pivot.yaml, config.yaml or .pvt files.",
  usage: "schema [pivot-yaml|config|pvt] [options]",
  options: {
    url: { type: "boolean", help: "print where editors can fetch it instead" },
  },
  run({ values, positionals }, env) {
    if (positionals.length > 1) {
      throw new PivotError(
        `schema: expected one name, got ${positionals.length}: see 'pivot schema'`,
      );
    }
    const [name] = positionals;
    if (name === undefined) {
      const width = Math.max(...SCHEMAS.map((entry) => entry.name.length)) + 2;
      for (const entry of SCHEMAS) {
        env.output.line(`${entry.name.padEnd(width)}${entry.files}`);
        env.output.line(`${"".padEnd(width)}${schemaUrl(entry)}`);
      }
      return Promise.resolve(0);
    }
    const entry = findSchema(name);
    if (!entry) {
      throw new PivotError(
        `schema: unknown schema '${name}': use one of ${SCHEMAS.map((e) => e.name).join(", ")}`,
      );
    }
    env.output.line(values.url ? schemaUrl(entry) : JSON.stringify(entry.schema, null, 2));
    return Promise.resolve(0);
  },
};
