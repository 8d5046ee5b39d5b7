/**
 * Opening a URL in the user's browser, for `pivot ui` and `plots show
 * --open`: `$BROWSER` when set (as Python's `webbrowser` does), else the
 * system's opener.
 *
 * @module
 */

/**
 * Start a browser on `url` without waiting for it. Returns why no browser
 * could be started (for a warning: the caller says what to open instead), or
 * undefined. Needs `--allow-run`.
 *
 * @example
 * ```ts ignore
 * const problem = openInBrowser("http://127.0.0.1:8080/");
 * if (problem) console.error(`warning: ${problem}: open the page yourself`);
 * ```
 */
export function openInBrowser(url: string): string | undefined {
  const browser = Deno.env.get("BROWSER")?.trim();
  const [command, ...args] = browser
    ? [browser, url]
    : Deno.build.os === "darwin"
    ? ["open", url]
    : Deno.build.os === "windows"
    ? ["cmd", "/c", "start", "", url]
    : ["xdg-open", url];
  try {
    const child = new Deno.Command(command, {
      args,
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    // A browser may keep running: do not wait for it.
    child.unref();
    return undefined;
  } catch (error) {
    return `cannot open a browser (${command}: ${(error as Error).message})`;
  }
}
