/**
 * A real headless browser for tests: Debian's Chromium driven by
 * `playwright-core` (pinned in deno.json). Chromium is installed with
 * `apt-get` when it is missing, so a fresh machine (or CI) needs nothing set
 * up by hand; playwright never downloads a browser of its own (it cannot
 * here).
 *
 * Use one browser per test file: `const browser = sharedBrowser()` at the
 * top, `afterAll(() => browser.close())` (from `_harness.ts`), and a fresh
 * page per test. On a machine without Chromium the first page waits for its
 * installation (minutes): call {@link ensureChromium} from the file's
 * `beforeAll`, which no test's time limit bounds.
 *
 * @example
 * ```ts
 * import { sharedBrowser } from "./_browser.ts";
 * import { assertEquals } from "./_assert.ts";
 *
 * const browser = sharedBrowser();
 * try {
 *   await using t = await browser.page();
 *   await t.page.setContent("<h1>hello</h1>");
 *   assertEquals(await t.page.textContent("h1"), "hello");
 *   assertEquals(t.errors, []);
 * } finally {
 *   await browser.close();
 * }
 * ```
 *
 * @module
 */

import { type Browser, chromium, type Page, type Request } from "playwright-core";

/** Where Debian's `chromium` package puts the browser. */
export const CHROMIUM = "/usr/bin/chromium";

/**
 * The flags Chromium is started with. Headless as root needs `--no-sandbox`;
 * without the background-networking flags Chromium keeps trying to reach
 * Google's services, which this machine's closed network refuses.
 */
export const CHROMIUM_FLAGS: readonly string[] = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

let installing: Promise<void> | undefined;

/**
 * Make sure {@link CHROMIUM} exists: install Debian's `chromium` package
 * when it does not (needs root; waits for another apt run holding the lock).
 */
export function ensureChromium(): Promise<void> {
  return installing ??= install();
}

async function install(): Promise<void> {
  if (await isFile(CHROMIUM)) return;
  const apt = async (...args: string[]) => {
    // Not a test's own process (see _harness.ts): a test that runs out of
    // time must not kill apt-get halfway through an installation.
    // test-conventions: allow
    const { code, stderr } = await new Deno.Command("apt-get", {
      args: ["-o", "DPkg::Lock::Timeout=600", ...args],
      env: { DEBIAN_FRONTEND: "noninteractive" },
      stdout: "null",
      stderr: "piped",
    }).output();
    return { ok: code === 0, stderr: new TextDecoder().decode(stderr).trim() };
  };
  let result = await apt("install", "-y", "--no-install-recommends", "chromium");
  if (!result.ok) {
    // A fresh machine has no package lists yet.
    await apt("update");
    result = await apt("install", "-y", "--no-install-recommends", "chromium");
  }
  if (!result.ok || !await isFile(CHROMIUM)) {
    throw new Error(`could not install chromium with apt-get: ${result.stderr}`);
  }
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isFile;
  } catch {
    return false;
  }
}

/** A page that closes itself when disposed, with every request it made. */
export interface TestPage extends AsyncDisposable {
  /** The playwright page. */
  readonly page: Page;
  /** The URL of every request the page made, in order (data: URLs included). */
  readonly requests: readonly string[];
  /** Uncaught errors and `console.error` messages of the page. */
  readonly errors: readonly string[];
}

/** A browser started on first use and shared by a test file's tests. */
export interface SharedBrowser {
  /** A new page in a fresh context (no shared storage). */
  page(): Promise<TestPage>;
  /** Close the browser, which removes its profile (safe when never started). */
  close(): Promise<void>;
}

/**
 * The browser of a test file: Chromium is installed if needed and started
 * on the first {@link SharedBrowser.page}, with a fresh profile directory.
 */
export function sharedBrowser(): SharedBrowser {
  let started: Promise<Browser> | undefined;
  const start = async () => {
    await ensureChromium();
    // playwright starts Chromium with a new empty --user-data-dir of its own
    // (it refuses one in `args`) and removes it on close.
    return await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: [...CHROMIUM_FLAGS],
      timeout: 60_000,
    });
  };
  return {
    async page() {
      const browser = await (started ??= start());
      const context = await browser.newContext();
      const page = await context.newPage();
      const requests: string[] = [];
      const errors: string[] = [];
      page.on("request", (request: Request) => requests.push(request.url()));
      page.on("pageerror", (error: Error) => errors.push(error.message));
      page.on("console", (message) => {
        if (message.type() === "error") errors.push(message.text());
      });
      return {
        page,
        requests,
        errors,
        [Symbol.asyncDispose]: () => context.close(),
      };
    },
    async close() {
      if (started) await (await started).close();
    },
  };
}
