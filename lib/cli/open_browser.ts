/**
 * Opening a URL in the user's browser, for `pivot ui` (and pages Pivot
 * writes): `$BROWSER` when set (as Python's `webbrowser` does), else the
 * system's opener.
 *
 * @module
 */

/**
 * Open `url`, without waiting for the browser. Resolves with an error
 * message when no browser could be started (the caller decides whether that
 * is worth a warning), else undefined. Needs `--allow-run`.
 *
 * @example
 * ```ts ignore
 * const problem = await openInBrowser("http://127.0.0.1:8080/");
 * if (problem) console.error(`warning: ${problem}`);
 * ```
 */
export async function openInBrowser(url: string): Promise<string | undefined> {
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
    await Promise.resolve();
    return undefined;
  } catch (error) {
    return `cannot open a browser (${command}: ${(error as Error).message}): set BROWSER`;
  }
}
