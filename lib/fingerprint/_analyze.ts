/**
 * Analyses one module with the TypeScript parser (no type checker) into a
 * {@link ModuleSummary}: its top-level declarations, each normalised and
 * hashed with the module-level names it references; its imports and exports;
 * and its stage-declaring calls.
 *
 * @module
 */

import type ts from "typescript";
import { canonicalJson, hashBytes } from "../storage/hash.ts";
import type {
  ArtifactInfo,
  ArtifactsInfo,
  Decl,
  DeclKind,
  DynamicRef,
  ExportBinding,
  Fill,
  ImportBinding,
  Member,
  ModuleSummary,
  NameRef,
  RunInfo,
  Site,
  SiteKind,
  SpecInfo,
  Unit,
} from "./_summary.ts";
import { bindingNames, blockNames, UnitWriter, type WriteOptions } from "./_unit_writer.ts";

export { loadTypeScript } from "./_typescript.ts";

type TS = typeof ts;

/** Artifact declarations, by callee name, and the index of their loader argument. */
const ARTIFACT_LOADER_ARG: Record<string, number | undefined> = {
  dep: 1,
  out: 1,
  plot: 1,
  incremental: 1,
  metric: undefined,
};

/** How the parser reads a file, by extension; undefined for files it cannot read. */
export function scriptKind(ts: TS, file: string): ts.ScriptKind | undefined {
  const ext = /\.[^./]+$/.exec(file)?.[0].toLowerCase();
  switch (ext) {
    case ".ts":
    case ".mts":
    case ".cts":
      return ts.ScriptKind.TS;
    case ".tsx":
      return ts.ScriptKind.TSX;
    case ".js":
    case ".mjs":
    case ".cjs":
      return ts.ScriptKind.JS;
    case ".jsx":
      return ts.ScriptKind.JSX;
  }
  return undefined;
}

/**
 * The summary of a JSON module: one `default` export whose hash is that of
 * its parsed value (so formatting does not count).
 */
async function summarizeJson(text: string): Promise<ModuleSummary> {
  let normal: string;
  try {
    normal = canonicalJson(JSON.parse(text));
  } catch {
    normal = text;
  }
  const decl: Decl = { k: "const", h: await hashBytes("json " + normal), l: 1, r: [] };
  return {
    decls: { default: decl },
    imports: {},
    exports: { default: { local: "default" } },
    stars: [],
    specifiers: [],
    sites: [],
    fills: [],
    rest: { r: [] },
  };
}

/**
 * Analyse a module's source text. `file` names it (its extension picks the
 * syntax: `.ts`, `.tsx`, `.js`, `.jsx`, `.mts`, …; `.json` is a JSON module).
 *
 * A module longer than {@link WHOLE_CHARS} is parsed in chunks of whole
 * top-level statements ({@link CHUNK_CHARS}), one at a time, so that only one
 * small syntax tree is alive at once: the tree of a 2.3 MB pipeline file of
 * 10,000 stages takes about 160 MB. The result is the whole file's, exactly:
 * when code in a chunk uses a module-level name only a later chunk declares,
 * the chunks are analysed again knowing every module-level name; when a
 * chunk does not parse alone, the module is analysed whole. (`chunkChars`:
 * about how many characters a chunk holds, and a module of at most that many
 * is parsed whole; tests make it small.)
 */
export async function analyzeModule(
  ts: TS,
  file: string,
  text: string,
  chunkChars?: number,
  visitor?: ChunkVisitor,
): Promise<ModuleSummary> {
  if (/\.json$/i.test(file)) return await summarizeJson(text);
  const chunked = await analyzeInChunks(
    ts,
    file,
    text,
    chunkChars ?? CHUNK_CHARS,
    visitor,
    chunkChars ?? WHOLE_CHARS,
  );
  if (chunked) return chunked;
  visitor?.reset();
  return (await new ModuleAnalysis(ts, parser(ts, file), [{ text, line: 0 }], visitor).run())!;
}

/**
 * Shown each tree the analysis parses (a chunk, or the whole module), to
 * look at the same trees for another purpose (the load cache's
 * registration scan) without parsing the module again.
 */
export interface ChunkVisitor {
  /** The tree of one chunk, whose first line is the module's `baseLine` (0-based). */
  chunk(source: ts.SourceFile, baseLine: number): unknown;
  /** Forget every chunk shown: the module is analysed again, from its start. */
  reset(): void;
}

/**
 * The summary of a module analysed in chunks of about `chunkChars`
 * characters; undefined when it is not split (at most `wholeChars`
 * characters, JSX, odd line breaks) or when a chunk does not parse alone.
 * When a chunk uses a module-level name that a later one declares, the
 * chunks are analysed a second time, knowing every module-level name from
 * the first (as the whole file's analysis knows them before it starts).
 */
export async function analyzeInChunks(
  ts: TS,
  file: string,
  text: string,
  chunkChars: number,
  visitor?: ChunkVisitor,
  wholeChars = chunkChars,
): Promise<ModuleSummary | undefined> {
  const parse = parser(ts, file);
  // JSX text may hold anything at the start of a line: not split.
  if (parse.kind !== ts.ScriptKind.TS && parse.kind !== ts.ScriptKind.JS) return undefined;
  const chunks = statementChunks(text, chunkChars, wholeChars);
  if (chunks.length === 1) return undefined;
  const first = new ModuleAnalysis(ts, parse, chunks, visitor);
  const summary = await first.run();
  const names = first.lateNames();
  if (summary !== undefined || names === undefined) return summary;
  visitor?.reset();
  return await new ModuleAnalysis(ts, parse, chunks, visitor, names).run();
}

/** Parses source text as `file`'s syntax. */
function parser(ts: TS, file: string): Parser {
  const kind = scriptKind(ts, file) ?? ts.ScriptKind.TS;
  const parse = (text: string) =>
    ts.createSourceFile(
      file,
      text,
      { languageVersion: ts.ScriptTarget.Latest, jsDocParsingMode: ts.JSDocParsingMode.ParseNone },
      false,
      kind,
    );
  return Object.assign(parse, { kind });
}

type Parser = ((text: string) => ts.SourceFile) & { readonly kind: ts.ScriptKind };

/** A module of at most this many characters is parsed whole (a tree of ~4.5 MB at most). */
export const WHOLE_CHARS = 64 * 1024;

/**
 * About how many characters of a longer module are parsed at once. A tree
 * takes ~70 bytes a character: one of 64 K characters (~4.5 MB) outgrew the
 * young generation (4 MB a semi-space for a big pipeline, lib/cli/launcher.ts)
 * and was promoted, so a 2.3 MB module left ~150 MB of dead trees in the old
 * generation; one of 8 K (~0.6 MB) dies young (docs/performance.md, "Peak
 * memory at 10,000 stages, sixth session").
 */
export const CHUNK_CHARS = 8 * 1024;

/** Whole top-level statements of a module: `text`, from the start of its line `line` (0-based). */
export interface Chunk {
  readonly text: string;
  readonly line: number;
}

/**
 * Split `text` into chunks of at least `size` characters (the last may be
 * shorter), each starting at the start of a line: only after a line that
 * ends with `;` and before one (after blank lines) that starts with a
 * letter, `_` or `$`. A
 * `;` ending a line at the top level ends a statement; one inside braces,
 * a template or a comment leaves a chunk that does not parse, which the
 * caller detects. Not split (one chunk) when the text has at most `whole`
 * characters, or line breaks other than `\n` and `\r\n`, which would make
 * line numbers differ.
 */
export function statementChunks(text: string, size: number, whole = size): Chunk[] {
  if (text.length <= whole || /\r(?!\n)|[\u2028\u2029]/.test(text)) return [{ text, line: 0 }];
  const chunks: Chunk[] = [];
  let start = 0;
  let startLine = 0;
  let line = 0;
  let at = 0;
  while (true) {
    const end = text.indexOf("\n", at);
    if (end < 0) break;
    line++;
    at = end + 1;
    if (at - start < size) continue;
    let last = end - 1;
    while (last > start && (text[last] === " " || text[last] === "\t" || text[last] === "\r")) {
      last--;
    }
    let next = at;
    while (text[next] === "\n" || text[next] === "\r") next++;
    if (text[last] !== ";" || !/[A-Za-z_$]/.test(text[next] ?? "")) continue;
    chunks.push({ text: text.slice(start, at), line: startLine });
    start = at;
    startLine = line;
  }
  chunks.push({ text: text.slice(start), line: startLine });
  return chunks;
}

class ModuleAnalysis {
  readonly #ts: TS;
  readonly #writer: UnitWriter;
  readonly #decls: Record<string, Decl> = {};
  readonly #imports: Record<string, ImportBinding> = {};
  readonly #exports: Record<string, ExportBinding> = {};
  readonly #stars: string[] = [];
  readonly #specifiers = new Set<string>();
  readonly #sites: Site[] = [];
  readonly #fills: Fill[] = [];
  readonly #restRefs = new Map<string, NameRef>();
  readonly #restDyn = new Map<string, DynamicRef>();
  /** Names bound at module level (declarations and value imports) in the chunks seen so far. */
  readonly #moduleNames = new Set<string>(["default"]);
  /** Names looked up in {@link #moduleNames} and not found. */
  readonly #misses = new Set<string>();
  readonly #parse: (text: string) => ts.SourceFile;
  readonly #chunks: readonly Chunk[];
  /** The chunk being analysed, and the module line its first line is (0-based). */
  #sf!: ts.SourceFile;
  #baseLine = 0;

  readonly #visitor: ChunkVisitor | undefined;
  /** Whether {@link run} failed only because a chunk used a name a later one declares. */
  #late = false;

  /** `known`: every module-level name, when a first analysis of the chunks found them. */
  constructor(
    typescript: TS,
    parse: (text: string) => ts.SourceFile,
    chunks: readonly Chunk[],
    visitor?: ChunkVisitor,
    known?: ReadonlySet<string>,
  ) {
    this.#ts = typescript;
    this.#parse = parse;
    this.#chunks = chunks;
    this.#visitor = visitor;
    for (const name of known ?? []) this.#moduleNames.add(name);
    this.#writer = new UnitWriter(typescript);
  }

  /**
   * The summary; undefined when the module is in chunks and one does not
   * parse alone or uses a name that a later one declares.
   */
  async run(): Promise<ModuleSummary | undefined> {
    const chunked = this.#chunks.length > 1;
    for (const chunk of this.#chunks) {
      this.#sf = this.#parse(chunk.text);
      this.#baseLine = chunk.line;
      if (chunked && parseDiagnostics(this.#sf) > 0) return undefined;
      this.#visitor?.chunk(this.#sf, chunk.line);
      this.#collectModuleNames();
      for (const statement of this.#sf.statements) await this.#statement(statement);
      await this.#findSites(this.#sf);
    }
    // Release the last chunk's tree.
    this.#sf = undefined as unknown as ts.SourceFile;
    for (const name of this.#misses) {
      if (this.#moduleNames.has(name)) {
        this.#late = true;
        return undefined;
      }
    }
    const sort = <T>(record: Record<string, T>) =>
      Object.fromEntries(Object.keys(record).sort().map((key) => [key, record[key]]));
    return {
      decls: sort(this.#decls),
      imports: sort(this.#imports),
      exports: sort(this.#exports),
      stars: this.#stars,
      specifiers: [...this.#specifiers].sort(),
      sites: this.#sites,
      fills: this.#fills,
      rest: this.#restDyn.size > 0
        ? { r: [...this.#restRefs.values()], d: [...this.#restDyn.values()] }
        : { r: [...this.#restRefs.values()] },
    };
  }

  /**
   * Every module-level name, when {@link run} gave no summary only because a
   * chunk used a name that a later chunk declares; otherwise undefined.
   */
  lateNames(): ReadonlySet<string> | undefined {
    return this.#late ? this.#moduleNames : undefined;
  }

  /** Add the names the chunk binds at module level: value imports and declarations (as in any block). */
  #collectModuleNames(): void {
    const ts = this.#ts;
    const names = this.#moduleNames;
    for (const name of blockNames(ts, this.#sf.statements)) names.add(name);
    for (const statement of this.#sf.statements) {
      hoistedVars(ts, statement, names);
      if (!ts.isImportDeclaration(statement)) continue;
      const clause = statement.importClause;
      if (!clause || clause.isTypeOnly) continue;
      if (clause.name) names.add(clause.name.text);
      const bindings = clause.namedBindings;
      if (bindings && ts.isNamespaceImport(bindings)) names.add(bindings.name.text);
      if (bindings && ts.isNamedImports(bindings)) {
        for (const element of bindings.elements) {
          if (!element.isTypeOnly) names.add(element.name.text);
        }
      }
    }
  }

  /** Whether `name` is bound at module level (a miss is remembered: see {@link run}). */
  #isModuleName(name: string): boolean {
    if (this.#moduleNames.has(name)) return true;
    this.#misses.add(name);
    return false;
  }

  /** The 1-based module line of `position` in the current chunk. */
  #lineAt(position: number): number {
    return this.#sf.getLineAndCharacterOfPosition(position).line + 1 + this.#baseLine;
  }

  #line(node: ts.Node): number {
    return this.#lineAt(node.getStart(this.#sf));
  }

  async #unit(node: ts.Node, options: WriteOptions = {}, line = this.#line(node)): Promise<Unit> {
    return (await this.#unitOf([node], options, line)).unit;
  }

  /** One unit for several nodes (their texts joined), and its text. */
  async #unitOf(
    nodes: readonly ts.Node[],
    options: WriteOptions,
    line: number,
  ): Promise<{ unit: Unit; text: string }> {
    const texts: string[] = [];
    const refs = new Map<string, NameRef>();
    const dyn = new Map<string, DynamicRef>();
    for (const node of nodes) {
      const written = this.#writer.write(node, options);
      texts.push(written.text);
      for (const ref of written.refs) {
        if (this.#isModuleName(ref[0])) refs.set(ref.join("\0"), ref);
      }
      for (const ref of written.dyn) dyn.set(ref.s + "\0" + (ref.m?.join("\0") ?? "*"), ref);
    }
    for (const ref of dyn.values()) this.#specifiers.add(ref.s);
    const text = texts.join(" ");
    const unit: Unit = { h: await hashBytes(text), l: line, r: [...refs.values()] };
    return { unit: dyn.size > 0 ? { ...unit, d: [...dyn.values()] } : unit, text };
  }

  #exported(node: ts.Node): { exported: boolean; isDefault: boolean } {
    const ts = this.#ts;
    const modifiers = ts.canHaveModifiers(node) ? ts.getModifiers(node) ?? [] : [];
    return {
      exported: modifiers.some((m) => m.kind === ts.SyntaxKind.ExportKeyword),
      isDefault: modifiers.some((m) => m.kind === ts.SyntaxKind.DefaultKeyword),
    };
  }

  #export(node: ts.Node, local: string): void {
    const { exported, isDefault } = this.#exported(node);
    if (exported) this.#exports[isDefault ? "default" : local] = { local };
  }

  async #statement(statement: ts.Statement): Promise<void> {
    const ts = this.#ts;
    if (ts.isImportDeclaration(statement)) return this.#importDeclaration(statement);
    if (ts.isExportDeclaration(statement)) return this.#exportDeclaration(statement);
    if (this.#writer.isAmbient(statement)) return;
    if (ts.isExportAssignment(statement)) {
      if (statement.isExportEquals) return;
      const expr = skipTypes(ts, statement.expression);
      if (ts.isIdentifier(expr)) {
        this.#exports.default = { local: expr.text };
      } else {
        const unit = await this.#unit(expr, { dropName: true }, this.#line(statement));
        const members = await this.#members(expr);
        this.#decls.default = { ...unit, k: kindOfValue(ts, expr), ...members };
        this.#exports.default = { local: "default" };
      }
      return;
    }
    if (ts.isFunctionDeclaration(statement) || ts.isClassDeclaration(statement)) {
      const name = statement.name?.text ?? "default";
      const unit = await this.#unit(statement, { dropName: true });
      this.#decls[name] = { ...unit, k: ts.isFunctionDeclaration(statement) ? "func" : "class" };
      this.#export(statement, name);
      return;
    }
    if (ts.isEnumDeclaration(statement) || ts.isModuleDeclaration(statement)) {
      if (!ts.isIdentifier(statement.name)) return;
      const unit = await this.#unit(statement, { dropName: true });
      this.#decls[statement.name.text] = { ...unit, k: "const" };
      this.#export(statement, statement.name.text);
      return;
    }
    if (ts.isVariableStatement(statement)) {
      const list = statement.declarationList;
      const keyword = list.flags & ts.NodeFlags.Const
        ? "const"
        : list.flags & ts.NodeFlags.Let
        ? "let"
        : "var";
      for (const decl of list.declarations) {
        const line = list.declarations.length === 1 ? this.#line(statement) : this.#line(decl);
        const unit = await this.#unit(decl, { dropName: true, prefix: keyword }, line);
        const init = decl.initializer && skipTypes(ts, decl.initializer);
        const extra: { spec?: SpecInfo; arts?: ArtifactsInfo; m?: Record<string, Member> } = {};
        if (init) {
          const spec = await this.#specOfValue(init);
          if (spec) extra.spec = spec;
          if (ts.isObjectLiteralExpression(init) && this.#looksLikeArtifacts(init)) {
            extra.arts = await this.#artifacts(init);
          }
          if (keyword === "const" && ts.isIdentifier(decl.name)) {
            Object.assign(extra, await this.#members(init));
          }
        }
        const k: DeclKind = init && ts.isIdentifier(decl.name) ? kindOfValue(ts, init) : "const";
        const names = bindingNames(ts, decl.name, new Set());
        for (const name of names) {
          // A `var` declared again (or first in a top-level block): both count.
          const earlier = this.#decls[name];
          if (earlier) this.#fills.push({ t: [[name]], u: earlier });
          this.#decls[name] = { ...unit, k, ...extra };
          this.#export(statement, name);
        }
        // `const off = registry.register(fn)` stores into `registry` too.
        if (decl.initializer) this.#fill(this.#targets(decl.initializer, false, names), unit);
      }
      return;
    }
    await this.#topLevelStatement(statement);
  }

  /**
   * A top-level statement that is not a declaration (`handlers.set("k", fn)`,
   * `if (…) { var x = … }`, a loop filling a table): a fill of every
   * module-level binding it stores into, and the declaration of the `var`s it
   * hoists. A stage-declaring `x.stage(…)` statement is neither.
   */
  async #topLevelStatement(statement: ts.Statement): Promise<void> {
    const ts = this.#ts;
    const call = ts.isExpressionStatement(statement) && skipTypes(ts, statement.expression);
    const isStage = call && ts.isCallExpression(call) &&
      ts.isPropertyAccessExpression(call.expression) && call.expression.name.text === "stage";
    const vars = hoistedVars(ts, statement, new Set());
    const targets = isStage
      ? { stored: [], passed: [] }
      : this.#targets(statement, true, new Set());
    if (vars.size === 0 && targets.stored.length === 0 && targets.passed.length === 0) {
      // A `p.stage({ … })` spec's run, deps and outs are units of their own (sites).
      const spec = isStage && call.arguments.length > 0 && skipTypes(ts, call.arguments[0]);
      if (!(spec && ts.isObjectLiteralExpression(spec))) this.#rest(statement);
      return;
    }
    const unit = await this.#unit(statement);
    for (const ref of unit.r) this.#restRefs.set(ref.join("\0"), ref);
    for (const ref of unit.d ?? []) {
      this.#restDyn.set(ref.s + "\0" + (ref.m?.join("\0") ?? "*"), ref);
    }
    for (const name of vars) {
      if (this.#decls[name]) targets.stored.push([name]);
      else this.#decls[name] = { ...unit, k: "const" };
    }
    this.#fill(targets, unit);
  }

  /** Record what a statement that is neither a declaration nor a fill references. */
  #rest(statement: ts.Statement): void {
    const written = this.#writer.write(statement);
    for (const ref of written.refs) {
      if (this.#isModuleName(ref[0])) this.#restRefs.set(ref.join("\0"), ref);
    }
    for (const ref of written.dyn) {
      this.#specifiers.add(ref.s);
      this.#restDyn.set(ref.s + "\0" + (ref.m?.join("\0") ?? "*"), ref);
    }
  }

  #fill(targets: { stored: NameRef[]; passed: NameRef[] }, unit: Unit): void {
    const { stored, passed } = targets;
    if (stored.length === 0 && passed.length === 0) return;
    this.#fills.push(
      passed.length > 0 ? { t: stored, a: passed, u: unit } : { t: stored, u: unit },
    );
  }

  /**
   * The module-level bindings code run at load time may store into, as
   * references (`["table"]`; `["ns", "table"]` for `ns.table.k = v`):
   * assignment targets, receivers of method calls (`handlers.set(…)`,
   * `list.push(…)`), and bindings passed to a call made as a statement
   * (`Object.assign(t, …);`, `register(t);`). Functions are entered only when `intoFunctions`, or when
   * called or passed on where they stand (they may run now). Over-reporting
   * costs precision only.
   */
  #targets(
    root: ts.Node,
    intoFunctions: boolean,
    exclude: ReadonlySet<string>,
  ): { stored: NameRef[]; passed: NameRef[] } {
    const ts = this.#ts;
    const stored = new Map<string, NameRef>();
    const passed = new Map<string, NameRef>();
    const add = (expr: ts.Expression, dropLast: boolean, into = stored): void => {
      const ref = storedRef(ts, expr, dropLast);
      if (ref && this.#isModuleName(ref[0]) && !exclude.has(ref[0])) {
        into.set(ref.join("\0"), ref);
      }
    };
    const visit = (node: ts.Node, runs = false): void => {
      if (ts.isBinaryExpression(node) && isAssignment(ts, node.operatorToken.kind)) {
        add(node.left, true);
      } else if (
        (ts.isPrefixUnaryExpression(node) || ts.isPostfixUnaryExpression(node)) &&
        (node.operator === ts.SyntaxKind.PlusPlusToken ||
          node.operator === ts.SyntaxKind.MinusMinusToken)
      ) {
        add(node.operand, true);
      } else if (ts.isDeleteExpression(node)) {
        add(node.expression, true);
      } else if (ts.isCallExpression(node)) {
        const callee = skipTypes(ts, node.expression);
        if (ts.isPropertyAccessExpression(callee) || ts.isElementAccessExpression(callee)) {
          add(callee.expression, false);
        }
      } else if (ts.isExpressionStatement(node)) {
        // A call made for its effect (`Object.assign(t, …)`, `register(t, f)`) may fill what
        // it is given; a call whose value is used (`const d = mapInput(Number, f)`) reads it.
        const call = skipTypes(ts, node.expression);
        if (ts.isCallExpression(call)) {
          for (const arg of call.arguments) add(arg, false, passed);
        }
      } else if (ts.isFunctionLike(node) || ts.isClassLike(node)) {
        if (!intoFunctions && !runs) return;
      }
      // A function called or passed on where it stands may run now: `(() => …)()`, `f(() => …)`.
      const passes = ts.isCallExpression(node) || ts.isNewExpression(node) ||
        (runs && ts.isParenthesizedExpression(node));
      ts.forEachChild(node, (child) => visit(child, passes));
    };
    visit(root);
    return { stored: [...stored.values()], passed: [...passed.values()] };
  }

  /**
   * The members of an object literal with static keys (no spread, no computed
   * key), each its own unit; nothing for any other value.
   */
  async #members(value: ts.Expression): Promise<{ m?: Record<string, Member> }> {
    const ts = this.#ts;
    const object = skipTypes(ts, value);
    if (!ts.isObjectLiteralExpression(object)) return {};
    const byName = new Map<string, ts.ObjectLiteralElementLike[]>();
    for (const prop of object.properties) {
      const name = !ts.isSpreadAssignment(prop) && prop.name && propertyNameText(ts, prop.name);
      if (name === undefined || name === false || name === "__proto__") return {};
      byName.set(name, [...byName.get(name) ?? [], prop]);
    }
    const members: Record<string, Member> = {};
    for (const [name, props] of byName) {
      const { unit, text } = await this.#unitOf(props, {}, this.#line(props[0]));
      const usesThis = text.includes("(ThisKeyword") || text.includes("(SuperKeyword");
      members[name] = usesThis ? { ...unit, w: true } : unit;
    }
    return { m: members };
  }

  #importDeclaration(statement: ts.ImportDeclaration): void {
    const ts = this.#ts;
    if (!ts.isStringLiteral(statement.moduleSpecifier)) return;
    const s = statement.moduleSpecifier.text;
    this.#specifiers.add(s);
    const clause = statement.importClause;
    if (!clause || clause.isTypeOnly) return;
    const l = this.#line(statement);
    if (clause.name) this.#imports[clause.name.text] = { s, n: "default", l };
    const bindings = clause.namedBindings;
    if (bindings && ts.isNamespaceImport(bindings)) {
      this.#imports[bindings.name.text] = { s, n: "*", l };
    } else if (bindings) {
      for (const element of bindings.elements) {
        if (element.isTypeOnly) continue;
        const imported = (element.propertyName ?? element.name).text;
        this.#imports[element.name.text] = { s, n: imported, l };
      }
    }
  }

  #exportDeclaration(statement: ts.ExportDeclaration): void {
    const ts = this.#ts;
    const specifier = statement.moduleSpecifier;
    const s = specifier && ts.isStringLiteral(specifier) ? specifier.text : undefined;
    if (s !== undefined) this.#specifiers.add(s);
    if (statement.isTypeOnly) return;
    const l = this.#line(statement);
    const clause = statement.exportClause;
    if (!clause) {
      if (s !== undefined) this.#stars.push(s);
    } else if (ts.isNamespaceExport(clause)) {
      if (s !== undefined) this.#exports[clause.name.text] = { s, n: "*", l };
    } else {
      for (const element of clause.elements) {
        if (element.isTypeOnly) continue;
        const local = (element.propertyName ?? element.name).text;
        this.#exports[element.name.text] = s === undefined ? { local } : { s, n: local, l };
      }
    }
  }

  /** Every `x.stage(…)`, `x.register(…)` and `defineStage(…)` call in the file. */
  async #findSites(root: ts.Node): Promise<void> {
    const ts = this.#ts;
    const calls: {
      call: ts.CallExpression;
      kind: SiteKind;
      callee: ts.Node;
      nested: string[] | undefined;
    }[] = [];
    let enclosing: string[] = [];
    // `nested`: below something other than the file and top-level expression statements.
    const visit = (node: ts.Node, nested: boolean): void => {
      if (ts.isCallExpression(node) && node.arguments.length > 0) {
        const callee = skipTypes(ts, node.expression);
        const name = ts.isPropertyAccessExpression(callee)
          ? callee.name
          : ts.isIdentifier(callee)
          ? callee
          : undefined;
        if (name && ts.isIdentifier(name)) {
          const text = name.text;
          const kind: SiteKind | undefined = text === "defineStage"
            ? "define"
            : ts.isPropertyAccessExpression(callee) && (text === "stage" || text === "register")
            ? text
            : undefined;
          if (kind) {
            calls.push({ call: node, kind, callee: name, nested: nested ? enclosing : undefined });
          }
        }
      }
      const below = nested || !(ts.isSourceFile(node) || ts.isExpressionStatement(node));
      ts.forEachChild(node, (child) => visit(child, below));
    };
    for (const statement of (root as ts.SourceFile).statements) {
      enclosing = declaredNames(ts, statement);
      visit(statement, false);
    }
    for (const { call, kind, callee, nested } of calls) {
      const at = this.#sf.getLineAndCharacterOfPosition(callee.getStart(this.#sf));
      const arg = skipTypes(ts, call.arguments[0]);
      const site: {
        -readonly [K in keyof Site]: Site[K];
      } = {
        k: kind,
        l: at.line + 1 + this.#baseLine,
        c: at.character + 1,
        sl: this.#line(call),
        el: this.#lineAt(call.getEnd()),
      };
      if (nested) site.n = nested;
      const named = literalName(ts, kind === "register" ? call.arguments[1] : arg);
      if (named !== undefined) site.nm = named;
      const ref = nameChain(ts, arg);
      if (ref) {
        site.ref = ref;
      } else {
        const spec = await this.#specOfValue(arg);
        if (spec) site.spec = spec;
      }
      this.#sites.push(site);
    }
  }

  /** The stage spec an expression holds: `{ run, … }` or `f({ run, … })` (`defineStage`). */
  async #specOfValue(value: ts.Expression): Promise<SpecInfo | undefined> {
    const ts = this.#ts;
    let object: ts.Expression | undefined = value;
    if (ts.isCallExpression(value) && value.arguments.length > 0) {
      object = skipTypes(ts, value.arguments[0]);
    }
    if (!object || !ts.isObjectLiteralExpression(object)) return undefined;
    const props = new Map<string, ts.ObjectLiteralElementLike>();
    for (const prop of object.properties) {
      const name = prop.name && propertyNameText(ts, prop.name);
      if (name === "run" || name === "deps" || name === "outs") props.set(name, prop);
    }
    if (!props.has("run")) return undefined;
    const spec: { -readonly [K in keyof SpecInfo]: SpecInfo[K] } = { l: this.#line(object) };
    spec.run = await this.#runInfo(props.get("run")!);
    for (const key of ["deps", "outs"] as const) {
      const prop = props.get(key);
      if (!prop) continue;
      if (ts.isShorthandPropertyAssignment(prop)) {
        spec[key] = { ref: [prop.name.text], l: this.#line(prop) };
      } else if (ts.isPropertyAssignment(prop)) {
        const init = skipTypes(ts, prop.initializer);
        const ref = nameChain(ts, init);
        spec[key] = ref
          ? { ref, l: this.#line(prop) }
          : ts.isObjectLiteralExpression(init)
          ? await this.#artifacts(init)
          : { u: await this.#unit(init) };
      }
    }
    return spec;
  }

  async #runInfo(prop: ts.ObjectLiteralElementLike): Promise<RunInfo> {
    const ts = this.#ts;
    if (ts.isShorthandPropertyAssignment(prop)) {
      return { ref: [prop.name.text], l: this.#line(prop) };
    }
    if (ts.isPropertyAssignment(prop)) {
      const init = skipTypes(ts, prop.initializer);
      const ref = nameChain(ts, init);
      if (ref) return { ref, l: this.#line(init) };
      return { u: await this.#unit(init, { dropName: true }) };
    }
    // A method `run(deps, ctx) { … }`: its name is `run` whatever the stage.
    return { u: await this.#unit(prop, { dropName: true }) };
  }

  #looksLikeArtifacts(object: ts.ObjectLiteralExpression): boolean {
    const ts = this.#ts;
    return object.properties.some((prop) =>
      ts.isPropertyAssignment(prop) && artifactCall(ts, skipTypes(ts, prop.initializer))
    );
  }

  async #artifacts(object: ts.ObjectLiteralExpression): Promise<ArtifactsInfo> {
    const ts = this.#ts;
    const props: Record<string, ArtifactInfo> = {};
    const rest: Unit[] = [];
    for (const prop of object.properties) {
      if (ts.isSpreadAssignment(prop)) {
        rest.push(await this.#unit(prop.expression));
        continue;
      }
      const name = prop.name && propertyNameText(ts, prop.name);
      if (name === undefined) {
        rest.push(await this.#unit(prop));
        continue;
      }
      const l = this.#line(prop);
      if (ts.isShorthandPropertyAssignment(prop)) {
        props[name] = { l, u: await this.#unit(prop.name) };
      } else if (ts.isPropertyAssignment(prop)) {
        const init = skipTypes(ts, prop.initializer);
        const call = artifactCall(ts, init);
        if (call) {
          const loader = call.index === undefined ? undefined : call.call.arguments[call.index];
          props[name] = loader ? { l, u: await this.#unit(loader) } : { l };
        } else {
          props[name] = { l, u: await this.#unit(init) };
        }
      } else {
        props[name] = { l, u: await this.#unit(prop) };
      }
    }
    return { props, rest, l: this.#line(object) };
  }
}

/** `dep(…)`, `out(…)`, … (also as `pivot.dep(…)`), with the index of the loader argument. */
function artifactCall(
  ts: TS,
  node: ts.Expression,
): { call: ts.CallExpression; index: number | undefined } | undefined {
  if (!ts.isCallExpression(node)) return undefined;
  const callee = skipTypes(ts, node.expression);
  const name = ts.isIdentifier(callee)
    ? callee.text
    : ts.isPropertyAccessExpression(callee) && ts.isIdentifier(callee.name)
    ? callee.name.text
    : undefined;
  if (name === undefined || !(name in ARTIFACT_LOADER_ARG)) return undefined;
  return { call: node, index: ARTIFACT_LOADER_ARG[name] };
}

/**
 * The binding an expression stores into, as a reference: `t` for `t[k]`,
 * `ns.t` for `ns.t.k` when `dropLast` (the last member is the property
 * written), `t` itself otherwise. A dynamic member ends the chain.
 */
function storedRef(ts: TS, node: ts.Expression, dropLast: boolean): NameRef | undefined {
  const members: (string | undefined)[] = [];
  let e = skipTypes(ts, node);
  while (true) {
    if (ts.isPropertyAccessExpression(e) && ts.isIdentifier(e.name)) {
      members.unshift(e.name.text);
    } else if (ts.isElementAccessExpression(e)) {
      members.unshift(
        ts.isStringLiteralLike(e.argumentExpression) ? e.argumentExpression.text : undefined,
      );
    } else {
      break;
    }
    e = skipTypes(ts, e.expression);
  }
  if (!ts.isIdentifier(e)) return undefined;
  if (dropLast) members.pop();
  const end = members.indexOf(undefined);
  return [e.text, ...(end < 0 ? members : members.slice(0, end)) as string[]];
}

function isAssignment(ts: TS, kind: ts.SyntaxKind): boolean {
  return kind >= ts.SyntaxKind.FirstAssignment && kind <= ts.SyntaxKind.LastAssignment;
}

/**
 * Add the names of `var`s declared in nested statements of a top-level
 * statement (blocks, `if`, loops, `try`, `switch`, labels), not in functions:
 * they are module-level bindings.
 */
function hoistedVars(ts: TS, statement: ts.Statement, into: Set<string>): Set<string> {
  const visit = (node: ts.Node, nested: boolean): void => {
    if (ts.isFunctionLike(node) || ts.isClassLike(node)) return;
    if (nested && ts.isVariableDeclarationList(node)) {
      if ((node.flags & (ts.NodeFlags.Let | ts.NodeFlags.Const | ts.NodeFlags.Using)) === 0) {
        for (const decl of node.declarations) bindingNames(ts, decl.name, into);
      }
    }
    if (ts.isExpression(node)) return; // no declarations in expressions outside functions
    ts.forEachChild(node, (child) => visit(child, true));
  };
  if (!ts.isVariableStatement(statement)) visit(statement, false);
  return into;
}

/** The module-level names a top-level statement declares. */
function declaredNames(ts: TS, statement: ts.Statement): string[] {
  if (ts.isVariableStatement(statement)) {
    const names = new Set<string>();
    for (const decl of statement.declarationList.declarations) bindingNames(ts, decl.name, names);
    return [...names];
  }
  if (
    (ts.isFunctionDeclaration(statement) || ts.isClassDeclaration(statement)) &&
    statement.name
  ) return [statement.name.text];
  return [];
}

/** `a` or `a.b.c` as `["a", "b", "c"]`; undefined for anything else. */
function nameChain(ts: TS, node: ts.Expression): NameRef | undefined {
  const members: string[] = [];
  let e = node;
  while (ts.isPropertyAccessExpression(e) && ts.isIdentifier(e.name)) {
    members.unshift(e.name.text);
    e = skipTypes(ts, e.expression);
  }
  return ts.isIdentifier(e) ? [e.text, ...members] : undefined;
}

/** The expression under parentheses, `as`, `satisfies` and `!`. */
function skipTypes(ts: TS, node: ts.Expression): ts.Expression {
  let e = node;
  while (
    ts.isParenthesizedExpression(e) || ts.isAsExpression(e) || ts.isSatisfiesExpression(e) ||
    ts.isNonNullExpression(e) || ts.isTypeAssertionExpression(e)
  ) {
    e = e.expression;
  }
  return e;
}

function propertyNameText(ts: TS, name: ts.PropertyName): string | undefined {
  return ts.isIdentifier(name) || ts.isStringLiteralLike(name) || ts.isNumericLiteral(name)
    ? name.text
    : undefined;
}

/** The key prefix for a value: a function, a class, or another constant. */
function kindOfValue(ts: TS, value: ts.Expression): DeclKind {
  const e = skipTypes(ts, value);
  if (ts.isArrowFunction(e) || ts.isFunctionExpression(e)) return "func";
  if (ts.isClassExpression(e)) return "class";
  return "const";
}

/** The string literal `name` property of an object literal, if it has one. */
function literalName(ts: TS, node: ts.Expression | undefined): string | undefined {
  const object = node && skipTypes(ts, node);
  if (!object || !ts.isObjectLiteralExpression(object)) return undefined;
  for (const prop of object.properties) {
    if (!ts.isPropertyAssignment(prop) || propertyNameText(ts, prop.name) !== "name") continue;
    const value = skipTypes(ts, prop.initializer);
    return ts.isStringLiteral(value) || ts.isNoSubstitutionTemplateLiteral(value)
      ? value.text
      : undefined;
  }
  return undefined;
}

/** How many syntax errors the parser found in `sf`. */
/** How many syntax errors parsing `sf` met. */
export function parseDiagnostics(sf: ts.SourceFile): number {
  return (sf as unknown as { parseDiagnostics?: readonly unknown[] }).parseDiagnostics?.length ?? 0;
}
