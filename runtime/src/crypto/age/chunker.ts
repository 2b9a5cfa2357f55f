/**
 * Cuts a byte stream into fixed-size chunks while holding back the newest one, because in age's
 * STREAM a chunk's "last" flag is known only once we know whether any byte follows it. A full
 * chunk is released as not-last only when at least one more byte has arrived; at the end the
 * held chunk (full, short or — only for an empty stream — empty) is released as last.
 * Memory is one chunk, whatever the stream's size.
 */

/** Receives each chunk. The buffer may be reused after the call returns: copy it to keep it. */
export type ChunkSink = (chunk: Buffer, last: boolean) => void;

/** A chunker for one stream. */
export interface Chunker {
  /** Feeds bytes; calls `sink` for every chunk now known not to be last. Exceptions from `sink` propagate. */
  write(data: Buffer, sink: ChunkSink): void;
  /** Releases the held chunk as last. Call once, at end of input. */
  end(sink: ChunkSink): void;
}

/** Creates a chunker of `size`-byte chunks. */
export function createChunker(size: number): Chunker {
  const pending = Buffer.allocUnsafe(size);
  let fill = 0;
  return {
    write(data, sink) {
      let off = 0;
      while (off < data.length) {
        if (fill === size) {
          sink(pending, false);
          fill = 0;
        }
        // Whole chunks with bytes after them go straight from the input, saving a copy.
        if (fill === 0 && data.length - off > size) {
          sink(data.subarray(off, off + size), false);
          off += size;
          continue;
        }
        const n = Math.min(size - fill, data.length - off);
        data.copy(pending, fill, off, off + n);
        fill += n;
        off += n;
      }
    },
    end(sink) {
      sink(pending.subarray(0, fill), true);
      fill = 0;
    },
  };
}
