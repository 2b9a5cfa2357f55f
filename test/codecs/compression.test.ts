// Every compression kind runs the codec contract (test/codecs/contract.ts).
import { COMPRESSIONS, createCompressor, createDecompressor } from "../../runtime/src/compression/index.js";
import { runCodecContract } from "./contract.js";

for (const kind of COMPRESSIONS) {
  runCodecContract("compression", kind, {
    encode: () => createCompressor(kind),
    decode: () => createDecompressor(kind),
    // zlib fails damaged gzip and zstd with its own Error (code Z_DATA_ERROR, Z_BUF_ERROR, …).
    damage: kind === "none" ? { undetectable: "none has no framing: the archive verifier and the stored SHA-256 catch damage" } : { error: Error },
  });
}
