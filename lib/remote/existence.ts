/**
 * What a remote holds, learnt by listing and remembered in the state store,
 * so that asking "which of these objects does the remote lack?" costs a few
 * listing requests the first time and none after (docs/remotes.md).
 *
 * The index remembers objects known to be present, with their sizes; objects
 * are immutable and named by content, so a presence once seen stays true
 * unless someone deletes objects from the remote (then a download finds the
 * object missing and the entry is dropped; `refresh` ignores the index).
 * Absence is never remembered: another machine may push at any time.
 *
 * KV layout (values ≤ 64 KiB): `[remote, <remote id>, "objects", <2 hex
 * digits>, <chunk>]` → up to 4,000 packed entries of 16 bytes (8 bytes of
 * hash, the size as a float64); `[remote, <remote id>, "suspect", <hash>]` →
 * true for an object found corrupt on the remote, which the next push
 * uploads again whatever a listing says.
 *
 * @module
 */

import { type Hash, hashBytes } from "../storage/hash.ts";
import { NS, type StateStore } from "../storage/state.ts";
import type { Backend } from "./backend.ts";
import { hashOfKey, objectKey, objectPrefix } from "./layout.ts";
import { WorkQueue } from "./work_queue.ts";

const ENTRY = 16;
const PER_CHUNK = 4_000;

/** The remembered contents of one remote. */
export class RemoteIndex {
  readonly #state: StateStore;
  readonly #id: string;
  readonly #sizes = new Map<Hash, number>();
  readonly #removed = new Set<Hash>();
  readonly #dirty = new Set<string>();
  readonly #suspects = new Set<Hash>();

  private constructor(state: StateStore, id: string) {
    this.#state = state;
    this.#id = id;
  }

  /** Load the index of the remote whose {@link Backend.identity} is `identity`. */
  static async load(state: StateStore, identity: string): Promise<RemoteIndex> {
    const index = new RemoteIndex(state, await hashBytes(identity));
    for (const { value } of await state.list<Uint8Array>(index.#key("objects"))) {
      if (value instanceof Uint8Array) unpack(value, (hash, size) => index.#sizes.set(hash, size));
    }
    for (const { key } of await state.list(index.#key("suspect"))) {
      index.#suspects.add(key[key.length - 1] as string);
    }
    return index;
  }

  /** The KV key prefix of this remote's entries of `kind`. */
  #key(kind: string, ...rest: Deno.KvKeyPart[]): Deno.KvKey {
    return [NS.remote, this.#id, kind, ...rest];
  }

  /** A key under this remote's own part of the state store, for other records (uploads). */
  stateKey(...parts: Deno.KvKeyPart[]): Deno.KvKey {
    return [NS.remote, this.#id, ...parts];
  }

  /** The size the object `hash` is known to have on the remote, or undefined. */
  size(hash: Hash): number | undefined {
    return this.#suspects.has(hash) ? undefined : this.#sizes.get(hash);
  }

  /** Objects known to be present. */
  get count(): number {
    return this.#sizes.size;
  }

  /** Remember that `hash` is present with `size` bytes. */
  add(hash: Hash, size: number): void {
    if (this.#sizes.get(hash) === size && !this.#removed.has(hash)) return;
    this.#sizes.set(hash, size);
    this.#removed.delete(hash);
    this.#dirty.add(hash.slice(0, 2));
  }

  /** Forget `hash` (found missing on the remote). */
  remove(hash: Hash): void {
    this.#sizes.delete(hash);
    this.#removed.add(hash);
    this.#dirty.add(hash.slice(0, 2));
  }

  /** Note that the remote's copy of `hash` is corrupt: the next push replaces it. */
  async markSuspect(hash: Hash): Promise<void> {
    this.remove(hash);
    this.#suspects.add(hash);
    await this.#state.set(this.#key("suspect", hash), true);
  }

  /** True when the remote's copy of `hash` was found corrupt. */
  isSuspect(hash: Hash): boolean {
    return this.#suspects.has(hash);
  }

  /** The remote's copy of `hash` was replaced by a good one. */
  async clearSuspect(hash: Hash): Promise<void> {
    if (!this.#suspects.delete(hash)) return;
    await this.#state.delete(this.#key("suspect", hash));
  }

  /**
   * Write what changed. Each changed bucket is merged with what is stored now
   * (another process may have added to it), then rewritten.
   */
  async save(): Promise<void> {
    if (this.#dirty.size === 0) return;
    const dirty = this.#dirty;
    const merged = new Map<string, { oldChunks: number; entries: Map<Hash, number> }>();
    for (const bucket of dirty) merged.set(bucket, { oldChunks: 0, entries: new Map() });
    // One range read when many buckets changed, else one per bucket.
    const prefixes = dirty.size > 16
      ? [this.#key("objects")]
      : [...dirty].map((bucket) => this.#key("objects", bucket));
    for (const prefix of prefixes) {
      for (const { key, value } of await this.#state.list<Uint8Array>(prefix)) {
        const slot = merged.get(key[3] as string);
        if (!slot) continue;
        slot.oldChunks++;
        if (value instanceof Uint8Array) {
          unpack(value, (hash, size) => slot.entries.set(hash, size));
        }
      }
    }
    for (const [hash, size] of this.#sizes) merged.get(hash.slice(0, 2))?.entries.set(hash, size);
    for (const hash of this.#removed) merged.get(hash.slice(0, 2))?.entries.delete(hash);

    // Many small buckets share a commit; Deno KV caps one at 1,000
    // mutations and 800 KB.
    let atomic = this.#state.kv.atomic();
    let bytes = 0, mutations = 0;
    const add = async (key: Deno.KvKey, value: Uint8Array | undefined) => {
      const size = value?.length ?? 0;
      if (mutations > 0 && (mutations >= 500 || bytes + size > 640_000)) {
        await atomic.commit();
        atomic = this.#state.kv.atomic();
        bytes = mutations = 0;
      }
      if (value) atomic.set(key, value);
      else atomic.delete(key);
      bytes += size + 64;
      mutations++;
    };
    for (const [bucket, { oldChunks, entries }] of [...merged].sort()) {
      const list = [...entries];
      let chunk = 0;
      for (let i = 0; i < list.length; i += PER_CHUNK, chunk++) {
        await add(this.#key("objects", bucket, chunk), pack(list.slice(i, i + PER_CHUNK)));
      }
      for (; chunk < oldChunks; chunk++) await add(this.#key("objects", bucket, chunk), undefined);
    }
    if (mutations > 0) await atomic.commit();
    this.#dirty.clear();
    this.#removed.clear();
  }
}

function pack(entries: readonly [Hash, number][]): Uint8Array {
  const bytes = new Uint8Array(entries.length * ENTRY);
  const view = new DataView(bytes.buffer);
  entries.forEach(([hash, size], i) => {
    view.setUint32(i * ENTRY, parseInt(hash.slice(0, 8), 16));
    view.setUint32(i * ENTRY + 4, parseInt(hash.slice(8), 16));
    view.setFloat64(i * ENTRY + 8, size);
  });
  return bytes;
}

function unpack(bytes: Uint8Array, each: (hash: Hash, size: number) => void): void {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let at = 0; at + ENTRY <= bytes.length; at += ENTRY) {
    const hash = view.getUint32(at).toString(16).padStart(8, "0") +
      view.getUint32(at + 4).toString(16).padStart(8, "0");
    each(hash, view.getFloat64(at + 8));
  }
}

/** How existence was established, for tests and benchmarks. */
export interface ExistencePlan {
  /** `"index"` (nothing asked), `"head"`, or `"list"` at a prefix length. */
  readonly method: "index" | "head" | "list";
  /** Hex digits of the listed prefixes (0 = everything under files/). */
  readonly prefixDigits: number;
  /** Objects the remote was estimated to hold. */
  readonly estimatedObjects: number;
}

/** Options of {@link findPresent}. */
export interface FindOptions {
  /** Parallel requests. */
  readonly jobs: number;
  /** Ignore what the index remembers (re-check everything). */
  readonly refresh?: boolean;
  /** Told which method was chosen. */
  readonly onPlan?: (plan: ExistencePlan) => void;
}

/**
 * Which of `wanted` (hash → expected size, or undefined when unknown) are on
 * the remote with the expected size. Uses the index first; for the rest
 * lists prefixes or asks object by object, whichever takes fewer requests,
 * and remembers every object seen. An object found with another size than
 * expected (a partial object left by a non-atomic server) counts as absent.
 */
export async function findPresent(
  backend: Backend,
  index: RemoteIndex,
  wanted: ReadonlyMap<Hash, number | undefined>,
  options: FindOptions,
): Promise<Set<Hash>> {
  const present = new Set<Hash>();
  const matches = (hash: Hash, size: number | undefined) => {
    const expected = wanted.get(hash);
    return size !== undefined && (expected === undefined || expected === size);
  };
  let unknown: Hash[] = [];
  for (const hash of wanted.keys()) {
    if (!options.refresh && matches(hash, index.size(hash))) present.add(hash);
    else unknown.push(hash);
  }
  if (unknown.length === 0) {
    options.onPlan?.({ method: "index", prefixDigits: 0, estimatedObjects: index.count });
    return present;
  }

  const listed = new Set<string>();
  const record = (objects: readonly { key: string; size: number }[]) => {
    for (const { key, size } of objects) {
      const hash = hashOfKey(key);
      if (hash === undefined || index.isSuspect(hash)) continue;
      index.add(hash, size);
      if (wanted.has(hash) && matches(hash, size)) present.add(hash);
    }
  };
  const listAll = async (
    prefix: string,
    maxPages = Infinity,
  ): Promise<{ count: number; complete: boolean }> => {
    const pages = backend.list(prefix)[Symbol.asyncIterator]();
    let count = 0;
    for (let n = 0;; n++) {
      if (n >= maxPages) {
        await pages.return?.();
        return { count, complete: false };
      }
      const page = await pages.next();
      if (page.done) return { count, complete: true };
      record(page.value);
      count += page.value.length;
    }
  };

  // Probe: list the 2-digit prefix of one unknown hash (up to 10 pages) to
  // estimate how many objects the remote holds.
  const probe = unknown[0]!.slice(0, 2);
  const probed = await listAll(objectPrefix(probe), 10);
  if (probed.complete) listed.add(probe);
  const estimated = probed.complete ? probed.count * 256 : Infinity;
  unknown = unknown.filter((hash) => !present.has(hash) && !listed.has(hash.slice(0, 2)));

  const plan = choosePlan(unknown, estimated, backend.pageSize);
  options.onPlan?.({ ...plan, estimatedObjects: estimated });
  const queue = new WorkQueue(options.jobs);
  if (plan.method === "head") {
    for (const hash of unknown) {
      queue.add(async () => {
        const size = await backend.head(objectKey(hash));
        if (size !== undefined && !index.isSuspect(hash)) {
          index.add(hash, size);
          if (matches(hash, size)) present.add(hash);
        }
      });
    }
  } else {
    const prefixes = new Set(unknown.map((hash) => hash.slice(0, plan.prefixDigits)));
    for (const prefix of prefixes) queue.add(async () => void await listAll(objectPrefix(prefix)));
  }
  await queue.drain();
  return present;
}

/**
 * The cheapest way to learn about `unknown` on a remote of about `objects`
 * objects listed `pageSize` keys per request: one request per object, or one
 * listing per distinct prefix of 0–4 hex digits (each listing costing its
 * pages). A long sequential listing is split into 16 parallel ones.
 */
export function choosePlan(
  unknown: readonly Hash[],
  objects: number,
  pageSize: number,
): { method: "head" | "list"; prefixDigits: number } {
  let best: { method: "head" | "list"; prefixDigits: number; cost: number } = {
    method: "head",
    prefixDigits: 0,
    cost: unknown.length,
  };
  for (let digits = 0; digits <= 4; digits++) {
    const prefixes = new Set(unknown.map((hash) => hash.slice(0, digits))).size;
    const pages = Math.max(1, Math.ceil(objects / 16 ** digits / pageSize));
    const cost = prefixes * pages;
    if (cost < best.cost) best = { method: "list", prefixDigits: digits, cost };
  }
  // Pages of one listing come one after another; 16 listings run in parallel.
  while (
    best.method === "list" && best.prefixDigits < 4 &&
    objects / 16 ** best.prefixDigits / pageSize > 32
  ) best = { ...best, prefixDigits: best.prefixDigits + 1 };
  return { method: best.method, prefixDigits: best.prefixDigits };
}
