/**
 * Writes mongodump archives. With one namespace at a time the output is byte-identical to what
 * mongodump writes (prelude; then per namespace one segment — present even when empty —,
 * a terminator, its EOF header carrying the CRC-64 and a terminator). With several namespaces at
 * once their segments interleave, which the format allows and mongorestore reads.
 */
import { Readable } from "node:stream";
import { IntegrityError } from "../errors.js";
import { createCrc64, type Crc64 } from "./crc64.js";
import {
  MAGIC,
  MAX_DOCUMENT_SIZE,
  MIN_BSON_SIZE,
  TERMINATOR,
  encodeHeaderDocument,
  encodeMetadataDocument,
  encodeNamespaceHeader,
} from "./format.js";
import type { ArchiveSource, ArchiveSourceNamespace, NamespaceMetadata } from "./types.js";
import { namespaceOf } from "./types.js";

/** Options of writeArchive. */
export interface WriteArchiveOptions {
  /** Namespaces read and interleaved at once. Default 1 (mongodump's exact layout). */
  concurrency?: number;
  /**
   * With concurrency > 1, document bytes written to one segment before the writer may switch to
   * another namespace. Default 1 MiB.
   */
  segmentBytes?: number;
  /** Output chunk size the writer aims for. Default 256 KiB. */
  chunkBytes?: number;
}

interface Active {
  ns: string;
  db: string;
  collection: string;
  iterator: AsyncIterator<Uint8Array> | Iterator<Uint8Array>;
  /** True for a synchronous iterable: its next document is always ready, no promise needed. */
  sync: boolean;
  /**
   * The next document, requested ahead so that several asynchronous sources make progress at
   * once (a plain result for synchronous sources).
   */
  next: Promise<IteratorResult<Uint8Array>> | IteratorResult<Uint8Array>;
  /** Whether `next` has settled (always true for synchronous sources). */
  ready: boolean;
  crc: Crc64;
  documents: number;
}

function checkDocument(doc: Uint8Array, ns: string, index: number): void {
  const len = doc.byteLength >= 4 ? (doc[0]! | (doc[1]! << 8) | (doc[2]! << 16) | (doc[3]! << 24)) : -1;
  if (len !== doc.byteLength || len < MIN_BSON_SIZE || len > MAX_DOCUMENT_SIZE || doc[len - 1] !== 0) {
    throw new IntegrityError(
      `archive writer: document #${index} of ${ns} is not one whole BSON document (length word ${len}, ${doc.byteLength} bytes given)`,
    );
  }
}

function iteratorOf(source: ArchiveSourceNamespace): AsyncIterator<Uint8Array> | Iterator<Uint8Array> {
  const docs = source.documents;
  if (Symbol.asyncIterator in docs) return docs[Symbol.asyncIterator]();
  return docs[Symbol.iterator]();
}

/** Asks `a` for its next document and tracks when the answer is there. */
function requestNext(a: Active): void {
  if (a.sync) {
    a.next = (a.iterator as Iterator<Uint8Array>).next();
    return;
  }
  const p = Promise.resolve(a.iterator.next());
  a.next = p;
  a.ready = false;
  // Handles rejection too: the promise is awaited later, and until then a failure must not
  // count as an unhandled rejection.
  const settled = (): void => {
    if (a.next === p) a.ready = true;
  };
  p.then(settled, settled);
}

/**
 * Streams `source` as a mongodump archive. Documents are pulled from the namespaces' iterables
 * only as the consumer reads (at most one document per active namespace is requested ahead),
 * and are copied once into output chunks of about `chunkBytes`. The prelude lists
 * `source.prelude` or else every namespace's `meta`, in order; namespaces start in array order.
 * The header's `concurrent_collections` is `header.concurrentCollections`, else `concurrency`.
 * With concurrency > 1, a namespace whose next document is not ready yet ends its segment when
 * another namespace has one, so a slow cursor does not stall the rest.
 *
 * Errors: the stream is destroyed with IntegrityError if a namespace appears twice or is missing
 * from an explicit `prelude` (other than the `system.buckets.<name>` of a timeseries entry),
 * which would make an archive mongorestore rejects; if an item is not exactly one BSON
 * document (length word equal to its size, 5 bytes..16 MiB+16 KiB, ending in NUL), or with the
 * error a document iterable throws. Destroying the stream early calls `return()` on the
 * iterators still open, so cursors are released.
 */
export function writeArchive(source: ArchiveSource, options: WriteArchiveOptions = {}): Readable {
  const concurrency = Math.max(1, Math.floor(options.concurrency ?? 1));
  const segmentBytes = options.segmentBytes ?? 1024 * 1024;
  const chunkBytes = options.chunkBytes ?? 256 * 1024;

  async function* generate(): AsyncGenerator<Buffer> {
    const prelude = source.prelude ?? source.namespaces.map((n) => n.meta);
    checkNamespaces(source, prelude);
    const head: Buffer[] = [MAGIC, encodeHeaderDocument(source.header, concurrency)];
    for (const meta of prelude) head.push(encodeMetadataDocument(meta));
    head.push(TERMINATOR);

    let out: Uint8Array[] = head;
    let outBytes = head.reduce((n, b) => n + b.length, 0);
    const pending = [...source.namespaces];
    const active: Active[] = [];
    try {
      while (pending.length > 0 || active.length > 0) {
        while (active.length < concurrency && pending.length > 0) {
          const src = pending.shift()!;
          const iterator = iteratorOf(src);
          const a: Active = {
            ns: namespaceOf(src.meta),
            db: src.meta.db,
            collection: src.meta.collection,
            iterator,
            sync: !(Symbol.asyncIterator in src.documents),
            crc: createCrc64(),
            documents: 0,
            next: { done: true, value: undefined },
            ready: true,
          };
          requestNext(a);
          active.push(a);
        }
        const a = active.length === 1 ? active[0]! : await firstReady(active);
        const header = encodeNamespaceHeader(a.db, a.collection, false);
        out.push(header);
        outBytes += header.length;
        let written = 0;
        let done = false;
        while (concurrency === 1 || written < segmentBytes) {
          // A source that is not ready yet ends the segment when another one may be: one slow
          // cursor must not stall the others.
          if (!a.ready && written > 0 && active.some((o) => o.ready)) break;
          const r = a.sync ? (a.next as IteratorResult<Uint8Array>) : await a.next;
          if (r.done) {
            done = true;
            break;
          }
          const doc = r.value;
          checkDocument(doc, a.ns, a.documents);
          requestNext(a);
          a.crc.update(doc);
          a.documents++;
          out.push(doc);
          outBytes += doc.byteLength;
          written += doc.byteLength;
          if (outBytes >= chunkBytes) {
            yield Buffer.concat(out, outBytes);
            out = [];
            outBytes = 0;
          }
        }
        out.push(TERMINATOR);
        outBytes += 4;
        active.splice(active.indexOf(a), 1);
        if (done) {
          const eof = encodeNamespaceHeader(a.db, a.collection, true, a.crc.digest());
          out.push(eof, TERMINATOR);
          outBytes += eof.length + 4;
        } else {
          // Round robin: the namespace just served goes to the back of the queue.
          active.push(a);
        }
      }
      if (outBytes > 0) yield Buffer.concat(out, outBytes);
    } finally {
      // Not awaited: a source stuck in next() would otherwise hold up the stream's destruction.
      for (const a of active) Promise.resolve(a.iterator.return?.()).catch(() => undefined);
    }
  }

  return Readable.from(generate(), { objectMode: false });
}

function checkNamespaces(source: ArchiveSource, prelude: NamespaceMetadata[]): void {
  const announced = new Set<string>();
  for (const m of prelude) {
    announced.add(namespaceOf(m));
    if (m.type === "timeseries") announced.add(`${m.db}.system.buckets.${m.collection}`);
  }
  const seen = new Set<string>();
  for (const { meta } of source.namespaces) {
    const ns = namespaceOf(meta);
    if (seen.has(ns)) throw new IntegrityError(`archive writer: namespace ${ns} is given twice`);
    if (!announced.has(ns)) throw new IntegrityError(`archive writer: namespace ${ns} is not in the prelude`);
    seen.add(ns);
  }
}

/** The first active namespace whose next document is ready; ties go to the earliest in the array. */
async function firstReady(active: Active[]): Promise<Active> {
  const ready = active.find((a) => a.ready);
  if (ready) return ready;
  return Promise.race(active.map((a) => Promise.resolve(a.next).then(() => a, () => a)));
}
