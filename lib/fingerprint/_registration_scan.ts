/**
 * Whether a module's code could read anything but module sources while a
 * pipeline registers its stages: the load cache (lib/cli/load_cache.ts)
 * serves a pipeline's stages without importing it only when every module of
 * its graph passes. Conservative by design: a module that names an ambient
 * global that does I/O or is not deterministic (`Deno`, `fetch`, `Date`,
 * `Math.random`, `console`, …) anywhere, even in a stage's run function, a
 * comment aside, fails; so do dynamic `import()`, `import.meta` and
 * `require`. Type positions are skipped (a `Date` annotation is erased).
 *
 * Two tiers of globals: the hard list is refused wherever the name appears
 * as a reference or a binding; every other global of the runtime that is not
 * a plain ECMAScript intrinsic (`name`, `closed`, `Blob`, …) is refused only
 * when the module references it without declaring that name anywhere.
 *
 * @module
 */

import type ts from "typescript";
import { CHUNK_CHARS, parseDiagnostics, scriptKind, statementChunks } from "./_analyze.ts";

/** What the scan found: the module's import specifiers, or why it may not be cached. */
export type ScanResult =
  | {
    readonly ok: true;
    /** Specifiers of value imports and re-exports (type-only ones left out). */
    readonly specifiers: string[];
  }
  | { readonly ok: false; readonly reason: string };

/** Refused wherever they appear as a name (not a member name): I/O, time, randomness, output. */
const HARD = new Set([
  "Deno",
  "process",
  "globalThis",
  "window",
  "self",
  "global",
  "eval",
  "Function",
  "fetch",
  "Date",
  "Temporal",
  "crypto",
  "Crypto",
  "SubtleCrypto",
  "performance",
  "Performance",
  "navigator",
  "Navigator",
  "localStorage",
  "sessionStorage",
  "Storage",
  "caches",
  "indexedDB",
  "Worker",
  "WebSocket",
  "EventSource",
  "XMLHttpRequest",
  "BroadcastChannel",
  "require",
  "module",
  "exports",
  "__dirname",
  "__filename",
  "Buffer",
  "Bun",
  "console",
  "alert",
  "prompt",
  "confirm",
  "close",
  "location",
  "Location",
  "Intl",
  "setTimeout",
  "setInterval",
  "setImmediate",
  "WeakRef",
  "FinalizationRegistry",
  "SharedArrayBuffer",
  "Atomics",
  "WebAssembly",
  "addEventListener",
  "removeEventListener",
  "dispatchEvent",
  "onload",
  "onunload",
  "onbeforeunload",
  "onerror",
  "onunhandledrejection",
  "reportError",
  "Request",
  "Response",
  "FileReader",
  "Lock",
  "LockManager",
]);

/** Member names refused even after a dot: randomness, locale, a way to `Function`. */
const HARD_MEMBERS = new Set([
  "random",
  "constructor",
  "__proto__",
  "toLocaleString",
  "toLocaleDateString",
  "toLocaleTimeString",
  "toLocaleUpperCase",
  "toLocaleLowerCase",
  "localeCompare",
]);

/** Plain ECMAScript and pure web intrinsics: no I/O, deterministic. */
const PURE = new Set([
  "AggregateError",
  "Array",
  "ArrayBuffer",
  "BigInt",
  "BigInt64Array",
  "BigUint64Array",
  "Boolean",
  "DataView",
  "Error",
  "EvalError",
  "Float16Array",
  "Float32Array",
  "Float64Array",
  "Infinity",
  "Int16Array",
  "Int32Array",
  "Int8Array",
  "Iterator",
  "JSON",
  "Map",
  "Math",
  "NaN",
  "Number",
  "Object",
  "Promise",
  "Proxy",
  "RangeError",
  "ReferenceError",
  "Reflect",
  "RegExp",
  "Set",
  "String",
  "Symbol",
  "SyntaxError",
  "TypeError",
  "URIError",
  "Uint16Array",
  "Uint32Array",
  "Uint8Array",
  "Uint8ClampedArray",
  "WeakMap",
  "WeakSet",
  "decodeURI",
  "decodeURIComponent",
  "encodeURI",
  "encodeURIComponent",
  "escape",
  "unescape",
  "isFinite",
  "isNaN",
  "parseFloat",
  "parseInt",
  "undefined",
  "URL",
  "URLSearchParams",
  "URLPattern",
  "TextEncoder",
  "TextDecoder",
  "atob",
  "btoa",
  "structuredClone",
  "DOMException",
  "AbortController",
  "AbortSignal",
  "queueMicrotask",
  "DisposableStack",
  "AsyncDisposableStack",
  "SuppressedError",
]);

/** The runtime's other globals: refused when referenced and not declared in the module. */
const SOFT: ReadonlySet<string> = new Set(
  Object.getOwnPropertyNames(globalThis).filter((name) => !PURE.has(name) && !HARD.has(name)),
);

/**
 * Scan the module `text` (at `path`, for its script kind) with TypeScript
 * `ts`. A long module is parsed in chunks of whole top-level statements, one
 * tree alive at a time, as the fingerprint's analysis does (a 2.3 MB
 * pipeline parsed whole held ~140 MiB at once); the scan looks at each node
 * alone, so the chunks' findings add up to the whole file's. When a chunk
 * does not parse alone, the module is scanned whole.
 */
export function scanRegistration(
  ts: typeof import("typescript"),
  path: string,
  text: string,
  chunkChars = CHUNK_CHARS,
): ScanResult {
  // A JSON module is data: its content is in the key, nothing runs.
  if (/\.json$/i.test(path)) return { ok: true, specifiers: [] };
  // Parsed as the fingerprint's analysis parses it, whose trees it is also shown.
  const kind = scriptKind(ts, path) ?? ts.ScriptKind.TS;
  const chunks = kind === ts.ScriptKind.TS || kind === ts.ScriptKind.JS
    ? statementChunks(text, chunkChars)
    : [{ text, line: 0 }];
  const scanner = new RegistrationScanner(ts, path);
  for (const chunk of chunks) {
    const source = ts.createSourceFile(path, chunk.text, ts.ScriptTarget.Latest, false, kind);
    if (chunks.length > 1 && parseDiagnostics(source) > 0) {
      return scanRegistration(ts, path, text, Infinity);
    }
    if (!scanner.chunk(source, chunk.line)) break;
  }
  return scanner.result();
}

/**
 * The registration scan over a module's trees, given one chunk of whole
 * top-level statements at a time (or the whole module): the fingerprint's
 * analysis hands it the trees it parses, so a module is parsed once for both.
 * Parent links are not needed (the visit passes each node's parent).
 */
export class RegistrationScanner {
  readonly #ts: typeof import("typescript");
  readonly #path: string;
  readonly #specifiers = new Set<string>();
  readonly #declared = new Set<string>();
  readonly #soft: string[] = [];
  #refused: string | undefined;

  /** A scanner of the module at `path`. */
  constructor(typescript: typeof import("typescript"), path: string) {
    this.#ts = typescript;
    this.#path = path;
  }

  /** Forget every chunk seen (the caller parses the module again, whole). */
  reset(): void {
    this.#specifiers.clear();
    this.#declared.clear();
    this.#soft.length = 0;
    this.#refused = undefined;
  }

  /** Scan one chunk's tree, its first line being the module's `baseLine` (0-based); false once refused. */
  chunk(source: ts.SourceFile, baseLine: number): boolean {
    const ts = this.#ts;
    const refuse = (node: ts.Node, what: string) => {
      if (this.#refused !== undefined) return;
      const { line } = source.getLineAndCharacterOfPosition(node.getStart(source));
      this.#refused = `${this.#path}:${baseLine + line + 1}: ${what}`;
    };
    const visit = (node: ts.Node, parent: ts.Node): void => {
      if (this.#refused !== undefined) return;
      // Types are erased: nothing in them runs.
      if (
        ts.isInterfaceDeclaration(node) || ts.isTypeAliasDeclaration(node) ||
        (ts.isTypeNode(node) && !ts.isExpressionWithTypeArguments(node))
      ) {
        return;
      }
      if (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) {
        const typeOnly = ts.isImportDeclaration(node)
          ? node.importClause?.isTypeOnly === true
          : node.isTypeOnly;
        const spec = node.moduleSpecifier;
        if (spec !== undefined && ts.isStringLiteral(spec) && !typeOnly) {
          this.#specifiers.add(spec.text);
        }
      } else if (ts.isImportEqualsDeclaration(node)) {
        if (ts.isExternalModuleReference(node.moduleReference)) {
          return refuse(node, "require import");
        }
      } else if (ts.isMetaProperty(node) && node.keywordToken === ts.SyntaxKind.ImportKeyword) {
        return refuse(node, "import.meta");
      } else if (
        ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword
      ) {
        return refuse(node, "dynamic import()");
      } else if (ts.isWithStatement(node)) {
        return refuse(node, "with statement");
      } else if (ts.isElementAccessExpression(node)) {
        const key = node.argumentExpression;
        if (ts.isStringLiteralLike(key) && (HARD_MEMBERS.has(key.text) || HARD.has(key.text))) {
          return refuse(node, `'${key.text}'`);
        }
      } else if (ts.isIdentifier(node)) {
        const name = node.text;
        // Wherever it is: `const { random } = Math` reaches `Math.random` too.
        if (HARD_MEMBERS.has(name)) return refuse(node, `'${name}'`);
        if (isMemberName(ts, node, parent)) {
          // A member name is not a global.
        } else if (HARD.has(name)) {
          return refuse(node, `'${name}'`);
        } else if (isBinding(ts, node, parent)) {
          this.#declared.add(name);
        } else if (SOFT.has(name)) {
          this.#soft.push(name);
        }
      }
      ts.forEachChild(node, (child) => visit(child, node));
    };
    ts.forEachChild(source, (child) => visit(child, source));
    return this.#refused === undefined;
  }

  /** What the chunks seen add up to. */
  result(): ScanResult {
    if (this.#refused !== undefined) return { ok: false, reason: this.#refused };
    const undeclared = this.#soft.find((name) => !this.#declared.has(name));
    if (undeclared !== undefined) {
      return { ok: false, reason: `${this.#path}: global '${undeclared}'` };
    }
    return { ok: true, specifiers: [...this.#specifiers].sort() };
  }
}

function isMemberName(
  ts: typeof import("typescript"),
  node: ts.Identifier,
  parent: ts.Node,
): boolean {
  if (ts.isPropertyAccessExpression(parent) || ts.isQualifiedName(parent)) {
    return (ts.isPropertyAccessExpression(parent) ? parent.name : parent.right) === node;
  }
  if (
    ts.isPropertyAssignment(parent) || ts.isMethodDeclaration(parent) ||
    ts.isPropertyDeclaration(parent) || ts.isGetAccessorDeclaration(parent) ||
    ts.isSetAccessorDeclaration(parent) || ts.isPropertySignature(parent) ||
    ts.isMethodSignature(parent) || ts.isEnumMember(parent)
  ) {
    return parent.name === node;
  }
  if (ts.isBindingElement(parent)) return parent.propertyName === node;
  if (ts.isImportSpecifier(parent) || ts.isExportSpecifier(parent)) {
    return parent.propertyName === node || (ts.isExportSpecifier(parent) && !parent.propertyName);
  }
  return ts.isLabeledStatement(parent) || ts.isBreakOrContinueStatement(parent) ||
    ts.isJsxAttribute(parent);
}

function isBinding(ts: typeof import("typescript"), node: ts.Identifier, parent: ts.Node): boolean {
  const named = parent as ts.Node & { name?: ts.Node };
  return (ts.isVariableDeclaration(parent) || ts.isParameter(parent) ||
    ts.isBindingElement(parent) || ts.isFunctionDeclaration(parent) ||
    ts.isFunctionExpression(parent) || ts.isClassDeclaration(parent) ||
    ts.isClassExpression(parent) || ts.isImportClause(parent) ||
    ts.isNamespaceImport(parent) || ts.isImportSpecifier(parent) ||
    ts.isEnumDeclaration(parent) || ts.isModuleDeclaration(parent) ||
    ts.isImportEqualsDeclaration(parent)) && named.name === node;
}
