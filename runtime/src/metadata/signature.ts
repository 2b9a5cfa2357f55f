import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import type { Secret } from "../secret.js";

/**
 * The push signature scheme, v1 (documented in docs/METADATA_API.md; change both together).
 *
 *   canonical = "cloudsync-v1\n" + METHOD + "\n" + PATH + "\n" + TIMESTAMP + "\n" + IDEMPOTENCY_KEY + "\n" + RAW_BODY
 *   signature = "v1=" + lowercase hex(HMAC-SHA256(key = UTF-8 bytes of CLOUD_SYNC_API_KEY, canonical))
 *
 * TIMESTAMP is Unix seconds (decimal, no sign, no fraction), also sent as `X-Cloudsync-Timestamp`.
 * The idempotency key is signed too, so a captured request cannot be replayed under a fresh key.
 */
export const SIGNATURE_HEADERS = {
  timestamp: "x-cloudsync-timestamp",
  signature: "x-cloudsync-signature",
  idempotencyKey: "idempotency-key",
} as const;

/** Largest accepted clock difference between signer and server, in seconds. */
export const SIGNATURE_TOLERANCE_SECONDS = 300;

/** Accepted idempotency keys: long enough to be unique, short enough to index. */
export const IDEMPOTENCY_KEY_PATTERN = /^[A-Za-z0-9_-]{16,128}$/;

/** The request parts covered by the signature. */
export interface SignedParts {
  readonly method: string;
  readonly path: string;
  readonly timestamp: number;
  readonly idempotencyKey: string;
  readonly body: Buffer;
}

/** Computes the `X-Cloudsync-Signature` value for `parts`. Pure. */
export function computeSignature(key: Secret, parts: SignedParts): string {
  const mac = createHmac("sha256", Buffer.from(key.reveal(), "utf8"));
  mac.update(`cloudsync-v1\n${parts.method.toUpperCase()}\n${parts.path}\n${parts.timestamp}\n${parts.idempotencyKey}\n`);
  mac.update(parts.body);
  return `v1=${mac.digest("hex")}`;
}

/** A fresh random idempotency key (22 base64url characters, 128 bits). */
export function newIdempotencyKey(): string {
  return randomBytes(16).toString("base64url");
}

/** Headers to send with a signed push of `body` to `path`, at `now` (ms since the epoch). */
export function signRequest(key: Secret, path: string, body: Buffer, idempotencyKey: string, now = Date.now()): Record<string, string> {
  const timestamp = Math.floor(now / 1000);
  return {
    [SIGNATURE_HEADERS.timestamp]: String(timestamp),
    [SIGNATURE_HEADERS.idempotencyKey]: idempotencyKey,
    [SIGNATURE_HEADERS.signature]: computeSignature(key, { method: "POST", path, timestamp, idempotencyKey, body }),
  };
}

/** Why a signature was refused; the server sends only a generic 401 plus this reason code. */
export type SignatureFailure = "missing" | "malformed" | "expired" | "mismatch";

/** Signature headers that passed `checkSignatureHeaders`: what remains is the MAC over the body. */
export interface SignatureHeaders {
  readonly timestamp: number;
  readonly idempotencyKey: string;
  /** The 32 MAC bytes given in `X-Cloudsync-Signature`. */
  readonly mac: Buffer;
}

/**
 * Checks the signature headers alone (present, well-formed, timestamp within the window) at
 * `nowSeconds`, so a request that cannot be valid is refused before its body is read. Returns
 * the failure reason, or the parsed headers for `verifyBody`.
 */
export function checkSignatureHeaders(headers: Record<string, string | string[] | undefined>, nowSeconds: number): SignatureFailure | SignatureHeaders {
  const ts = single(headers[SIGNATURE_HEADERS.timestamp]);
  const sig = single(headers[SIGNATURE_HEADERS.signature]);
  const idem = single(headers[SIGNATURE_HEADERS.idempotencyKey]);
  if (ts === undefined || sig === undefined || idem === undefined) return "missing";
  if (!/^\d{1,12}$/.test(ts) || !/^v1=[0-9a-f]{64}$/.test(sig) || !IDEMPOTENCY_KEY_PATTERN.test(idem)) return "malformed";
  const timestamp = Number(ts);
  if (Math.abs(nowSeconds - timestamp) > SIGNATURE_TOLERANCE_SECONDS) return "expired";
  return { timestamp, idempotencyKey: idem, mac: Buffer.from(sig.slice(3), "hex") };
}

/**
 * Checks the MAC of headers that passed `checkSignatureHeaders` over the raw body bytes, in
 * constant time over the 32 MAC bytes. Returns null when valid, else `"mismatch"`.
 */
export function verifyBody(key: Secret, req: { method: string; path: string; body: Buffer }, headers: SignatureHeaders): "mismatch" | null {
  const expected = Buffer.from(computeSignature(key, { method: req.method, path: req.path, timestamp: headers.timestamp, idempotencyKey: headers.idempotencyKey, body: req.body }).slice(3), "hex");
  return headers.mac.length === expected.length && timingSafeEqual(headers.mac, expected) ? null : "mismatch";
}

/**
 * Verifies a request's signature headers against `key` at `nowSeconds`. Returns null when valid,
 * otherwise the failure reason. The timestamp window is checked before the MAC so stale requests
 * cost no HMAC (`checkSignatureHeaders`, then `verifyBody`).
 */
export function verifySignature(
  key: Secret,
  req: { method: string; path: string; body: Buffer; headers: Record<string, string | string[] | undefined> },
  nowSeconds: number,
): SignatureFailure | null {
  const headers = checkSignatureHeaders(req.headers, nowSeconds);
  return typeof headers === "string" ? headers : verifyBody(key, req, headers);
}

function single(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? (v.length === 1 ? v[0] : undefined) : v;
}
