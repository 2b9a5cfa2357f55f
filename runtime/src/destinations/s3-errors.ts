import { AuthError, NotFoundError, RemoteError } from "../errors.js";
import { redactText, type Secret } from "../secret.js";
import { RetriesExhausted } from "./retry.js";

/** The parts of an AWS SDK (or Node socket) error this module looks at. */
interface S3ErrorShape {
  name?: string;
  code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
}

const RETRYABLE_NAMES = new Set([
  "InternalError",
  "ServiceUnavailable",
  "SlowDown",
  "Throttling",
  "ThrottlingException",
  "RequestTimeout",
  "RequestTimeoutException",
  "TimeoutError",
  // The server saw other bytes than we signed or hashed: damaged in transit, and the part is
  // still in memory. Ceph reports the SigV4 payload hash first, S3 and B2 the Content-MD5.
  "BadDigest",
  "XAmzContentSHA256Mismatch",
]);

/** Socket-level failure codes (Node and the SDKs copy them to `code`) worth another try, for every remote destination. */
export const RETRYABLE_CODES: ReadonlySet<string> = new Set(["ECONNRESET", "ECONNREFUSED", "ECONNABORTED", "EPIPE", "ETIMEDOUT", "EAI_AGAIN", "ENETUNREACH", "EHOSTUNREACH", "ERR_STREAM_PREMATURE_CLOSE"]);

/** HTTP status of an SDK error, when the request got that far. */
export function statusOf(err: unknown): number | undefined {
  return (err as S3ErrorShape | undefined)?.$metadata?.httpStatusCode;
}

/**
 * True for failures worth another try: HTTP 5xx and 429, S3 throttling and timeout codes,
 * socket resets, refused or timed-out connections, and a part whose Content-MD5 did not match.
 */
export function isRetryableS3Error(err: unknown): boolean {
  const e = err as S3ErrorShape | undefined;
  if (!e) return false;
  const status = statusOf(e);
  if (status !== undefined && (status >= 500 || status === 429)) return true;
  if (e.name && RETRYABLE_NAMES.has(e.name)) return true;
  if (e.code && RETRYABLE_CODES.has(e.code)) return true;
  // Node wraps some socket failures one level down.
  const cause = (e as { cause?: S3ErrorShape }).cause;
  return !!cause?.code && RETRYABLE_CODES.has(cause.code);
}

/**
 * Turns an S3 failure into one of cloudsync's typed errors, for operation `operation`
 * ("s3 put backups/x"): missing key or bucket → NotFoundError; HTTP 403 or a rejected key →
 * AuthError; everything else (including retries exhausted) → RemoteError. The message is passed
 * through redactText with the given secrets, so credentials never reach it.
 */
export function mapS3Error(err: unknown, operation: string, secrets: Array<Secret | string | undefined>): Error {
  const attempts = err instanceof RetriesExhausted ? err.attempts : 1;
  const last = (err instanceof RetriesExhausted ? err.cause : err) as S3ErrorShape | undefined;
  const status = statusOf(last);
  const name = last?.name ?? "Error";
  const label = meaningful(name) ? name : status ? `HTTP ${status}` : "no detail";
  const detail = redactText(describe(last), secrets);
  if (name === "NoSuchKey" || name === "NotFound" || (status === 404 && name !== "NoSuchBucket" && name !== "NoSuchUpload")) {
    return new NotFoundError(`${operation}: no such object`, { cause: err });
  }
  if (name === "NoSuchBucket") {
    return new NotFoundError(`${operation}: the bucket does not exist; create it or check the bucket name`, { cause: err });
  }
  if (status === 403 || name === "InvalidAccessKeyId" || name === "SignatureDoesNotMatch" || name === "AccessDenied") {
    return new AuthError(
      `${operation}: access denied (${label}); check the access key, secret and the key's permissions on the bucket. ` +
        "On an object-lock bucket, deleting or overwriting a locked version is refused by design.",
      { cause: err },
    );
  }
  const tries = attempts > 1 ? ` after ${attempts} attempts` : "";
  return new RemoteError(operation, `${detail}${tries}`, { cause: err });
}

// The SDK names errors it could not parse (HEAD responses have no body) "Unknown" or "UnknownError".
function meaningful(name: string | undefined): name is string {
  return !!name && !["Error", "Unknown", "UnknownError"].includes(name);
}

function describe(e: S3ErrorShape | undefined): string {
  if (!e) return "unknown error";
  const status = statusOf(e);
  const label = [meaningful(e.name) ? e.name : e.code, status ? `HTTP ${status}` : undefined].filter(Boolean).join(", ");
  // The SDK's message for a non-XML error body is just "UnknownError"; the status says more.
  const message = e.message && e.message !== "UnknownError" && e.message !== e.name ? e.message : "";
  return [label, message].filter(Boolean).join(": ") || "unknown error";
}
