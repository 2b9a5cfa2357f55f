/**
 * The few typed errors of cloudsync. Every failure a user can act on is one of these; the CLI
 * maps each class to a documented exit code (see `exitCodeFor`). Messages use lower-case
 * context prefixes ("s3 put backups/x: …") and say what failed and what to do.
 */

/** Base class: carries a stable `code` used by `--json` output and exit-code mapping. */
export class CloudsyncError extends Error {
  readonly code: string = "error";
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Bad command-line usage (unknown flag, missing argument). Exit code 2. */
export class UsageError extends CloudsyncError {
  override readonly code = "usage";
}

/**
 * Invalid configuration. `field` names the offending setting exactly as the user spells it
 * (flag, environment variable or config-file key). Exit code 2.
 */
export class ConfigError extends CloudsyncError {
  override readonly code = "config";
  constructor(
    readonly field: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${field}: ${message}`, options);
  }
}

/** A named thing (backup id, object key, namespace) does not exist. Exit code 3. */
export class NotFoundError extends CloudsyncError {
  override readonly code = "not_found";
}

/**
 * Data failed a check: wrong checksum, CRC, size, authentication tag, truncated stream,
 * malformed archive. Never retried; nothing derived from the bad data is kept. Exit code 4.
 */
export class IntegrityError extends CloudsyncError {
  override readonly code = "integrity";
}

/**
 * A remote operation failed after retries (storage, MongoDB, HTTP). `operation` names it,
 * e.g. "s3 put backups/2026…". Exit code 5.
 */
export class RemoteError extends CloudsyncError {
  override readonly code = "remote";
  constructor(
    readonly operation: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${operation}: ${message}`, options);
  }
}

/** A decryption key, passphrase or credential was rejected. Exit code 6. */
export class AuthError extends CloudsyncError {
  override readonly code = "auth";
}

/** Another run holds the lock, or the destination is busy. Exit code 7. */
export class BusyError extends CloudsyncError {
  override readonly code = "busy";
}

/** Local I/O failure that is the environment's, not the data's: disk full, permission denied. Exit code 8. */
export class LocalIOError extends CloudsyncError {
  override readonly code = "local_io";
}

/**
 * The run was interrupted (SIGINT/SIGTERM, or an AbortSignal the caller aborted with it): work
 * stopped and nothing half-written was left. Not a crash: no stack trace, no "please report it".
 * Exit code 130.
 */
export class InterruptedError extends CloudsyncError {
  override readonly code = "interrupted";
  constructor(message = "interrupted; nothing was written", options?: { cause?: unknown }) {
    super(message, options);
  }
}

/**
 * A broken invariant inside cloudsync: a bug, never the user's input or the environment. Exit
 * code 1, with the request to report it (run again with --debug for the stack trace).
 */
export class InternalError extends CloudsyncError {
  override readonly code = "internal";
}

/**
 * True when `err` is an interruption: an InterruptedError, or the AbortError a Node stream or
 * timer throws when its signal was aborted with one (the reason is then the error's cause).
 */
export function isInterruption(err: unknown): boolean {
  if (err instanceof InterruptedError) return true;
  return err instanceof Error && err.name === "AbortError" && err.cause instanceof InterruptedError;
}

/** Documented exit codes of the `cloudsync` CLI. */
export const EXIT = {
  ok: 0,
  failure: 1,
  usage: 2,
  notFound: 3,
  integrity: 4,
  remote: 5,
  auth: 6,
  busy: 7,
  localIO: 8,
  interrupted: 130,
} as const;

/** Maps an error to the CLI exit code documented in the README (interruptions 130). Unknown errors give 1. */
export function exitCodeFor(err: unknown): number {
  if (isInterruption(err)) return EXIT.interrupted;
  if (err instanceof UsageError || err instanceof ConfigError) return EXIT.usage;
  if (err instanceof NotFoundError) return EXIT.notFound;
  if (err instanceof IntegrityError) return EXIT.integrity;
  if (err instanceof RemoteError) return EXIT.remote;
  if (err instanceof AuthError) return EXIT.auth;
  if (err instanceof BusyError) return EXIT.busy;
  if (err instanceof LocalIOError) return EXIT.localIO;
  return EXIT.failure;
}

/**
 * Turns a Node system error (ENOSPC, EACCES, EROFS, EDQUOT) into a LocalIOError saying what to
 * do; returns other errors unchanged. `what` is the lower-case context, e.g. "write ./backups/x".
 */
export function describeLocalIO(err: unknown, what: string): unknown {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  const hints: Record<string, string> = {
    ENOSPC: "no space left on the device; free space or choose another destination",
    EDQUOT: "disk quota exceeded; free space or choose another destination",
    EACCES: "permission denied; check the owner and mode of the path",
    EPERM: "operation not permitted; check the owner and mode of the path",
    EROFS: "the file system is read-only; choose a writable destination",
    EISDIR: "that path is a directory where a file was expected; give a file's path, or move the directory away",
    ENOTDIR: "a component of the path is a file, not a directory; check the path",
  };
  if (code && hints[code]) return new LocalIOError(`${what}: ${hints[code]} (${code})`, { cause: err });
  return err;
}
