import { describe, expect, it } from "vitest";
import { redactText, redactUri, Secret } from "../../runtime/src/secret.js";

describe("redaction", () => {
  it("strips passwords from connection strings and secret query parameters", () => {
    expect(redactUri("mongodb://admin:p%40ss@host:27017/db?authSource=admin")).toBe("mongodb://admin:**redacted**@host:27017/db?authSource=admin");
    expect(redactUri("mongodb+srv://u:pw@a.b.net,c.d.net/x")).toBe("mongodb+srv://u:**redacted**@a.b.net,c.d.net/x");
    expect(redactUri("https://h/x?X-Amz-Signature=abc&y=1")).toBe("https://h/x?X-Amz-Signature=**redacted**&y=1");
    expect(redactUri("./backups")).toBe("./backups");
  });
  it("removes every occurrence of registered secrets", () => {
    expect(redactText("key AGE-SECRET-KEY-1ABC failed, AGE-SECRET-KEY-1ABC", [new Secret("AGE-SECRET-KEY-1ABC")])).toBe("key **redacted** failed, **redacted**");
  });
});
