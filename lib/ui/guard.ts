/**
 * Who may talk to the web UI's server. A local web server is reachable by
 * every web page the user opens, so, as Jupyter does:
 *
 * - every request needs the server's secret token: in the URL (`?token=`),
 *   an `Authorization: token …` header, or the cookie set on the first visit
 *   (HttpOnly, SameSite=Strict, so other sites' pages cannot send it);
 * - a request whose `Host` is not the server's own is refused, which defeats
 *   DNS rebinding (a page of `evil.example` whose name now resolves to
 *   127.0.0.1 still sends `Host: evil.example`);
 * - a request with an `Origin` other than the server's is refused, so no
 *   other page, even one on another local port, can act through the user's
 *   cookie.
 *
 * The design and its limits are in docs/ui.md.
 *
 * @module
 */

/** Why a request is refused: the status and a one-line message. */
export interface Refusal {
  /** HTTP status (403 for a missing or wrong token, a foreign host or origin). */
  readonly status: number;
  /** What is wrong and how to get in. */
  readonly message: string;
}

/** A request let in: where its token came from. */
export interface Admission {
  /** The token came in the URL: the response should set the cookie and drop it from the URL. */
  readonly fromUrl: boolean;
}

/** Options of {@link RequestGuard}. */
export interface GuardOptions {
  /** The secret. */
  readonly token: string;
  /** The host the server was asked to listen on (`127.0.0.1`, `0.0.0.0`, a name). */
  readonly hostname: string;
  /** The port it listens on. */
  readonly port: number;
}

/** A new random token: 24 bytes, as 48 hex digits. */
export function newToken(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(24));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * Checks requests against a token and the server's own host names.
 *
 * @example
 * ```ts
 * const guard = new RequestGuard({ token: "abc", hostname: "127.0.0.1", port: 8080 });
 * guard.check(new Request("http://127.0.0.1:8080/?token=abc")); // { fromUrl: true }
 * guard.check(new Request("http://evil.example:8080/?token=abc")); // { status: 403, … }
 * ```
 */
export class RequestGuard {
  readonly #token: string;
  readonly #hostname: string;
  readonly #port: number;
  /** The cookie's name: one per port, so two servers on one host keep their own. */
  readonly cookieName: string;

  /** A guard for `options`. */
  constructor(options: GuardOptions) {
    this.#token = options.token;
    this.#hostname = options.hostname.toLowerCase();
    this.#port = options.port;
    this.cookieName = `pivot-ui-${options.port}`;
  }

  /** `Set-Cookie` value that hands the token to the browser. */
  cookie(): string {
    return `${this.cookieName}=${this.#token}; Path=/; HttpOnly; SameSite=Strict`;
  }

  /** Let `request` in, or say why not. */
  check(request: Request): Admission | Refusal {
    const host = request.headers.get("host");
    if (host === null || !this.#isOwnHost(host)) {
      return {
        status: 403,
        message: `refused: Host '${host ?? ""}' is not this server's (open the URL pivot printed)`,
      };
    }
    const origin = request.headers.get("origin");
    if (origin !== null && origin.toLowerCase() !== `http://${host.toLowerCase()}`) {
      return { status: 403, message: `refused: requests from ${origin} are not allowed` };
    }
    let fromUrl = false;
    let url: URL;
    try {
      url = new URL(request.url);
    } catch {
      return { status: 400, message: "bad request: malformed URL" };
    }
    const given = url.searchParams.get("token");
    if (given !== null) {
      if (!this.#isToken(given)) return wrongToken();
      fromUrl = true;
    } else {
      const presented = headerToken(request.headers.get("authorization")) ??
        cookieValue(request.headers.get("cookie"), this.cookieName);
      if (presented === undefined) {
        return {
          status: 403,
          message:
            "refused: no token; open the URL with ?token= that 'pivot ui' printed, or send 'Authorization: token <token>'",
        };
      }
      if (!this.#isToken(presented)) return wrongToken();
    }
    return { fromUrl };
  }

  /**
   * True when `host` (a `Host` header: name or address, and port) names this
   * server. An IP address or `localhost` always does (DNS rebinding needs a
   * name the attacker controls); another name only when it is the one the
   * server was started with (`--host`).
   */
  #isOwnHost(host: string): boolean {
    const match = /^(\[[0-9a-f:.]+\]|[^:\[\]]+)(?::(\d+))?$/i.exec(host.trim());
    if (!match) return false;
    const name = match[1].toLowerCase();
    if (Number(match[2] ?? 80) !== this.#port) return false;
    return name === "localhost" || name === this.#hostname || isIpAddress(name);
  }

  #isToken(candidate: string): boolean {
    return constantTimeEqual(candidate, this.#token);
  }
}

function wrongToken(): Refusal {
  return { status: 403, message: "refused: wrong token; open the URL that 'pivot ui' printed" };
}

function isIpAddress(name: string): boolean {
  if (name.startsWith("[")) return true; // the Host syntax only brackets IPv6 literals
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(name);
}

function headerToken(header: string | null): string | undefined {
  const match = header ? /^(?:token|bearer)\s+(\S+)$/i.exec(header.trim()) : null;
  return match?.[1];
}

/** The value of cookie `name` in a `Cookie` header. */
export function cookieValue(header: string | null, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** Compare without an early exit, so the time taken says nothing about the token. */
function constantTimeEqual(a: string, b: string): boolean {
  let difference = a.length ^ b.length;
  for (let i = 0; i < b.length; i++) {
    difference |= a.charCodeAt(i % Math.max(a.length, 1)) ^ b.charCodeAt(i);
  }
  return difference === 0;
}
