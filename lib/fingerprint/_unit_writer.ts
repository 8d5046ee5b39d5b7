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
  #scopeNodes: ts.Node[] = [];
  #refs = new Map<string, NameRef>();
  #dyn = new Map<string, DynamicRef>();
  #handled = new Set<ts.Node>();
  #dynMembers = new Map<ts.Node, string[]>();
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
    this.#scopeNodes = [];
    this.#refs = new Map();
    this.#dyn = new Map();
    this.#handled = new Set();
    this.#dynMembers = new Map();
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
    const k = this.#k;
    const kind = node.kind;
    if (this.#skip.has(kind) || this.#dropModifiers.has(kind)) return;
    if (kind !== k.ExpressionWithTypeArguments && ts.isTypeNode(node)) return;
    if (this.isAmbient(node)) return;
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
        if (flags & (ts.NodeFlags.Let | ts.NodeFlags.Const)) {
          for (const decl of (node as ts.VariableDeclarationList).declarations) {
            this.#moduleObject(decl);
          }
        }
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
        this.#destructuredImport(node as ts.VariableDeclaration);
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
    this.#scopeNodes.push(node);
    this.#generic(node);
    this.#scopeNodes.pop();
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
      return;
    }
    const call = importCall(ts, base);
    if (call) this.#dynMembers.set(call, members.slice(0, 1));
  }

  /** `const { a, b } = await import("./x.ts")`: only `a` and `b` are used. */
  #destructuredImport(decl: ts.VariableDeclaration): void {
    const ts = this.#ts;
    if (!decl.initializer || !ts.isObjectBindingPattern(decl.name)) return;
    const call = importCall(ts, decl.initializer);
    if (!call) return;
    const members: string[] = [];
    for (const element of decl.name.elements) {
      const key = element.propertyName ?? element.name;
      if (element.dotDotDotToken || !(ts.isIdentifier(key) || ts.isStringLiteralLike(key))) return;
      members.push(key.text);
    }
    this.#dynMembers.set(call, members);
  }

  /**
   * `const m = await import("./x.ts")` in a block: only the members read as
   * `m.a` or `m["a"]` in that block are used, unless `m` appears any other way
   * there. (At module level, other units read `m`: the whole module counts.)
   */
  #moduleObject(decl: ts.VariableDeclaration): void {
    const ts = this.#ts;
    if (!decl.initializer || !ts.isIdentifier(decl.name)) return;
    const call = importCall(ts, decl.initializer);
    const scope = this.#scopeNodes.at(-1);
    if (!call || !scope) return;
    const members = membersRead(ts, decl.name, scope);
    if (members) this.#dynMembers.set(call, members);
  }

  #dynamicImport(call: ts.CallExpression): void {
    const ts = this.#ts;
    if (call.expression.kind !== this.#k.ImportKeyword) return;
    const arg = call.arguments[0];
    if (!arg || !ts.isStringLiteralLike(arg)) return; // computed: documented limit
    const members = this.#dynMembers.get(call);
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

/** The `import("…")` call inside `await`s and parentheses, if that is what `node` is. */
function importCall(ts: TS, node: ts.Expression): ts.CallExpression | undefined {
  let e = node;
  while (ts.isParenthesizedExpression(e) || ts.isAwaitExpression(e)) e = e.expression;
  return ts.isCallExpression(e) && e.expression.kind === ts.SyntaxKind.ImportKeyword
    ? e
    : undefined;
}

/**
 * The members read from the name `name` within `scope` (`name.a`,
 * `name["a"]`), or undefined when the name appears any other way there: used
 * as a whole, passed on, reassigned, or shadowed. Undefined costs precision
 * only (the whole module is followed), never a missed member.
 */
function membersRead(ts: TS, name: ts.Identifier, scope: ts.Node): string[] | undefined {
  const members = new Set<string>();
  let whole = false;
  const visit = (node: ts.Node): void => {
    if (whole || node === name) return;
    if (ts.isPropertyAccessExpression(node) || ts.isElementAccessExpression(node)) {
      const base = node.expression;
      if (ts.isIdentifier(base) && base.text === name.text) {
        const member = ts.isPropertyAccessExpression(node)
          ? ts.isIdentifier(node.name) ? node.name.text : undefined
          : ts.isStringLiteralLike(node.argumentExpression)
          ? node.argumentExpression.text
          : undefined;
        if (member === undefined) whole = true;
        else members.add(member);
        // `name.a`: `a` is a property name, not a use of `name`.
        if (ts.isElementAccessExpression(node)) visit(node.argumentExpression);
        return;
      }
      visit(node.expression);
      // The name after a dot is a property name, not a reference.
      if (ts.isElementAccessExpression(node)) visit(node.argumentExpression);
      return;
    }
    if (ts.isIdentifier(node) && node.text === name.text) {
      whole = true;
      return;
    }
    ts.forEachChild(node, visit);
  };
  visit(scope);
  return whole ? undefined : [...members];
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
