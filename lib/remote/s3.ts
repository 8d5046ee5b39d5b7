/**
 * An S3-compatible bucket as a {@link Backend}: requests signed with SigV4 by
 * `aws4fetch` (imported here only; this module itself is imported lazily by
 * open.ts) and sent with Deno's `fetch`, whose connection pool keeps
 * connections alive between requests.
 *
 * Bodies are sent from memory, never streamed: Deno's `fetch` sends a stream
 * with `Transfer-Encoding: chunked`, which S3 refuses for uploads. Objects up
 * to the multipart threshold go up in one PUT, larger ones in parts (the
 * transfer layer schedules them), so memory stays at (parallel requests) ×
 * (part size) however large a file is. Payloads are not hashed for the
 * signature (`UNSIGNED-PAYLOAD`): integrity is checked end to end with the
 * content hash instead.
 *
 * Every request has a deadline for its response headers and an idle timeout
 * while its body flows; 5xx, 429, resets and timeouts are retried with
 * backoff; anything else becomes one line naming the remote.
 *
 * @module
 */

import { AwsV4Signer } from "aws4fetch";
import type { S3RemoteSpec } from "./config.ts";
import { type AwsLookup, type AwsSettings, resolveAwsSettings } from "./credentials.ts";
import {
  type Backend,
  type BackendStats,
  type Downloaded,
  type ListedObject,
  type Multipart,
  RemoteError,
  TransferError,
} from "./backend.ts";
import { DEFAULT_RETRY, type RetryPolicy, TransientError, withRetries } from "./retry.ts";
import { escapeXml, tagBlocks, tagText } from "./_xml.ts";
import { type FileSlice, sendFileSlice } from "./_stream_upload.ts";
import { type Hash, hashStream, type StreamHasher } from "../storage/hash.ts";

/** Tuning of an S3 backend; every field has a default. */
export interface S3Options {
  /** Idle timeout of a request (no response or no body bytes for this long), ms. Default 30 s. */
  readonly timeoutMs?: number;
  /** Retries of transient faults. */
  readonly retry?: RetryPolicy;
  /** Part size of multipart uploads (at least 5 MiB on AWS). Default 8 MiB. */
  readonly partSize?: number;
  /** Objects larger than this are uploaded in parts. Default 200 MiB (rclone's cutoff). */
  readonly multipartThreshold?: number;
  /** Objects from this size on are downloaded as 4 ranges at once. Default 32 MiB. */
  readonly rangedFrom?: number;
  /** Where credentials are looked up (tests). */
  readonly lookup?: AwsLookup;
}

const MiB = 1 << 20;
const DEFAULT_PART = 8 * MiB;
/**
 * Objects up to this size go up in one PUT, streamed from disk (memory stays
 * at 2 MiB whatever the size). Parts cost a server a second write: it
 * assembles them into the object on CompleteMultipartUpload (s3rver, MinIO
 * on one disk), which made a 64 MiB push in 8 MiB parts 1.6× rclone's single
 * PUT. rclone's `--s3-upload-cutoff` is the same 200 MiB; above it, parts
 * bring parallel streams and resuming, worth the assembly.
 */
const DEFAULT_THRESHOLD = 200 * MiB;
const MAX_PARTS = 10_000;
/** A body upload may take this long per byte before it counts as stalled (1 MiB/s). */
const MS_PER_BYTE = 1_000 / MiB;
/** Requests in a row failing without an answer after which the remote counts as lost. */
const LOST_AFTER = 3;
/** Downloads up to this size are kept in memory rather than written as they arrive. */
const IN_MEMORY = 256 * 1024;
/** Files from this size on are streamed from disk, not read into memory first. */
const STREAM_FROM = 256 * 1024;
/** Writes to a downloaded file are gathered into blocks of this size. */
const WRITE_BLOCK = MiB;
/**
 * Objects from this size on are downloaded as STREAMS ranges at once: on
 * loopback s3rver four ranges of 64 MiB came in 0.65× the time of one
 * stream; over a network a single stream is slower still. rclone does the
 * same (`--multi-thread-streams 4`) from 250 MiB.
 */
const DEFAULT_RANGED_FROM = 32 * MiB;
const STREAMS = 4;
/** Size of each range (smaller when an object has fewer than STREAMS of them). */
const RANGE = 8 * MiB;

/**
 * Open the S3 remote `spec`: resolve its credentials, region and endpoint.
 * No request is made until {@link Backend.check} or a transfer.
 */
export async function openS3(spec: S3RemoteSpec, options: S3Options = {}): Promise<Backend> {
  return new S3Backend(
    spec,
    await resolveAwsSettings(spec.name, spec.config, options.lookup),
    options,
  );
}

interface SendOptions<T> {
  /** Query string, already encoded. */
  readonly query?: string;
  readonly body?: Uint8Array<ArrayBuffer>;
  /** A body streamed from a file (large uploads). */
  readonly bodyFile?: FileSlice;
  readonly headers?: Record<string, string>;
  /** Statuses that are an answer, not an error (404 for reads). */
  readonly accept?: readonly number[];
  /** Read the response (inside the attempt, so a failure while reading is retried). */
  readonly consume: (response: Response, touch: () => void) => Promise<T>;
  readonly retry?: RetryPolicy;
  readonly timeoutMs?: number;
}

class S3Backend implements Backend {
  readonly kind = "s3";
  readonly identity: string;
  readonly label: string;
  readonly pageSize = 1000;
  readonly stats: BackendStats = { requests: 0, lists: 0, retries: 0 };
  readonly multipart: Multipart;
  readonly #spec: S3RemoteSpec;
  readonly #settings: AwsSettings;
  readonly #timeoutMs: number;
  readonly #retry: RetryPolicy;
  readonly #rangedFrom: number;
  readonly #base: string;
  readonly #signingCache = new Map<string, ArrayBuffer>();
  #reached = false;
  /** Requests in a row that failed without an answer. */
  #unreachable = 0;

  constructor(spec: S3RemoteSpec, settings: AwsSettings, options: S3Options) {
    this.#spec = spec;
    this.#settings = settings;
    this.#timeoutMs = options.timeoutMs ?? 30_000;
    this.#retry = options.retry ?? DEFAULT_RETRY;
    this.#rangedFrom = Math.max(options.rangedFrom ?? DEFAULT_RANGED_FROM, IN_MEMORY + 1);
    const endpoint = settings.endpoint;
    // Path-style for custom endpoints (MinIO, Ceph, s3rver… rarely have
    // wildcard DNS) and for AWS buckets with dots (TLS wildcards do not
    // match them); virtual-hosted for other AWS buckets.
    if (endpoint !== undefined) this.#base = `${endpoint}/${spec.bucket}/`;
    else if (spec.bucket.includes(".")) {
      this.#base = `https://s3.${settings.region}.amazonaws.com/${spec.bucket}/`;
    } else this.#base = `https://${spec.bucket}.s3.${settings.region}.amazonaws.com/`;
    this.identity = `s3:${endpoint ?? "aws"}/${spec.bucket}/${spec.prefix}`;
    this.label = `remote '${spec.name}' (${spec.url})`;
    const partSize = options.partSize ?? DEFAULT_PART;
    this.multipart = {
      threshold: options.multipartThreshold ?? DEFAULT_THRESHOLD,
      partSize: (size) => {
        // S3 allows 10,000 parts: very large objects need larger parts.
        const needed = Math.ceil(size / MAX_PARTS);
        return needed <= partSize ? partSize : Math.ceil(needed / MiB) * MiB;
      },
      create: (key) => this.#createUpload(key),
      uploadPart: (key, id, n, slice) => this.#uploadPart(key, id, n, slice),
      complete: (key, id, etags) => this.#completeUpload(key, id, etags),
      abort: (key, id) => this.#abortUpload(key, id),
    };
  }

  async check(): Promise<void> {
    // One tiny listing proves the endpoint answers, the keys are accepted
    // and the bucket exists; bounded: two tries of at most 8 s each.
    await this.#send("GET", undefined, {
      query: `list-type=2&max-keys=1&prefix=${encode(this.#spec.prefix)}`,
      consume: drain,
      retry: { attempts: 2, baseMs: 200, maxMs: 500 },
      timeoutMs: Math.min(this.#timeoutMs, 8_000),
    });
  }

  async *list(prefix: string): AsyncIterable<ListedObject[]> {
    const full = this.#spec.prefix + prefix;
    // Pages follow each other by `start-after` (the last key seen), which
    // every S3-compatible server implements, as continuation tokens are
    // opaque and some servers' are broken.
    let after: string | undefined;
    do {
      this.stats.lists++;
      const query = `list-type=2&max-keys=${this.pageSize}&prefix=${encode(full)}` +
        (after === undefined ? "" : `&start-after=${encode(after)}`);
      const xml = await this.#send("GET", undefined, { query, consume: (r) => r.text() });
      const objects: ListedObject[] = [];
      let last: string | undefined;
      for (const block of tagBlocks(xml, "Contents")) {
        const key = tagText(block, "Key");
        const size = Number(tagText(block, "Size"));
        if (key === undefined) continue;
        last = key;
        if (key.startsWith(this.#spec.prefix) && Number.isFinite(size)) {
          objects.push({ key: key.slice(this.#spec.prefix.length), size });
        }
      }
      yield objects;
      after = tagText(xml, "IsTruncated") === "true" ? last : undefined;
    } while (after !== undefined);
  }

  head(key: string): Promise<number | undefined> {
    return this.#send("HEAD", key, {
      accept: [404],
      consume: async (response) => {
        await drain(response);
        return response.status === 404 ? undefined : Number(response.headers.get("content-length"));
      },
    });
  }

  async putBytes(key: string, bytes: Uint8Array<ArrayBuffer>): Promise<void> {
    await this.#send("PUT", key, {
      body: bytes,
      headers: { "content-type": "application/octet-stream" },
      consume: drain,
    });
  }

  getBytes(key: string): Promise<Uint8Array | undefined> {
    return this.#send("GET", key, {
      accept: [404],
      consume: async (response) => {
        if (response.status === 404) return void await drain(response);
        return new Uint8Array(await response.arrayBuffer());
      },
    });
  }

  async putFile(key: string, path: string, size: number): Promise<void> {
    if (size >= STREAM_FROM) {
      await this.#send("PUT", key, {
        bodyFile: { path, offset: 0, length: size },
        headers: { "content-type": "application/octet-stream" },
        consume: drain,
      });
      return;
    }
    const bytes = await Deno.readFile(path);
    if (bytes.length !== size) {
      throw new TransferError(
        `${path} changed size while being pushed (${size} → ${bytes.length} bytes)`,
      );
    }
    await this.putBytes(key, bytes);
  }

  async download(
    key: string,
    dest: string,
    onBytes?: (n: number) => void,
  ): Promise<Downloaded | undefined> {
    // A large object's ranges, set up once the first answer gives its
    // length (and not again when that request is retried).
    let ranged: Ranges | undefined;
    let others: Promise<void>[] = [];
    // What this download reported, taken back should it fail after all.
    let reported = 0;
    const count = (n: number) => {
      reported += n;
      onBytes?.(n);
    };
    try {
      const result = await this.#send("GET", key, {
        accept: [404],
        consume: async (response, touch): Promise<Downloaded | undefined> => {
          if (response.status === 404) return void await drain(response);
          const length = Number(response.headers.get("content-length"));
          if (length <= IN_MEMORY) {
            // Small objects stay in memory: hashed there, written once.
            const bytes = new Uint8Array(await response.arrayBuffer());
            count(bytes.length);
            return { size: bytes.length, bytes };
          }
          if (!(length >= this.#rangedFrom)) {
            // Hashed as it arrives, so the file need not be read again.
            const hasher = await hashStream();
            try {
              using file = await Deno.open(dest, { write: true, create: true, truncate: true });
              const size = await writeBody(response, file, Infinity, touch, count, hasher);
              return { size, bytes: undefined, hash: hasher.digest() };
            } finally {
              hasher.release();
            }
          }
          // A large object: this answer writes the first range while the
          // others are fetched beside it, STREAMS at a time (rclone's
          // multi-thread download).
          if (!ranged) {
            using file = await Deno.open(dest, { write: true, create: true, truncate: true });
            await file.truncate(length);
            ranged = new Ranges(length, Math.min(RANGE, Math.ceil(length / STREAMS)), dest);
            const started = ranged;
            others = Array.from({ length: STREAMS - 1 }, () => {
              const stream = this.#fetchRanges(key, started, count);
              stream.catch(() => {}); // settled below, not unhandled meanwhile
              return stream;
            });
          }
          const first = ranged.bounds(0);
          using file = await Deno.open(dest, { write: true });
          const written = await writeBody(response, file, first.length, touch, count);
          if (written !== first.length) {
            count(-written);
            throw new TransientError(`${key} ended after ${written} bytes of ${length}`);
          }
          ranged.finished(0);
          return { size: length, bytes: undefined };
        },
      });
      if (!ranged || !result) return result;
      // This stream joins the others for the ranges left, while the file
      // is hashed in order behind them.
      const hashing = ranged.hash();
      hashing.catch(() => {}); // awaited once the streams are done
      const streams = await Promise.allSettled([
        ...others,
        this.#fetchRanges(key, ranged, count),
      ]);
      const failure = streams.find((r) => r.status === "rejected");
      if (failure) throw failure.reason;
      return { ...result, hash: await hashing };
    } catch (error) {
      // Never leave a range writing into a file the caller may remove.
      ranged?.failed(error);
      await Promise.allSettled(others);
      onBytes?.(-reported);
      throw error;
    }
  }

  /** Fetch ranges of `ranges` one after another until none is left. */
  async #fetchRanges(key: string, ranges: Ranges, onBytes: (n: number) => void): Promise<void> {
    try {
      for (let k = ranges.take(); k !== undefined; k = ranges.take()) {
        const { start, length } = ranges.bounds(k);
        const end = start + length - 1;
        await this.#send("GET", key, {
          headers: { range: `bytes=${start}-${end}` },
          consume: async (response, touch) => {
            if (
              response.status !== 206 || Number(response.headers.get("content-length")) !== length
            ) {
              await response.body?.cancel();
              throw new TransferError(
                `${this.label}: GET ${key} bytes ${start}-${end}: the answer is not that range ` +
                  `(HTTP ${response.status})`,
              );
            }
            using file = await Deno.open(ranges.path, { write: true });
            await file.seek(start, Deno.SeekMode.Start);
            const written = await writeBody(response, file, length, touch, onBytes);
            if (written !== length) {
              onBytes(-written);
              throw new TransientError(
                `range ${start}-${end} of ${key} ended after ${written} bytes`,
              );
            }
          },
        });
        ranges.finished(k);
      }
    } catch (error) {
      // The other streams stop taking ranges; the hash stops waiting.
      ranges.failed(error);
      throw error;
    }
  }

  close(): void {}

  async #createUpload(key: string): Promise<string> {
    const xml = await this.#send("POST", key, {
      query: "uploads=",
      headers: { "content-type": "application/octet-stream" },
      consume: (r) => r.text(),
    });
    const id = tagText(xml, "UploadId");
    if (!id) {
      throw new TransferError(
        `${this.label}: no UploadId in the answer to a multipart upload of ${key}`,
      );
    }
    return id;
  }

  #uploadPart(key: string, uploadId: string, n: number, slice: FileSlice): Promise<string> {
    return this.#send("PUT", key, {
      query: `partNumber=${n}&uploadId=${encode(uploadId)}`,
      bodyFile: slice,
      consume: async (response) => {
        await drain(response);
        const etag = response.headers.get("etag");
        if (!etag) throw new TransferError(`${this.label}: no ETag for part ${n} of ${key}`);
        return etag;
      },
    });
  }

  async #completeUpload(key: string, uploadId: string, etags: readonly string[]): Promise<void> {
    const parts = etags.map((etag, i) =>
      `<Part><PartNumber>${i + 1}</PartNumber><ETag>${escapeXml(etag)}</ETag></Part>`
    );
    const body = new TextEncoder().encode(
      `<CompleteMultipartUpload>${parts.join("")}</CompleteMultipartUpload>`,
    );
    await this.#send("POST", key, {
      query: `uploadId=${encode(uploadId)}`,
      body,
      headers: { "content-type": "application/xml" },
      // The server assembles the object before it answers: s3rver (and
      // MinIO on one disk) copies every part, over 30 s for 1 GiB on a busy
      // disk, and a retry of a complete still under way fails with a 500.
      // Allow a second per part (8 MiB) on top of the idle timeout.
      timeoutMs: this.#timeoutMs + etags.length * 1000,
      consume: async (response) => {
        // S3 may answer 200 and report the failure in the body.
        const text = await response.text();
        const code = tagText(text, "Code");
        if (text.includes("<Error>") && code) {
          if (code === "InternalError" || code === "SlowDown") throw new TransientError(code);
          throw this.#failure(200, code, tagText(text, "Message"), "POST", key);
        }
      },
    });
  }

  async #abortUpload(key: string, uploadId: string): Promise<void> {
    try {
      await this.#send("DELETE", key, {
        query: `uploadId=${encode(uploadId)}`,
        accept: [404, 405, 501],
        consume: drain,
        retry: { attempts: 2, baseMs: 100, maxMs: 200 },
      });
    } catch {
      // Best effort: an upload left behind is invisible and expires under a
      // lifecycle rule; it never becomes an object.
    }
  }

  /** Send one request, with retries; `consume` reads the answer. */
  async #send<T>(method: string, key: string | undefined, options: SendOptions<T>): Promise<T> {
    const retry = options.retry ?? this.#retry;
    const idleMs = options.timeoutMs ?? this.#timeoutMs;
    let url = key === undefined ? this.#base : this.#base + encodeKey(this.#spec.prefix + key);
    if (options.query) url += `?${options.query}`;
    let lastNetworkError: string | undefined;
    try {
      const result = await withRetries(retry, async () => {
        this.stats.requests++;
        lastNetworkError = undefined;
        const { credentials, region } = this.#settings;
        const signed = await new AwsV4Signer({
          method,
          url,
          headers: options.headers ?? {},
          accessKeyId: credentials.accessKeyId,
          secretAccessKey: credentials.secretAccessKey,
          ...(credentials.sessionToken ? { sessionToken: credentials.sessionToken } : {}),
          service: "s3",
          region,
          cache: this.#signingCache,
        }).sign();
        const controller = new AbortController();
        const expire = () => controller.abort(new DOMException("timed out", "TimeoutError"));
        // Until the answer starts, allow for sending the body at 1 MiB/s.
        let timer = setTimeout(expire, idleMs + (options.body?.length ?? 0) * MS_PER_BYTE);
        const touch = () => {
          clearTimeout(timer);
          timer = setTimeout(expire, idleMs);
        };
        try {
          const response = options.bodyFile
            ? await sendFileSlice(
              method,
              signed.url,
              signed.headers,
              options.bodyFile,
              controller.signal,
              touch,
            )
            : await fetch(signed.url, {
              method,
              headers: signed.headers,
              ...(options.body ? { body: options.body } : {}),
              signal: controller.signal,
              redirect: "manual",
            });
          this.#reached = true;
          touch();
          if (response.ok || options.accept?.includes(response.status)) {
            return await options.consume(response, touch);
          }
          const text = await response.text().catch(() => "");
          const code = tagText(text, "Code") ?? `HTTP ${response.status}`;
          if (
            response.status >= 500 || response.status === 429 || response.status === 408 ||
            code === "RequestTimeout"
          ) {
            throw new TransientError(`${code} (HTTP ${response.status})`);
          }
          throw this.#failure(
            response.status,
            code,
            tagText(text, "Message"),
            method,
            key,
            response,
          );
        } catch (error) {
          if (
            error instanceof TransientError || error instanceof RemoteError ||
            error instanceof TransferError || error instanceof Deno.errors.NotFound
          ) throw error;
          if (controller.signal.aborted) {
            lastNetworkError = `no answer for ${idleMs / 1000} s`;
            throw new TransientError(lastNetworkError);
          }
          if (error instanceof TypeError || error instanceof Deno.errors.ConnectionReset) {
            lastNetworkError = error.message;
            throw new TransientError(error.message);
          }
          throw error;
        } finally {
          clearTimeout(timer);
        }
      }, () => this.stats.retries++);
      this.#unreachable = 0;
      return result;
    } catch (error) {
      if (!(error instanceof TransientError)) throw error;
      if (!this.#reached && lastNetworkError !== undefined) {
        throw new RemoteError(
          `cannot reach ${
            this.#settings.endpoint ?? "AWS S3"
          } for ${this.label} (${lastNetworkError}): ` +
            `check the endpoint, that the server is running, and the network`,
        );
      }
      // Requests that never got an answer, for several objects in a row:
      // the endpoint is gone, and retrying every remaining object would take
      // hours. Stop everything instead.
      if (lastNetworkError !== undefined && ++this.#unreachable >= LOST_AFTER) {
        throw new RemoteError(
          `lost contact with ${this.#settings.endpoint ?? "AWS S3"} for ${this.label} ` +
            `(${lastNetworkError}, ${LOST_AFTER} requests in a row after ${retry.attempts} tries each): ` +
            `check that the server is running, and the network; then run again to finish`,
        );
      }
      throw new TransferError(
        `${this.label}: ${method} ${
          key ?? "/"
        } failed after ${retry.attempts} tries: ${error.message}`,
      );
    }
  }

  /** The one-line error for a refused request. */
  #failure(
    status: number,
    code: string,
    message: string | undefined,
    method: string,
    key: string | undefined,
    response?: Response,
  ): RemoteError | TransferError {
    const source = this.#settings.credentials.source;
    const where = `${this.label}`;
    if (OBJECT_ERRORS.has(code)) {
      return new TransferError(
        `${where}: ${method} ${key ?? "/"} failed: ${code}${message ? `: ${message}` : ""}`,
        code,
      );
    }
    switch (code) {
      case "InvalidAccessKeyId":
        return new RemoteError(
          `${where}: the server does not know the access key (InvalidAccessKeyId): check the credentials from ${source}`,
        );
      case "SignatureDoesNotMatch":
        return new RemoteError(
          `${where}: the secret key does not match the access key (SignatureDoesNotMatch): check the credentials from ${source}`,
        );
      case "ExpiredToken":
      case "TokenRefreshRequired":
        return new RemoteError(
          `${where}: the session token has expired (${code}): refresh the credentials from ${source}`,
        );
      case "NoSuchBucket":
        return new RemoteError(
          `${where}: bucket '${this.#spec.bucket}' does not exist at ${
            this.#settings.endpoint ?? "AWS"
          }: ` +
            `check the url and endpoint, or create the bucket`,
        );
      case "AccessDenied":
      case "AllAccessDisabled":
        return new RemoteError(
          `${where}: access denied for ${method} ${key ?? "(listing)"} (${code}): ` +
            `check that the credentials from ${source} may read and write s3://${this.#spec.bucket}/${this.#spec.prefix}`,
        );
      case "PermanentRedirect":
      case "AuthorizationHeaderMalformed":
      case "IllegalLocationConstraintException": {
        const actual = response?.headers.get("x-amz-bucket-region");
        return new RemoteError(
          `${where}: the bucket is in ${
            actual ? `region '${actual}'` : "another region"
          }, not '${this.#settings.region}' ` +
            `(${code}): set the remote's region`,
        );
      }
    }
    if (status === 403) {
      return new RemoteError(
        `${where}: request refused (${code}, HTTP 403): check the credentials from ${source}`,
      );
    }
    if (status >= 300 && status < 400) {
      return new RemoteError(
        `${where}: redirected (HTTP ${status}): check the endpoint and the region ('${this.#settings.region}')`,
      );
    }
    return new RemoteError(
      `${where}: ${method} ${key ?? "/"} failed: ${code}${
        message ? `: ${message}` : ""
      } (HTTP ${status})`,
    );
  }
}

/** Codes that concern one object, not the remote as a whole. */
const OBJECT_ERRORS = new Set([
  "NoSuchUpload",
  "NoSuchKey",
  "InvalidPart",
  "InvalidPartOrder",
  "EntityTooSmall",
  "EntityTooLarge",
  "BadDigest",
  "IncompleteBody",
]);

function encode(text: string): string {
  return encodeURIComponent(text);
}

function encodeKey(key: string): string {
  return key.split("/").map(encodeURIComponent).join("/");
}

async function drain(response: Response): Promise<void> {
  // Reading the body to its end lets the connection be reused.
  if (response.body) await response.arrayBuffer();
}

/**
 * The ranges of one large download: handed out in order to the streams
 * that fetch them, and hashed in order from the file as they complete, so
 * the hash is ready soon after the last byte arrives.
 */
class Ranges {
  readonly #done: PromiseWithResolvers<void>[];
  #next = 1;
  #failed = false;

  constructor(readonly length: number, readonly size: number, readonly path: string) {
    this.#done = Array.from({ length: Math.ceil(length / size) }, () => {
      const done = Promise.withResolvers<void>();
      done.promise.catch(() => {}); // awaited by the hash, if it still runs
      return done;
    });
  }

  /** Range `k`: its first byte and length. */
  bounds(k: number): { start: number; length: number } {
    const start = k * this.size;
    return { start, length: Math.min(this.size, this.length - start) };
  }

  /** The next range to fetch (range 0 is the first answer's), or undefined. */
  take(): number | undefined {
    return !this.#failed && this.#next < this.#done.length ? this.#next++ : undefined;
  }

  /** Range `k` is written. */
  finished(k: number): void {
    this.#done[k]!.resolve();
  }

  /** The download failed: no more ranges, and the hash stops. */
  failed(error: unknown): void {
    this.#failed = true;
    for (const done of this.#done) done.reject(error);
  }

  /** The file's hash, read in order as ranges complete. */
  async hash(): Promise<Hash> {
    const hasher = await hashStream();
    try {
      using file = await Deno.open(this.path, { read: true });
      const buffer = new Uint8Array(WRITE_BLOCK);
      for (const [k, done] of this.#done.entries()) {
        await done.promise;
        let left = this.bounds(k).length;
        while (left > 0) {
          const n = await file.read(buffer.subarray(0, Math.min(buffer.length, left)));
          if (n === null) throw new TransientError(`${this.path} is shorter than ${this.length}`);
          hasher.update(buffer.subarray(0, n));
          left -= n;
        }
      }
      return hasher.digest();
    } finally {
      hasher.release();
    }
  }
}

/**
 * Write the body of `response` to `file` (at its position) in blocks of
 * 1 MiB, up to `limit` bytes (the rest of the body is cancelled); `touch`
 * on every chunk, `onBytes` told of progress (and, should this fail, of the
 * bytes to take back: the retry starts over), `hasher` fed in order.
 * Returns the bytes written.
 */
async function writeBody(
  response: Response,
  file: Deno.FsFile,
  limit: number,
  touch: () => void,
  onBytes: ((n: number) => void) | undefined,
  hasher?: StreamHasher,
): Promise<number> {
  const block = new Uint8Array(WRITE_BLOCK);
  let filled = 0;
  let written = 0;
  const reader = response.body!.getReader();
  try {
    while (written < limit) {
      const { done, value } = await reader.read();
      if (done) break;
      touch();
      let rest = value.length > limit - written ? value.subarray(0, limit - written) : value;
      hasher?.update(rest);
      written += rest.length;
      onBytes?.(rest.length);
      while (rest.length > 0) {
        const n = Math.min(rest.length, block.length - filled);
        block.set(rest.subarray(0, n), filled);
        filled += n;
        rest = rest.subarray(n);
        if (filled === block.length) {
          await writeAll(file, block);
          filled = 0;
        }
      }
    }
    await writeAll(file, block.subarray(0, filled));
    if (written >= limit) await reader.cancel().catch(() => {});
    return written;
  } catch (error) {
    onBytes?.(-written);
    await reader.cancel().catch(() => {});
    throw error;
  } finally {
    reader.releaseLock();
  }
}

async function writeAll(file: Deno.FsFile, data: Uint8Array): Promise<void> {
  while (data.length > 0) data = data.subarray(await file.write(data));
}
