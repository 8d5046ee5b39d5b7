/**
 * Joins module summaries along the module graph into one stage's manifest:
 * starting from the run function (and the stage's custom loaders), follow
 * every module-level name the code references, across imports, re-exports,
 * namespaces and literal dynamic imports, and record each piece of code
 * reached under its key.
 *
 * Key naming (see docs/fingerprinting.md):
 * - `self:run`: the run function (whatever its name);
 * - `func:`/`class:`/`const:<name>`: a top-level declaration in the module
 *   that holds the run function (enums and namespaces are `const:`);
 * - `mod:<path>#<name>`: a top-level declaration `name` of another local
 *   module (`path` project-relative; `default` for an anonymous default export);
 * - `<decl key>.<member>` (`const:ops.scale`): one member of an object literal,
 *   when only that member is read;
 * - `<decl key>+fill` (`const:handlers+fill`): the top-level statements of the
 *   declaration's module that store into it; `+fill:<path>` for those of another module;
 * - `npm:<name>`, `jsr:<name>`: a package, by resolved version; `mod:<url>`: a remote module;
 * - `loader:<name>`: the loader of dep or out `name` (`loader:out:<name>` for an
 *   out whose name is also a dep's).
 *
 * @module
 */

import type { CallSite, StageDef } from "../model/stage_def.ts";
import { hashBytes, hashJson } from "../storage/hash.ts";
import type { ModuleGraph } from "./_module_graph.ts";
import { toFileUrl } from "../paths.ts";
import type {
  ArtifactsInfo,
  Decl,
  DynamicRef,
  ModuleSummary,
  NameRef,
  Site,
  SiteKind,
  SpecInfo,
  Unit,
} from "./_summary.ts";

/** Where a manifest entry's code is. */
export interface Location {
  /** Project-relative path. */
  readonly file: string;
  /** 1-based line. */
  readonly line: number;
}

/** One manifest entry. */
export interface Entry {
  readonly hash: string;
  readonly location: Location;
}

/** What the resolver works on. */
export interface ResolveInput {
  /** Local modules, merged over every entry's graph. */
  readonly graph: ModuleGraph;
  /** Summaries of the local modules that exist. */
  readonly summaries: ReadonlyMap<string, ModuleSummary>;
  /** Content hash of each local module, by URL (for the fallback). */
  readonly contentHashes: ReadonlyMap<string, string>;
  /** Project-relative path of a local module URL. */
  readonly relativePath: (url: string) => string;
}

/** What a name binds to: a declaration (or one member of its object literal), a namespace, a package. */
type Binding =
  | { readonly decl: string; readonly name: string; readonly member?: string }
  | { readonly ns: string }
  | { readonly key: string; readonly hash: string; readonly location: Location };

/** Build the manifest of one stage: entries by key (unsorted). */
export async function resolveStage(
  stage: StageDef,
  input: ResolveInput,
): Promise<Map<string, Entry>> {
  let fills = fillIndexes.get(input);
  if (!fills) {
    fills = await new StageResolver(input, new Map()).fillIndex();
    fillIndexes.set(input, fills);
  }
  return await new StageResolver(input, fills).resolve(stage);
}

/** The statements that fill a declaration, from one module. */
interface FillGroup {
  /** The module holding the statements. */
  readonly url: string;
  /** Their units, in source order. */
  readonly units: Unit[];
  /** One hash for all of them. */
  readonly hash: string;
}

/** Fills by declaration (`url#name`), built once per input and shared by its stages. */
type FillIndex = ReadonlyMap<string, readonly FillGroup[]>;

const fillIndexes = new WeakMap<ResolveInput, FillIndex>();

/** A stage-declaring call and its module. */
interface SiteAt {
  readonly url: string;
  readonly site: Site;
}

/** One module's calls of one kind group, by exact position and by line. */
interface ModuleSites {
  readonly all: Site[];
  readonly exact: Map<string, Site>;
  readonly byLine: Map<number, Site[]>;
}

/**
 * Every stage-declaring call of the input, built once per input and shared
 * by its stages (a lookup per stage, not a scan: 10,000 stages meet 10,000
 * calls).
 */
interface SiteIndex {
  /** By module URL, then `define` or `stage` (which holds `register` too). */
  readonly modules: Map<string, Record<"define" | "stage", ModuleSites>>;
  /** `stage`/`register` calls that write the stage's name as a literal, by that name. */
  readonly named: Map<string, SiteAt[]>;
  /** `stage`/`register` calls whose name is computed: they may register any name. */
  readonly unnamed: SiteAt[];
}

const siteIndexes = new WeakMap<ResolveInput, SiteIndex>();

function siteIndexOf(input: ResolveInput): SiteIndex {
  let index = siteIndexes.get(input);
  if (index) return index;
  index = { modules: new Map(), named: new Map(), unnamed: [] };
  const empty = (): ModuleSites => ({ all: [], exact: new Map(), byLine: new Map() });
  for (const [url, summary] of input.summaries) {
    const groups = { define: empty(), stage: empty() };
    for (const site of summary.sites) {
      const group = groups[site.k === "define" ? "define" : "stage"];
      group.all.push(site);
      const at = `${site.l}:${site.c}`;
      if (!group.exact.has(at)) group.exact.set(at, site);
      const line = group.byLine.get(site.l) ?? [];
      line.push(site);
      group.byLine.set(site.l, line);
      if (site.k === "define") continue;
      if (site.nm === undefined) {
        index.unnamed.push({ url, site });
      } else {
        const list = index.named.get(site.nm) ?? [];
        list.push({ url, site });
        index.named.set(site.nm, list);
      }
    }
    index.modules.set(url, groups);
  }
  siteIndexes.set(input, index);
  return index;
}
const relativePaths = new WeakMap<ResolveInput, Map<string, string>>();

class StageResolver {
  readonly #input: ResolveInput;
  readonly #fills: FillIndex;
  readonly #paths: Map<string, string>;
  readonly #entries = new Map<string, Entry>();
  readonly #visited = new Set<string>();
  #home = "";

  constructor(input: ResolveInput, fills: FillIndex) {
    this.#input = input;
    this.#fills = fills;
    this.#paths = relativePaths.get(input) ?? new Map();
    relativePaths.set(input, this.#paths);
  }

  /** Resolve the target of every fill statement of every module to its declaration. */
  async fillIndex(): Promise<FillIndex> {
    const byDecl = new Map<string, Map<string, Unit[]>>();
    for (const [url, summary] of this.#input.summaries) {
      for (const fill of summary.fills) {
        const ids = new Set<string>();
        for (const target of fill.t) {
          const binding = this.#resolveRef(url, target);
          if (binding && "decl" in binding) ids.add(binding.decl + "#" + binding.name);
        }
        for (const target of fill.a ?? []) {
          const binding = this.#resolveRef(url, target);
          if (
            binding && "decl" in binding && this.#decl(binding.decl, binding.name)?.k === "const"
          ) {
            ids.add(binding.decl + "#" + binding.name);
          }
        }
        for (const id of ids) {
          const byModule = byDecl.get(id) ?? new Map<string, Unit[]>();
          byDecl.set(id, byModule);
          byModule.set(url, [...byModule.get(url) ?? [], fill.u]);
        }
      }
    }
    const index = new Map<string, FillGroup[]>();
    for (const [id, byModule] of byDecl) {
      const groups: FillGroup[] = [];
      for (const [url, units] of byModule) {
        const hash = units.length === 1
          ? units[0].h
          : await hashBytes(units.map((u) => u.h).join(" "));
        groups.push({ url, units, hash });
      }
      index.set(id, groups);
    }
    return index;
  }

  async resolve(stage: StageDef): Promise<Map<string, Entry>> {
    const code = stage.code;
    let located: { spec: SpecInfo; url: string } | undefined;
    let fallback: { url: string; line: number };
    if (code.kind === "command") {
      throw new Error(`stage '${stage.name}' runs a command: it has no code to analyse`);
    }
    if (code.kind === "export") {
      fallback = { url: code.moduleUrl, line: 1 };
      const binding = this.#exportOf(code.moduleUrl, code.exportName, new Set());
      if (binding && "decl" in binding) {
        this.#self(binding);
        return this.#entries;
      }
    } else {
      let site = code.site;
      if (site.line === 0) {
        // Registered without a line (past EXACT_SITES in straight-line code):
        // the one call that can register this name, else every module that could.
        const candidates = this.#callsNaming(stage.name);
        if (candidates.length !== 1) {
          const urls = [...new Set(candidates.map((c) => c.url))];
          await this.#wholeModules(urls.length > 0 ? urls : [code.moduleUrl]);
          await this.#loaders(stage, urls[0] ?? code.moduleUrl, undefined);
          return this.#entries;
        }
        const [{ url, site: call }] = candidates;
        site = { url, line: call.l, column: call.c };
      }
      fallback = { url: site.url, line: site.line };
      located = this.#locateSpec(site, code.definitionSite);
      if (located?.spec.run && this.#run(located.url, located.spec)) {
        await this.#loaders(stage, located.url, located.spec);
        // Only a spec written in the call itself can close over what encloses the call.
        const call = this.#findSite(site, ["stage", "register"]);
        if (call?.n && call.spec === located.spec) {
          this.#nested(site.url, call.n, stage.pipeline.file);
        }
        return this.#entries;
      }
    }
    // The run function could not be found statically: take its whole module.
    await this.#wholeModule(fallback.url, fallback.line);
    await this.#loaders(stage, located?.url ?? fallback.url, located?.spec);
    return this.#entries;
  }

  // --- locating the stage ----------------------------------------------------

  #locateSpec(
    site: CallSite,
    definitionSite: CallSite | undefined,
  ): { spec: SpecInfo; url: string } | undefined {
    if (definitionSite) {
      const definition = this.#findSite(definitionSite, ["define"]);
      if (definition?.spec) return { spec: definition.spec, url: definitionSite.url };
    }
    const call = this.#findSite(site, ["stage", "register"]);
    if (!call) return undefined;
    if (call.spec) return { spec: call.spec, url: site.url };
    if (call.ref) {
      const binding = this.#resolveRef(site.url, call.ref);
      if (binding && "decl" in binding) {
        const decl = this.#decl(binding.decl, binding.name);
        if (decl?.spec) return { spec: decl.spec, url: binding.decl };
      }
    }
    return undefined;
  }

  /**
   * The call at `site`: V8 reports the position of the callee's name, so an
   * exact match is the rule; otherwise the nearest call on the line, then the
   * smallest call spanning it.
   */
  #findSite(site: CallSite, kinds: readonly SiteKind[]): Site | undefined {
    const group = siteIndexOf(this.#input).modules.get(site.url)?.[
      kinds.includes("define") ? "define" : "stage"
    ];
    if (!group || group.all.length === 0) return undefined;
    const exact = group.exact.get(`${site.line}:${site.column}`);
    if (exact) return exact;
    const onLine = group.byLine.get(site.line) ?? [];
    if (onLine.length > 0) {
      return onLine.reduce((a, b) =>
        Math.abs(a.c - site.column) <= Math.abs(b.c - site.column) ? a : b
      );
    }
    const spanning = group.all.filter((s) => s.sl <= site.line && site.line <= s.el);
    if (spanning.length > 0) return spanning.reduce((a, b) => (a.el - a.sl <= b.el - b.sl ? a : b));
    return undefined;
  }

  /**
   * The calls that may have registered stage `name`: those writing it as a
   * literal and those computing their name. A call writing another literal
   * cannot have.
   */
  #callsNaming(name: string): SiteAt[] {
    const index = siteIndexOf(this.#input);
    return [...index.named.get(name) ?? [], ...index.unnamed];
  }

  /**
   * The fallback for a stage whose call is one of several modules' calls:
   * every one of those modules whole (the first as `self:run`, the others
   * under `mod:<path>`), and what their declarations reach.
   */
  async #wholeModules(urls: readonly string[]): Promise<void> {
    const [first, ...others] = urls;
    await this.#wholeModule(first, 1);
    for (const url of others) {
      const hash = this.#input.contentHashes.get(url) ?? await hashBytes(url);
      this.#set(`mod:${this.#relative(url)}`, hash, url, 1);
      const summary = this.#input.summaries.get(url);
      for (const name of Object.keys(summary?.decls ?? {})) this.#addDecl(url, name);
      if (summary) this.#followUnit(url, { h: "", l: 1, ...summary.rest });
    }
  }

  // --- the run function --------------------------------------------------------

  /** Record `self:run` and what it reaches; false when it cannot be resolved. */
  #run(url: string, spec: SpecInfo): boolean {
    const run = spec.run!;
    if ("u" in run) {
      this.#home = url;
      this.#set("self:run", run.u.h, url, run.u.l);
      this.#followUnit(url, run.u);
      return true;
    }
    const binding = this.#resolveRef(url, run.ref);
    if (!binding) return false;
    if ("decl" in binding) {
      this.#self(binding);
    } else if ("key" in binding) {
      this.#home = url;
      this.#entries.set("self:run", { hash: binding.hash, location: binding.location });
    } else {
      return false;
    }
    return true;
  }

  /** A run function declared at module level (or a member of one): its name is not part of the stage. */
  #self(binding: { decl: string; name: string; member?: string }): void {
    const { decl: url, name, member } = binding;
    const decl = this.#decl(url, name);
    if (!decl) return;
    this.#home = url;
    const unit = member === undefined ? decl : decl.m![member];
    this.#visited.add(url + "#" + name + (member === undefined ? "" : "." + member));
    this.#set("self:run", unit.h, url, unit.l);
    this.#followUnit(url, unit);
    if (member === undefined) this.#addFills(url, name, "self:run");
  }

  async #wholeModule(url: string, line: number): Promise<void> {
    this.#home = url;
    const hash = this.#input.contentHashes.get(url) ?? await hashBytes(url);
    this.#set("self:run", hash, url, line);
    const summary = this.#input.summaries.get(url);
    for (const name of Object.keys(summary?.decls ?? {})) this.#addDecl(url, name);
    // `add("x", helpers.f)` registering a stage through a factory: what it passes counts.
    if (summary) this.#followUnit(url, { h: "", l: line, ...summary.rest });
  }

  /**
   * A stage declared inside a function or a loop: its run function may call
   * what that code was given. Follow the enclosing declarations, and what the
   * top-level statements of its module and of the pipeline module reference
   * (where `add("x", helpers.f)` passes it).
   */
  #nested(url: string, enclosing: readonly string[], pipelineFile: string): void {
    for (const name of enclosing) this.#addDecl(url, name);
    const pipelineUrl = toFileUrl(pipelineFile);
    for (const module of new Set([url, pipelineUrl])) {
      const summary = this.#input.summaries.get(module);
      if (summary) this.#followUnit(module, { h: "", l: 1, ...summary.rest });
    }
  }

  // --- loaders -----------------------------------------------------------------

  async #loaders(stage: StageDef, url: string, spec: SpecInfo | undefined): Promise<void> {
    const depNames = new Set(stage.deps.map((d) => d.name));
    const groups = [
      { artifacts: stage.deps, info: spec?.deps },
      { artifacts: stage.outs, info: spec?.outs },
    ];
    for (const [index, { artifacts, info }] of groups.entries()) {
      for (const artifact of artifacts) {
        const key = index === 1 && depNames.has(artifact.name)
          ? `loader:out:${artifact.name}`
          : `loader:${artifact.name}`;
        const found = info ? this.#findArtifact(url, info, artifact.name, new Set()) : undefined;
        const location = {
          file: this.#relative(found?.url ?? url),
          line: found?.line ?? spec?.l ?? 1,
        };
        if (artifact.loader) {
          // A built-in loader: what matters is its kind and options.
          this.#entries.set(key, { hash: await loaderHash(artifact.loader), location });
        } else if (found && found.units.length > 0) {
          const hash = found.units.length === 1
            ? found.units[0].h
            : await hashBytes(found.units.map((u) => u.h).join(" "));
          this.#entries.set(key, { hash, location });
          for (const unit of found.units) this.#followUnit(found.url, unit);
        } else {
          // A custom loader we cannot see: its module's content stands in for it.
          const hash = this.#input.contentHashes.get(url) ?? await hashBytes(url);
          this.#entries.set(key, { hash, location });
        }
      }
    }
  }

  /** The loader code of artifact `name` in a `deps`/`outs` value. */
  #findArtifact(
    url: string,
    info: ArtifactsInfo,
    name: string,
    seen: Set<string>,
  ): { url: string; line: number; units: Unit[] } | undefined {
    if ("props" in info) {
      const prop = info.props[name];
      if (prop) return { url, line: prop.l, units: prop.u ? [prop.u] : [] };
      return info.rest.length > 0 ? { url, line: info.l, units: info.rest } : undefined;
    }
    if ("u" in info) return { url, line: info.u.l, units: [info.u] };
    const binding = this.#resolveRef(url, info.ref);
    if (!binding || !("decl" in binding)) return undefined;
    const id = binding.decl + "#" + binding.name;
    if (seen.has(id)) return undefined;
    seen.add(id);
    const decl = this.#decl(binding.decl, binding.name);
    if (!decl) return undefined;
    if (decl.arts) return this.#findArtifact(binding.decl, decl.arts, name, seen);
    return { url: binding.decl, line: decl.l, units: [decl] };
  }

  // --- following references ------------------------------------------------------

  #followUnit(url: string, unit: Unit): void {
    for (const ref of unit.r) this.#add(this.#resolveRef(url, ref));
    for (const dyn of unit.d ?? []) this.#followDynamic(url, dyn);
  }

  #followDynamic(url: string, dyn: DynamicRef): void {
    const target = this.#input.graph[url]?.deps[dyn.s];
    if (!target) return;
    if (target.kind === "package") {
      this.#add({ ...target, location: this.#location(url, 1) });
    } else if (dyn.m) {
      for (const member of dyn.m) this.#add(this.#exportOf(target.url, member, new Set()));
    } else {
      this.#add({ ns: target.url });
    }
  }

  /**
   * What `ref` (`name` or `ns.member…`) in module `url` binds to. A member
   * read from a declaration's object literal binds to that member alone,
   * unless it reads `this` or statements elsewhere store into the object.
   */
  #resolveRef(url: string, ref: NameRef): Binding | undefined {
    let binding = this.#bindingOf(url, ref[0]);
    let i = 1;
    for (; binding && "ns" in binding && i < ref.length; i++) {
      binding = this.#exportOf(binding.ns, ref[i], new Set());
    }
    if (binding && "decl" in binding && i < ref.length) {
      const members = this.#decl(binding.decl, binding.name)?.m;
      const member = members && Object.hasOwn(members, ref[i]) ? members[ref[i]] : undefined;
      if (member && !member.w && !this.#fills.has(binding.decl + "#" + binding.name)) {
        return { decl: binding.decl, name: binding.name, member: ref[i] };
      }
    }
    return binding;
  }

  #bindingOf(url: string, name: string): Binding | undefined {
    const summary = this.#input.summaries.get(url);
    if (!summary) return undefined;
    if (Object.hasOwn(summary.decls, name)) return { decl: url, name };
    const imported = summary.imports[name];
    if (imported) return this.#importTarget(url, imported.s, imported.n, imported.l, new Set());
    return undefined; // a global
  }

  #importTarget(
    url: string,
    specifier: string,
    name: string,
    line: number,
    seen: Set<string>,
  ): Binding | undefined {
    const target = this.#input.graph[url]?.deps[specifier];
    if (!target) return undefined;
    if (target.kind === "package") return { ...target, location: this.#location(url, line) };
    return name === "*" ? { ns: target.url } : this.#exportOf(target.url, name, seen);
  }

  #exportOf(url: string, name: string, seen: Set<string>): Binding | undefined {
    const id = url + "#" + name;
    if (seen.has(id)) return undefined;
    seen.add(id);
    const summary = this.#input.summaries.get(url);
    if (!summary) return undefined;
    const exported = summary.exports[name];
    if (exported) {
      return "local" in exported
        ? this.#bindingOf(url, exported.local)
        : this.#importTarget(url, exported.s, exported.n, exported.l, seen);
    }
    if (name === "default") return undefined;
    // `export *`: a local module that has the name wins over a package.
    let fromPackage: Binding | undefined;
    for (const star of summary.stars) {
      const target = this.#input.graph[url]?.deps[star];
      if (target?.kind === "local") {
        const found = this.#exportOf(target.url, name, seen);
        if (found) return found;
      } else if (target && !fromPackage) {
        fromPackage = { ...target, location: this.#location(url, 1) };
      }
    }
    return fromPackage;
  }

  /** Every export name of a module (its own and through `export *`). */
  #exportNames(url: string, seen: Set<string>, into: Set<string>): Set<string> {
    if (seen.has(url)) return into;
    seen.add(url);
    const summary = this.#input.summaries.get(url);
    if (!summary) return into;
    for (const name of Object.keys(summary.exports)) into.add(name);
    for (const star of summary.stars) {
      const target = this.#input.graph[url]?.deps[star];
      if (target?.kind === "local") {
        const names = this.#exportNames(target.url, seen, new Set());
        names.delete("default");
        for (const name of names) into.add(name);
      }
    }
    return into;
  }

  #add(binding: Binding | undefined): void {
    if (!binding) return;
    if ("decl" in binding) {
      return binding.member === undefined
        ? this.#addDecl(binding.decl, binding.name)
        : this.#addMember(binding.decl, binding.name, binding.member);
    }
    if ("ns" in binding) {
      // The namespace is used as a whole (`Object.keys(u)`, `u[name]`): every export counts.
      const id = binding.ns + "#*";
      if (this.#visited.has(id)) return;
      this.#visited.add(id);
      for (const name of this.#exportNames(binding.ns, new Set(), new Set())) {
        this.#add(this.#exportOf(binding.ns, name, new Set()));
      }
      return;
    }
    if (!this.#entries.has(binding.key)) {
      this.#entries.set(binding.key, { hash: binding.hash, location: binding.location });
    }
  }

  #addDecl(url: string, name: string): void {
    const id = url + "#" + name;
    if (this.#visited.has(id)) return;
    this.#visited.add(id);
    const decl = this.#decl(url, name);
    if (!decl) return;
    const key = this.#declKey(url, name, decl);
    this.#set(key, decl.h, url, decl.l);
    this.#followUnit(url, decl);
    this.#addFills(url, name, key);
  }

  /** One member of a declaration's object literal (the whole declaration covers it too). */
  #addMember(url: string, name: string, member: string): void {
    const id = url + "#" + name + "." + member;
    if (this.#visited.has(url + "#" + name) || this.#visited.has(id)) return;
    this.#visited.add(id);
    const decl = this.#decl(url, name)!;
    const unit = decl.m![member];
    this.#set(`${this.#declKey(url, name, decl)}.${member}`, unit.h, url, unit.l);
    this.#followUnit(url, unit);
  }

  /** The statements that store into declaration `name`, under `<key>+fill…`, and what they reach. */
  #addFills(url: string, name: string, key: string): void {
    for (const group of this.#fills.get(url + "#" + name) ?? []) {
      const suffix = group.url === url ? "" : ":" + this.#relative(group.url);
      this.#set(`${key}+fill${suffix}`, group.hash, group.url, group.units[0].l);
      for (const unit of group.units) this.#followUnit(group.url, unit);
    }
  }

  #declKey(url: string, name: string, decl: Decl): string {
    return url === this.#home ? `${decl.k}:${name}` : `mod:${this.#relative(url)}#${name}`;
  }

  #decl(url: string, name: string): Decl | undefined {
    const decls = this.#input.summaries.get(url)?.decls;
    return decls && Object.hasOwn(decls, name) ? decls[name] : undefined;
  }

  #set(key: string, hash: string, url: string, line: number): void {
    this.#entries.set(key, { hash, location: this.#location(url, line) });
  }

  #location(url: string, line: number): Location {
    return { file: this.#relative(url), line };
  }

  /** The project-relative path of a module (memoised: every entry needs one). */
  #relative(url: string): string {
    let path = this.#paths.get(url);
    if (path === undefined) {
      path = this.#input.relativePath(url);
      this.#paths.set(url, path);
    }
    return path;
  }
}

/**
 * The hash of a built-in loader's kind and options (keys sorted), memoised by
 * its plain JSON: 10,000 stages mostly share a few loaders, and sorting keys
 * calls back into JavaScript for every value.
 */
function loaderHash(loader: NonNullable<StageDef["deps"][number]["loader"]>): Promise<string> {
  const id = JSON.stringify(loader);
  let hash = loaderHashes.get(id);
  if (hash === undefined) {
    hash = hashJson(loader);
    if (loaderHashes.size >= 10_000) loaderHashes.clear();
    loaderHashes.set(id, hash);
  }
  return hash;
}

const loaderHashes = new Map<string, Promise<string>>();
