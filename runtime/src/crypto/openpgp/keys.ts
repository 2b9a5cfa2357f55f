/**
 * OpenPGP public keys: reading fingerprints out of armored key blocks (RFC 9580 §5.5.4), and
 * loading recipients given as key files or as key ids/emails from the user's GnuPG keyring.
 */
import { createHash } from "node:crypto";
import { readFile, stat } from "node:fs/promises";
import { ConfigError } from "../../errors.js";
import { gpgMessages, makeGpgHome, removeGpgHome, runGpg } from "./gpg.js";

const BEGIN = /^-----BEGIN PGP PUBLIC KEY BLOCK-----$/;
const END = /^-----END PGP PUBLIC KEY BLOCK-----$/;

/** Decodes every "PUBLIC KEY BLOCK" armor in `text` to its packets' bytes. */
function dearmorKeyBlocks(text: string): Buffer[] {
  const blocks: Buffer[] = [];
  let body: string[] | undefined;
  let inHeaders = false;
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (!body) {
      if (BEGIN.test(line)) {
        body = [];
        inHeaders = true;
      }
      continue;
    }
    if (END.test(line)) {
      blocks.push(Buffer.from(body.join(""), "base64"));
      body = undefined;
      continue;
    }
    // Armor headers ("Comment: …") run until the first blank line.
    if (inHeaders) {
      if (line === "") inHeaders = false;
      else if (!line.includes(": ")) {
        inHeaders = false;
        body.push(line);
      }
      continue;
    }
    // "=XXXX" is the optional CRC-24 line.
    if (!line.startsWith("=")) body.push(line);
  }
  return blocks;
}

/**
 * Fingerprints (upper-case hex) of the primary keys in armored OpenPGP public key text: v4 keys
 * SHA-1 over 0x99 ‖ 2-byte length ‖ key packet body, v6 keys SHA-256 over 0x9B ‖ 4-byte length ‖
 * body (v5: 0x9A). Subkeys (tag 14) are skipped. Returns [] when there is no key; never throws.
 */
export function openPgpFingerprints(armored: string): string[] {
  const out: string[] = [];
  for (const block of dearmorKeyBlocks(armored)) {
    let i = 0;
    while (i < block.length) {
      const b = block[i]!;
      if ((b & 0x80) === 0) break;
      let tag: number;
      let len: number;
      let hdr: number;
      if (b & 0x40) {
        tag = b & 0x3f;
        const o1 = block[i + 1] ?? 0;
        if (o1 < 192) [len, hdr] = [o1, 2];
        else if (o1 < 224) [len, hdr] = [((o1 - 192) << 8) + (block[i + 2] ?? 0) + 192, 3];
        else if (o1 === 255) [len, hdr] = [block.readUInt32BE(i + 2), 6];
        else break; // Partial lengths never occur in key material.
      } else {
        tag = (b >> 2) & 0x0f;
        const lt = b & 3;
        if (lt === 0) [len, hdr] = [block[i + 1] ?? 0, 2];
        else if (lt === 1) [len, hdr] = [block.readUInt16BE(i + 1), 3];
        else if (lt === 2) [len, hdr] = [block.readUInt32BE(i + 1), 5];
        else [len, hdr] = [block.length - i - 1, 1];
      }
      const body = block.subarray(i + hdr, i + hdr + len);
      if (tag === 6 && body.length > 0) {
        const version = body[0];
        if (version === 4) {
          const pre = Buffer.from([0x99, body.length >> 8, body.length & 0xff]);
          out.push(createHash("sha1").update(pre).update(body).digest("hex").toUpperCase());
        } else if (version === 5 || version === 6) {
          const pre = Buffer.alloc(5);
          pre[0] = version === 6 ? 0x9b : 0x9a;
          pre.writeUInt32BE(body.length, 1);
          out.push(createHash("sha256").update(pre).update(body).digest("hex").toUpperCase());
        }
      }
      i += hdr + len;
    }
  }
  return out;
}

/** Loaded OpenPGP recipients: one armored text holding every key, and their primary fingerprints. */
export interface OpenPgpRecipients {
  readonly armored: string;
  readonly fingerprints: string[];
}

async function isFile(path: string): Promise<boolean> {
  return stat(path).then(
    (s) => s.isFile(),
    () => false,
  );
}

/**
 * Resolves `--gpg-recipient` values. Each spec is either a path to a public key file (armored or
 * binary) or a key id / fingerprint / email that `gpg --export` finds in the user's keyring
 * (GNUPGHOME or ~/.gnupg; never the network). The keys are checked in a throwaway GnuPG home:
 * each must have a valid (not expired or revoked) encryption-capable key.
 *
 * Throws ConfigError(field) naming the spec that has no key or no usable encryption key, and
 * ConfigError("gpg") when gpg is not installed. The user's keyring is only read.
 */
export async function loadOpenPgpRecipients(specs: readonly string[], field = "gpgRecipients"): Promise<OpenPgpRecipients> {
  if (specs.length === 0) throw new ConfigError(field, "at least one OpenPGP recipient (key file, key id or email) is required");
  const home = await makeGpgHome();
  try {
    for (const spec of specs) {
      let key: Buffer;
      if (await isFile(spec)) {
        key = await readFile(spec);
      } else {
        const exported = await runGpg(["--export", spec]);
        if (exported.code !== 0 || exported.stdout.length === 0) {
          throw new ConfigError(field, `"${spec}" is neither a key file nor a key in your GnuPG keyring (gpg --list-keys); import it with gpg --import or pass the path of its armored public key`);
        }
        key = exported.stdout;
      }
      const imported = await runGpg(["--import"], { home, input: key });
      if (imported.code !== 0 || !/^\[GNUPG:\] IMPORT_OK /m.test(imported.stderr)) {
        throw new ConfigError(field, `"${spec}" does not contain an OpenPGP public key (${gpgMessages(imported.stderr) || "gpg imported nothing"})`);
      }
      const listed = await runGpg(["--with-colons", "--list-keys"], { home });
      if (!usableForEncryption(listed.stdout.toString("utf8"))) {
        throw new ConfigError(field, `"${spec}" has no valid encryption key (expired, revoked, or a signing-only key)`);
      }
    }
    const exported = await runGpg(["--armor", "--export"], { home });
    const armored = exported.stdout.toString("utf8");
    return { armored, fingerprints: openPgpFingerprints(armored) };
  } finally {
    await removeGpgHome(home);
  }
}

/**
 * True when every primary key listed (gpg --with-colons) can encrypt: capability field 12 holds
 * "E" for the key as a whole, and validity field 2 is neither expired, revoked nor invalid.
 */
function usableForEncryption(colons: string): boolean {
  const pubs = colons.split("\n").filter((l) => l.startsWith("pub:"));
  return pubs.length > 0 && pubs.every((l) => {
    const f = l.split(":");
    return !["e", "r", "i", "d"].includes(f[1] ?? "") && (f[11] ?? "").includes("E");
  });
}
