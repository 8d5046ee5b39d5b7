/**
 * Who a process is, beyond its pid. A pid alone names a process only while
 * it runs: after a reboot or a container restart the same number is given
 * to another process, and a lock or a temporary file marked with it would
 * look owned forever. On Linux a process is therefore recorded with its
 * start time (`/proc/<pid>/stat`, field 22, clock ticks since boot) and the
 * boot it belongs to (`/proc/sys/kernel/random/boot_id`); the pair never
 * repeats. Elsewhere only the pid is known, and a live pid is taken as the
 * owner.
 *
 * @module
 */

/** A process as recorded by its owner, to be recognised later. */
export interface ProcessIdentity {
  /** Process id. */
  readonly pid: number;
  /** Host name: a pid means nothing on another host. */
  readonly host: string;
  /** Start time in clock ticks since boot (Linux), absent where unknown. */
  readonly start?: number;
  /** Boot id (Linux), absent where unknown. */
  readonly boot?: string;
}

/** Whether the process a {@link ProcessIdentity} describes still runs. */
export type ProcessState =
  /** It runs (or, where start times are unknown, its pid does). */
  | "alive"
  /** It has ended: no such pid, the pid now names another process, or the machine rebooted. */
  | "gone"
  /** It ran on another host: nothing here can tell. */
  | "elsewhere";

let self: ProcessIdentity | undefined;

/**
 * This process's identity (computed once).
 *
 * @example
 * ```ts
 * const me = selfIdentity(); // { pid: 4242, host: "box", start: 881273, boot: "6f0c…" }
 * ```
 */
export function selfIdentity(): ProcessIdentity {
  if (self === undefined) {
    const start = startTicks(Deno.pid);
    const boot = bootId();
    self = {
      pid: Deno.pid,
      host: Deno.hostname(),
      ...(start !== undefined ? { start } : {}),
      ...(boot !== undefined ? { boot } : {}),
    };
  }
  return self;
}

/**
 * A short token naming this process in file names (`4242-881273` on Linux,
 * the pid elsewhere); {@link tokenState} tells whether its owner still runs.
 */
export function selfToken(): string {
  const me = selfIdentity();
  return me.start === undefined ? `${me.pid}` : `${me.pid}-${me.start}`;
}

/**
 * Whether the process that `identity` describes still runs. A process of
 * another host is `"elsewhere"`; a record without a start time (written
 * where none is known, or by an older Pivot) falls back to the pid.
 *
 * @example
 * ```ts
 * processState(selfIdentity()); // "alive"
 * ```
 */
export function processState(identity: ProcessIdentity): ProcessState {
  const me = selfIdentity();
  if (identity.host !== me.host) return "elsewhere";
  if (identity.boot !== undefined && me.boot !== undefined && identity.boot !== me.boot) {
    return "gone";
  }
  if (identity.pid === me.pid) {
    return identity.start === undefined || identity.start === me.start ? "alive" : "gone";
  }
  return pidMatches(identity.pid, identity.start) ? "alive" : "gone";
}

/**
 * Whether the owner of a file-name token made by {@link selfToken} on this
 * host still runs (a token's pid and start time; no boot id, so a token from
 * before a reboot may, rarely, look alive: then the file is just kept).
 */
export function tokenState(token: string): "alive" | "gone" | "invalid" {
  const match = /^(\d+)(?:-(\d+))?$/.exec(token);
  if (!match) return "invalid";
  const pid = Number(match[1]);
  const start = match[2] === undefined ? undefined : Number(match[2]);
  if (pid === Deno.pid) {
    return start === undefined || start === selfIdentity().start ? "alive" : "gone";
  }
  return pidMatches(pid, start) ? "alive" : "gone";
}

/** True when `pid` runs and, if `start` is given, started then. */
function pidMatches(pid: number, start: number | undefined): boolean {
  if (Deno.build.os === "linux") {
    const stat = procStat(pid);
    if (stat === undefined || stat.state === "Z") return false;
    return start === undefined || stat.start === start;
  }
  try {
    // No /proc: a harmless signal tells whether the pid exists.
    Deno.kill(pid, "SIGCONT");
    return true;
  } catch (error) {
    // EPERM: it exists, owned by someone else.
    return error instanceof Deno.errors.PermissionDenied;
  }
}

function startTicks(pid: number): number | undefined {
  return Deno.build.os === "linux" ? procStat(pid)?.start : undefined;
}

/** State and start time from `/proc/<pid>/stat`, or undefined when there is no such process. */
function procStat(pid: number): { state: string; start: number } | undefined {
  let text: string;
  try {
    text = Deno.readTextFileSync(`/proc/${pid}/stat`);
  } catch {
    return undefined;
  }
  // "pid (comm) state ppid …": comm may hold spaces and parentheses, so
  // fields are counted from the last ')'. starttime is field 22.
  const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
  const start = Number(fields[19]);
  return Number.isFinite(start) ? { state: fields[0], start } : undefined;
}

function bootId(): string | undefined {
  if (Deno.build.os !== "linux") return undefined;
  try {
    return Deno.readTextFileSync("/proc/sys/kernel/random/boot_id").trim();
  } catch {
    return undefined;
  }
}

/**
 * Read a {@link ProcessIdentity} from parsed JSON, or undefined when it is
 * not one (a hand-edited or truncated file).
 */
export function parseIdentity(value: unknown): ProcessIdentity | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  const { pid, host, start, boot } = value as Record<string, unknown>;
  if (!Number.isInteger(pid) || typeof host !== "string") return undefined;
  if (start !== undefined && !Number.isInteger(start)) return undefined;
  if (boot !== undefined && typeof boot !== "string") return undefined;
  return {
    pid: pid as number,
    host,
    ...(start !== undefined ? { start: start as number } : {}),
    ...(boot !== undefined ? { boot } : {}),
  };
}
