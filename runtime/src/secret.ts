import { inspect } from "node:util";

const REDACTED = "**redacted**";

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

/**
 * Strips credentials from a URI for display: `mongodb://u:p@h/db` → `mongodb://u:**redacted**@h/db`.
 * Also blanks query parameters that commonly carry secrets. Non-URIs are returned unchanged.
 */
export function redactUri(uri: string): string {
  // A regex rather than URL: mongodb+srv URIs with several hosts do not parse as WHATWG URLs.
  let out = uri.replace(/^([a-z][a-z0-9+.-]*:\/\/)([^:@/]*):([^@/]*)@/i, (_m, scheme: string, user: string) => `${scheme}${user}:${REDACTED}@`);
  out = out.replace(/([?&](?:password|secret|token|key|signature|X-Amz-Signature|X-Amz-Credential|sig)=)[^&]*/gi, `$1${REDACTED}`);
  return out;
}

/**
 * Replaces every occurrence of each given secret in a text by `**redacted**`. Used on error
 * messages from third-party libraries before they are shown, since those may echo inputs.
 */
export function redactText(text: string, secrets: Iterable<Secret | string | undefined>): string {
  let out = text;
  for (const s of secrets) {
    const v = s instanceof Secret ? s.reveal() : s;
    if (v && v.length >= 4) out = out.split(v).join(REDACTED);
  }
  return redactUri(out);
}
