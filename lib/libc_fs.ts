/**
 * A directory's entries and a file's stamp read through libc, for the walk
 * of a large directory.
 *
 * {@link readDirEntries}: a directory's entries through `getdents64`, for
 * lib/dir_walk.ts `listFiles`. `Deno.readDirSync` costs
 * ~1.7 µs an entry (one op a directory, but a `DirEntry` object of four
 * fields built for each entry and handed over one by one); reading the
 * kernel's records into one reused 64 KiB buffer and making each name from
 * its bytes costs ~0.85 µs, ~85 ms less of a walk of 100,000 files, all of
 * it on the calling thread before the stats start.
 *
 * {@link statStamp}: a file's mtime, size, inode and device through
 * `statx`, ~3.7 µs a file against ~5.3 µs for `Deno.statSync` and its
 * `FileInfo` (four `Date`s), for lib/storage/stat_many.ts's `statMany`
 * (docs/performance.md, "The walk of a large directory through libc").
 *
 * Linux with glibc (2.30 or later) only, through FFI, and only when FFI is
 * already allowed (the CLI's child runs with `-A`); binding libc costs ~2.5
 * ms once, so callers use it only for a directory known to be large.
 * Whatever this cannot read as `Deno.readDirSync` would (an error opening or
 * reading the directory, a name that is not UTF-8, an entry whose type the
 * filesystem does not give and that is gone before it is asked) is read by
 * `Deno.readDirSync` instead, so errors and names are exactly its own.
 *
 * @module
 */

import { bindLibc } from "./libc.ts";

/** What the walk reads of an entry: `Deno.DirEntry`'s fields it uses. */
export interface DirEntryLike {
  readonly name: string;
  readonly isDirectory: boolean;
  readonly isSymlink: boolean;
}

interface Libc {
  readonly open: (path: Uint8Array, flags: number) => number;
  readonly close: (fd: number) => number;
  readonly read: (fd: number, buffer: Uint8Array, size: bigint) => number | bigint;
  readonly openMode: (path: Uint8Array, flags: number, mode: number) => number;
  readonly write: (fd: number, buffer: Uint8Array, size: bigint) => number | bigint;
  readonly fchmod: (fd: number, mode: number) => number;
  readonly rename: (from: Uint8Array, to: Uint8Array) => number;
  readonly unlink: (path: Uint8Array) => number;
  readonly linkat: (
    fromDir: number,
    from: Uint8Array,
    toDir: number,
    to: Uint8Array,
    flags: number,
  ) => number;
  readonly getdents64: (fd: number, buffer: Uint8Array, size: bigint) => number | bigint;
  readonly statx: (
    dirfd: number,
    path: Uint8Array,
    flags: number,
    mask: number,
    buffer: Uint8Array,
  ) => number;
}

let libc: Libc | null | undefined;

function bind(): Libc | null {
  return bindLibc({
    open: { parameters: ["buffer", "i32"], result: "i32" },
    close: { parameters: ["i32"], result: "i32" },
    read: { parameters: ["i32", "buffer", "usize"], result: "isize" },
    // open(2) with its third argument (variadic in C: an int passed as the
    // fixed ones are on Linux's x86-64 and aarch64 ABIs).
    openMode: { name: "open", parameters: ["buffer", "i32", "u32"], result: "i32" },
    write: { parameters: ["i32", "buffer", "usize"], result: "isize" },
    fchmod: { parameters: ["i32", "u32"], result: "i32" },
    rename: { parameters: ["buffer", "buffer"], result: "i32" },
    unlink: { parameters: ["buffer"], result: "i32" },
    linkat: { parameters: ["i32", "buffer", "i32", "buffer", "i32"], result: "i32" },
    getdents64: { parameters: ["i32", "buffer", "usize"], result: "isize" },
    statx: { parameters: ["i32", "buffer", "i32", "u32", "buffer"], result: "i32" },
  });
}

// open(2) flags on Linux (x86-64 and aarch64 alike).
const O_RDONLY = 0;
const O_NOCTTY = 0o400;
const O_WRONLY = 1;
const O_CREAT = 0o100;
const O_EXCL = 0o200;
// O_TMPFILE as glibc defines it (__O_TMPFILE | O_DIRECTORY).
const O_TMPFILE = 0o20000000 | 0o200000;
const AT_SYMLINK_FOLLOW = 0x400;
const O_DIRECTORY = 0o200000;
const O_CLOEXEC = 0o2000000;

// `d_type` values of a `linux_dirent64` record.
const DT_UNKNOWN = 0;
const DT_DIR = 4;
const DT_LNK = 10;

// A `linux_dirent64` record: d_ino (8 bytes), d_off (8), d_reclen (2), d_type (1), d_name.
const RECLEN_AT = 16;
const TYPE_AT = 18;
const NAME_AT = 19;

const encoder = new TextEncoder();
const utf8 = new TextDecoder("utf-8", { fatal: true });
const records = new Uint8Array(64 * 1024);
const recordView = new DataView(records.buffer);
let pathBytes = new Uint8Array(4096);

/**
 * The entries of the directory at `path` ("." and ".." left out), in the
 * order the kernel gives them, as `Deno.readDirSync(path)` would give them;
 * by `Deno.readDirSync` itself where libc cannot be used (see the module's
 * documentation), which then throws as it does.
 */
export function readDirEntries(path: string): Iterable<DirEntryLike> {
  const lib = libcWithPath(path);
  if (lib === null) return Deno.readDirSync(path);
  return readWithLibc(lib, path) ?? Deno.readDirSync(path);
}

/**
 * libc, bound on first use, with `path` written NUL-ended to
 * {@link pathBytes} for the call that follows; null where libc cannot be
 * used, or cannot be given `path` (a NUL in it would end it early).
 */
function libcWithPath(path: string): Libc | null {
  if (libc === null) return null;
  libc ??= bind();
  if (libc === null || path.includes("\0")) return null;
  pathBytes = cString(path, pathBytes);
  return libc;
}

/** `path` NUL-ended in `buffer`, or in a larger one returned instead. */
function cString(path: string, buffer: Uint8Array<ArrayBuffer>): Uint8Array<ArrayBuffer> {
  if (buffer.length < path.length * 3 + 1) buffer = new Uint8Array(path.length * 3 + 1);
  const { written } = encoder.encodeInto(path, buffer);
  buffer[written] = 0;
  return buffer;
}

/**
 * The entries through `getdents64` of the directory at `path`, already in
 * {@link pathBytes} ({@link libcWithPath}), or undefined where
 * `Deno.readDirSync` must answer.
 */
function readWithLibc(lib: Libc, path: string): DirEntryLike[] | undefined {
  const fd = lib.open(pathBytes, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return undefined;
  const base = path.endsWith("/") ? path : `${path}/`;
  const entries: DirEntryLike[] = [];
  try {
    for (;;) {
      const got = Number(lib.getdents64(fd, records, BigInt(records.length)));
      if (got < 0) return undefined;
      if (got === 0) return entries;
      for (let at = 0; at < got; at += recordView.getUint16(at + RECLEN_AT, true)) {
        const name = nameAt(at + NAME_AT);
        if (name === undefined) return undefined;
        if (name === "." || name === "..") continue;
        const type = records[at + TYPE_AT];
        if (type !== DT_UNKNOWN) {
          entries.push({ name, isDirectory: type === DT_DIR, isSymlink: type === DT_LNK });
          continue;
        }
        // The filesystem does not say: ask, as Rust's `DirEntry::file_type` does.
        let info: Deno.FileInfo;
        try {
          info = Deno.lstatSync(base + name);
        } catch {
          return undefined;
        }
        entries.push({ name, isDirectory: info.isDirectory, isSymlink: info.isSymlink });
      }
    }
  } finally {
    lib.close(fd);
  }
}

/** The NUL-ended name at `start` of the records; undefined when it is not UTF-8. */
function nameAt(start: number): string | undefined {
  let end = start;
  let ascii = true;
  for (let byte = records[end] ?? 0; byte !== 0; byte = records[++end] ?? 0) {
    if (byte >= 0x80) ascii = false;
  }
  const bytes = records.subarray(start, end);
  if (ascii) return String.fromCharCode.apply(null, bytes as unknown as number[]);
  try {
    return utf8.decode(bytes);
  } catch {
    return undefined;
  }
}

/** What {@link statStamp} reads of a file: `stampOf`'s fields and the device. */
export interface StatStamp {
  readonly mtime: number;
  readonly size: number;
  readonly ino: number;
  readonly dev: number;
}

// statx(2): relative to the working directory, following symlinks, the basic fields.
const AT_FDCWD = -100;
const AT_EMPTY_PATH = 0x1000;
const AT_SYMLINK_NOFOLLOW = 0x100;
const STATX_BASIC_STATS = 0x7ff;
// The fields read: STATX_MTIME, STATX_INO, STATX_SIZE (a filesystem may not give one).
const STATX_READ = 0x40 | 0x100 | 0x200;

// Offsets in `struct statx`.
const STX_MASK = 0;
const STX_INO = 32;
const STX_SIZE = 40;
const STX_MTIME_SEC = 112;
const STX_MTIME_NSEC = 120;
const STX_DEV_MAJOR = 136;
const STX_DEV_MINOR = 140;

const statBytes = new Uint8Array(256);
const statView = new DataView(statBytes.buffer);

/** The stamp of the file `statx` answered into {@link statBytes}, or undefined when it lacks a field. */
function stampRead(): StatStamp | undefined {
  if ((statView.getUint32(STX_MASK, true) & STATX_READ) !== STATX_READ) return undefined;
  const sec = Number(statView.getBigInt64(STX_MTIME_SEC, true));
  const ms = statView.getUint32(STX_MTIME_NSEC, true) / 1e6;
  const major = statView.getUint32(STX_DEV_MAJOR, true);
  const minor = statView.getUint32(STX_DEV_MINOR, true);
  return {
    // Rust's `SystemTime` to ms, as Deno converts it: toward zero.
    mtime: sec * 1000 + (sec < 0 ? Math.ceil(ms) : Math.floor(ms)),
    size: Number(statView.getBigUint64(STX_SIZE, true)),
    ino: Number(statView.getBigUint64(STX_INO, true)),
    dev: makedev(major, minor),
  };
}

/**
 * The stamp of what is at `path` (following symlinks) and its device, as
 * `Deno.statSync` gives them: the mtime in whole ms (truncated toward zero,
 * before 1970 too; 0 where none is given), the device as glibc's
 * `makedev(major, minor)`. Undefined where libc cannot be used, `statx`
 * fails for any reason or gives no mtime, size or inode (the caller then asks `Deno.statSync`, which
 * throws as it does, or finds the path meanwhile made).
 */
export function statStamp(path: string): StatStamp | undefined {
  const lib = libcWithPath(path);
  if (lib === null) return undefined;
  if (lib.statx(AT_FDCWD, pathBytes, 0, STATX_BASIC_STATS, statBytes) !== 0) return undefined;
  return stampRead();
}

/** What {@link readSmall} read: the file's stamp and device, and its bytes when small. */
export interface SmallRead extends StatStamp {
  /** The whole file, or undefined when it is larger than asked or changed size while read. */
  readonly bytes: Uint8Array | undefined;
}

const EMPTY_PATH = new Uint8Array(1);
let readBuffer = new Uint8Array(64 * 1024);

/**
 * Open the file at `path`, stat it (`statx` on the open file) and, when it
 * has at most `limit` bytes, read it whole, in four libc calls (open, statx,
 * read, close): Deno's `openSync`, `FsFile.statSync`, `readSync` and the
 * close cost ~4× as much of the calling thread for a 10-byte file, most of
 * it building the `FsFile`, its resource and a `FileInfo` of four `Date`s
 * (docs/performance.md, "The copy-mode store of a 100,000-file out,
 * fifteenth session"). As lib/storage/artifact_hash.ts `readSmallFile`: the
 * stamp is the open file's before the read, and one byte more than the size
 * is asked, so a file that grew is noticed (`bytes` undefined, the stamp the
 * file's after the read).
 *
 * Undefined where libc cannot be used or any call fails (the file is then
 * read by Deno's calls, which throw as they do: the same errors and messages).
 */
export function readSmall(path: string, limit: number): SmallRead | undefined {
  const lib = libcWithPath(path);
  if (lib === null) return undefined;
  const fd = lib.open(pathBytes, O_RDONLY | O_NOCTTY | O_CLOEXEC);
  if (fd < 0) return undefined;
  try {
    if (lib.statx(fd, EMPTY_PATH, AT_EMPTY_PATH, STATX_BASIC_STATS, statBytes) !== 0) {
      return undefined;
    }
    const stamp = stampRead();
    if (stamp === undefined) return undefined;
    if (stamp.size > limit) return { ...stamp, bytes: undefined };
    const wanted = stamp.size + 1;
    if (readBuffer.length < wanted) {
      readBuffer = new Uint8Array(Math.max(wanted, 2 * readBuffer.length));
    }
    let done = 0;
    while (done < wanted) {
      const asked = wanted - done;
      const n = Number(
        lib.read(fd, done === 0 ? readBuffer : readBuffer.subarray(done), BigInt(asked)),
      );
      if (n < 0) return undefined;
      if (n === 0) break;
      done += n;
      // Shorter than asked: the end of a regular file (as `readSmallFile`).
      if (n < asked) break;
    }
    if (done === stamp.size) return { ...stamp, bytes: readBuffer.slice(0, done) };
    // Its size changed while it was read: its stamp now, no bytes.
    if (lib.statx(fd, EMPTY_PATH, AT_EMPTY_PATH, STATX_BASIC_STATS, statBytes) !== 0) {
      return undefined;
    }
    const after = stampRead();
    return after === undefined ? undefined : { ...after, bytes: undefined };
  } finally {
    lib.close(fd);
  }
}

/** glibc's `makedev`, in doubles (the result may pass 2^32). */
function makedev(major: number, minor: number): number {
  return ((major & 0xfffff000) >>> 0) * 2 ** 32 + ((major & 0xfff) << 8) +
    ((minor & 0xffffff00) >>> 0) * 2 ** 12 + (minor & 0xff);
}

let objectBytes = new Uint8Array(4096);
let dirBytes = new Uint8Array(4096);
let fdPathBytes = new Uint8Array(64);
/** False once `O_TMPFILE` or its link through `/proc` failed: not tried again. */
let unnamedFiles = true;

/**
 * Make the file `object` (in an existing directory) with content `bytes`,
 * read-only (mode 0444 exactly, whatever the umask), complete before it has
 * a name: written as an unnamed file in the object's directory (`O_TMPFILE`)
 * and linked at `object` (`linkat` of `/proc/self/fd/N`), one directory
 * entry made where a temporary name and a rename make one, remove it and
 * make another; else, where the filesystem has no unnamed files or `/proc`
 * is absent, through the temporary name `temp`, which must not exist (open
 * with `O_CREAT | O_EXCL`, then renamed). Either way `fchmod`, write,
 * `statx` of the open file, close: libc calls where `Deno.writeFileSync`,
 * `Deno.statSync` and `Deno.renameSync` stat by path and build a `FileInfo`
 * of four `Date`s (docs/performance.md, "The copy-mode store of a
 * 100,000-file out, fifteenth session"). Returns the stamp of the file that
 * became `object`.
 *
 * Undefined where libc cannot be used or any call fails, and where
 * `object` exists already (the caller's rename then replaces it, as
 * before): nothing of this call is left (a temporary file it made is
 * removed; one already at `temp` is not its own and is left), and the
 * caller makes the object with Deno's calls, which throw as they do.
 */
export function writeObjectFile(
  temp: string,
  object: string,
  bytes: Uint8Array,
): StatStamp | undefined {
  if (object.includes("\0")) return undefined;
  if (unnamedFiles) {
    const made = writeUnnamed(object, bytes);
    if (made !== undefined) return made === "exists" ? undefined : made;
  }
  const lib = libcWithPath(temp);
  if (lib === null) return undefined;
  const fd = lib.openMode(pathBytes, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o444);
  if (fd < 0) return undefined;
  let stamp: StatStamp | undefined;
  let closed = false;
  try {
    stamp = readOnlyWithContent(lib, fd, bytes);
    if (stamp === undefined) return undefined;
    closed = true;
    if (lib.close(fd) !== 0) return (stamp = undefined);
    objectBytes = cString(object, objectBytes);
    if (lib.rename(pathBytes, objectBytes) !== 0) return (stamp = undefined);
    return stamp;
  } finally {
    if (!closed) lib.close(fd);
    // Not made: the temporary file goes (`pathBytes` still holds its name).
    if (stamp === undefined) lib.unlink(pathBytes);
  }
}

let readBitsKept: boolean | undefined;

/**
 * True when this process's umask takes no read bit away, so a file opened
 * with mode 0444 is 0444 exactly: read once, from `/proc/self/status`
 * (Linux 4.7 on; `umask(2)` cannot be read without setting it, for every
 * thread at once). False when it cannot be read.
 */
function umaskKeepsReadBits(): boolean {
  if (readBitsKept === undefined) {
    try {
      const line = /^Umask:\s*([0-7]+)$/m.exec(Deno.readTextFileSync("/proc/self/status"));
      readBitsKept = line?.[1] !== undefined && (parseInt(line[1], 8) & 0o444) === 0;
    } catch {
      readBitsKept = false;
    }
  }
  return readBitsKept;
}

/**
 * Make the file `path` (in an existing directory; nothing may be there) with
 * content `bytes`: read-only (mode 0444 exactly, whatever the umask) with
 * `readOnly`, else as a new file is made (0666 less the umask). Open with
 * `O_CREAT | O_EXCL`, (`fchmod`,) write, `statx` of the open file, close:
 * the files of a directory a stage returned (`loaders.files()`), written
 * once from memory. Returns the stamp of the file made.
 *
 * Undefined where libc cannot be used or any call fails: nothing of this
 * call is left (a file it made is removed; one already at `path` is not its
 * own and is left), and the caller writes the file with Deno's calls, which
 * throw as they do.
 */
export function writeNewFile(
  path: string,
  bytes: Uint8Array,
  readOnly: boolean,
): StatStamp | undefined {
  const lib = libcWithPath(path);
  if (lib === null) return undefined;
  const fd = lib.openMode(
    pathBytes,
    O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
    readOnly ? 0o444 : 0o666,
  );
  if (fd < 0) return undefined;
  let stamp: StatStamp | undefined;
  try {
    // Made 0444 by the open itself unless the umask takes a read bit away.
    stamp = readOnly && !umaskKeepsReadBits()
      ? readOnlyWithContent(lib, fd, bytes)
      : withContent(lib, fd, bytes);
  } finally {
    if (lib.close(fd) !== 0) stamp = undefined;
    // Not made whole: the file goes (`pathBytes` still holds its name).
    if (stamp === undefined) lib.unlink(pathBytes);
  }
  return stamp;
}

/**
 * Make the new file open at `fd` read-only (mode 0444 exactly, whatever the
 * umask) with content `bytes`: its stamp, from `statx` of the open file, or
 * undefined when any call fails.
 */
function readOnlyWithContent(lib: Libc, fd: number, bytes: Uint8Array): StatStamp | undefined {
  if (lib.fchmod(fd, 0o444) !== 0) return undefined;
  return withContent(lib, fd, bytes);
}

/**
 * Write `bytes` to the new file open at `fd`: its stamp, from `statx` of
 * the open file, or undefined when any call fails.
 */
function withContent(lib: Libc, fd: number, bytes: Uint8Array): StatStamp | undefined {
  for (let done = 0; done < bytes.length;) {
    const n = Number(
      lib.write(fd, done === 0 ? bytes : bytes.subarray(done), BigInt(bytes.length - done)),
    );
    if (n <= 0) return undefined;
    done += n;
  }
  if (lib.statx(fd, EMPTY_PATH, AT_EMPTY_PATH, STATX_BASIC_STATS, statBytes) !== 0) {
    return undefined;
  }
  return stampRead();
}

/**
 * {@link writeObjectFile} through an unnamed file only (never a temporary
 * name, which a thread without the process's journal of temporary files
 * must not make; lib/storage/temp_files.ts): the object's stamp, "exists"
 * when something is at `object` already, or undefined when it was not made
 * (no unnamed files here, libc unusable, a call failed; nothing is left).
 */
export function writeObjectUnnamed(
  object: string,
  bytes: Uint8Array,
): StatStamp | "exists" | undefined {
  return unnamedFiles ? writeUnnamed(object, bytes) : undefined;
}

/**
 * {@link writeObjectFile} through an unnamed file: its stamp, "exists" when
 * `object` is there already, or undefined when unnamed files cannot be made
 * here (then {@link unnamedFiles} is false). Nothing is left when it fails.
 */
function writeUnnamed(object: string, bytes: Uint8Array): StatStamp | "exists" | undefined {
  const slash = object.lastIndexOf("/");
  if (slash <= 0 || object.includes("\0")) return undefined;
  const lib = libcWithPath(object);
  if (lib === null) return undefined;
  dirBytes = cString(object.slice(0, slash), dirBytes);
  const fd = lib.openMode(dirBytes, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0o444);
  if (fd < 0) {
    // The directory is there: this filesystem has no unnamed files (or
    // refuses them), so they are not tried again.
    if (lib.statx(AT_FDCWD, dirBytes, 0, STATX_BASIC_STATS, statBytes) === 0) unnamedFiles = false;
    return undefined;
  }
  try {
    const stamp = readOnlyWithContent(lib, fd, bytes);
    if (stamp === undefined) return undefined;
    fdPathBytes = cString(`/proc/self/fd/${fd}`, fdPathBytes);
    if (lib.linkat(AT_FDCWD, fdPathBytes, AT_FDCWD, pathBytes, AT_SYMLINK_FOLLOW) === 0) {
      return stamp;
    }
    // Taken already (another process stored it), or no /proc: the named way.
    if (lib.statx(AT_FDCWD, pathBytes, AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, statBytes) === 0) {
      return "exists";
    }
    unnamedFiles = false;
    return undefined;
  } finally {
    // Unnamed until linked: closing it drops its content when it was not.
    lib.close(fd);
  }
}
