/**
 * Finds where each zstd frame of a stream begins and ends without decompressing it (RFC 8878
 * §3.1): a frame is its header (magic, descriptor, optional window descriptor, dictionary ID and
 * Frame_Content_Size), then blocks whose 3-byte headers give their size and mark the last one,
 * then an optional 4-byte checksum. Skippable frames (§3.1.2) are passed over. Knowing the
 * boundaries lets independent frames be decompressed on several threads at once.
 */
import { IntegrityError } from "../errors.js";

/** A zstd frame as its header describes it. */
export interface ZstdFrameInfo {
  /** 0 for the stream's first zstd frame; skippable frames are not counted. */
  readonly index: number;
  /** Offset of its magic number in the stream. */
  readonly offset: number;
  /** Frame_Content_Size: the decompressed size, when the header declares it. */
  readonly contentSize: number | undefined;
  /** Whether an XXH64 content checksum follows the last block. */
  readonly checksum: boolean;
}

/**
 * What the splitter found in the bytes pushed, in stream order: every zstd frame is one `start`,
 * then `data` events carrying all of its bytes (header included, skippable frames never), then
 * one `end`.
 */
export type ZstdFrameEvent =
  | { readonly kind: "start"; readonly frame: ZstdFrameInfo }
  | { readonly kind: "data"; readonly bytes: Uint8Array }
  | { readonly kind: "end"; readonly frame: ZstdFrameInfo; readonly length: number };

/** Feed with `push`, finish with `end`; both throw IntegrityError on the first problem, and every later call throws it again. */
export interface ZstdFrameSplitter {
  /** Returns the events of `chunk`; `data` events are views of `chunk` (or small copies of a header split across chunks). */
  push(chunk: Uint8Array): ZstdFrameEvent[];
  /** Declares the stream complete; throws if it stopped inside a frame. */
  end(): void;
}

const ZSTD_MAGIC = 0xfd2fb528;
const SKIPPABLE_MAGIC = 0x184d2a50;
/** Block_Maximum_Size: no block regenerates or carries more than 128 KiB (§3.1.1.2). */
const MAX_BLOCK_SIZE = 128 * 1024;
const FCS_SIZES = [0, 2, 4, 8] as const;
const DICTIONARY_ID_SIZES = [0, 1, 2, 4] as const;

type Phase = "magic" | "descriptor" | "header" | "skippableSize" | "skippableBody" | "blockHeader" | "blockBody" | "checksum";

/** Creates a splitter for one stream. */
export function createZstdFrameSplitter(): ZstdFrameSplitter {
  let phase: Phase = "magic";
  /** Offset of the next byte in the stream. */
  let offset = 0;
  let nextIndex = 0;
  let frameStart = 0;
  let frame: ZstdFrameInfo | undefined;
  // Structure bytes (a frame header, a skippable frame's size, a block header), gathered across chunks.
  const small = Buffer.alloc(18);
  let fill = 0;
  let want = 4;
  /** Bytes left of a block's payload, the checksum or a skippable frame's content. */
  let left = 0;
  let lastBlock = false;
  /** Bytes of the current header's Frame_Content_Size field. */
  let fcsSize = 0;
  let failure: IntegrityError | undefined;

  const fail = (message: string): never => {
    throw new IntegrityError(`zstd data is damaged: ${message}`);
  };

  const gather = (phaseNext: Phase, bytes: number): void => {
    phase = phaseNext;
    fill = 0;
    want = bytes;
  };

  function push(chunk: Uint8Array): ZstdFrameEvent[] {
    const events: ZstdFrameEvent[] = [];
    const n = chunk.length;
    let i = 0;
    // Start in this chunk of the frame bytes not yet reported (-1: none pending).
    let run = frame ? 0 : -1;
    const flush = (to: number): void => {
      if (run >= 0 && to > run) events.push({ kind: "data", bytes: chunk.subarray(run, to) });
      run = -1;
    };
    const endFrame = (): void => {
      flush(i);
      events.push({ kind: "end", frame: frame!, length: offset - frameStart });
      frame = undefined;
      gather("magic", 4);
    };
    const afterPayload = (): void => {
      if (!lastBlock) gather("blockHeader", 3);
      else if (frame!.checksum) {
        phase = "checksum";
        left = 4;
      } else endFrame();
    };

    while (i < n) {
      if (phase === "blockBody" || phase === "checksum" || phase === "skippableBody") {
        const take = Math.min(left, n - i);
        i += take;
        offset += take;
        left -= take;
        if (left > 0) continue;
        if (phase === "skippableBody") gather("magic", 4);
        else if (phase === "checksum") endFrame();
        else afterPayload();
        continue;
      }
      const take = Math.min(want - fill, n - i);
      small.set(chunk.subarray(i, i + take), fill);
      fill += take;
      i += take;
      offset += take;
      if (fill < want) continue;
      switch (phase) {
        case "magic": {
          frameStart = offset - 4;
          const magic = small.readUInt32LE(0);
          if (magic === ZSTD_MAGIC) {
            phase = "descriptor";
            want = 5;
          } else if ((magic & 0xfffffff0) >>> 0 === SKIPPABLE_MAGIC) {
            phase = "skippableSize";
            want = 8;
          } else {
            fail(`no zstd frame at offset ${frameStart} (bytes ${small.subarray(0, 4).toString("hex")})`);
          }
          break;
        }
        case "skippableSize":
          phase = "skippableBody";
          left = small.readUInt32LE(4);
          if (left === 0) gather("magic", 4);
          break;
        case "descriptor": {
          const fhd = small[4]!;
          if (fhd & 0x08) fail(`frame ${nextIndex} at offset ${frameStart}: reserved bit set in the frame header`);
          const single = (fhd & 0x20) !== 0;
          fcsSize = fhd >> 6 === 0 ? (single ? 1 : 0) : FCS_SIZES[fhd >> 6]!;
          // Never complete yet: a window descriptor or a content size always follows.
          phase = "header";
          want = 5 + (single ? 0 : 1) + DICTIONARY_ID_SIZES[fhd & 3]! + fcsSize;
          break;
        }
        case "header": {
          const fhd = small[4]!;
          const at = want - fcsSize;
          const contentSize = fcsSize === 0 ? undefined : fcsSize === 1 ? small[at]! : fcsSize === 2 ? small.readUInt16LE(at) + 256 : fcsSize === 4 ? small.readUInt32LE(at) : Number(small.readBigUInt64LE(at));
          frame = { index: nextIndex, offset: frameStart, contentSize, checksum: (fhd & 0x04) !== 0 };
          nextIndex += 1;
          events.push({ kind: "start", frame }, { kind: "data", bytes: Buffer.from(small.subarray(0, want)) });
          run = i;
          gather("blockHeader", 3);
          break;
        }
        case "blockHeader": {
          const header = small.readUIntLE(0, 3);
          const type = (header >> 1) & 3;
          const size = header >>> 3;
          const blockAt = offset - 3;
          if (type === 3) fail(`frame ${frame!.index} at offset ${frame!.offset}: block at offset ${blockAt} has the reserved type 3`);
          if (size > MAX_BLOCK_SIZE) fail(`frame ${frame!.index} at offset ${frame!.offset}: block at offset ${blockAt} declares ${size} bytes, more than zstd's maximum of ${MAX_BLOCK_SIZE}`);
          lastBlock = (header & 1) === 1;
          // An RLE block carries one byte, repeated `size` times.
          left = type === 1 ? 1 : size;
          phase = "blockBody";
          if (left === 0) afterPayload();
          break;
        }
        default:
          break;
      }
    }
    flush(n);
    return events;
  }

  function end(): void {
    if (phase === "magic" && fill === 0) return;
    if (frame) fail(`truncated: the stream ends at offset ${offset}, inside frame ${frame.index} that starts at offset ${frame.offset}`);
    fail(`truncated: the stream ends at offset ${offset}, inside the frame header that starts at offset ${frameStart}`);
  }

  const latched =
    <A extends unknown[], R>(fn: (...args: A) => R) =>
    (...args: A): R => {
      if (failure) throw failure;
      try {
        return fn(...args);
      } catch (err) {
        if (err instanceof IntegrityError) failure = err;
        throw err;
      }
    };
  return { push: latched(push), end: latched(end) };
}
