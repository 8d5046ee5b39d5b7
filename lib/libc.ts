/**
 * libc's functions through FFI, for the few calls where Deno's own cost
 * more than the call itself (lib/absent_path.ts, lib/libc_fs.ts).
 *
 * Linux with glibc only, and only when FFI is already allowed (the CLI's
 * child runs with `-A`): elsewhere there is no binding and callers use
 * Deno's calls as before.
 *
 * @module
 */

/**
 * The `symbols` of libc bound with their signatures, or null where they
 * cannot be: not Linux, FFI not granted, no `libc.so.6` (musl), or a glibc
 * without one of them.
 */
export function bindLibc<const S extends Deno.ForeignLibraryInterface>(
  symbols: S,
): Deno.DynamicLibrary<S>["symbols"] | null {
  if (Deno.build.os !== "linux") return null;
  try {
    if (Deno.permissions.querySync({ name: "ffi" }).state !== "granted") return null;
    return Deno.dlopen("libc.so.6", symbols).symbols;
  } catch {
    return null;
  }
}
