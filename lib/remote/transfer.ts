/**
 * Pushing cache objects to a remote and fetching them back: the layer that
 * `push`, `fetch` and `pull` stand on.
 *
 * - Push uploads what the remote lacks (existence.ts: from the index, else by
 *   listing), files before the directory manifests that name them, so a
 *   manifest on the remote means its files are there too and a no-op push of
 *   a directory costs nothing per file. A local object is checked against its
 *   hash before it leaves (a corrupt one is reported and not pushed).
 * - Large objects go up in parts, each part a job of the shared queue, so
 *   memory stays at (jobs × part size). Parts already uploaded are recorded
 *   in the state store as they finish: a killed push resumes its uploads when
 *   run again. Nothing appears under an object's key until the upload is
 *   complete.
 * - Fetch downloads into `<cache>/tmp/`, checks the content hash, and only
 *   then renames the file into the cache. A corrupt remote object is
 *   reported, never enters the cache, and is marked so that the next push
 *   replaces it.
 *
 * Failures of single objects are reported through `onProblem` and counted;
 * a {@link RemoteError} (credentials, bucket, reachability) stops everything.
 *
 * @module
 */

import { dirname, join } from "node:path";
import type { Cache } from "../storage/cache.ts";
import { ensureDir } from "../storage/ensure_dir.ts";
import { type Hash, hashBytes, hashFile } from "../storage/hash.ts";
import { CHUNKED_FROM, type FileStamp, stampOf, type StateStore } from "../storage/state.ts";
import { PivotError } from "../errors.ts";
import { type Backend, RemoteError, TransferError } from "./backend.ts";
import { type ExistencePlan, findPresent, type RemoteIndex } from "./existence.ts";
import { objectKey } from "./layout.ts";
import { TransferProgress, type TransferSummary } from "./progress.ts";
import { WorkQueue } from "./work_queue.ts";

/** Objects smaller than this are read into memory, hashed there and sent in one request. */
const SMALL = 256 * 1024;

/** An opened remote: its backend and what is known of its content. */
export interface Remote {
  /** The remote's name in the config. */
  readonly name: string;
  /** How to reach it. */
  readonly backend: Backend;
  /** What it is known to hold. */
  readonly index: RemoteIndex;
  /** Default parallel transfers. */
  readonly jobs: number;
}

/** An out or tracked path to transfer: a file's hash, or a directory's manifest hash. */
export interface TransferTarget {
  /** Content hash (a directory's manifest hash when `isDir`). */
  readonly hash: Hash;
  /** True for a directory. */
  readonly isDir: boolean;
}

/** Options of {@link pushObjects} and {@link fetchObjects}. */
export interface TransferOptions {
  /** Parallel transfers (default: the remote's). */
  readonly jobs?: number;
  /** Counts what is done (and draws the status line). */
  readonly progress?: TransferProgress;
  /** Told, one line each, of objects that could not be transferred. */
  readonly onProblem?: (message: string) => void;
  /** Ignore the remembered index and check the remote itself. */
  readonly refresh?: boolean;
  /** Told how existence was checked (tests, benchmarks). */
  readonly onPlan?: (plan: ExistencePlan) => void;
  /**
   * Fetch only: write a second, writable copy of each small object (those
   * downloaded into memory) and offer it to the cache ({@link
   * Cache.offerCopy}), for a checkout by copy right after (`pull`, where
   * the filesystem cannot clone): checkout then renames it into place.
   */
  readonly prepareCopies?: boolean;
  /**
   * Stops the transfer (Ctrl-C): no new object starts, those in flight
   * finish or fail, parts already uploaded stay recorded for a resume, and
   * the call rejects with a {@link TransferCancelled}.
   */
  readonly signal?: AbortSignal;
}

/** A transfer stopped by its signal: what was done stays done; running it again finishes it. */
export class TransferCancelled extends PivotError {
  override name = "TransferCancelled";

  /** `verb`: "push", "fetch". */
  constructor(verb: string) {
    super(`${verb} cancelled: what was transferred stays; run it again to finish`, {
      exitCode: 130,
    });
  }
}

interface Context {
  readonly remote: Remote;
  readonly cache: Cache;
  readonly state: StateStore;
  readonly progress: TransferProgress;
  readonly problem: (message: string) => void;
  readonly queue: WorkQueue;
  readonly jobs: number;
  readonly prepareCopies: boolean;
  /**
   * Fetch: the files of large directories ({@link CHUNKED_FROM} files or
   * more), whose objects' stamps are kept in `kept` when downloaded, for
   * chunks by manifest, instead of remembered one by one.
   */
  readonly chunked: Set<Hash>;
  readonly kept: Map<Hash, FileStamp>;
}

function contextOf(
  verb: string,
  remote: Remote,
  cache: Cache,
  state: StateStore,
  options: TransferOptions,
): Context {
  const jobs = options.jobs ?? remote.jobs;
  const queue = new WorkQueue(jobs);
  const { signal } = options;
  if (signal?.aborted) throw new TransferCancelled(verb);
  signal?.addEventListener("abort", () => queue.stop(new TransferCancelled(verb)), { once: true });
  return {
    remote,
    cache,
    state,
    progress: options.progress ?? new TransferProgress({ verb }),
    problem: options.onProblem ?? (() => {}),
    queue,
    jobs,
    prepareCopies: options.prepareCopies ?? false,
    chunked: new Set(),
    kept: new Map(),
  };
}

/**
 * Upload the objects of `targets` (with every file of each directory) that
 * the remote lacks. Returns what was done; objects missing from the local
 * cache count as failed.
 *
 * @example
 * ```ts ignore
 * const summary = await pushObjects(remote, cache, state, [{ hash, isDir: false }]);
 * ```
 */
export async function pushObjects(
  remote: Remote,
  cache: Cache,
  state: StateStore,
  targets: Iterable<TransferTarget>,
  options: TransferOptions = {},
): Promise<TransferSummary> {
  const context = contextOf("push", remote, cache, state, options);
  const { progress, problem } = context;
  const find = (wanted: Map<Hash, number>) =>
    findPresent(remote.backend, remote.index, wanted, {
      jobs: context.jobs,
      ...(options.refresh ? { refresh: true } : {}),
      ...(options.onPlan ? { onPlan: options.onPlan } : {}),
    });

  // Directory manifests and single files first: a manifest already on the
  // remote stands for all of its files.
  const first = new Map<Hash, number>();
  const manifests = new Map<Hash, Hash[]>();
  for (const { hash, isDir } of targets) {
    if (first.has(hash)) continue;
    const size = localSize(cache, hash);
    if (size === undefined) {
      problem(`${hash} is not in the local cache: it cannot be pushed`);
      progress.done("failed");
      continue;
    }
    if (isDir) {
      const manifest = await cache.readManifest(hash);
      if (!manifest) {
        problem(`directory manifest ${hash} in the local cache is corrupt: it cannot be pushed`);
        progress.done("failed");
        continue;
      }
      manifests.set(hash, manifest.files.map((file) => file.hash));
    }
    first.set(hash, size);
  }
  const presentFirst = first.size > 0 ? await find(first) : new Set<Hash>();

  const second = new Map<Hash, number>();
  const blocked = new Set<Hash>();
  for (const [manifest, files] of manifests) {
    if (presentFirst.has(manifest)) {
      progress.done("skipped");
      for (const _ of new Set(files)) progress.done("skipped");
      continue;
    }
    for (const file of files) {
      if (first.has(file) || second.has(file)) continue;
      const size = localSize(cache, file);
      if (size === undefined) {
        problem(
          `${file} (in directory ${manifest}) is not in the local cache: it cannot be pushed`,
        );
        progress.done("failed");
        blocked.add(manifest);
      } else second.set(file, size);
    }
  }
  const presentSecond = second.size > 0 ? await find(second) : new Set<Hash>();

  const uploads = new Map<Hash, number>();
  for (const [hash, size] of [...first, ...second]) {
    if (manifests.has(hash)) continue;
    if (presentFirst.has(hash) || presentSecond.has(hash)) progress.done("skipped");
    else uploads.set(hash, size);
  }
  const pendingManifests = [...manifests.keys()].filter((m) => !presentFirst.has(m));
  progress.plan(
    uploads.size + pendingManifests.length,
    [...uploads.values()].reduce((a, b) => a + b, 0) +
      pendingManifests.reduce((a, m) => a + first.get(m)!, 0),
  );

  const outcome = new Map<Hash, boolean>();
  try {
    for (const [hash, size] of uploads) {
      context.queue.add(() => uploadObject(context, hash, size, (ok) => outcome.set(hash, ok)));
    }
    await context.queue.drain();
    // A manifest goes up only once every file it names is on the remote.
    for (const manifest of pendingManifests) {
      const files = manifests.get(manifest)!;
      if (blocked.has(manifest) || files.some((file) => outcome.get(file) === false)) {
        problem(`directory ${manifest} was not pushed: some of its files failed`);
        progress.done("failed");
        continue;
      }
      context.queue.add(() => uploadObject(context, manifest, first.get(manifest)!, () => {}));
    }
    await context.queue.drain();
  } finally {
    await remote.index.save();
  }
  return { ...progress.summary };
}

/**
 * Download into the cache the objects of `targets` (with every file of each
 * directory) that the cache lacks, each checked against its hash before it
 * enters the cache.
 *
 * @example
 * ```ts ignore
 * const summary = await fetchObjects(remote, cache, state, [{ hash, isDir: true }]);
 * ```
 */
export async function fetchObjects(
  remote: Remote,
  cache: Cache,
  state: StateStore,
  targets: Iterable<TransferTarget>,
  options: TransferOptions = {},
): Promise<TransferSummary> {
  const context = contextOf("fetch", remote, cache, state, options);
  const { progress } = context;
  sweepDownloads(cache);
  const list = [...targets];
  const files = new Map<Hash, readonly Hash[]>();
  const wanted = new Set<Hash>();
  const want = (hash: Hash) => {
    if (wanted.has(hash)) return;
    wanted.add(hash);
    if (cache.has(hash)) progress.done("skipped");
    else {
      progress.plan(1, remote.index.size(hash) ?? 0);
      context.queue.add(() => downloadObject(context, hash));
    }
  };
  try {
    // Manifests first: they say which files a directory needs. A corrupt
    // local manifest is reported, moved aside and fetched again.
    for (const { hash, isDir } of list) {
      if (isDir && !wanted.has(hash)) await cache.verify(hash, state, context.problem);
      if (isDir) want(hash);
    }
    await context.queue.drain();
    // The manifests' files, those of large directories marked first: their
    // downloads' stamps are remembered for the manifest, in chunks.
    for (const { hash, isDir } of list) {
      if (!isDir || files.has(hash) || !cache.has(hash)) continue;
      const hashes = (await cache.readManifest(hash))?.files.map((file) => file.hash) ?? [];
      files.set(hash, hashes);
      if (hashes.length < CHUNKED_FROM) continue;
      for (const file of hashes) context.chunked.add(file);
    }
    for (const { hash, isDir } of list) {
      if (!isDir) want(hash);
      else for (const file of files.get(hash) ?? []) want(file);
    }
    await context.queue.drain();
  } finally {
    // Also when stopped (a failing remote, Ctrl-C): the objects placed so far keep their stamps.
    await rememberChunks(context, files);
    await remote.index.save();
  }
  return { ...progress.summary };
}

/**
 * Remember, for each large directory's manifest among `files` (manifest →
 * its files' hashes), the stamps of those of its objects this fetch
 * downloaded ({@link Context.kept}): chunks added to any it has
 * (`StateStore.addObjectChunks`), written with the session's other state.
 */
async function rememberChunks(
  context: Context,
  files: ReadonlyMap<Hash, readonly Hash[]>,
): Promise<void> {
  const { kept, state } = context;
  if (kept.size === 0) return;
  for (const [manifest, all] of files) {
    if (all.length < CHUNKED_FROM) continue;
    const hashes: Hash[] = [];
    const stamps: FileStamp[] = [];
    const seen = new Set<Hash>();
    for (const hash of all) {
      const stamp = kept.get(hash);
      if (stamp === undefined || seen.has(hash)) continue;
      seen.add(hash);
      hashes.push(hash);
      stamps.push(stamp);
    }
    await state.addObjectChunks(manifest, hashes, stamps);
  }
}

/** Size of the cache object `hash`, or undefined when it is not there. */
function localSize(cache: Cache, hash: Hash): number | undefined {
  try {
    return Deno.statSync(cache.objectPath(hash)).size;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
}

/** Report a failed object, unless the failure concerns the whole remote. */
function failed(context: Context, hash: Hash, error: unknown): void {
  if (error instanceof RemoteError) throw error;
  const message = error instanceof TransferError
    ? error.message
    : `${hash}: ${(error as Error)?.message ?? error}`;
  context.problem(message);
  context.progress.done("failed");
}

/** Upload one object; `settle` is told the outcome (later, for a multipart upload). */
async function uploadObject(
  context: Context,
  hash: Hash,
  size: number,
  settle: (ok: boolean) => void,
): Promise<void> {
  const { remote, cache, state, progress } = context;
  try {
    if (remote.backend.kind === "s3" && size < SMALL) {
      // Read once (synchronously: a few KiB), check the hash in memory and
      // send the same bytes.
      const bytes = Deno.readFileSync(cache.objectPath(hash));
      if (await hashBytes(bytes) !== hash) {
        // The cache reports the corrupt object and moves it aside.
        if (await cache.verify(hash, state, context.problem)) {
          context.problem(`cache object ${hash} changed while being pushed`);
        }
        progress.done("failed");
        return settle(false);
      }
      await remote.backend.putBytes(objectKey(hash), bytes);
      await uploaded(context, hash, size);
      return settle(true);
    }
    if (!await cache.verify(hash, state, context.problem)) {
      progress.done("failed");
      return settle(false);
    }
    const multipart = remote.backend.multipart;
    if (multipart && size > multipart.threshold) {
      return await uploadInParts(context, hash, size, settle);
    }
    await remote.backend.putFile(objectKey(hash), cache.objectPath(hash), size);
    await uploaded(context, hash, size);
    settle(true);
  } catch (error) {
    failed(context, hash, error);
    settle(false);
  }
}

async function uploaded(context: Context, hash: Hash, size: number): Promise<void> {
  context.remote.index.add(hash, size);
  await context.remote.index.clearSuspect(hash);
  context.progress.bytes(size);
  context.progress.done("transferred", size);
}

/** A multipart upload in progress, as recorded in the state store. */
interface UploadRecord {
  readonly uploadId: string;
  readonly partSize: number;
  readonly size: number;
}

/**
 * Upload `hash` in parts: resume the upload recorded in the state store when
 * there is one for the same part size, else start one. Parts are queued as
 * urgent jobs; the last to finish completes the upload.
 */
async function uploadInParts(
  context: Context,
  hash: Hash,
  size: number,
  settle: (ok: boolean) => void,
  restarted = false,
): Promise<void> {
  const { remote, state } = context;
  const multipart = remote.backend.multipart!;
  const key = objectKey(hash);
  const partSize = multipart.partSize(size);
  const recordKey = remote.index.stateKey("upload", hash);
  const partKey = (n: number) => remote.index.stateKey("part", hash, n);

  let record = await state.get<UploadRecord>(recordKey);
  const etags: (string | undefined)[] = [];
  if (record && (record.partSize !== partSize || record.size !== size)) {
    await multipart.abort(key, record.uploadId);
    await forgetUpload(context, hash);
    record = undefined;
  }
  if (record) {
    for (const { key: k, value } of await state.list<string>(remote.index.stateKey("part", hash))) {
      etags[(k[k.length - 1] as number) - 1] = value;
    }
  } else {
    record = { uploadId: await multipart.create(key), partSize, size };
    await state.set(recordKey, record);
  }
  const { uploadId } = record;
  const parts = Math.ceil(size / partSize);
  const missing: number[] = [];
  let resumedBytes = 0;
  for (let n = 1; n <= parts; n++) {
    if (etags[n - 1] === undefined) missing.push(n);
    else resumedBytes += Math.min(partSize, size - (n - 1) * partSize);
  }
  context.progress.bytes(resumedBytes);

  let remaining = missing.length;
  let failure: unknown;
  const finish = async () => {
    if (failure !== undefined) {
      context.progress.bytes(-size);
      failed(context, hash, failure);
      return settle(false);
    }
    try {
      await multipart.complete(key, uploadId, etags as string[]);
    } catch (error) {
      if (!(error instanceof TransferError) || error.code !== "NoSuchUpload") throw error;
      // Completed by an earlier try whose answer was lost, or aborted or
      // expired on the server: look, and start over if it is not there.
      if (await remote.backend.head(key) !== size) {
        await forgetUpload(context, hash);
        if (restarted) throw error;
        context.progress.bytes(-size);
        return await uploadInParts(context, hash, size, settle, true);
      }
    }
    await forgetUpload(context, hash);
    remote.index.add(hash, size);
    await remote.index.clearSuspect(hash);
    context.progress.done("transferred", size);
    settle(true);
  };
  if (remaining === 0) return await finish();

  const path = context.cache.objectPath(hash);
  for (const n of missing) {
    context.queue.add(async () => {
      try {
        if (failure === undefined) {
          const offset = (n - 1) * partSize;
          const length = Math.min(partSize, size - offset);
          const etag = await multipart.uploadPart(key, uploadId, n, { path, offset, length });
          etags[n - 1] = etag;
          await state.set(partKey(n), etag);
          context.progress.bytes(length);
        }
      } catch (error) {
        if (error instanceof RemoteError) throw error;
        failure ??= error;
      }
      if (--remaining === 0) {
        try {
          await finish();
        } catch (error) {
          failed(context, hash, error);
          settle(false);
        }
      }
    }, true);
  }
}

async function forgetUpload(context: Context, hash: Hash): Promise<void> {
  const { state, remote } = context;
  for (const { key } of await state.list(remote.index.stateKey("part", hash))) {
    await state.delete(key);
  }
  await state.delete(remote.index.stateKey("upload", hash));
}

let downloads = 0;

/** Download one object through a temporary file, checking its hash. */
async function downloadObject(context: Context, hash: Hash): Promise<void> {
  const { remote, cache, progress } = context;
  const folder = join(cache.dir, "tmp");
  ensureDir(folder);
  const temp = join(folder, `download.${Deno.pid}.${++downloads}`);
  // Named as the download, so a killed fetch's copy is swept with it.
  const copy = context.prepareCopies ? `${temp}.copy` : undefined;
  let placed = false;
  try {
    const got = await remote.backend.download(objectKey(hash), temp, (n) => progress.bytes(n));
    if (got === undefined) {
      remote.index.remove(hash);
      throw new TransferError(
        `${remote.backend.label} has no object ${hash}: push it from a machine that has it`,
      );
    }
    const { size, bytes } = got;
    const actual = bytes ? await hashBytes(bytes) : got.hash ?? await hashFile(temp);
    if (actual !== hash) {
      progress.bytes(-size);
      await remote.index.markSuspect(hash);
      throw new TransferError(
        `${remote.backend.label}: object ${hash} is corrupt (its content hashes to ${actual}); ` +
          `it was not used, and the next push from a machine that has it replaces it`,
      );
    }
    // Small objects are written synchronously: a write of a few KiB takes
    // microseconds, and an async file op costs ~40 µs of dispatch.
    if (bytes) Deno.writeFileSync(temp, bytes, { mode: 0o444 });
    else Deno.chmodSync(temp, 0o444);
    const object = cache.objectPath(hash);
    ensureDir(dirname(object));
    Deno.renameSync(temp, object);
    placed = true;
    // Checked just now: a checkout right after (pull) need not hash it
    // again. A large directory's file: its stamp kept for the manifest's
    // chunks (rememberChunks), recorded once the fetch ends.
    if (context.chunked.has(hash)) {
      context.kept.set(hash, stampOf(Deno.statSync(cache.objectPath(hash))));
    } else await cache.rememberVerified(hash, context.state);
    if (copy !== undefined && bytes) {
      // A small object's workspace copy, from the same bytes: checkout
      // then renames it into place instead of copying the object (a copy
      // costs it two opens of the object, a probe of the destination, the
      // create, copy_file_range and two chmods). Should the write fail
      // (disk full), checkout copies as usual. Large objects are not
      // copied here: written beside the ranges as they were hashed, the
      // copy cost 1.3x the CPU of checkout's in-kernel copy afterwards.
      try {
        Deno.writeFileSync(copy, bytes, { mode: 0o644 });
        cache.offerCopy(hash, copy);
      } catch {
        removed(copy);
      }
    }
    remote.index.add(hash, size);
    progress.done("transferred", size);
  } catch (error) {
    failed(context, hash, error);
  } finally {
    if (!placed) removed(temp);
  }
}

/** Remove the file at `path`; true when it is gone (or never was). */
function removed(path: string): boolean {
  try {
    Deno.removeSync(path);
    return true;
  } catch (error) {
    return error instanceof Deno.errors.NotFound;
  }
}

/** Remove downloads left in `<cache>/tmp/` by processes that are gone (killed mid-way). */
function sweepDownloads(cache: Cache): void {
  const folder = join(cache.dir, "tmp");
  let entries: Deno.DirEntry[];
  try {
    entries = [...Deno.readDirSync(folder)];
  } catch {
    return;
  }
  for (const entry of entries) {
    const pid = Number(/^download\.(\d+)\./.exec(entry.name)?.[1]);
    if (!pid || pid === Deno.pid || processAlive(pid)) continue;
    try {
      Deno.removeSync(join(folder, entry.name));
    } catch {
      // removed by another sweeper
    }
  }
}

function processAlive(pid: number): boolean {
  try {
    Deno.statSync(`/proc/${pid}`);
    return true;
  } catch (error) {
    // Without /proc (macOS) assume it is alive: a leftover costs only space.
    return !(error instanceof Deno.errors.NotFound) || !isDirectoryProc();
  }
}

function isDirectoryProc(): boolean {
  try {
    return Deno.statSync("/proc/self").isDirectory;
  } catch {
    return false;
  }
}
