/**
 * Parsing a YAML file Pivot reads (lock, `.pvt` and metric files), with the
 * one-line error every such file gets when it does not parse. The `yaml`
 * package is imported on the first call, not at start-up.
 *
 * @module
 */

import { PivotError } from "./errors.ts";

/**
 * The value of YAML `text`, read from the file shown as `label`.
 *
 * @throws {PivotError} `<label>: not valid YAML (<first line of the parser's
 * message>)`, followed by `: <fix>` when `fix` says how to repair the file.
 *
 * @example
 * ```ts
 * await parseYamlText("a: 1\n", "m.yaml"); // { a: 1 }
 * ```
 */
export async function parseYamlText(text: string, label: string, fix?: string): Promise<unknown> {
  const { parse } = await import("yaml");
  try {
    return parse(text);
  } catch (error) {
    const reason = (error as Error).message.split("\n")[0];
    throw new PivotError(
      `${label}: not valid YAML (${reason})${fix === undefined ? "" : `: ${fix}`}`,
    );
  }
}
