/**
 * Reading an environment variable only where access to it is granted
 * already: never a permission prompt, never an error. For modules that read
 * a variable when they load and may load anywhere, a sandboxed stage worker
 * or a helper worker without env access included.
 *
 * @module
 */

/** The value of `name`, or undefined when it is unset or not readable without asking. */
export function grantedEnv(name: string): string | undefined {
  try {
    if (Deno.permissions.querySync({ name: "env", variable: name }).state !== "granted") {
      return undefined;
    }
    return Deno.env.get(name);
  } catch {
    return undefined;
  }
}
