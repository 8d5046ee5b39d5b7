/**
 * Whether a module's code could read anything but module sources while a
 * pipeline registers its stages: the load cache (lib/cli/load_cache.ts)
 * serves a pipeline's stages without importing it only when every module of
 * its graph passes. Conservative by design: a module that names an ambient
 * global that does I/O or is not deterministic (`Deno`, `fetch`, `Date`,
 * `Math.random`, `console`, …) where registering could run it fails; so do
 * dynamic `import()`, `import.meta` and `require`. Type positions are
 * skipped (a `Date` annotation is erased).
 *
 * Two tiers of globals: the hard list is refused wherever the name appears
 * as a reference or a binding; every other global of the runtime that is not
 * a plain ECMAScript intrinsic (`name`, `closed`, `Blob`, …) is refused only
 * when the module references it without declaring that name anywhere.
 *
 * What only a stage's run function runs is not registration: a finding
 * inside a function is charged to that function, not refused, and refused
 * only if registering could call it (but a dynamic `import()`, refused
 * anywhere: what it loads may lie outside the static graph that the load
 * cache's key and kept fingerprints cover). A function passed as `run` in the
 * object literal given straight to a `.stage(…)` or `defineStage(…)` call is
 * never called by registering (Pivot's API only keeps it), nor is anything
 * nested in it. A module-local function with a name (a function declaration,
 * or a `const` bound to a function expression or arrow), not exported, is
 * called only through its name: each place its name appears is then charged
 * in turn (a `run` value: nothing; inside another function: that function;
 * anywhere else: refused). Any other function (a method, a callback, an
 * exported function) may be called from anywhere its enclosing code runs,
 * so it is charged to the function around it, and refused at the top level.
 * Names are matched by text, whatever their scope: a shadowing name can
 * only refuse more.
 *
 * @module
 */

import type ts from "typescript";
import {
  CHUNK_CHARS,
  parseDiagnostics,
  scriptKind,
  statementChunks,
  WHOLE_CHARS,
} from "./_analyze.ts";
import { RUNTIME_GLOBALS } from "./_runtime_globals.ts";

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
  RUNTIME_GLOBALS.filter((name) => !PURE.has(name) && !HARD.has(name)),
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
  chunkChars?: number,
): ScanResult {
  // A JSON module is data: its content is in the key, nothing runs.
  if (/\.json$/i.test(path)) return { ok: true, specifiers: [] };
  // Parsed as the fingerprint's analysis parses it, whose trees it is also shown.
  const kind = scriptKind(ts, path) ?? ts.ScriptKind.TS;
  const chunks = kind === ts.ScriptKind.TS || kind === ts.ScriptKind.JS
    ? statementChunks(text, chunkChars ?? CHUNK_CHARS, chunkChars ?? WHOLE_CHARS)
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

/** The top level of the module: what registering runs. */
const TOP = -1;

/** A function of the module, as the scan charges what is found in it (see the module's doc). */
interface Scope {
  /** The function around it, or {@link TOP}. */
  readonly parent: number;
  /**
   * `deferred`: a stage's run function, or nested in one: never called by
   * registering; `named`: called only through {@link name}; `open`: may be
   * called wherever the code around it runs.
   */
  readonly kind: "deferred" | "named" | "open";
  readonly name?: string;
}

/**
 * The registration scan over a module's trees, given one chunk of whole
 * top-level statements at a time (or the whole module): the fingerprint's
 * analysis hands it the trees it parses, so a module is parsed once for both.
 * Parent links are not needed (the visit keeps the path to each node).
 */
export class RegistrationScanner {
  readonly #ts: typeof import("typescript");
  readonly #path: string;
  readonly #specifiers = new Set<string>();
  readonly #declared = new Set<string>();
  /** Soft globals referenced, with the function each is in. */
  readonly #soft: [string, number][] = [];
  readonly #scopes: Scope[] = [];
  /** What was found in each function, by scope: the first finding. */
  readonly #charged = new Map<number, string>();
  /** Names referenced at the top level (not as a `run` value): the line of the first. */
  readonly #topUses = new Map<string, number>();
  /** Names referenced inside functions that registering may run: those functions. */
  readonly #innerUses = new Map<string, Set<number>>();
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
    this.#scopes.length = 0;
    this.#charged.clear();
    this.#topUses.clear();
    this.#innerUses.clear();
    this.#refused = undefined;
  }

  /** Scan one chunk's tree, its first line being the module's `baseLine` (0-based); false once refused. */
  chunk(source: ts.SourceFile, baseLine: number): boolean {
    const ts = this.#ts;
    const scopes = this.#scopes;
    const lineOf = (node: ts.Node) =>
      baseLine + source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1;
    // What would refuse the module at the top level is charged to the function it is in.
    const found = (node: ts.Node, what: string, scope: number) => {
      if (this.#refused !== undefined) return;
      const reason = `${this.#path}:${lineOf(node)}: ${what}`;
      if (scope === TOP) this.#refused = reason;
      else if (!this.#charged.has(scope)) this.#charged.set(scope, reason);
    };
    // The nodes from the chunk's root down to the one visited (no parent links).
    const path: ts.Node[] = [source];
    const visit = (node: ts.Node, scope: number): void => {
      if (this.#refused !== undefined) return;
      const parent = path[path.length - 1];
      // Types are erased: nothing in them runs.
      if (
        ts.isInterfaceDeclaration(node) || ts.isTypeAliasDeclaration(node) ||
        (ts.isTypeNode(node) && !ts.isExpressionWithTypeArguments(node))
      ) {
        return;
      }
      if (isFunctionLike(ts, node)) {
        const kind = scope !== TOP && scopes[scope].kind === "deferred"
          ? "deferred"
          : isRunValue(ts, node, path)
          ? "deferred"
          : undefined;
        const name = kind === undefined ? localFunctionName(ts, node, path) : undefined;
        scopes.push({
          parent: scope,
          kind: kind ?? (name === undefined ? "open" : "named"),
          name,
        });
        scope = scopes.length - 1;
      }
      // Nothing in a run function is registration's: only declarations matter.
      const deferred = scope !== TOP && scopes[scope].kind === "deferred";
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
          return found(node, "require import", TOP);
        }
      } else if (
        ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword
      ) {
        // Refused even in a run function: the module it loads may be outside
        // the static graph whose stamps are the load cache's key, and the
        // code fingerprints kept in the cache would not see it change.
        found(node, "dynamic import()", TOP);
      } else if (deferred) {
        // Declarations only (a soft global declared in a run function is declared).
        if (ts.isIdentifier(node) && isBinding(ts, node, parent)) this.#declared.add(node.text);
      } else if (ts.isMetaProperty(node) && node.keywordToken === ts.SyntaxKind.ImportKeyword) {
        found(node, "import.meta", scope);
      } else if (ts.isWithStatement(node)) {
        found(node, "with statement", scope);
      } else if (ts.isElementAccessExpression(node)) {
        const key = node.argumentExpression;
        if (ts.isStringLiteralLike(key) && (HARD_MEMBERS.has(key.text) || HARD.has(key.text))) {
          found(node, `'${key.text}'`, scope);
        }
      } else if (ts.isIdentifier(node)) {
        const name = node.text;
        if (HARD_MEMBERS.has(name)) {
          // Wherever it is: `const { random } = Math` reaches `Math.random` too.
          found(node, `'${name}'`, scope);
        } else if (ts.isExportSpecifier(parent)) {
          // `export { f }` hands the local `f` to other modules, which may call it.
          const declaration = path[path.length - 3];
          if (
            node === (parent.propertyName ?? parent.name) && declaration !== undefined &&
            ts.isExportDeclaration(declaration) && declaration.moduleSpecifier === undefined
          ) {
            this.#use(name, TOP, () => lineOf(node));
          }
        } else if (isMemberName(ts, node, parent)) {
          // A member name is not a global.
        } else if (HARD.has(name)) {
          found(node, `'${name}'`, scope);
        } else if (isBinding(ts, node, parent)) {
          this.#declared.add(name);
        } else if (SOFT.has(name)) {
          this.#soft.push([name, scope]);
        } else if (!isRunValue(ts, node, path)) {
          this.#use(name, scope, () => lineOf(node));
        }
      }
      path.push(node);
      ts.forEachChild(node, (child) => visit(child, scope));
      path.pop();
    };
    ts.forEachChild(source, (child) => visit(child, TOP));
    return this.#refused === undefined;
  }

  /** What the chunks seen add up to. */
  result(): ScanResult {
    if (this.#refused !== undefined) return { ok: false, reason: this.#refused };
    const charged = new Map(this.#charged);
    for (const [name, scope] of this.#soft) {
      if (this.#declared.has(name)) continue;
      const reason = `${this.#path}: global '${name}'`;
      if (scope === TOP) return { ok: false, reason };
      if (!charged.has(scope)) charged.set(scope, reason);
    }
    // Each charged function charges whatever may call it, until the top level or a run function.
    const queue = [...charged.keys()].sort((a, b) => a - b);
    const names = new Set<string>();
    for (let i = 0; i < queue.length; i++) {
      const scope = this.#scopes[queue[i]];
      const reason = charged.get(queue[i])!;
      const charge = (to: number) => {
        if (charged.has(to)) return;
        charged.set(to, reason);
        queue.push(to);
      };
      if (scope.kind === "open") {
        if (scope.parent === TOP) return { ok: false, reason };
        charge(scope.parent);
      } else if (scope.kind === "named" && !names.has(scope.name!)) {
        names.add(scope.name!);
        const line = this.#topUses.get(scope.name!);
        if (line !== undefined) {
          return {
            ok: false,
            reason: `${reason}, in '${scope.name}', which runs while registering (line ${line})`,
          };
        }
        for (const user of this.#innerUses.get(scope.name!) ?? []) charge(user);
      }
    }
    return { ok: true, specifiers: [...this.#specifiers].sort() };
  }

  /** `name` appears in `scope` (at `line()`, asked only of the first at the top level). */
  #use(name: string, scope: number, line: () => number): void {
    if (scope === TOP) {
      if (!this.#topUses.has(name)) this.#topUses.set(name, line());
      return;
    }
    let users = this.#innerUses.get(name);
    if (users === undefined) this.#innerUses.set(name, users = new Set());
    users.add(scope);
  }
}

/** A node whose body runs only when it is called. */
function isFunctionLike(ts: typeof import("typescript"), node: ts.Node): boolean {
  const kind = node.kind;
  const k = ts.SyntaxKind;
  return kind === k.ArrowFunction || kind === k.FunctionExpression ||
    kind === k.FunctionDeclaration || kind === k.MethodDeclaration || kind === k.Constructor ||
    kind === k.GetAccessor || kind === k.SetAccessor;
}

/** The text of a property's name, when it is a plain one. */
function propertyName(ts: typeof import("typescript"), name: ts.Node): string | undefined {
  return ts.isIdentifier(name) || ts.isStringLiteral(name) ? name.text : undefined;
}

/**
 * True when `node` (a function, or a name) is the `run` value of the object
 * literal given straight to a `.stage(…)` or `defineStage(…)` call, `path`
 * being the nodes above it: Pivot's API keeps that function, never calls it
 * while registering. A getter named `run` is not: reading it runs it.
 */
function isRunValue(ts: typeof import("typescript"), node: ts.Node, path: ts.Node[]): boolean {
  const parent = path[path.length - 1];
  let object: ts.Node | undefined;
  if (ts.isMethodDeclaration(node) && ts.isObjectLiteralExpression(parent)) {
    if (propertyName(ts, node.name) !== "run") return false;
    object = parent;
  } else if (ts.isPropertyAssignment(parent) && parent.initializer === node) {
    if (propertyName(ts, parent.name) !== "run") return false;
    object = path[path.length - 2];
  } else if (ts.isShorthandPropertyAssignment(parent) && parent.name === node) {
    if (parent.name.text !== "run") return false;
    object = path[path.length - 2];
  }
  if (object === undefined || !ts.isObjectLiteralExpression(object)) return false;
  const call = path[path.length - (object === parent ? 2 : 3)];
  if (call === undefined || !ts.isCallExpression(call) || call.arguments[0] !== object) {
    return false;
  }
  const callee = call.expression;
  return (ts.isPropertyAccessExpression(callee) && callee.name.text === "stage") ||
    (ts.isIdentifier(callee) && callee.text === "defineStage");
}

/**
 * The name through which alone the function `node` can be called (`path`
 * being the nodes above it): a function declaration's, or a `const`'s bound
 * to it, when not exported; else undefined.
 */
function localFunctionName(
  ts: typeof import("typescript"),
  node: ts.Node,
  path: ts.Node[],
): string | undefined {
  const exported = (statement: ts.Node) =>
    ts.canHaveModifiers(statement) &&
    (ts.getModifiers(statement) ?? []).some((m) =>
      m.kind === ts.SyntaxKind.ExportKeyword || m.kind === ts.SyntaxKind.DefaultKeyword
    );
  if (ts.isFunctionDeclaration(node)) {
    return node.name !== undefined && !exported(node) ? node.name.text : undefined;
  }
  if (!ts.isFunctionExpression(node) && !ts.isArrowFunction(node)) return undefined;
  const [statement, list, declaration] = path.slice(-3);
  if (
    declaration === undefined || !ts.isVariableDeclaration(declaration) ||
    declaration.initializer !== node || !ts.isIdentifier(declaration.name) ||
    !ts.isVariableDeclarationList(list) || (list.flags & ts.NodeFlags.Const) === 0 ||
    !ts.isVariableStatement(statement) || exported(statement)
  ) {
    return undefined;
  }
  return declaration.name.text;
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
