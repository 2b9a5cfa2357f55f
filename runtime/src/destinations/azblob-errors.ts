import { AuthError, IntegrityError, NotFoundError, RemoteError } from "../errors.js";
import { redactText, type Secret } from "../secret.js";
import { RetriesExhausted } from "./retry.js";
import { RETRYABLE_CODES } from "./s3-errors.js";

/** The parts of an Azure SDK RestError (or a Node socket error) this module looks at. */
interface AzureErrorShape {
  name?: string;
  /** The service's x-ms-error-code ("BlobNotFound", "Md5Mismatch"…) or a socket code. */
  code?: string;
  statusCode?: number;
  message?: string;
  cause?: { code?: string };
}

/** A request that moved no bytes for the destination's requestTimeoutMs; retried like a reset. */
export class RequestIdleError extends Error {
  constructor(ms: number) {
    super(`no bytes moved for ${ms} ms`);
    this.name = "RequestIdleError";
  }
}

const RETRYABLE_SERVICE_CODES = new Set([
  "InternalError",
  "OperationTimedOut",
  "ServerBusy",
  // The service saw other bytes than we hashed (Content-MD5 of a block or a small blob): damaged
  // in transit, and the block is still in memory.
  "Md5Mismatch",
  "REQUEST_SEND_ERROR",
]);

/**
 * True for failures worth another try: HTTP 5xx, 429 and 408, Azure's busy, timeout and
 * Content-MD5 mismatch codes, socket resets and refused connections, and an idle request.
 */
export function isRetryableAzureError(err: unknown): boolean {
  if (err instanceof RequestIdleError) return true;
  const e = err as AzureErrorShape | undefined;
  if (!e) return false;
  const status = e.statusCode;
  if (status !== undefined && (status >= 500 || status === 429 || status === 408)) return true;
  if (e.code && (RETRYABLE_SERVICE_CODES.has(e.code) || RETRYABLE_CODES.has(e.code))) return true;
  return !!e.cause?.code && RETRYABLE_CODES.has(e.cause.code);
}

/**
 * Turns an Azure Blob failure into one of cloudsync's typed errors, for `operation`
 * ("azblob put backups/x"): missing blob or container → NotFoundError; HTTP 403 or a rejected
 * key or SAS → AuthError; everything else (retries exhausted included) → RemoteError. The
 * message goes through redactText with `secrets`, so keys and SAS tokens never reach it.
 */
export function mapAzureError(err: unknown, operation: string, secrets: Array<Secret | string | undefined>): Error {
  if (err instanceof IntegrityError || err instanceof NotFoundError || err instanceof AuthError || err instanceof RemoteError) return err;
  const attempts = err instanceof RetriesExhausted ? err.attempts : 1;
  const last = (err instanceof RetriesExhausted ? err.cause : err) as AzureErrorShape | undefined;
  const status = last?.statusCode;
  const code = last?.code;
  if (code === "ContainerNotFound") {
    return new NotFoundError(`${operation}: the container does not exist; create it or check the container name`, { cause: err });
  }
  if (code === "BlobNotFound" || status === 404) return new NotFoundError(`${operation}: no such object`, { cause: err });
  if (status === 403 || code === "AuthenticationFailed" || code === "AuthorizationFailure" || code === "AuthorizationPermissionMismatch") {
    return new AuthError(
      `${operation}: access denied (${code ?? `HTTP ${status}`}); check the connection string, account key or SAS token and its permissions on the container. ` +
        "Under an immutability policy or a legal hold, deleting or overwriting a blob is refused by design.",
      { cause: err },
    );
  }
  const tries = attempts > 1 ? ` after ${attempts} attempts` : "";
  return new RemoteError(operation, `${redactText(describe(last), secrets)}${tries}`, { cause: err });
}

function describe(e: AzureErrorShape | undefined): string {
  if (!e) return "unknown error";
  const label = [e.code, e.statusCode ? `HTTP ${e.statusCode}` : undefined].filter(Boolean).join(", ");
  // The service's messages carry a RequestId and a Time line; the first line says what went wrong.
  const message = (e.message ?? "").split("\n")[0]?.trim() ?? "";
  return [label, message && message !== e.code ? message : ""].filter(Boolean).join(": ") || e.name || "unknown error";
}
