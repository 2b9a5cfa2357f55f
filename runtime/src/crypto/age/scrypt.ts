/**
 * age's scrypt recipient type (C2SP age spec, "The scrypt recipient type"): the wrap key is
 * scrypt(passphrase, "age-encryption.org/v1/scrypt" ‖ 16-byte salt, N = 2^workFactor, r = 8,
 * p = 1). scrypt runs on libuv's thread pool so a large work factor never blocks the event loop.
 */
import { randomBytes, scrypt } from "node:crypto";
import { ConfigError } from "../../errors.js";
import type { Secret } from "../../secret.js";
import { encodeB64 } from "./base64.js";
import { openKey, sealKey } from "./wrap.js";

const LABEL = "age-encryption.org/v1/scrypt";

/** The `age` CLI's default work factor (2^18 iterations, about 256 MiB and a second of CPU). */
export const DEFAULT_WORK_FACTOR = 18;

/**
 * The largest work factor we write or accept: age's own decryption limit, so everything we
 * write decrypts with `age -d`, and a hostile header cannot make us allocate more than 4 GiB.
 */
export const MAX_WORK_FACTOR = 22;

function deriveWrapKey(passphrase: Secret, salt: Buffer, workFactor: number): Promise<Buffer> {
  const N = 2 ** workFactor;
  return new Promise((resolve, reject) => {
    // scrypt needs 128·N·r bytes; Node's default maxmem (32 MiB) would refuse age's default.
    scrypt(passphrase.reveal(), Buffer.concat([Buffer.from(LABEL), salt]), 32, { N, r: 8, p: 1, maxmem: 128 * N * 8 + 16 * 1024 * 1024 }, (err, key) =>
      err ? reject(err) : resolve(key),
    );
  });
}

/** Checks a work factor given by the user. Throws ConfigError("workFactor") outside 1…22. */
export function checkWorkFactor(workFactor: number): number {
  if (!Number.isInteger(workFactor) || workFactor < 1 || workFactor > MAX_WORK_FACTOR) {
    throw new ConfigError("workFactor", `must be an integer from 1 to ${MAX_WORK_FACTOR} (age's default is ${DEFAULT_WORK_FACTOR}), got ${workFactor}`);
  }
  return workFactor;
}

/** Builds the scrypt stanza wrapping `fileKey` under `passphrase`. */
export async function scryptStanza(fileKey: Buffer, passphrase: Secret, workFactor: number): Promise<{ args: string[]; body: Buffer }> {
  const salt = randomBytes(16);
  const wrapKey = await deriveWrapKey(passphrase, salt, workFactor);
  return { args: ["scrypt", encodeB64(salt), String(workFactor)], body: sealKey(wrapKey, fileKey) };
}

/** Unwraps the file key; undefined when the passphrase is wrong (the body does not authenticate). */
export async function scryptUnwrap(passphrase: Secret, salt: Buffer, workFactor: number, body: Buffer): Promise<Buffer | undefined> {
  return openKey(await deriveWrapKey(passphrase, salt, workFactor), body);
}
