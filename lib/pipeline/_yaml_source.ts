/**
 * Parsing a user's YAML file (`pivot.yaml`, `params.yaml`) into plain values
 * while keeping the line of each node, so that errors can say
 * `pivot.yaml:7: …`.
 *
 * @module
 */

import { isNode, LineCounter, parseDocument } from "yaml";
import { PivotError } from "../errors.ts";

/** A key path into a YAML document: map keys and list indexes. */
export type YamlPath = readonly (string | number)[];

/** A parsed YAML file. */
export interface YamlSource {
  /** The document as plain JavaScript values (`undefined` for an empty file). */
  readonly value: unknown;
  /** `label:line` for the node at `path` (or its nearest ancestor that exists). */
  where(path: YamlPath): string;
}

/** Options of {@link parseYamlSource}. */
export interface YamlSourceOptions {
  /**
   * Give mappings as `Map`s, which keep declaration order and original keys
   * (a plain object puts integer-like keys such as `2024` first).
   */
  mapAsMap?: boolean;
}

/**
 * Parse `text` as YAML 1.2 (core schema; `<<` merge keys allowed). A syntax
 * error, a duplicate key or a second document is a one-line {@link PivotError}
 * naming `label` and the line.
 */
export function parseYamlSource(
  text: string,
  label: string,
  options: YamlSourceOptions = {},
): YamlSource {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, merge: true, prettyErrors: true });
  const error = doc.errors[0];
  if (error !== undefined) {
    const line = error.linePos?.[0].line;
    // The message continues with a multi-line code frame; its first line is enough.
    const message = error.message.split("\n")[0].replace(/ at line \d+, column \d+:?$/, "");
    throw new PivotError(`${label}${line ? `:${line}` : ""}: invalid YAML: ${message}`);
  }
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: 1000, mapAsMap: options.mapAsMap ?? false });
  } catch (cause) {
    throw new PivotError(`${label}: invalid YAML: ${(cause as Error).message}`, { cause });
  }
  return {
    value,
    where(path) {
      for (let depth = path.length; depth >= 0; depth--) {
        const node = depth === 0 ? doc.contents : doc.getIn(path.slice(0, depth), true);
        if (isNode(node) && node.range) {
          return `${label}:${lineCounter.linePos(node.range[0]).line}`;
        }
      }
      return label;
    },
  };
}

/** `a mapping`, `a list`, `a string`, … for "expected X, got Y" messages. */
export function yamlKindOf(value: unknown): string {
  if (value === null || value === undefined) return "nothing";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "a mapping";
  return `${typeof value === "string" ? "a string" : `a ${typeof value}`} (${
    short(JSON.stringify(value))
  })`;
}

/** True for a mapping parsed from YAML (or any plain object). */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** Cut a text for a one-line message. */
export function short(text: string, max = 40): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
