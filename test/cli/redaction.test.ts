import { describe, expect, it } from "vitest";
import { containsAgeSecretKey, redactText, redactUri, Secret, secretPartsOfUri } from "../../runtime/src/secret.js";

// A well-formed age identity (58 bech32 characters after the separator); never a real one.
const AGE_KEY = `AGE-SECRET-KEY-1${"QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L".repeat(2).slice(0, 58)}`;

describe("redaction", () => {
  it("strips passwords from connection strings and secret query parameters", () => {
    expect(redactUri("mongodb://admin:p%40ss@host:27017/db?authSource=admin")).toBe("mongodb://admin:**redacted**@host:27017/db?authSource=admin");
    expect(redactUri("mongodb+srv://u:pw@a.b.net,c.d.net/x")).toBe("mongodb+srv://u:**redacted**@a.b.net,c.d.net/x");
    expect(redactUri("https://h/x?X-Amz-Signature=abc&y=1")).toBe("https://h/x?X-Amz-Signature=**redacted**&y=1");
    expect(redactUri("./backups")).toBe("./backups");
  });

  describe("every userinfo form keeps the user, hosts, ports, database and options, and hides only the secret", () => {
    const cases: Array<[string, string, string]> = [
      ["no userinfo", "mongodb://127.0.0.1:27017/app?replicaSet=rs0", "mongodb://127.0.0.1:27017/app?replicaSet=rs0"],
      ["several hosts, no userinfo", "mongodb://a:27017,b:27018/app", "mongodb://a:27017,b:27018/app"],
      ["user without password (x.509, Kerberos)", "mongodb://CN=client@host/?authMechanism=MONGODB-X509", "mongodb://CN=client@host/?authMechanism=MONGODB-X509"],
      ["plain password", "mongodb://u:secret@host/db", "mongodb://u:**redacted**@host/db"],
      ["empty password", "mongodb://u:@host/db", "mongodb://u:**redacted**@host/db"],
      ["unescaped @ in the password", "mongodb://user:p@ssTAIL@host", "mongodb://user:**redacted**@host"],
      ["several unescaped @ and :", "mongodb://user:a@b:c@d:TAIL@host:27017/db", "mongodb://user:**redacted**@host:27017/db"],
      ["unescaped / in the password", "mongodb://user:ab/cdTAIL@host/db", "mongodb://user:**redacted**@host/db"],
      ["unescaped ? in the password", "mongodb://user:ab?cdTAIL@host/db", "mongodb://user:**redacted**@host/db"],
      ["percent-encoded password", "mongodb://user:p%40ss%3Aw%2Fd@host/db", "mongodb://user:**redacted**@host/db"],
      ["percent-encoded user", "mongodb://us%40er:pw@host/db", "mongodb://us%40er:**redacted**@host/db"],
      ["mongodb+srv with unescaped @", "mongodb+srv://user:p@ssTAIL@cluster0.abcde.mongodb.net/app?retryWrites=true", "mongodb+srv://user:**redacted**@cluster0.abcde.mongodb.net/app?retryWrites=true"],
      ["IPv6 host", "mongodb://u:pw@[::1]:27017/db", "mongodb://u:**redacted**@[::1]:27017/db"],
      ["@ in an option, not in userinfo", "mongodb://host:27017/db?appName=me@laptop", "mongodb://host:27017/db?appName=me@laptop"],
      ["password= option", "mongodb://host/db?authSource=admin&password=hunter22", "mongodb://host/db?authSource=admin&password=**redacted**"],
      ["tlsCertificateKeyFilePassword option", "mongodb://host/?tls=true&tlsCertificateKeyFilePassword=hunter22&w=1", "mongodb://host/?tls=true&tlsCertificateKeyFilePassword=**redacted**&w=1"],
      ["AWS session token property", "mongodb://AKIA:sk@host/?authMechanism=MONGODB-AWS&authMechanismProperties=AWS_SESSION_TOKEN:tok123", "mongodb://AKIA:**redacted**@host/?authMechanism=MONGODB-AWS&authMechanismProperties=AWS_SESSION_TOKEN:**redacted**"],
      ["a token as the user of an https URL", "https://ghp_token1234@github.com/x", "https://**redacted**@github.com/x"],
    ];
    for (const [name, uri, shown] of cases) {
      it(name, () => {
        expect(redactUri(uri)).toBe(shown);
        expect(redactText(`mongodb dump ${uri}: no such command`, [])).toBe(`mongodb dump ${shown}: no such command`);
      });
    }
  });

  it("finds URIs anywhere in a text, not only at its start", () => {
    expect(redactText("connect to mongodb://user:p@ssTAIL@host:1/db failed (mongodb+srv://v:w0rd@c.net/x)", [])).toBe("connect to mongodb://user:**redacted**@host:1/db failed (mongodb+srv://v:**redacted**@c.net/x)");
  });

  it("a registered connection string stands for its secret parts only, raw and percent-decoded", () => {
    const uri = new Secret("mongodb://user:p%40ssw0rd@db.example.net:27017/app?password=other1");
    expect(secretPartsOfUri(uri.reveal())).toEqual(["p%40ssw0rd", "p@ssw0rd", "other1"]);
    // The driver echoes the decoded password in its own words; the host stays visible.
    expect(redactText("auth failed for p@ssw0rd on db.example.net:27017 (other1)", [uri])).toBe("auth failed for **redacted** on db.example.net:27017 (**redacted**)");
    expect(redactText("restored x into mongodb://127.0.0.1:27017/app", [new Secret("mongodb://127.0.0.1:27017/app")])).toBe("restored x into mongodb://127.0.0.1:27017/app");
  });

  it("removes every occurrence of registered secrets that are not connection strings", () => {
    expect(redactText("key AGE-SECRET-KEY-1ABC failed, AGE-SECRET-KEY-1ABC", [new Secret("AGE-SECRET-KEY-1ABC")])).toBe("key **redacted** failed, **redacted**");
    expect(redactText("GET https://hc-ping.com/0f2c1e7a-uuid failed", [new Secret("https://hc-ping.com/0f2c1e7a-uuid")])).toBe("GET **redacted** failed");
  });

  it("recognises age secret keys and OpenPGP private key blocks without being told, in either case", () => {
    expect(containsAgeSecretKey(AGE_KEY)).toBe(true);
    expect(containsAgeSecretKey(AGE_KEY.toLowerCase())).toBe(true);
    expect(containsAgeSecretKey("age1qqqq")).toBe(false);
    expect(redactText(`"${AGE_KEY}" is not a recipient; ${AGE_KEY.toLowerCase()}`, [])).toBe(`"**redacted**" is not a recipient; **redacted**`);
    expect(redactText(JSON.stringify({ recipients: [AGE_KEY] }), [])).toBe('{"recipients":["**redacted**"]}');
    expect(redactText("x -----BEGIN PGP PRIVATE KEY BLOCK-----\nabc\n-----END PGP PRIVATE KEY BLOCK----- y", [])).toBe("x **redacted** y");
  });
});
