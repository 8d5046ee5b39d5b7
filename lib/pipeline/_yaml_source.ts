/**
 * Parsing a user's YAML file (`pivot.yaml`, `params.yaml`) into plain values
 * while keeping the line of each node, so that errors can say
 * `pivot.yaml:7: …`.
 *
 * @module
 */

import { isMap, isNode, isScalar, LineCounter, parseDocument, type Tags } from "yaml";
import { PivotError } from "../errors.ts";
import { YamlFloat } from "./substitute.ts";

export { isPlainObject, short, yamlKindOf } from "./_values.ts";

/** A key path into a YAML document: map keys and list indexes. */
export type YamlPath = readonly (string | number)[];

/** A parsed YAML file. */
export interface YamlSource {
  /** The document as plain JavaScript values (`undefined` for an empty file). */
  readonly value: unknown;
  /** `label:line` for the node at `path` (or its nearest ancestor that exists). */
  where(path: YamlPath): string;
  /** The 1-based line of the node at `path` (or its nearest ancestor); 0 when unknown. */
  line(path: YamlPath): number;
  /**
   * `label:line` for the key of the mapping entry at `path` (a mapping
   * value starts on the line after its key), else as {@link where}.
   */
  whereKey(path: YamlPath): string;
}

/** Options of {@link parseYamlSource}. */
export interface YamlSourceOptions {
  /**
   * Give mappings as `Map`s, which keep declaration order and original keys
   * (a plain object puts integer-like keys such as `2024` first).
   */
  mapAsMap?: boolean;
  /**
   * Give floats as {@link YamlFloat} boxes, so that DVC-style interpolation
   * can write `1.0` as Python does (see `substitute.ts`).
   */
  boxFloats?: boolean;
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
  const doc = parseDocument(text, {
    lineCounter,
    merge: true,
    prettyErrors: true,
    ...(options.boxFloats ? { customTags: boxedFloatTags } : {}),
  });
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
  const line = (path: YamlPath) => {
    for (let depth = path.length; depth >= 0; depth--) {
      const node = depth === 0 ? doc.contents : doc.getIn(path.slice(0, depth), true);
      if (isNode(node) && node.range) return lineCounter.linePos(node.range[0]).line;
    }
    return 0;
  };
  return {
    value,
    where(path) {
      const at = line(path);
      return at > 0 ? `${label}:${at}` : label;
    },
    line,
    whereKey(path) {
      const parent = path.length === 1 ? doc.contents : doc.getIn(path.slice(0, -1), true);
      if (isMap(parent)) {
        const pair = parent.items.find((item) =>
          isScalar(item.key) ? item.key.value === path[path.length - 1] : false
        );
        if (pair && isNode(pair.key) && pair.key.range) {
          return `${label}:${lineCounter.linePos(pair.key.range[0]).line}`;
        }
      }
      return this.where(path);
    },
  };
}

/** The core schema's float tags, resolving to {@link YamlFloat} boxes. */
function boxedFloatTags(tags: Tags): Tags {
  return tags.map((tag) => {
    if (typeof tag !== "object" || tag.tag !== "tag:yaml.org,2002:float") return tag;
    const resolve = tag.resolve as (...args: unknown[]) => unknown;
    return {
      ...tag,
      resolve(...args: unknown[]) {
        const value = resolve.apply(tag, args);
        if (typeof value === "number") return new YamlFloat(value);
        // The plain float tag returns a Scalar node (it keeps the digits written).
        if (isScalar(value) && typeof value.value === "number") {
          value.value = new YamlFloat(value.value);
        }
        return value;
      },
    } as typeof tag;
  });
}
