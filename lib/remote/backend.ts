/**
 * What every kind of remote offers the transfer layer: list a key prefix,
 * read and write whole objects, and (S3) multipart uploads. Keys are
 * relative to the remote's root (see layout.ts). Implementations retry
 * transient faults themselves and throw {@link RemoteError} for faults that
 * retrying cannot fix.
 *
 * @module
 */

import { PivotError } from "../errors.ts";
import type { FileSlice } from "./_stream_upload.ts";
import type { Hash } from "../storage/hash.ts";

/** One object seen in a listing. */
export interface ListedObject {
  /** Key relative to the remote's root. */
  readonly key: string;
  /** Size in bytes. */
  readonly size: number;
}

/** What {@link Backend.download} got. */
export interface Downloaded {
  /** Size in bytes. */
  readonly size: number;
  /** The content, for a small object kept in memory; undefined when it was written to the file. */
  readonly bytes: Uint8Array<ArrayBuffer> | undefined;
  /** The content's hash, when the backend computed it while writing the file. */
  readonly hash?: Hash;
}

/** Counters of what a backend did, for tests and benchmarks. */
export interface BackendStats {
  /** Requests sent (S3) or directory operations made, retries included. */
  requests: number;
  /** Of which listings. */
  lists: number;
  /** Of which retries after a transient fault. */
  retries: number;
}

/** Multipart uploads (S3). */
export interface Multipart {
  /** Part size for an object of `size` bytes (at most 10,000 parts). */
  partSize(size: number): number;
  /** Objects larger than this go up in parts. */
  readonly threshold: number;
  /** Start an upload of `key`; returns its upload id. */
  create(key: string): Promise<string>;
  /** Upload part `number` (from 1), the byte range `slice` of a file; returns its ETag. */
  uploadPart(key: string, uploadId: string, number: number, slice: FileSlice): Promise<string>;
  /** Assemble the parts (ETags in part order) into the object. */
  complete(key: string, uploadId: string, etags: readonly string[]): Promise<void>;
  /** Abandon an upload (best effort: some servers cannot). */
  abort(key: string, uploadId: string): Promise<void>;
}

/** A remote store. */
export interface Backend {
  /** `"s3"` or `"directory"`. */
  readonly kind: "s3" | "directory";
  /** A stable identity of the storage (endpoint, bucket, prefix, or path), for the state store. */
  readonly identity: string;
  /** `remote 'NAME' (URL)`, for messages. */
  readonly label: string;
  /** Keys returned by one listing request (for directories: the cost of a listing in the same unit). */
  readonly pageSize: number;
  /** What was done so far. */
  readonly stats: BackendStats;
  /** Multipart uploads, when the backend has them. */
  readonly multipart: Multipart | undefined;
  /**
   * Check that the remote can be used at all (reachable, credentials
   * accepted, bucket or directory present), within a bounded time; throws a
   * one-line {@link RemoteError} saying what to check.
   */
  check(): Promise<void>;
  /** Every object whose key starts with `prefix`, a page at a time. */
  list(prefix: string): AsyncIterable<ListedObject[]>;
  /** The size of the object at `key`, or undefined when there is none. */
  head(key: string): Promise<number | undefined>;
  /** Write `bytes` as the object at `key`, atomically. */
  putBytes(key: string, bytes: Uint8Array<ArrayBuffer>): Promise<void>;
  /** The content of the object at `key`, or undefined when there is none. */
  getBytes(key: string): Promise<Uint8Array | undefined>;
  /** Upload the file at `path` as the object at `key`, in one piece, atomically. */
  putFile(key: string, path: string, size: number): Promise<void>;
  /**
   * Download the object at `key`: a small one (the backend decides) comes
   * back in memory and `dest` is left alone; a larger one is written to the
   * new file `dest` (created, or truncated). Undefined when there is no such
   * object. `onBytes` is told of progress.
   */
  download(
    key: string,
    dest: string,
    onBytes?: (n: number) => void,
  ): Promise<Downloaded | undefined>;
  /** Release connections and handles. */
  close(): void;
}

/**
 * A fault that retrying does not fix (bad credentials, missing bucket,
 * unreachable endpoint, permission denied): one line naming the remote and
 * what to check. Exit code 2.
 */
export class RemoteError extends PivotError {
  override name = "RemoteError";
}

/** One object could not be transferred (after retries); others may still be. */
export class TransferError extends Error {
  override name = "TransferError";
  /** The server's error code, when it gave one (`NoSuchUpload`…). */
  readonly code: string | undefined;

  /** `message` names the remote and the object. */
  constructor(message: string, code?: string) {
    super(message);
    this.code = code;
  }
}
