/**
 * Which functions of a TypeScript source ran, from the raw V8 coverage that
 * `deno run --coverage=DIR` writes: one JSON file per script, with each
 * function's range and call count in the JavaScript Deno emitted. The emitted
 * code (with its inline source map) is read from Deno's cache of emitted
 * modules, and each function's start is mapped back to the source, where the
 * innermost function spanning it is the one that ran.
 *
 * @module
 */

import { join, relative } from "node:path";
import ts from "typescript";

/** A function of a source file: its span, and where its body is. */
export interface SourceFunction {
  /** Path of the file, relative to the project root. */
  readonly file: string;
  /** 1-based line of its start. */
  readonly line: number;
  /** Its name, or `<anonymous>`. */
  readonly name: string;
  /** Offset of its start (after leading trivia) and of its end in the file's text. */
  readonly start: number;
  readonly end: number;
  /** The body: a block (`{` at `bodyStart`), or an expression of an arrow function. */
  readonly bodyStart: number;
  readonly bodyEnd: number;
  readonly bodyIsBlock: boolean;
}

/** Call counts of a run: function key (`url@offset` in emitted code) → count. */
export type Counts = Map<string, number>;

/** Read every raw coverage file in `dir`, for scripts whose URL starts with `prefix`. */
export async function readCounts(dir: string, prefix: string): Promise<Counts> {
  const counts: Counts = new Map();
  for await (const entry of Deno.readDir(dir)) {
    if (!entry.name.endsWith(".json")) continue;
    const script = JSON.parse(await Deno.readTextFile(`${dir}/${entry.name}`)) as {
      url: string;
      functions: { ranges: { startOffset: number; count: number }[] }[];
    };
    if (!script.url.startsWith(prefix)) continue;
    for (const fn of script.functions) {
      const key = `${script.url}@${fn.ranges[0].startOffset}`;
      counts.set(key, (counts.get(key) ?? 0) + fn.ranges[0].count);
    }
  }
  return counts;
}

/** Maps functions of emitted code back to the functions of their sources. */
export class SourceMapper {
  readonly #genDir: string;
  readonly #emitted = new Map<string, Promise<Emitted>>();
  readonly #sources = new Map<string, Promise<SourceFunction[]>>();

  /** `denoDir`: Deno's cache directory (`deno info --json` reports it as `denoDir`). */
  constructor(denoDir: string) {
    this.#genDir = `${denoDir}/gen`;
  }

  /**
   * The source function that a function key of {@link readCounts} denotes,
   * if any, in a module of the project at `root`.
   */
  async functionOf(root: string, key: string): Promise<SourceFunction | undefined> {
    const at = key.lastIndexOf("@");
    const url = key.slice(0, at);
    const offset = Number(key.slice(at + 1));
    const path = decodeURIComponent(new URL(url).pathname);
    const emitted = await this.#emittedOf(path);
    const position = emitted.original(offset);
    if (!position) return undefined;
    const functions = await this.functionsOf({ root }, relative(root, path));
    const lineStarts = await this.#lineStartsOf(path);
    const pos = lineStarts[position.line] + position.column;
    let best: SourceFunction | undefined;
    for (const fn of functions) {
      if (fn.start <= pos && pos < fn.end && (!best || fn.end - fn.start < best.end - best.start)) {
        best = fn;
      }
    }
    return best;
  }

  /** Every function with a body in a source file (`file` relative to the project's root). */
  functionsOf(project: { readonly root: string }, file: string): Promise<SourceFunction[]> {
    let functions = this.#sources.get(file);
    if (!functions) {
      functions = Deno.readTextFile(join(project.root, file)).then((text) =>
        sourceFunctions(file, text)
      );
      this.#sources.set(file, functions);
    }
    return functions;
  }

  #lineStarts = new Map<string, Promise<number[]>>();
  #lineStartsOf(file: string): Promise<number[]> {
    let starts = this.#lineStarts.get(file);
    if (!starts) {
      starts = Deno.readTextFile(file).then(lineStartsOf);
      this.#lineStarts.set(file, starts);
    }
    return starts;
  }

  #emittedOf(file: string): Promise<Emitted> {
    let emitted = this.#emitted.get(file);
    if (!emitted) {
      emitted = Deno.readTextFile(`${this.#genDir}/file${file}.js`).then((text) =>
        new Emitted(text)
      );
      this.#emitted.set(file, emitted);
    }
    return emitted;
  }
}

/** Emitted JavaScript with its inline source map. */
class Emitted {
  readonly #lineStarts: number[];
  /** Per generated line: segments [generated column, source line, source column]. */
  readonly #lines: [number, number, number][][];

  constructor(text: string) {
    const marker = "//# sourceMappingURL=data:application/json;base64,";
    const at = text.lastIndexOf(marker);
    if (at < 0) throw new Error("emitted module without an inline source map");
    const code = text.slice(0, at);
    const end = text.indexOf("\n", at);
    const map = JSON.parse(atob(text.slice(at + marker.length, end < 0 ? undefined : end)));
    this.#lineStarts = lineStartsOf(code);
    this.#lines = decodeMappings(map.mappings);
  }

  /** The source position (0-based line and column) of an offset in the emitted code. */
  original(offset: number): { line: number; column: number } | undefined {
    let line = this.#lineStarts.length - 1;
    while (line > 0 && this.#lineStarts[line] > offset) line--;
    const column = offset - this.#lineStarts[line];
    // The last segment at or before the column; else the first one after it on the line.
    const segments = this.#lines[line] ?? [];
    let found: [number, number, number] | undefined;
    for (const segment of segments) {
      if (segment[0] <= column) found = segment;
      else break;
    }
    found ??= segments[0];
    return found && { line: found[1], column: found[2] };
  }
}

const BASE64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/** Decode source map v3 `mappings` (single source) into per-line segments. */
function decodeMappings(mappings: string): [number, number, number][][] {
  const lines: [number, number, number][][] = [];
  let sourceLine = 0;
  let sourceColumn = 0;
  for (const lineText of mappings.split(";")) {
    const segments: [number, number, number][] = [];
    let column = 0;
    for (const segmentText of lineText.split(",")) {
      if (segmentText === "") continue;
      const values: number[] = [];
      let value = 0;
      let shift = 0;
      for (const char of segmentText) {
        const digit = BASE64.indexOf(char);
        value += (digit & 31) << shift;
        if (digit & 32) {
          shift += 5;
        } else {
          values.push(value & 1 ? -(value >>> 1) : value >>> 1);
          value = 0;
          shift = 0;
        }
      }
      column += values[0];
      if (values.length >= 4) {
        sourceLine += values[2];
        sourceColumn += values[3];
        segments.push([column, sourceLine, sourceColumn]);
      }
    }
    lines.push(segments);
  }
  return lines;
}

function lineStartsOf(text: string): number[] {
  const starts = [0];
  for (let i = text.indexOf("\n"); i >= 0; i = text.indexOf("\n", i + 1)) starts.push(i + 1);
  return starts;
}

/** Every function-like node with a body in a TypeScript source. */
export function sourceFunctions(file: string, text: string): SourceFunction[] {
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, false, ts.ScriptKind.TS);
  const functions: SourceFunction[] = [];
  const visit = (node: ts.Node): void => {
    if (
      (ts.isFunctionDeclaration(node) || ts.isFunctionExpression(node) ||
        ts.isArrowFunction(node) ||
        ts.isMethodDeclaration(node) || ts.isConstructorDeclaration(node) ||
        ts.isGetAccessorDeclaration(node) || ts.isSetAccessorDeclaration(node)) && node.body
    ) {
      const start = node.getStart(sf);
      const name = node.name && ts.isIdentifier(node.name) ? node.name.text : "<anonymous>";
      functions.push({
        file,
        line: sf.getLineAndCharacterOfPosition(start).line + 1,
        name: ts.isConstructorDeclaration(node) ? "constructor" : name,
        start,
        end: node.end,
        bodyStart: node.body.getStart(sf),
        bodyEnd: node.body.end,
        bodyIsBlock: ts.isBlock(node.body),
      });
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return functions;
}
