// The implementation of `cloudsync inspect`, imported by ./inspect.ts only when the command runs, so that
// its dependencies load only then.
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { summarizeArchive } from "../../archive/reader.js";
import { ConfigError, EXIT } from "../../errors.js";
import { decodeArtifact } from "../../pipeline/decode.js";
import { loadDecryptionKeys } from "../../pipeline/encryption.js";
import { flagsToConfig } from "../common.js";
import { table } from "./list.js";
import type { Run } from "../app.js";
import type { InspectCommandOptions } from "./inspect.js";

/** Runs `cloudsync inspect`. */
export const run: Run<InspectCommandOptions> = async (ctx, file) => {
  const { flags, names } = flagsToConfig(ctx.opts);
  const config = ctx.config(flags, names);
  const isFile = await stat(file!).then(
    (s) => s.isFile(),
    (err: NodeJS.ErrnoException) => {
      throw new ConfigError("<file>", `cannot read ${file}: ${err.code ?? err.message}`);
    },
  );
  if (!isFile) throw new ConfigError("<file>", `cannot read ${file}: not a file`);
  const keys = await loadDecryptionKeys(config);
  const { stream, layers } = await decodeArtifact(createReadStream(file!), keys);
  const summary = await summarizeArchive(stream, { tolerateCrc: true });
  const bad = summary.namespaces.filter((n) => !n.crcOk);
  ctx.out.result(
    {
      header: { version: summary.header.version, server_version: summary.header.serverVersion, tool_version: summary.header.toolVersion },
      layers,
      namespaces: summary.namespaces.map((n) => ({ ns: n.ns, documents: n.documents, bytes: n.bytes, crc: n.crc, crcOk: n.crcOk })),
    },
    () =>
      [
        `${file}: ${layers.envelope === "none" ? "not encrypted" : layers.envelope}, ${layers.compression === "none" ? "not compressed" : layers.compression}`,
        `archive version ${summary.header.version}, server ${summary.header.serverVersion || "?"}, tool ${summary.header.toolVersion || "?"}`,
        table(
          ["NAMESPACE", "DOCUMENTS", "BYTES", "CRC"],
          summary.namespaces.map((n) => [n.ns, String(n.documents), String(n.bytes), n.crcOk ? "ok" : "MISMATCH"]),
        ),
      ].join("\n"),
  );
  if (bad.length) {
    ctx.out.warn(`cloudsync: integrity: CRC mismatch in ${bad.map((n) => n.ns).join(", ")}`);
    ctx.setExitCode(EXIT.integrity);
  }
};
