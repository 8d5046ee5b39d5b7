/**
 * Normalises one piece of code (a function, class, constant initializer, …)
 * into text that captures what runs and nothing of how it is written, and
 * collects the module-level names it references.
 *
 * The text is a pre-order dump of the syntax tree (`(Kind child child …)`),
 * so comments, whitespace, semicolons and line breaks never reach it. Type
 * syntax is skipped; string quotes and property-key quotes are normalised;
 * parentheses are dropped (the tree already encodes precedence, and the one
 * place they change meaning, an optional chain, is kept by a flag).
 *
 * @module
 */

import type ts from "typescript";
import type { DynamicRef, NameRef } from "./_summary.ts";

type TS = typeof ts;

/** A normalised unit of code, before hashing. */
export interface UnitText {
  /** The normalised text. */
  readonly text: string;
  /** Free names it references, as written (not yet filtered to module scope). */
  readonly refs: NameRef[];
  /** Literal dynamic imports. */
  readonly dyn: DynamicRef[];
}

/** Options of {@link UnitWriter.write}. */
export interface WriteOptions {
  /** Leave the node's own name out (a declaration's name is in its key; the run function's name is irrelevant). */
  readonly dropName?: boolean;
  /** Text put first, e.g. `const` for a variable declaration (whose keyword sits on its parent). */
  readonly prefix?: string;
}

/** Writes normalised units of one source file. */
export class UnitWriter {
  readonly #ts: TS;
  readonly #k: typeof ts.SyntaxKind;
  readonly #skip: Set<ts.SyntaxKind>;
  readonly #dropModifiers: Set<ts.SyntaxKind>;
  #out: string[] = [];
  #scopes: Set<string>[] = [];
  #refs = new Map<string, NameRef>();
  #dyn = new Map<string, DynamicRef>();
  #handled = new Set<ts.Node>();
  /** The nodes from the unit's root down to the one being visited. */
  #path: ts.Node[] = [];
  #root: ts.Node | undefined;
  #dropName = false;

  /** A writer using the TypeScript module `typescript`. */
  constructor(typescript: TS) {
    this.#ts = typescript;
    const k = typescript.SyntaxKind;
    this.#k = k;
    this.#skip = new Set([
      k.TypeParameter,
      k.InterfaceDeclaration,
      k.TypeAliasDeclaration,
      k.ImportDeclaration,
      k.ImportEqualsDeclaration,
      k.ExportDeclaration,
      k.NamespaceExportDeclaration,
      k.IndexSignature,
      k.SemicolonClassElement,
      k.EmptyStatement,
      k.QuestionToken,
      k.ExclamationToken,
      k.ColonToken,
      k.EndOfFileToken,
    ]);
    // Modifiers that change types or visibility, not what runs. `static`,
    // `async`, `accessor` and `const` (enum) are kept.
    this.#dropModifiers = new Set([
      k.ExportKeyword,
      k.DefaultKeyword,
      k.PublicKeyword,
      k.PrivateKeyword,
      k.ProtectedKeyword,
      k.ReadonlyKeyword,
      k.OverrideKeyword,
      k.AbstractKeyword,
    ]);
  }

  /** Normalise `node` and collect its references. */
  write(node: ts.Node, options: WriteOptions = {}): UnitText {
    this.#out = options.prefix ? [options.prefix] : [];
    this.#scopes = [];
    this.#refs = new Map();
    this.#dyn = new Map();
    this.#handled = new Set();
    this.#path = [];
    this.#root = node;
    this.#dropName = options.dropName ?? false;
    this.#visit(node);
    return {
      text: this.#out.join(" "),
      refs: [...this.#refs.values()],
      dyn: [...this.#dyn.values()],
    };
  }

  /** True when the node does not exist at run time (`declare`, overloads, abstract members). */
  isAmbient(node: ts.Node): boolean {
    const ts = this.#ts;
    const k = this.#k;
    if (ts.canHaveModifiers(node)) {
      for (const modifier of ts.getModifiers(node) ?? []) {
        if (modifier.kind === k.DeclareKeyword) return true;
        if (modifier.kind === k.AbstractKeyword && ts.isClassElement(node)) return true;
      }
    }
    switch (node.kind) {
      case k.FunctionDeclaration:
      case k.MethodDeclaration:
      case k.Constructor:
      case k.GetAccessor:
      case k.SetAccessor:
        return (node as ts.FunctionLikeDeclarationBase).body === undefined;
      case k.ModuleDeclaration:
        return (node as ts.ModuleDeclaration).body === undefined;
    }
    return false;
  }

  #visit(node: ts.Node): void {
    const ts = this.#ts;
    const kind = node.kind;
    if (this.#skip.has(kind) || this.#dropModifiers.has(kind)) return;
    if (kind !== this.#k.ExpressionWithTypeArguments && ts.isTypeNode(node)) return;
    if (this.isAmbient(node)) return;
    this.#path.push(node);
    this.#node(node);
    this.#path.pop();
  }

  #node(node: ts.Node): void {
    const ts = this.#ts;
    const k = this.#k;
    const kind = node.kind;
    switch (kind) {
      case k.Identifier:
        return this.#identifier(node as ts.Identifier);
      case k.PrivateIdentifier:
        return void this.#out.push((node as ts.PrivateIdentifier).text);
      case k.StringLiteral:
      case k.NoSubstitutionTemplateLiteral:
        // `'a'`, `"a"` and `` `a` `` are the same string.
        return void this.#out.push("s" + JSON.stringify((node as ts.LiteralLikeNode).text));
      case k.NumericLiteral:
      case k.BigIntLiteral:
      case k.RegularExpressionLiteral:
        return void this.#out.push(
          ts.SyntaxKind[kind] + ":" + (node as ts.LiteralLikeNode).text,
        );
      case k.TemplateHead:
      case k.TemplateMiddle:
      case k.TemplateTail:
        return void this.#out.push(
          ts.SyntaxKind[kind] + ":" + JSON.stringify((node as ts.TemplateLiteralLikeNode).text),
        );
      case k.JsxText: {
        const jsx = node as ts.JsxText;
        if (jsx.containsOnlyTriviaWhiteSpaces) return;
        return void this.#out.push("jsx:" + JSON.stringify(jsx.text.trim().replace(/\s+/g, " ")));
      }
      case k.ParenthesizedExpression:
      case k.AsExpression:
      case k.SatisfiesExpression:
      case k.NonNullExpression:
      case k.TypeAssertionExpression:
      case k.ExpressionWithTypeArguments:
        return this.#visit((node as ts.ParenthesizedExpression).expression);
      case k.HeritageClause: {
        const clause = node as ts.HeritageClause;
        if (clause.token !== k.ExtendsKeyword) return; // `implements` is types only
        return this.#generic(node);
      }
      case k.PrefixUnaryExpression:
      case k.PostfixUnaryExpression: {
        const unary = node as ts.PrefixUnaryExpression;
        this.#out.push("(" + ts.SyntaxKind[kind] + ":" + ts.SyntaxKind[unary.operator]);
        this.#visit(unary.operand);
        return void this.#out.push(")");
      }
      case k.VariableDeclarationList: {
        const flags = node.flags & (ts.NodeFlags.Let | ts.NodeFlags.Const | ts.NodeFlags.Using);
        return this.#generic(node, ":" + flags);
      }
      case k.MetaProperty: {
        const meta = node as ts.MetaProperty;
        return void this.#out.push(`meta:${ts.SyntaxKind[meta.keywordToken]}.${meta.name.text}`);
      }
      case k.Parameter: {
        const param = node as ts.ParameterDeclaration;
        if (ts.isIdentifier(param.name) && param.name.text === "this") return;
        // A parameter property (`constructor(private x)`) creates a field;
        // which accessibility keyword does not matter.
        const isProperty = ts.getModifiers(param)?.some((m) => this.#dropModifiers.has(m.kind));
        return this.#generic(node, isProperty ? ":prop" : "");
      }
      case k.PropertyAccessExpression:
      case k.ElementAccessExpression:
        this.#memberChain(node as ts.PropertyAccessExpression | ts.ElementAccessExpression);
        return this.#generic(node, this.#chainFlag(node));
      case k.CallExpression:
        this.#dynamicImport(node as ts.CallExpression);
        return this.#generic(node, this.#chainFlag(node));
      case k.TaggedTemplateExpression:
        return this.#taggedTemplate(node as ts.TaggedTemplateExpression);
      case k.VariableDeclaration:
        this.#destructuredRefs(node as ts.VariableDeclaration);
        return this.#generic(node);
      case k.ShorthandPropertyAssignment: {
        const short = node as ts.ShorthandPropertyAssignment;
        this.#out.push("(ShorthandPropertyAssignment");
        this.#identifier(short.name);
        if (short.objectAssignmentInitializer) this.#visit(short.objectAssignmentInitializer);
        return void this.#out.push(")");
      }
      case k.Block:
      case k.ModuleBlock:
        return this.#scoped(node, blockNames(ts, (node as ts.Block).statements));
      case k.CaseBlock:
        return this.#scoped(
          node,
          blockNames(ts, (node as ts.CaseBlock).clauses.flatMap((c) => [...c.statements])),
        );
      case k.ForStatement:
      case k.ForInStatement:
      case k.ForOfStatement: {
        const init = (node as ts.ForStatement).initializer;
        const names = new Set<string>();
        if (init && ts.isVariableDeclarationList(init)) {
          for (const decl of init.declarations) bindingNames(ts, decl.name, names);
        }
        return this.#scoped(node, names);
      }
      case k.CatchClause: {
        const names = new Set<string>();
        const decl = (node as ts.CatchClause).variableDeclaration;
        if (decl) bindingNames(ts, decl.name, names);
        return this.#scoped(node, names);
      }
      case k.FunctionDeclaration:
      case k.FunctionExpression:
      case k.ArrowFunction:
      case k.MethodDeclaration:
      case k.Constructor:
      case k.GetAccessor:
      case k.SetAccessor: {
        const fn = node as ts.FunctionLikeDeclaration;
        const names = new Set<string>();
        if (kind === k.FunctionExpression && fn.name) names.add((fn.name as ts.Identifier).text);
        for (const param of fn.parameters) bindingNames(ts, param.name, names);
        return this.#scoped(node, names);
      }
      case k.ClassDeclaration:
      case k.ClassExpression: {
        const name = (node as ts.ClassLikeDeclaration).name;
        return this.#scoped(node, new Set(name ? [name.text] : []));
      }
    }
    this.#generic(node);
  }

  /** `(Kind children…)`, where a `name`, `label` or `propertyName` child is a name, not a reference. */
  #generic(node: ts.Node, suffix = ""): void {
    const ts = this.#ts;
    const named = node as { name?: ts.Node; label?: ts.Node; propertyName?: ts.Node };
    const dropName = node === this.#root && this.#dropName;
    this.#out.push("(" + ts.SyntaxKind[node.kind] + suffix);
    ts.forEachChild(node, (child) => {
      if (child === named.name) {
        if (!(dropName && ts.isIdentifier(child))) this.#name(child);
      } else if (child === named.label || child === named.propertyName) {
        this.#name(child);
      } else {
        this.#visit(child);
      }
    });
    this.#out.push(")");
  }

  #scoped(node: ts.Node, names: Set<string>): void {
    this.#scopes.push(names);
    this.#generic(node);
    this.#scopes.pop();
  }

  /** A declared or property name: not a reference. Quotes around keys do not matter. */
  #name(node: ts.Node): void {
    const ts = this.#ts;
    if (
      ts.isIdentifier(node) || ts.isPrivateIdentifier(node) || ts.isStringLiteralLike(node) ||
      ts.isNumericLiteral(node)
    ) {
      this.#out.push("n:" + JSON.stringify(node.text));
    } else {
      // Computed names and binding patterns hold expressions.
      this.#visit(node);
    }
  }

  #identifier(node: ts.Identifier): void {
    const name = node.text;
    this.#out.push("i:" + name);
    if (!this.#handled.has(node) && !this.#isBound(name)) this.#addRef([name]);
  }

  #isBound(name: string): boolean {
    for (const scope of this.#scopes) if (scope.has(name)) return true;
    return false;
  }

  #addRef(ref: NameRef): void {
    this.#refs.set(ref.join("\0"), ref);
  }

  #chainFlag(node: ts.Node): string {
    return node.flags & this.#ts.NodeFlags.OptionalChain ? "?" : "";
  }

  /**
   * For `u.a.b` with `u` free, record the reference `["u", "a", "b"]` (so a
   * namespace import is followed to the export used), and mark the inner
   * nodes so they are not recorded again.
   */
  #memberChain(node: ts.PropertyAccessExpression | ts.ElementAccessExpression): void {
    const ts = this.#ts;
    if (this.#handled.has(node)) return;
    const members: string[] = [];
    let base: ts.Expression = node;
    while (true) {
      if (ts.isPropertyAccessExpression(base) && ts.isIdentifier(base.name)) {
        members.unshift(base.name.text);
      } else if (
        ts.isElementAccessExpression(base) && ts.isStringLiteralLike(base.argumentExpression)
      ) {
        members.unshift(base.argumentExpression.text);
      } else {
        break;
      }
      this.#handled.add(base);
      base = base.expression;
    }
    if (ts.isIdentifier(base)) {
      if (!this.#isBound(base.text)) this.#addRef([base.text, ...members]);
      this.#handled.add(base);
    }
  }

  /**
   * `const { a, b: c } = ns` (or `= ns.inner`) with `ns` free: the references
   * are `ns.a` and `ns.b`, not `ns` as a whole. A rest element or a computed
   * key uses the whole value.
   */
  #destructuredRefs(decl: ts.VariableDeclaration): void {
    const ts = this.#ts;
    if (!decl.initializer || !ts.isObjectBindingPattern(decl.name)) return;
    const chain: ts.Node[] = [];
    const members: string[] = [];
    let base = skipWrappers(ts, decl.initializer);
    while (ts.isPropertyAccessExpression(base) && ts.isIdentifier(base.name)) {
      members.unshift(base.name.text);
      chain.push(base);
      base = skipWrappers(ts, base.expression);
    }
    if (!ts.isIdentifier(base) || this.#isBound(base.text)) return;
    const ref = [base.text, ...members];
    for (const element of decl.name.elements) {
      const key = element.propertyName ?? element.name;
      const name = ts.isIdentifier(key) || ts.isStringLiteralLike(key) || ts.isNumericLiteral(key)
        ? key.text
        : undefined;
      this.#addRef(element.dotDotDotToken || name === undefined ? ref : [...ref, name]);
    }
    for (const node of chain) this.#handled.add(node);
    this.#handled.add(base);
  }

  /**
   * A literal `import("./x.ts")`: which members of the module are used is
   * read from where its value goes (see {@link importUse}); all of them when
   * that cannot be told.
   */
  #dynamicImport(call: ts.CallExpression): void {
    const ts = this.#ts;
    if (call.expression.kind !== this.#k.ImportKeyword) return;
    const arg = call.arguments[0];
    if (!arg || !ts.isStringLiteralLike(arg)) return; // computed: documented limit
    const members = importUse(ts, this.#path);
    const key = arg.text + "\0" + (members ? members.join("\0") : "*");
    this.#dyn.set(key, members ? { s: arg.text, m: members } : { s: arg.text });
  }

  /** A tagged template sees raw strings, so keep them raw. */
  #taggedTemplate(node: ts.TaggedTemplateExpression): void {
    const ts = this.#ts;
    this.#out.push("(TaggedTemplateExpression");
    this.#visit(node.tag);
    const template = node.template;
    if (ts.isNoSubstitutionTemplateLiteral(template)) {
      this.#out.push("raw:" + JSON.stringify(template.rawText ?? template.text));
    } else {
      this.#out.push("raw:" + JSON.stringify(template.head.rawText ?? template.head.text));
      for (const span of template.templateSpans) {
        this.#visit(span.expression);
        this.#out.push("raw:" + JSON.stringify(span.literal.rawText ?? span.literal.text));
      }
    }
    this.#out.push(")");
  }
}

/**
 * What a module value can be while it is followed from an `import()` call to
 * where it is used: the promise of the module, the module itself, the promise
 * of a `Promise.all([…])` array holding it at `index`, or that array.
 */
type Held =
  | { readonly kind: "promise" }
  | { readonly kind: "module" }
  | { readonly kind: "all"; readonly index: number }
  | { readonly kind: "array"; readonly index: number };

const PROMISE: Held = { kind: "promise" };
const MODULE: Held = { kind: "module" };

/**
 * The members of the module imported by the `import()` call at the end of
 * `path` (the call's ancestors, outermost first) that the code uses, sorted;
 * undefined when the module is used as a whole or in a way not followed.
 *
 * Followed: `await`, `.then(cb)` (the callback's parameter, by name or
 * destructured), `.catch`/`.finally`, `Promise.all([…])` (then the element's
 * position in an array pattern or a `.then` parameter), a `const`/`let`/`var`
 * holding the promise or the module (its uses in its scope), `m.a`, `m["a"]`
 * and `const { a } = m`. A module-level variable is read by other units: the
 * whole module counts.
 */
function importUse(ts: TS, path: readonly ts.Node[]): string[] | undefined {
  const members = new Set<string>();
  return useAt(ts, path, path.length - 1, PROMISE, members) ? [...members].sort() : undefined;
}

/**
 * Add to `into` the members used of the value of `stack[i]`, which holds
 * `held`; false when the value is used as a whole.
 */
function useAt(
  ts: TS,
  stack: readonly ts.Node[],
  i: number,
  held: Held,
  into: Set<string>,
): boolean {
  let child = stack[i];
  let p = i - 1;
  while (p >= 0 && isWrapper(ts, stack[p])) child = stack[p--];
  const parent = stack[p];
  if (!parent) return false;
  if (ts.isVariableDeclaration(parent) && parent.initializer === child) {
    return declarationUse(ts, stack, p, held, into);
  }
  const call = stack[p - 1];
  const method = ts.isPropertyAccessExpression(parent) && parent.expression === child &&
      call && ts.isCallExpression(call) && call.expression === parent
    ? parent.name.text
    : undefined;
  switch (held.kind) {
    case "module":
      if (ts.isPropertyAccessExpression(parent) && parent.expression === child) {
        into.add(parent.name.text);
        return true;
      }
      if (ts.isElementAccessExpression(parent) && parent.expression === child) {
        if (!ts.isStringLiteralLike(parent.argumentExpression)) return false;
        into.add(parent.argumentExpression.text);
        return true;
      }
      return false;
    case "promise":
    case "all": {
      const resolved: Held = held.kind === "promise"
        ? MODULE
        : { kind: "array", index: held.index };
      if (ts.isAwaitExpression(parent)) return useAt(ts, stack, p, resolved, into);
      if (method === "then") {
        return callbackUse(ts, (call as ts.CallExpression).arguments[0], resolved, into);
      }
      if (method === "catch" || method === "finally") return useAt(ts, stack, p - 1, held, into);
      if (
        held.kind === "promise" && ts.isArrayLiteralExpression(parent) && isPromiseAll(ts, call)
      ) {
        const index = parent.elements.indexOf(child as ts.Expression);
        if (parent.elements.slice(0, index + 1).some((e) => ts.isSpreadElement(e))) return false;
        return useAt(ts, stack, p - 1, { kind: "all", index }, into);
      }
      return false;
    }
    case "array":
      return false;
  }
}

/** `const x = <value>`: the uses of `x` in its scope, or of the destructured names. */
function declarationUse(
  ts: TS,
  stack: readonly ts.Node[],
  p: number,
  held: Held,
  into: Set<string>,
): boolean {
  const decl = stack[p] as ts.VariableDeclaration;
  const list = stack[p - 1];
  const isVar = list !== undefined && ts.isVariableDeclarationList(list) &&
    (list.flags & (ts.NodeFlags.Let | ts.NodeFlags.Const)) === 0;
  let scope: ts.Node | undefined;
  for (let j = p - 1; j >= 0 && !scope; j--) {
    if (isVar ? ts.isFunctionLike(stack[j]) : isScope(ts, stack[j])) scope = stack[j];
  }
  if (!scope) return false; // module level: other units read it
  return bindingUse(ts, decl.name, scope, held, into);
}

/** The uses of a value bound to `name` (a name or a pattern) within `scope`. */
function bindingUse(
  ts: TS,
  name: ts.BindingName,
  scope: ts.Node,
  held: Held,
  into: Set<string>,
): boolean {
  if (ts.isIdentifier(name)) return nameUse(ts, name, scope, held, into);
  if (ts.isObjectBindingPattern(name)) {
    if (held.kind !== "module") return false;
    for (const element of name.elements) {
      const key = element.propertyName ?? element.name;
      if (element.dotDotDotToken) return false;
      if (!(ts.isIdentifier(key) || ts.isStringLiteralLike(key) || ts.isNumericLiteral(key))) {
        return false;
      }
      into.add(key.text);
    }
    return true;
  }
  if (held.kind !== "array") return false;
  const elements = name.elements;
  for (let j = 0; j <= held.index && j < elements.length; j++) {
    const element = elements[j];
    if (!ts.isOmittedExpression(element) && element.dotDotDotToken) return false;
  }
  const element = elements[held.index];
  if (!element || ts.isOmittedExpression(element)) return true; // not used
  return bindingUse(ts, element.name, scope, MODULE, into);
}

/** `.then(cb)`: the uses of `cb`'s first parameter, which receives the value. */
function callbackUse(
  ts: TS,
  callback: ts.Expression | undefined,
  held: Held,
  into: Set<string>,
): boolean {
  const fn = callback && skipWrappers(ts, callback);
  if (!fn || !(ts.isArrowFunction(fn) || ts.isFunctionExpression(fn))) return false;
  const param = fn.parameters[0];
  if (!param) return true; // not used
  if (param.dotDotDotToken) return false;
  return bindingUse(ts, param.name, fn, held, into);
}

/**
 * Every appearance of `name` in `scope` (but its declaration), each followed
 * with {@link useAt}. A nested declaration of the same name can only add
 * members or make the whole value count, never hide a use.
 */
function nameUse(
  ts: TS,
  name: ts.Identifier,
  scope: ts.Node,
  held: Held,
  into: Set<string>,
): boolean {
  const stack: ts.Node[] = [];
  let whole = false;
  const visit = (node: ts.Node): void => {
    if (whole || node === name || ts.isTypeNode(node)) return;
    stack.push(node);
    if (ts.isIdentifier(node)) {
      // `arguments` may hold a callback's parameter.
      if (node.text === "arguments") whole = true;
      else if (node.text === name.text) whole = !useAt(ts, stack, stack.length - 1, held, into);
    } else {
      const named = node as { name?: ts.Node; propertyName?: ts.Node; label?: ts.Node };
      const keepName = ts.isShorthandPropertyAssignment(node);
      ts.forEachChild(node, (child) => {
        const isName = child === named.name || child === named.propertyName ||
          child === named.label;
        // A property or declared name is not a use (`{ m: 1 }`, `x.m`); a computed one holds code.
        if (!isName || keepName || !(ts.isIdentifier(child) || ts.isPrivateIdentifier(child))) {
          visit(child);
        }
      });
    }
    stack.pop();
  };
  visit(scope);
  return !whole;
}

function isPromiseAll(ts: TS, node: ts.Node | undefined): boolean {
  if (!node || !ts.isCallExpression(node)) return false;
  const callee = skipWrappers(ts, node.expression);
  return ts.isPropertyAccessExpression(callee) && callee.name.text === "all" &&
    ts.isIdentifier(callee.expression) && callee.expression.text === "Promise";
}

/** Nodes that bound a `const`/`let`: blocks, functions, loops, catch clauses, the file. */
function isScope(ts: TS, node: ts.Node): boolean {
  return ts.isBlock(node) || ts.isFunctionLike(node) || ts.isSourceFile(node) ||
    ts.isCaseBlock(node) || ts.isModuleBlock(node) || ts.isForStatement(node) ||
    ts.isForInStatement(node) || ts.isForOfStatement(node) || ts.isCatchClause(node);
}

/** Parentheses and type-only wrappers (`as`, `satisfies`, `!`, `<T>`), which pass a value through. */
function isWrapper(ts: TS, node: ts.Node): boolean {
  return ts.isParenthesizedExpression(node) || ts.isAsExpression(node) ||
    ts.isSatisfiesExpression(node) || ts.isNonNullExpression(node) ||
    ts.isTypeAssertionExpression(node);
}

/** The expression under parentheses and type-only wrappers. */
function skipWrappers(ts: TS, node: ts.Expression): ts.Expression {
  let e = node;
  while (isWrapper(ts, e)) e = (e as ts.ParenthesizedExpression).expression;
  return e;
}

/**
 * Names declared directly in a list of statements. `var` is treated as
 * block-scoped: that can only make a name look free (a reference followed
 * needlessly), never hide a real reference.
 */
export function blockNames(ts: TS, statements: readonly ts.Statement[]): Set<string> {
  const names = new Set<string>();
  for (const statement of statements) {
    if (ts.isVariableStatement(statement)) {
      for (const decl of statement.declarationList.declarations) {
        bindingNames(ts, decl.name, names);
      }
    } else if (
      (ts.isFunctionDeclaration(statement) || ts.isClassDeclaration(statement) ||
        ts.isEnumDeclaration(statement) || ts.isModuleDeclaration(statement)) &&
      statement.name && ts.isIdentifier(statement.name)
    ) {
      names.add(statement.name.text);
    }
  }
  return names;
}

/** Add every identifier bound by a name or binding pattern to `into`. */
export function bindingNames(ts: TS, name: ts.BindingName, into: Set<string>): Set<string> {
  if (ts.isIdentifier(name)) {
    into.add(name.text);
  } else {
    for (const element of name.elements) {
      if (!ts.isOmittedExpression(element)) bindingNames(ts, element.name, into);
    }
  }
  return into;
}
