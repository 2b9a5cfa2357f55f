/**
 * age's X25519 keys and recipient stanza (C2SP age spec, "The X25519 recipient type"), over
 * node:crypto. Raw 32-byte keys are wrapped into KeyObjects through their fixed DER prefixes
 * (RFC 8410), since node:crypto has no raw-key import for X25519.
 */
import { createHash, createPrivateKey, createPublicKey, diffieHellman, generateKeyPairSync, hkdfSync, type KeyObject } from "node:crypto";
import { ConfigError } from "../../errors.js";
import { Secret } from "../../secret.js";
import { bech32Decode, bech32Encode } from "./bech32.js";
import { encodeB64 } from "./base64.js";
import { sealKey, openKey } from "./wrap.js";

const PKCS8_PREFIX = Buffer.from("302e020100300506032b656e04220420", "hex");
const SPKI_PREFIX = Buffer.from("302a300506032b656e032100", "hex");
const RECIPIENT_HRP = "age";
const IDENTITY_HRP = "age-secret-key-";
const LABEL = "age-encryption.org/v1/X25519";

/** A parsed identity: the private key object and its raw public key. Never logged. */
export interface X25519Identity {
  readonly privateKey: KeyObject;
  readonly publicRaw: Buffer;
}

function privateFromRaw(raw: Buffer): KeyObject {
  return createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, raw]), format: "der", type: "pkcs8" });
}

function publicFromRaw(raw: Buffer): KeyObject {
  return createPublicKey({ key: Buffer.concat([SPKI_PREFIX, raw]), format: "der", type: "spki" });
}

function rawPublic(key: KeyObject): Buffer {
  return key.export({ format: "der", type: "spki" }).subarray(SPKI_PREFIX.length);
}

function rawPrivate(key: KeyObject): Buffer {
  return key.export({ format: "der", type: "pkcs8" }).subarray(PKCS8_PREFIX.length);
}

/**
 * Decodes an "age1…" recipient to its 32-byte public key. Throws ConfigError naming `field`
 * and quoting the recipient (recipients are public) when it is not one.
 */
export function parseRecipient(recipient: string, field = "recipient"): Buffer {
  const decoded = bech32Decode(recipient);
  if (!decoded || decoded.hrp !== RECIPIENT_HRP || decoded.data.length !== 32 || recipient !== recipient.toLowerCase()) {
    throw new ConfigError(field, `"${recipient}" is not an age X25519 recipient (expected age1… as printed by age-keygen or cloudsync keys new)`);
  }
  return decoded.data;
}

/**
 * Decodes an "AGE-SECRET-KEY-1…" identity. Throws ConfigError naming `field`; the message
 * never contains the identity text.
 */
export function parseIdentity(identity: Secret, field = "identity"): X25519Identity {
  const text = identity.reveal().trim();
  const decoded = bech32Decode(text);
  if (!decoded || decoded.hrp !== IDENTITY_HRP || decoded.data.length !== 32 || text !== text.toUpperCase()) {
    throw new ConfigError(field, "not an age X25519 identity (expected one AGE-SECRET-KEY-1… line as written by age-keygen or cloudsync keys new)");
  }
  const privateKey = privateFromRaw(decoded.data);
  return { privateKey, publicRaw: rawPublic(createPublicKey(privateKey)) };
}

/** Creates a new X25519 identity and its recipient. */
export function generateAgeIdentity(): { identity: Secret; recipient: string } {
  const { privateKey, publicKey } = generateKeyPairSync("x25519");
  return {
    identity: new Secret(bech32Encode(IDENTITY_HRP, rawPrivate(privateKey)).toUpperCase()),
    recipient: bech32Encode(RECIPIENT_HRP, rawPublic(publicKey)),
  };
}

/** The "age1…" recipient of an identity. Throws ConfigError (field "identity") when it is not one. */
export function ageRecipientOf(identity: Secret): string {
  return bech32Encode(RECIPIENT_HRP, parseIdentity(identity).publicRaw);
}

/**
 * A short, stable, non-secret id of a recipient for manifests and listings:
 * "sha256:" followed by the first 16 hex digits of SHA-256 over the recipient string exactly as
 * given (an "age1…" string, or an OpenPGP fingerprint in upper-case hex). It identifies which key
 * a backup needs without storing the key itself.
 */
export function recipientFingerprint(recipient: string): string {
  return `sha256:${createHash("sha256").update(recipient, "utf8").digest("hex").slice(0, 16)}`;
}

function wrapKey(shared: Buffer, ephemeralShare: Buffer, recipientRaw: Buffer): Buffer {
  const salt = Buffer.concat([ephemeralShare, recipientRaw]);
  return Buffer.from(hkdfSync("sha256", shared, salt, LABEL, 32));
}

/** Builds the X25519 stanza wrapping `fileKey` to `recipientRaw`. Throws ConfigError for a low-order key. */
export function x25519Stanza(fileKey: Buffer, recipientRaw: Buffer, recipientText: string): { args: string[]; body: Buffer } {
  const eph = generateKeyPairSync("x25519");
  const share = rawPublic(eph.publicKey);
  let shared: Buffer;
  try {
    shared = diffieHellman({ privateKey: eph.privateKey, publicKey: publicFromRaw(recipientRaw) });
  } catch (err) {
    throw new ConfigError("recipient", `"${recipientText}" is not a usable X25519 public key (low-order point)`, { cause: err });
  }
  if (shared.every((b) => b === 0)) throw new ConfigError("recipient", `"${recipientText}" is not a usable X25519 public key (low-order point)`);
  return { args: ["X25519", encodeB64(share)], body: sealKey(wrapKey(shared, share, recipientRaw), fileKey) };
}

/**
 * Tries to unwrap the file key from an X25519 stanza with one identity. Returns undefined when
 * the stanza is for someone else (its body does not authenticate under our key).
 */
export function x25519Unwrap(identity: X25519Identity, share: Buffer, body: Buffer): Buffer | undefined {
  let shared: Buffer;
  try {
    shared = diffieHellman({ privateKey: identity.privateKey, publicKey: publicFromRaw(share) });
  } catch {
    return undefined;
  }
  if (shared.every((b) => b === 0)) return undefined;
  return openKey(wrapKey(shared, share, identity.publicRaw), body);
}
