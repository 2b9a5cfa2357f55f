/** Reading streams in tests: the one helper that collects a stream's bytes. */

/** Collects every chunk of `stream` (a Readable or any async iterable of bytes) into one Buffer; rejects with the stream's error. */
export async function readAll(stream: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk));
  return Buffer.concat(chunks);
}
