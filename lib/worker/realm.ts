/**
 * The shared JavaScript state of a warm worker, and whether a stage changed
 * it. A warm worker runs many stages one after another in one realm, so a
 * stage that replaces `JSON.stringify`, adds a global, patches
 * `Array.prototype` or replaces `Math.random` would change what later stages
 * compute. A {@link RealmSnapshot} records the intrinsics and globals as they
 * are between runs; {@link RealmSnapshot.changes} says what a run changed, and
 * a worker whose realm changed is never given another stage (see
 * `docs/isolation.md`).
 *
 * What is recorded: every own property of `globalThis` (its descriptor, so a
 * global redefined with a getter counts) and, for every object reachable from
 * the global data properties in two steps (the built-in constructors and
 * their prototypes, `JSON`, `Math`, `Reflect`, `Intl.*`, `Deno.*`,
 * `WebAssembly.*`…), plus the intrinsics no global names (the iterator and
 * generator prototypes, `%TypedArray%`), its own property descriptors, its
 * prototype and whether it is extensible. Globals that Deno defines as lazy
 * getters (`process`, `setTimeout`, the streams) are recorded as getters
 * without calling them: calling them would load Node compatibility (40-90 ms a
 * worker) for every stage.
 *
 * Deno itself changes a few of these the first time a stage uses Node
 * compatibility (`node:fs` adds `console._stdout`, `node:worker_threads`
 * replaces `MessageChannel`, `node:http` adds Node's timing functions to
 * `performance`…): those properties, listed in {@link IGNORED}, `performance`
 * (timing only) and Deno's internal namespace are not recorded. `tests/worker/realm_test.ts`
 * imports every Node module in a fresh worker to catch new ones.
 *
 * Comparing costs about 0.4 ms a run (2,600 properties of 420 objects); the
 * snapshot is taken once a worker has imported the pipeline's modules, so
 * what a module does when it is imported is the baseline, not a change.
 *
 * @module
 */

/**
 * Properties Deno changes by itself when a stage first uses Node
 * compatibility (Deno 2.9), by the label of their object.
 */
const IGNORED: ReadonlyMap<string, ReadonlySet<PropertyKey>> = new Map([
  ["globalThis", new Set<PropertyKey>(["nodeBootstrap", "MessageChannel", "MessagePort"])],
  ["console", new Set<PropertyKey>(["_stdout", "_stderr", "Console"])],
  ["MessagePort.prototype", new Set<PropertyKey>(["constructor"])],
]);

/**
 * Objects whose added properties are looked for too (a key count costs
 * about 0.5 µs an object, so not every object gets one): the global scope,
 * Deno's namespace, and the JavaScript built-ins whose additions change
 * what other code does (`BigInt.prototype.toJSON` changes `JSON.stringify`,
 * an enumerable `Object.prototype` key shows in every `for…in`).
 */
const KEYS_WATCHED = new Set([
  "globalThis",
  "Deno",
  "JSON",
  "Math",
  "Reflect",
  "Object",
  ...["Object", "Function", "Array", "String", "Number", "BigInt", "Map", "Set", "Promise"].map(
    (name) => `${name}.prototype`,
  ),
]);

/** Deno's internal namespace (`Deno[Deno.internal]`): its own business. */
const DENO_INTERNAL: unknown = (() => {
  const symbol = (Deno as unknown as { internal?: symbol }).internal;
  return symbol === undefined ? undefined : (Deno as unknown as Record<symbol, unknown>)[symbol];
})();

type Named = readonly [label: string, object: object];

/** Intrinsics reachable from no global name. */
function hiddenIntrinsics(): Named[] {
  const proto = (value: object) => Object.getPrototypeOf(value) as object;
  const arrayIterator = proto([][Symbol.iterator]());
  return [
    ["%IteratorPrototype%", proto(arrayIterator)],
    ["%ArrayIteratorPrototype%", arrayIterator],
    ["%MapIteratorPrototype%", proto(new Map()[Symbol.iterator]())],
    ["%SetIteratorPrototype%", proto(new Set()[Symbol.iterator]())],
    ["%StringIteratorPrototype%", proto(""[Symbol.iterator]())],
    ["%RegExpStringIteratorPrototype%", proto(/x/[Symbol.matchAll](""))],
    ["%GeneratorFunction.prototype%", proto(function* () {})],
    ["%GeneratorPrototype%", proto(proto(function* () {}()))],
    ["%AsyncFunction.prototype%", proto(async function () {})],
    ["%AsyncGeneratorFunction.prototype%", proto(async function* () {})],
    ["%AsyncGeneratorPrototype%", proto(proto(async function* () {}()))],
    ["%TypedArray%", proto(Uint8Array)],
    ["%TypedArray%.prototype", proto(Uint8Array.prototype)],
  ];
}

function isObject(value: unknown): value is object {
  return (typeof value === "object" && value !== null) || typeof value === "function";
}

/** The own data-property values of `object` that are objects, with labels under `label`. */
function children(label: string, object: object): Named[] {
  const found: Named[] = [];
  for (const key of Reflect.ownKeys(object)) {
    const descriptor = Reflect.getOwnPropertyDescriptor(object, key);
    if (descriptor === undefined || !("value" in descriptor) || !isObject(descriptor.value)) {
      continue;
    }
    const name = typeof key === "symbol" ? `[${key.description}]` : key;
    found.push([label === "globalThis" ? name : `${label}.${name}`, descriptor.value]);
  }
  return found;
}

/**
 * The globals whose objects are recorded, with their prototypes: the
 * JavaScript built-ins, and the parts of Deno and the web platform that
 * stages compute and do I/O with. (Every global is recorded as a property of
 * `globalThis`; these are the ones whose own properties are, too.)
 */
const ROOTS = [
  "Object",
  "Function",
  "Array",
  "String",
  "Number",
  "Boolean",
  "BigInt",
  "Symbol",
  "Math",
  "JSON",
  "Reflect",
  "Promise",
  "Map",
  "Set",
  "WeakMap",
  "WeakSet",
  "WeakRef",
  "FinalizationRegistry",
  "Date",
  "RegExp",
  "Error",
  "AggregateError",
  "EvalError",
  "RangeError",
  "ReferenceError",
  "SyntaxError",
  "TypeError",
  "URIError",
  "ArrayBuffer",
  "SharedArrayBuffer",
  "DataView",
  "Atomics",
  "Iterator",
  "Int8Array",
  "Uint8Array",
  "Uint8ClampedArray",
  "Int16Array",
  "Uint16Array",
  "Int32Array",
  "Uint32Array",
  "Float32Array",
  "Float64Array",
  "BigInt64Array",
  "BigUint64Array",
  "Intl",
  "Temporal",
  "Deno",
  "console",
  "URL",
  "URLSearchParams",
];

/**
 * Roots whose classes (`Intl.NumberFormat`, `Deno.FsFile`) are recorded too,
 * with their prototypes. (Not `Temporal`: its classes hold a hundred getters,
 * a third of the cost of a check, for an API stages rarely patch.)
 */
const NAMESPACES = new Set(["Intl", "Deno"]);

/** Every object the snapshot records, each once, with the first label that reached it. */
function objectsToRecord(): Named[] {
  const seen = new Set<object>();
  const named: Named[] = [];
  const add = (label: string, object: unknown) => {
    if (!isObject(object) || seen.has(object) || object === DENO_INTERNAL) return;
    seen.add(object);
    named.push([label, object]);
  };
  const withPrototype = (label: string, object: unknown) => {
    add(label, object);
    if (typeof object !== "function") return;
    const prototype = Reflect.getOwnPropertyDescriptor(object, "prototype")?.value;
    add(`${label}.prototype`, prototype);
  };
  add("globalThis", globalThis);
  for (const root of ROOTS) {
    // Only data properties: a lazy getter is not called (see the module doc).
    const value = Reflect.getOwnPropertyDescriptor(globalThis, root)?.value;
    withPrototype(root, value);
    if (!NAMESPACES.has(root) || !isObject(value)) continue;
    for (const [label, child] of children(root, value)) {
      const isClass = typeof child === "function" &&
        isObject(Reflect.getOwnPropertyDescriptor(child, "prototype")?.value);
      if (isClass || typeof child === "object") withPrototype(label, child);
    }
  }
  for (const [label, object] of hiddenIntrinsics()) add(label, object);
  // Prototypes of what is recorded (`Object.prototype`, `Function.prototype`,
  // `Error.prototype`…) when no name reached them.
  for (let i = 0; i < named.length; i++) {
    const proto = Object.getPrototypeOf(named[i][1]);
    if (proto !== null) add(`Object.getPrototypeOf(${named[i][0]})`, proto);
  }
  return named;
}

function ownKeys(object: object, ignored: ReadonlySet<PropertyKey> | undefined): PropertyKey[] {
  const keys = Reflect.ownKeys(object);
  return ignored === undefined ? keys : keys.filter((key) => !ignored.has(key));
}

function keyName(key: PropertyKey): string {
  return typeof key === "symbol" ? `[${key.description}]` : String(key);
}

function propertyLabel(label: string, key: PropertyKey): string {
  return label === "globalThis" ? keyName(key) : `${label}.${keyName(key)}`;
}

/** An object whose added or removed keys are looked for. */
interface WatchedKeys {
  readonly index: number;
  readonly keys: readonly PropertyKey[];
  readonly ignored: ReadonlySet<PropertyKey> | undefined;
}

/**
 * The worker's intrinsics and globals at one moment.
 *
 * @example
 * ```ts
 * const snapshot = RealmSnapshot.take();
 * (globalThis as Record<string, unknown>).leftover = 1;
 * snapshot.changes(); // ["leftover"]
 * delete (globalThis as Record<string, unknown>).leftover;
 * snapshot.changes(); // []
 * ```
 */
export class RealmSnapshot {
  // Flat arrays, one loop each: comparing runs after every stage, and a
  // per-object loop (or a descriptor per property) costs several times more.
  readonly #labels: string[] = [];
  readonly #objects: object[] = [];
  readonly #protos: (object | null)[] = [];
  readonly #extensible: boolean[] = [];
  readonly #dataOwners: number[] = [];
  readonly #dataKeys: PropertyKey[] = [];
  readonly #dataValues: unknown[] = [];
  readonly #accessorOwners: number[] = [];
  readonly #accessorKeys: PropertyKey[] = [];
  /** Getter and setter of each accessor (two per key). */
  readonly #accessors: unknown[] = [];
  readonly #watched: WatchedKeys[] = [];

  private constructor(named: readonly Named[]) {
    for (const [label, object] of named) {
      const index = this.#objects.length;
      this.#labels.push(label);
      this.#objects.push(object);
      this.#protos.push(Object.getPrototypeOf(object));
      this.#extensible.push(Object.isExtensible(object));
      const ignored = IGNORED.get(label);
      const keys = ownKeys(object, ignored);
      for (const key of keys) {
        const descriptor = Reflect.getOwnPropertyDescriptor(object, key)!;
        if ("value" in descriptor) {
          // A read-only value (`Math.PI`, a function's `length`) stays.
          if (descriptor.writable === false) continue;
          this.#dataOwners.push(index);
          this.#dataKeys.push(key);
          this.#dataValues.push(descriptor.value);
        } else {
          this.#accessorOwners.push(index);
          this.#accessorKeys.push(key);
          this.#accessors.push(descriptor.get, descriptor.set);
        }
      }
      if (KEYS_WATCHED.has(label)) this.#watched.push({ index, keys, ignored });
    }
  }

  /** Record the realm as it is now. */
  static take(): RealmSnapshot {
    return new RealmSnapshot(objectsToRecord());
  }

  /** How many objects are recorded. */
  get size(): number {
    return this.#objects.length;
  }

  /**
   * What differs from the snapshot, one name per changed object (the first
   * changed property of each: `JSON.stringify`, `Array.prototype.map`, a
   * global's name), at most `limit` of them; empty when nothing changed.
   *
   * Data properties are read directly (a descriptor costs an allocation):
   * a value replaced, or deleted, reads differently. Accessors are compared
   * by their functions; added or removed keys show in the key count, of the
   * objects in {@link KEYS_WATCHED}.
   */
  changes(limit = 3): string[] {
    // Changed properties as [owner index, label] pairs, gathered only when
    // found: the loops themselves allocate nothing.
    const changed: [number, string][] = [];
    const objects = this.#objects;
    const owners = this.#dataOwners;
    const keys = this.#dataKeys;
    const values = this.#dataValues;
    for (let i = 0; i < keys.length; i++) {
      const value = (objects[owners[i]] as Record<PropertyKey, unknown>)[keys[i]];
      if (value !== values[i] && !Object.is(value, values[i])) {
        changed.push([owners[i], propertyLabel(this.#labels[owners[i]], keys[i])]);
      }
    }
    const accessorOwners = this.#accessorOwners;
    const accessorKeys = this.#accessorKeys;
    const accessors = this.#accessors;
    for (let i = 0; i < accessorKeys.length; i++) {
      const descriptor = Reflect.getOwnPropertyDescriptor(
        objects[accessorOwners[i]],
        accessorKeys[i],
      );
      if (descriptor?.get !== accessors[2 * i] || descriptor?.set !== accessors[2 * i + 1]) {
        changed.push([
          accessorOwners[i],
          propertyLabel(this.#labels[accessorOwners[i]], accessorKeys[i]),
        ]);
      }
    }
    const protos = this.#protos;
    const extensible = this.#extensible;
    for (let index = 0; index < objects.length; index++) {
      const object = objects[index];
      if (Object.getPrototypeOf(object) !== protos[index]) {
        changed.push([index, `the prototype of ${this.#labels[index]}`]);
      } else if (Object.isExtensible(object) !== extensible[index]) {
        changed.push([index, `${this.#labels[index]} (frozen or sealed)`]);
      }
    }
    for (const watched of this.#watched) {
      const now = ownKeys(objects[watched.index], watched.ignored);
      if (now.length === watched.keys.length) continue;
      const before = new Set(watched.keys);
      const after = new Set(now);
      const key = now.find((k) => !before.has(k)) ?? watched.keys.find((k) => !after.has(k))!;
      changed.push([watched.index, propertyLabel(this.#labels[watched.index], key)]);
    }
    if (changed.length === 0) return [];
    // One name per changed object, the first found.
    const byObject = new Map<number, string>();
    for (const [index, label] of changed) if (!byObject.has(index)) byObject.set(index, label);
    return [...byObject.values()].slice(0, limit);
  }
}
