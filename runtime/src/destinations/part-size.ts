/**
 * Multipart part sizing. S3 (and B2, Ceph, MinIO) allow at most 10,000 parts of 5 MiB to 5 GiB
 * each (the last may be smaller), so a fixed 5 MiB part caps objects at ≈48.8 GiB. The rule here:
 *
 *   base  = max(partSize option (default 8 MiB), sizeHint / 9,000 rounded up to a MiB)
 *   part i (0-based) = min(5 GiB, base × 2^floor(i / 1,000))
 *
 * With a size hint the whole object fits in ≤ 9,000 equal parts (1,000 spare in case the hint
 * is low). Without one, the size doubles every 1,000 parts: 8 MiB parts reach 7.8 GiB after 1,000
 * parts, 23 GiB after 2,000, 55 GiB after 3,000, and 10,000 parts hold ≈8 TiB, beyond S3's
 * 5 TiB object limit. Memory held by an upload is (parts in flight + 1) × the current part size.
 */

export const MiB = 1024 * 1024;
/** Smallest part S3 accepts (except the last). */
export const MIN_PART_SIZE = 5 * MiB;
/** Largest part S3 accepts. */
export const MAX_PART_SIZE = 5 * 1024 * MiB;
/** Most parts in one multipart upload. */
export const MAX_PARTS = 10_000;
/** Part size when neither the option nor a size hint asks for more. */
export const DEFAULT_PART_SIZE = 8 * MiB;
/** Parts between two doublings of the part size. */
export const GROWTH_INTERVAL = 1_000;
/** Parts a size hint is spread over, leaving 1,000 spare. */
const HINTED_PARTS = 9_000;

/** The size of the first part. Throws RangeError for a part size outside S3's limits. */
export function basePartSize(partSize: number = DEFAULT_PART_SIZE, sizeHint?: number): number {
  if (!Number.isInteger(partSize) || partSize < MIN_PART_SIZE || partSize > MAX_PART_SIZE) {
    throw new RangeError(`part size must be an integer between ${MIN_PART_SIZE} and ${MAX_PART_SIZE} bytes, got ${partSize}`);
  }
  if (sizeHint === undefined || !(sizeHint > 0)) return partSize;
  const fromHint = Math.ceil(sizeHint / HINTED_PARTS / MiB) * MiB;
  return Math.min(MAX_PART_SIZE, Math.max(partSize, fromHint));
}

/** The size of part `index` (0-based) of an upload whose first part is `base` bytes. */
export function partSizeAt(index: number, base: number): number {
  return Math.min(MAX_PART_SIZE, base * 2 ** Math.floor(index / GROWTH_INTERVAL));
}

/** The largest object 10,000 parts can hold when the first part is `base` bytes. */
export function maxUploadSize(base: number): number {
  let total = 0;
  for (let group = 0; group < MAX_PARTS / GROWTH_INTERVAL; group++) total += GROWTH_INTERVAL * partSizeAt(group * GROWTH_INTERVAL, base);
  return total;
}
