/**
 * Credentials, region and endpoint of an S3 remote, found the way the AWS CLI
 * finds them:
 *
 * 1. keys in the remote's own config (`access_key_id`, `secret_access_key`,
 *    `session_token`: keep them in `.pivot/config.local.yaml`);
 * 2. the remote's `profile` (as `aws --profile`);
 * 3. `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY` / `AWS_SESSION_TOKEN`;
 * 4. the profile named by `AWS_PROFILE`, else `default`, in the shared
 *    credentials file (`AWS_SHARED_CREDENTIALS_FILE`, else
 *    `~/.aws/credentials`), then the config file (`AWS_CONFIG_FILE`, else
 *    `~/.aws/config`, where sections read `[profile NAME]`); a profile may
 *    hold keys or a `credential_process`.
 *
 * Region: the remote's `region`, `AWS_REGION`, `AWS_DEFAULT_REGION`, the
 * profile's `region`, else `us-east-1`. Endpoint: the remote's `endpoint`,
 * `AWS_ENDPOINT_URL_S3`, `AWS_ENDPOINT_URL`, the profile's `endpoint_url`,
 * else AWS.
 *
 * Not supported (yet): SSO sessions, assumed roles (`role_arn`) and instance
 * metadata credentials.
 *
 * @module
 */

import { PivotError } from "../errors.ts";
import type { RemoteConfig } from "./config.ts";

/** Keys to sign requests with. */
export interface AwsCredentials {
  /** Access key id. */
  readonly accessKeyId: string;
  /** Secret access key. */
  readonly secretAccessKey: string;
  /** Session token of temporary credentials. */
  readonly sessionToken?: string;
  /** Where they were found, for error messages ("AWS_ACCESS_KEY_ID", "profile 'x' in …"). */
  readonly source: string;
}

/** Everything needed to talk to an S3 remote. */
export interface AwsSettings {
  /** Signing keys. */
  readonly credentials: AwsCredentials;
  /** Region used in signatures. */
  readonly region: string;
  /** Custom endpoint (no trailing slash), or undefined for AWS itself. */
  readonly endpoint: string | undefined;
}

/** Where settings are looked up; defaults to the process's environment and home. */
export interface AwsLookup {
  /** Environment variables. */
  readonly env?: Record<string, string>;
  /** Home directory (for `~/.aws/…`). */
  readonly home?: string;
}

type Ini = Map<string, Map<string, string>>;

/**
 * Resolve the settings of remote `name` with config `config`. Throws a
 * one-line {@link PivotError} naming the remote when no credentials are found
 * or a named profile does not exist.
 *
 * @example
 * ```ts
 * import { resolveAwsSettings } from "./credentials.ts";
 * const settings = await resolveAwsSettings("origin", {
 *   url: "s3://bucket",
 *   endpoint: "http://127.0.0.1:9000",
 * }, { env: { AWS_ACCESS_KEY_ID: "id", AWS_SECRET_ACCESS_KEY: "secret" }, home: "/nonexistent" });
 * // settings.region === "us-east-1"
 * ```
 */
export async function resolveAwsSettings(
  name: string,
  config: RemoteConfig,
  lookup: AwsLookup = {},
): Promise<AwsSettings> {
  const env = lookup.env ?? Deno.env.toObject();
  const home = lookup.home ?? env.HOME ?? "";
  const credentialsFile = env.AWS_SHARED_CREDENTIALS_FILE ?? `${home}/.aws/credentials`;
  const configFile = env.AWS_CONFIG_FILE ?? `${home}/.aws/config`;
  const credentialsIni = readIni(credentialsFile);
  const configIni = readIni(configFile);

  const profileName = config.profile ?? env.AWS_PROFILE ?? "default";
  const profileNamed = config.profile !== undefined || env.AWS_PROFILE !== undefined;
  const fromCredentials = credentialsIni.get(profileName);
  const fromConfig = configIni.get(
    profileName === "default" ? "default" : `profile ${profileName}`,
  );
  if (profileNamed && !fromCredentials && !fromConfig) {
    const by = config.profile !== undefined ? `remote '${name}' names` : "AWS_PROFILE names";
    throw new PivotError(
      `${by} AWS profile '${profileName}', which is in neither ${credentialsFile} nor ${configFile}`,
    );
  }
  const profile = (key: string) => fromCredentials?.get(key) ?? fromConfig?.get(key);

  const region = config.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION ??
    profile("region") ?? "us-east-1";
  const endpoint = config.endpoint ?? env.AWS_ENDPOINT_URL_S3 ?? env.AWS_ENDPOINT_URL ??
    profile("endpoint_url");
  if (endpoint !== undefined && !/^https?:\/\/[^/]/.test(endpoint)) {
    throw new PivotError(
      `remote '${name}': endpoint '${endpoint}' must start with http:// or https://`,
    );
  }

  const credentials = await findCredentials(name, config, env, profileName, profileNamed, {
    get: profile,
    where: fromCredentials ? credentialsFile : configFile,
  });
  return { credentials, region, endpoint: endpoint?.replace(/\/+$/, "") };
}

async function findCredentials(
  name: string,
  config: RemoteConfig,
  env: Record<string, string>,
  profileName: string,
  profileNamed: boolean,
  profile: { get(key: string): string | undefined; where: string },
): Promise<AwsCredentials> {
  if (config.access_key_id !== undefined || config.secret_access_key !== undefined) {
    if (config.access_key_id === undefined || config.secret_access_key === undefined) {
      throw new PivotError(
        `remote '${name}' sets only one of access_key_id and secret_access_key: set both`,
      );
    }
    return {
      accessKeyId: config.access_key_id,
      secretAccessKey: config.secret_access_key,
      ...(config.session_token ? { sessionToken: config.session_token } : {}),
      source: `remote '${name}' config (access_key_id)`,
    };
  }
  // An explicit profile in the remote's config beats the environment's keys,
  // as `aws --profile` does; AWS_PROFILE does not.
  if (config.profile === undefined && env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY) {
    return {
      accessKeyId: env.AWS_ACCESS_KEY_ID,
      secretAccessKey: env.AWS_SECRET_ACCESS_KEY,
      ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}),
      source: "AWS_ACCESS_KEY_ID",
    };
  }
  const source = `profile '${profileName}' in ${profile.where}`;
  const id = profile.get("aws_access_key_id");
  const secret = profile.get("aws_secret_access_key");
  if (id && secret) {
    const token = profile.get("aws_session_token");
    return {
      accessKeyId: id,
      secretAccessKey: secret,
      ...(token ? { sessionToken: token } : {}),
      source,
    };
  }
  const process = profile.get("credential_process");
  if (process) return await runCredentialProcess(name, process, source);
  if (profileNamed) {
    throw new PivotError(
      `remote '${name}': ${source} has no aws_access_key_id/aws_secret_access_key or credential_process`,
    );
  }
  throw new PivotError(
    `no AWS credentials for remote '${name}': set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, ` +
      `set AWS_PROFILE or the remote's 'profile', or add a [default] profile to ~/.aws/credentials`,
  );
}

/** Run a profile's `credential_process` and read the JSON it prints (AWS CLI format). */
async function runCredentialProcess(
  name: string,
  commandLine: string,
  source: string,
): Promise<AwsCredentials> {
  const fail = (why: string) =>
    new PivotError(`remote '${name}': credential_process of ${source} ${why}`);
  let output: Deno.CommandOutput;
  try {
    output = await new Deno.Command("sh", { args: ["-c", commandLine], stdin: "null" }).output();
  } catch (error) {
    throw fail(`could not start: ${(error as Error).message}`);
  }
  if (!output.success) throw fail(`failed with exit code ${output.code}`);
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(new TextDecoder().decode(output.stdout));
  } catch {
    throw fail("did not print JSON");
  }
  const id = parsed.AccessKeyId, secret = parsed.SecretAccessKey, token = parsed.SessionToken;
  if (typeof id !== "string" || typeof secret !== "string") {
    throw fail("printed no AccessKeyId/SecretAccessKey");
  }
  return {
    accessKeyId: id,
    secretAccessKey: secret,
    ...(typeof token === "string" ? { sessionToken: token } : {}),
    source,
  };
}

/** Parse an AWS-style INI file (sections of `key = value`); missing file → empty. */
function readIni(path: string): Ini {
  let text: string;
  try {
    text = Deno.readTextFileSync(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound || error instanceof Deno.errors.NotADirectory) {
      return new Map();
    }
    throw new PivotError(`cannot read ${path}: ${(error as Error).message}`);
  }
  return parseIni(text);
}

/**
 * Parse INI text: `[section]` headers, `key = value` lines, `#`/`;` comments.
 * Indented lines (nested values such as `s3 =` blocks) are skipped.
 */
function parseIni(text: string): Ini {
  const sections: Ini = new Map();
  let current: Map<string, string> | undefined;
  for (const raw of text.split(/\r?\n/)) {
    if (/^\s/.test(raw) && current) continue;
    const line = raw.trim();
    if (line === "" || line.startsWith("#") || line.startsWith(";")) continue;
    const header = /^\[\s*(.+?)\s*\]$/.exec(line);
    if (header) {
      current = new Map();
      sections.set(header[1]!.replace(/\s+/g, " "), current);
      continue;
    }
    const eq = line.indexOf("=");
    if (eq === -1 || !current) continue;
    current.set(line.slice(0, eq).trim().toLowerCase(), line.slice(eq + 1).trim());
  }
  return sections;
}
