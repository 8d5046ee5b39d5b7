/**
 * What static analysis keeps of one module: plain JSON, independent of every
 * other module, so it can be cached by the module's content hash and reused
 * until the file changes. The resolver (`_resolve.ts`) joins summaries along
 * the module graph into stage manifests.
 *
 * @module
 */

/**
 * Bump when the analysis or the normalisation changes: cached summaries (and
 * everything derived from them) of another version are ignored.
 */
export const ANALYSIS_VERSION = 4;

/**
 * A reference from code to a module-level name: `["helper"]`, or a member
 * chain `["u", "fn"]` for `u.fn` (followed when `u` is a namespace import).
 */
export type NameRef = string[];

/** A literal dynamic import: `import("./x.ts")`, with the members used when known. */
export interface DynamicRef {
  /** The specifier as written. */
  readonly s: string;
  /** Members read (`const { a } = await import(…)`); absent: the whole module. */
  readonly m?: string[];
}

/** One piece of code, normalised and hashed, with what it references. */
export interface Unit {
  /** xxhash64 of the normalised code. */
  readonly h: string;
  /** 1-based line where it starts. */
  readonly l: number;
  /** Module-level names it references (locals and globals left out). */
  readonly r: NameRef[];
  /** Literal dynamic imports it makes. */
  readonly d?: DynamicRef[];
}

/**
 * A top-level statement that stores into module-level bindings
 * (`handlers.set("k", fn)`, `REGISTRY[k] = fn`, `Object.assign(table, {…})`):
 * whoever reaches one of its targets reaches the statement too.
 */
export interface Fill {
  /** The bindings written, as references (`["handlers"]`, `["ns", "table"]` for an import). */
  readonly t: NameRef[];
  /**
   * Bindings passed to a call (`Object.assign(table, …)`, `register(table)`),
   * which may store into them: counted when they hold a value, not when they
   * name a function or class (`handlers.set("k", fn)` does not fill `fn`).
   */
  readonly a?: NameRef[];
  /** The statement. */
  readonly u: Unit;
}

/** The kind of a top-level declaration, which is also its manifest key prefix. */
export type DeclKind = "func" | "class" | "const";

/** A member of an object literal held by a declaration (`scale` in `const ops = { scale() {…} }`). */
export interface Member extends Unit {
  /** Set when the member reads `this` or `super`: it depends on the whole object. */
  readonly w?: true;
}

/** A top-level value declaration. */
export interface Decl extends Unit {
  /** Function, class, or anything else (constants, enums, namespaces). */
  readonly k: DeclKind;
  /**
   * When the value is an object literal with static keys only (no spread, no
   * computed key): its members by key, so that `ops.scale` depends on `scale`
   * alone.
   */
  readonly m?: Record<string, Member>;
  /** When its value is a stage spec (`defineStage({...})` or `{ run, ... }`). */
  readonly spec?: SpecInfo;
  /** When its value is an object literal of deps or outs. */
  readonly arts?: ArtifactsInfo;
}

/** An import binding: local name → export of another module. */
export interface ImportBinding {
  /** Module specifier as written. */
  readonly s: string;
  /** Imported name: an export name, `default`, or `*` for a namespace. */
  readonly n: string;
  /** 1-based line of the import. */
  readonly l: number;
}

/** An export: of a local binding, or re-exported from another module. */
export type ExportBinding =
  | { readonly local: string }
  | { readonly s: string; readonly n: string; readonly l: number };

/** The run function of a stage spec. */
export type RunInfo =
  | { readonly u: Unit }
  | { readonly ref: NameRef; readonly l: number };

/** A dep or out of a stage spec. */
export interface ArtifactInfo {
  /** 1-based line of the property. */
  readonly l: number;
  /**
   * The loader expression (`new MyLoader(opts)` in `dep("x", new MyLoader(opts))`),
   * or the whole initializer when it is not a `dep`/`out`/… call; absent when
   * the call passes no loader (a built-in default).
   */
  readonly u?: Unit;
}

/** The `deps` or `outs` of a stage spec. */
export type ArtifactsInfo =
  | {
    /** Object literal: its properties by name, and units of `...spread`s. */
    readonly props: Record<string, ArtifactInfo>;
    readonly rest: Unit[];
    readonly l: number;
  }
  | { readonly ref: NameRef; readonly l: number }
  | { readonly u: Unit };

/** A stage spec object (`{ name, deps, outs, run, ... }`). */
export interface SpecInfo {
  /** 1-based line of the object. */
  readonly l: number;
  readonly run?: RunInfo;
  readonly deps?: ArtifactsInfo;
  readonly outs?: ArtifactsInfo;
}

/** Kinds of call that declare stages. */
export type SiteKind = "stage" | "register" | "define";

/** A `pipeline.stage(…)`, `pipeline.register(…)` or `defineStage(…)` call. */
export interface Site {
  readonly k: SiteKind;
  /** 1-based line and column of the callee's name (where V8 reports the call). */
  readonly l: number;
  readonly c: number;
  /** 1-based first and last line of the whole call. */
  readonly sl: number;
  readonly el: number;
  /** The spec, when the first argument is an object literal. */
  readonly spec?: SpecInfo;
  /** The first argument, when it names a spec or definition. */
  readonly ref?: NameRef;
  /**
   * The stage's name, when the call writes it as a string literal
   * (`stage({ name: "train", … })`, `register(def, { name: "train" })`):
   * how the resolver finds the call of a stage registered without a line.
   */
  readonly nm?: string;
  /**
   * Set when the call is not a top-level statement of its own (in a function,
   * a loop, a block): its run function may call what the enclosing code was
   * given (`function add(name, run) { p.stage({ name, run }) }`). The value
   * names the enclosing top-level declarations (`["add"]`), if any.
   */
  readonly n?: string[];
}

/** Everything the resolver needs to know about one module. */
export interface ModuleSummary {
  /** Top-level value declarations by name (`default` for an anonymous default export). */
  readonly decls: Record<string, Decl>;
  /** Value imports by local name. */
  readonly imports: Record<string, ImportBinding>;
  /** Exports by exported name. */
  readonly exports: Record<string, ExportBinding>;
  /** Specifiers of `export * from`. */
  readonly stars: string[];
  /** Every specifier the module imports (static, re-export, literal dynamic), sorted. */
  readonly specifiers: string[];
  /** Stage-declaring calls, in source order. */
  readonly sites: Site[];
  /** Top-level statements that store into module-level bindings, in source order. */
  readonly fills: Fill[];
  /**
   * What the module's other top-level statements (stage-declaring calls,
   * `register("x", f);`) reference: followed when a stage falls back to its
   * whole module.
   */
  readonly rest: { readonly r: NameRef[]; readonly d?: DynamicRef[] };
}
