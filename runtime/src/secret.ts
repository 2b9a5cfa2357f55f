import { inspect } from "node:util";

/**
 * All redaction of cloudsync lives in this module: the `Secret` wrapper, connection strings
 * (`redactUri`), secret shapes recognised anywhere (age secret keys, OpenPGP private key blocks)
 * and free text (`redactText`, which the CLI's output applies to every line it prints).
 */

/** What replaces a secret in anything printed. */
export const REDACTED = "**redacted**";

/**
 * The shape of an age X25519 identity (`AGE-SECRET-KEY-1` and bech32 characters), matched
 * case-insensitively because bech32 may be written in either case.
 */
const AGE_SECRET_KEY = /AGE-SECRET-KEY-1[0-9A-Z]+/gi;
// The secret fields of an Azure Storage connection string (`…;AccountKey=…;` or `SharedAccessSignature=…`).
const AZURE_CONNECTION_SECRET = /((?:AccountKey|SharedAccessSignature)=)[^;\s"'<>]+/gi;
const PGP_PRIVATE_BLOCK = /-----BEGIN PGP PRIVATE KEY BLOCK-----[\s\S]*?(?:-----END PGP PRIVATE KEY BLOCK-----|$)/g;

/**
 * What to tell a user who gave an age secret key where a recipient belongs (the key itself is
 * never repeated back).
 */
export const SECRET_KEY_NOT_RECIPIENT = "this is a secret key, not a recipient; use `age-keygen -y` to get its recipient";

/** True when `text` contains an age secret key (`AGE-SECRET-KEY-1…`). */
export function containsAgeSecretKey(text: string): boolean {
  return new RegExp(AGE_SECRET_KEY.source, "i").test(text);
}

/**
 * A secret value (key, passphrase, credential, URI with a password). Printing, JSON-encoding or
 * inspecting it shows `**redacted**`; only `reveal()` gives the value, and only code that hands
 * it to a cipher or a client should call it.
 */
export class Secret {
  readonly #value: string;
  constructor(value: string) {
    this.#value = value;
  }
  /** The raw value. Call only where it is handed to a cipher, a driver or an HTTP signer. */
  reveal(): string {
    return this.#value;
  }
  toString(): string {
    return REDACTED;
  }
  toJSON(): string {
    return REDACTED;
  }
  [inspect.custom](): string {
    return `Secret(${REDACTED})`;
  }
}

/** Where the userinfo of a URI is: `uri.slice(start, end)` is `user[:password]`; `end` is its `@`. */
interface Userinfo {
  readonly start: number;
  readonly end: number;
  readonly user: string;
  readonly password?: string;
}

const SCHEME = /^[a-z][a-z0-9+.-]*:\/\//i;
const MONGODB_SCHEME = /^mongodb(\+srv)?:\/\//i;

/**
 * Finds the userinfo of one URI token. Connection strings are often written by hand, so the
 * password may hold unescaped `@`, `:`, `/` or `?`: the authority ends at the first `/`, `?` or
 * `#`, and the userinfo at the last `@` before it. When there is none, a password holding `/`
 * or `?` is recognised by an `@` further on followed by a host list (a `host:port` before the
 * `/` is a host, not a user). A regex rather than URL: mongodb+srv URIs with several hosts and
 * unescaped passwords do not parse as WHATWG URLs.
 */
function findUserinfo(uri: string): Userinfo | undefined {
  const scheme = SCHEME.exec(uri)?.[0];
  if (!scheme) return undefined;
  const rest = uri.slice(scheme.length);
  const authorityEnd = rest.search(/[/?#]/);
  const authority = authorityEnd < 0 ? rest : rest.slice(0, authorityEnd);
  let at = authority.lastIndexOf("@");
  if (at < 0 && authorityEnd >= 0 && authority.includes(":") && !/^[^:@]*:\d+(,[^@]*)?$/.test(authority)) {
    const later = /@[A-Za-z0-9._~%\-:,[\]]+(?=[^A-Za-z0-9._~%\-:,[\]@]|$)/.exec(rest.slice(authorityEnd));
    if (later) at = authorityEnd + later.index;
  }
  if (at < 0) return undefined;
  const info = rest.slice(0, at);
  const colon = info.indexOf(":");
  return {
    start: scheme.length,
    end: scheme.length + at,
    user: colon < 0 ? info : info.slice(0, colon),
    password: colon < 0 ? undefined : info.slice(colon + 1),
  };
}

// Query parameters that carry secrets: passwords, tokens, keys and signatures (S3 presigned URLs),
// and the AWS session token inside MongoDB's authMechanismProperties. A value ends at the next
// parameter, or where the text goes on (a ":" before a space is the message's, not the value's).
const VALUE_END = String.raw`(?=:?(?:[\s"'<>&#]|$))`;
const SECRET_PARAMETER = new RegExp(String.raw`([?&](?:[\w.-]*?(?:password|passwd|pwd|secret|token|signature|credential)|key|apikey|api_key|api-key|sig|x-amz-[\w-]*)=)[^&#\s"'<>]*?` + VALUE_END, "gi");
const SESSION_TOKEN_PROPERTY = new RegExp(String.raw`(AWS_SESSION_TOKEN(?::|%3A))[^,&#\s"'<>]*?` + String.raw`(?=:?(?:[\s"'<>&#,]|$))`, "gi");

/**
 * Strips credentials from one URI for display, keeping everything a user needs to tell servers
 * apart (scheme, user, hosts, ports, database, ordinary options):
 * `mongodb://u:p@h/db` → `mongodb://u:**redacted**@h/db`. The password may be percent-encoded
 * or hold unescaped `@`, `:` and `/`; a user name alone is kept for mongodb:// (x.509, Kerberos)
 * but redacted for other schemes, where it is usually a token (`https://TOKEN@host`). Secret
 * query parameters (`password=`, `token=`, `X-Amz-Signature=`, `AWS_SESSION_TOKEN:`…) are
 * blanked. Non-URIs are returned unchanged.
 */
export function redactUri(uri: string): string {
  const info = findUserinfo(uri);
  let out = uri;
  if (info) {
    const shown = info.password !== undefined ? `${info.user}:${REDACTED}` : MONGODB_SCHEME.test(uri) ? info.user : REDACTED;
    out = `${uri.slice(0, info.start)}${shown}${uri.slice(info.end)}`;
  }
  return out.replace(SECRET_PARAMETER, `$1${REDACTED}`).replace(SESSION_TOKEN_PROPERTY, `$1${REDACTED}`);
}

/**
 * The secret parts of a MongoDB connection string, as they may appear in a driver's message:
 * the password raw and percent-decoded, and the values of secret query parameters. Registering
 * these rather than the whole URI keeps the hosts visible in messages.
 */
export function secretPartsOfUri(uri: string): string[] {
  const parts: string[] = [];
  const password = findUserinfo(uri)?.password;
  if (password) parts.push(password, safeDecode(password));
  for (const m of uri.matchAll(SECRET_PARAMETER)) parts.push(m[0].slice(m[1]!.length));
  for (const m of uri.matchAll(SESSION_TOKEN_PROPERTY)) parts.push(m[0].slice(m[1]!.length));
  return parts.filter((p) => p.length > 0);
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

// A URI inside free text: up to whitespace, a quote or an angle bracket.
const URI_IN_TEXT = /\b[a-z][a-z0-9+.-]*:\/\/[^\s"'<>]+/gi;

/**
 * Makes a text safe to print: every URI in it goes through `redactUri`, every age secret key and
 * OpenPGP private key block is replaced by `**redacted**`, and so is every occurrence of each
 * given secret. A secret that is a MongoDB connection string stands for its secret parts only
 * (password, secret parameters), so hosts stay visible; any other secret is removed whole. The
 * account key and SAS of an Azure Storage connection string are blanked wherever they appear.
 * Used on everything the CLI prints and on third-party error messages, which may echo inputs.
 */
export function redactText(text: string, secrets: Iterable<Secret | string | undefined>): string {
  let out = text;
  for (const s of secrets) {
    const v = s instanceof Secret ? s.reveal() : s;
    if (!v) continue;
    const parts = MONGODB_SCHEME.test(v) ? secretPartsOfUri(v) : [v, ...[...v.matchAll(AZURE_CONNECTION_SECRET)].map((m) => m[0].slice(m[1]!.length))];
    // Longest first, so a value containing another is removed whole.
    for (const p of parts.sort((a, b) => b.length - a.length)) if (p.length >= 4) out = out.split(p).join(REDACTED);
  }
  return out.replace(URI_IN_TEXT, (uri) => redactUri(uri)).replace(AZURE_CONNECTION_SECRET, `$1${REDACTED}`).replace(AGE_SECRET_KEY, REDACTED).replace(PGP_PRIVATE_BLOCK, REDACTED);
}
