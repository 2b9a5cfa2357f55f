/**
 * Namespace checksums computed off the parsing thread. The archive scanner finds which bytes
 * belong to which namespace's CRC-64; with these checksums it only records them, as ranges of the
 * block being filled, and the compression thread that takes the block computes the CRC of each
 * range beside compressing it (`crc64Ranges`). The results are folded in file order with
 * `crc64Combine` when a namespace's digest is asked for, which the scanner defers to its end().
 *
 * Measured on the 1 GiB zstd backup: the CRC was a quarter of the main thread's CPU, and the main
 * thread the pipeline's bottleneck.
 */
import { InternalError } from "../errors.js";
import { crc64, crc64Combine, type Crc64 } from "./crc64.js";

/** A run of one namespace's bytes, in file order; `crc` is unknown until its block is settled. */
interface Segment {
  bytes: number;
  crc: bigint | undefined;
}

/** The ranges of one block to checksum elsewhere, and where their results go. */
export interface BlockRanges {
  /** `[start, end)` pairs, flattened: offsets into the block's buffer. */
  readonly ranges: readonly number[];
  /** Takes the CRC-64/XZ of each range, in order (what `crc64Ranges` returns). */
  settle(crcs: readonly bigint[]): void;
}

/** Deferred checksums for the namespaces of one archive (see the module comment). */
export interface DeferredCrcs {
  /**
   * A Crc64 for one namespace, fed by the scanner in file order. Bytes inside the current block
   * are recorded as a range; other bytes (a length word the scanner assembled in a buffer of its
   * own) are checksummed at once. `digest()` throws InternalError until every range is settled.
   */
  create(): Crc64;
  /** Sets the buffer whose bytes are recorded as ranges: the block being filled. */
  startBlock(block: ArrayBufferLike): void;
  /** Returns the ranges recorded since `startBlock` and forgets the block. */
  takeBlock(): BlockRanges;
}

/** Creates the deferred checksums of one archive. */
export function createDeferredCrcs(): DeferredCrcs {
  let block: ArrayBufferLike | undefined;
  let ranges: number[] = [];
  let segments: Segment[] = [];
  /** The segment the last range went to, for extending it when the next range continues it. */
  let last: Segment | undefined;

  const create = (): Crc64 => {
    const mine: Segment[] = [];
    let folded = 0;
    let acc = 0n;
    return {
      update(buf, start = 0, end = buf.length) {
        const bytes = end - start;
        if (bytes <= 0) return;
        if (buf.buffer !== block) {
          mine.push({ bytes, crc: crc64(buf.subarray(start, end)) });
          last = undefined;
          return;
        }
        const at = buf.byteOffset + start;
        const tail = mine[mine.length - 1];
        if (tail !== undefined && tail === last && ranges[ranges.length - 1] === at) {
          ranges[ranges.length - 1] = at + bytes;
          tail.bytes += bytes;
          return;
        }
        const segment: Segment = { bytes, crc: undefined };
        mine.push(segment);
        ranges.push(at, at + bytes);
        segments.push(segment);
        last = segment;
      },
      digest() {
        for (; folded < mine.length; folded++) {
          const s = mine[folded]!;
          if (s.crc === undefined) throw new InternalError("deferred CRC-64: a namespace's digest was asked for before all of its blocks were checksummed");
          acc = crc64Combine(acc, s.crc, s.bytes);
        }
        return acc;
      },
    };
  };

  return {
    create,
    startBlock(b) {
      block = b;
      last = undefined;
    },
    takeBlock() {
      const taken = { ranges, segments };
      block = undefined;
      last = undefined;
      ranges = [];
      segments = [];
      return {
        ranges: taken.ranges,
        settle(crcs) {
          if (crcs.length !== taken.segments.length) throw new InternalError(`deferred CRC-64: ${crcs.length} checksums for ${taken.segments.length} ranges`);
          taken.segments.forEach((s, i) => (s.crc = crcs[i]));
        },
      };
    },
  };
}
