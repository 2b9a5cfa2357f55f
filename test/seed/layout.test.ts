// File names and the checksum file of a seed set: safe on every file system, strict to parse.
import { describe, expect, it } from "vitest";
import { IntegrityError } from "../../runtime/src/errors.js";
import { escapeName, formatChecksums, parseChecksums, parseIndex, pathsFor } from "../../runtime/src/seed/layout.js";

const A = "a".repeat(64);
const B = "b".repeat(64);

describe("seed layout", () => {
  it("escapes names outside [A-Za-z0-9._-] as %XX of their UTF-8 bytes, and a leading dot", () => {
    expect(escapeName("orders/2024 v1:x")).toBe("orders%2F2024%20v1%3Ax");
    expect(escapeName("system.js")).toBe("system.js");
    expect(escapeName("..")).toBe("%2E.");
    expect(escapeName("ü")).toBe("%C3%BC");
    expect(pathsFor("shop", "a%b")).toEqual({ data: "data/shop/a%25b.ejson", metadata: "data/shop/a%25b.metadata.json" });
  });

  it("writes SHA256SUMS sorted by path in sha256sum format and reads it back", () => {
    const text = formatChecksums(new Map([["seed.json", A], ["data/x/y.ejson", B]]));
    expect(text).toBe(`${B}  data/x/y.ejson\n${A}  seed.json\n`);
    expect([...parseChecksums(text)]).toEqual([["data/x/y.ejson", B], ["seed.json", A]]);
  });

  it("refuses malformed lines, escaping paths and duplicates", () => {
    expect(() => parseChecksums("nonsense\n")).toThrow(new IntegrityError('seed SHA256SUMS:1: not "<sha256>  <path>"'));
    expect(() => parseChecksums(`${A}  ../etc/passwd\n`)).toThrow(new IntegrityError("seed SHA256SUMS:1: path ../etc/passwd leaves the seed directory"));
    expect(() => parseChecksums(`${A}  x\n${B}  x\n`)).toThrow(new IntegrityError("seed SHA256SUMS:2: x is listed twice"));
  });

  it("reads only its own index format and version", () => {
    expect(() => parseIndex('{"format":"other","collections":[]}')).toThrow(new IntegrityError('seed seed.json: not a cloudsync seed index (format must be "cloudsync-seed")'));
    expect(() => parseIndex('{"format":"cloudsync-seed","version":2,"collections":[]}')).toThrow(new IntegrityError("seed seed.json: version 2 is not supported (this cloudsync reads version 1)"));
    expect(parseIndex('{"format":"cloudsync-seed","version":1,"collections":[]}').collections).toEqual([]);
  });
});
