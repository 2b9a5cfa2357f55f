/**
 * Resuming a collection scan by `_id` when a snapshot read loses its snapshot mid-collection
 * (SnapshotTooOld: the dump outlived the server's snapshot history window). The documents already
 * read cannot be taken back, so the scan continues from the last `_id` seen, without a snapshot,
 * and the dump's consistency is downgraded with the reason (issue 3 §1: never claim more).
 */
import { BSON, type Document } from "mongodb";

const ID_NAME = Buffer.from("_id", "utf8");

/**
 * The `_id` element of a raw document re-wrapped as the one-field raw document `{_id: …}`, or
 * undefined when the document has none. Only the element boundaries are parsed (no value is
 * decoded), so the cost per document is small.
 */
export function rawIdOf(doc: Uint8Array): Buffer | undefined {
  for (const [type, nameOffset, nameLength, valueOffset, valueLength] of BSON.onDemand.parseToElements(doc)) {
    if (nameLength !== 3 || Buffer.compare(Buffer.from(doc.buffer, doc.byteOffset + nameOffset, 3), ID_NAME) !== 0) continue;
    const out = Buffer.alloc(4 + 1 + 4 + valueLength + 1);
    out.writeInt32LE(out.length, 0);
    out[4] = type;
    ID_NAME.copy(out, 5);
    out[8] = 0;
    out.set(doc.subarray(valueOffset, valueOffset + valueLength), 9);
    out[out.length - 1] = 0;
    return out;
  }
  return undefined;
}

/** Decodes `{_id: …}` from `rawIdOf` without promoting values, for a `min` index bound. */
export function idBound(rawId: Uint8Array): Document {
  return BSON.deserialize(rawId, { promoteValues: false, promoteLongs: false, promoteBuffers: false, bsonRegExp: true });
}

/**
 * Find options that read a collection in `_id` order, optionally starting at `rawId`
 * (inclusive: the caller skips the one document equal to it). `min` with a hint on the `_id`
 * index bounds the scan by index order, which — unlike `{_id: {$gt: …}}` — does not bracket by
 * type, so mixed-type `_id`s resume correctly.
 */
export function idOrderOptions(rawId?: Uint8Array): Document {
  return { sort: { _id: 1 }, hint: { _id: 1 }, ...(rawId ? { min: idBound(rawId) } : {}) };
}

/**
 * Whether a collection can be scanned in `_id` order and resumed: ordinary collections (they have
 * the `_id` index), not capped ones (which may lack it) nor time-series buckets.
 */
export function resumableByIdOrder(plan: { type: string; options: Document; dataCollection: string | undefined }): boolean {
  return plan.type === "collection" && !plan.options.capped && !(plan.dataCollection ?? "").startsWith("system.");
}
