// The product collections' validators: derived from the public metadata schema, in the dialect
// MongoDB's $jsonSchema accepts, and the pure decisions db init makes.
import { describe, expect, it } from "vitest";
import { ConfigError } from "../../runtime/src/errors.js";
import { PUBLIC_MODEL_FIELDS, licenseSchema, publicModelSchema } from "../../runtime/src/metadata/public-schema.js";
import { productCollections } from "../../runtime/src/schema/collections.js";
import { parseValidationAction, parseValidationLevel, planCollection, validatorOptions } from "../../runtime/src/schema/init.js";
import { toMongoJsonSchema } from "../../runtime/src/schema/mongo-json-schema.js";

/** Every keyword used anywhere in a schema tree (property names excluded). */
function keywords(node: unknown, out = new Set<string>()): Set<string> {
  if (!node || typeof node !== "object" || Array.isArray(node)) return out;
  for (const [k, v] of Object.entries(node)) {
    if (k === "properties") for (const child of Object.values(v as object)) keywords(child, out);
    else if (k === "items") keywords(v, out);
    else out.add(k);
  }
  return out;
}

const byName = (name: string) => productCollections().find((c) => c.name === name)!;

describe("toMongoJsonSchema", () => {
  it("maps integer, date-time and drops keywords $jsonSchema rejects", () => {
    expect(toMongoJsonSchema({ $id: "x", type: "object", required: ["n"], properties: { n: { type: "integer", minimum: 0 }, at: { type: "string", format: "date-time", maxLength: 40 }, u: { type: "string", format: "uri", pattern: "^https?://" }, t: { type: "array", items: { type: "string" } } } })).toEqual({
      type: "object",
      required: ["n"],
      properties: {
        n: { bsonType: ["int", "long", "double"], multipleOf: 1, minimum: 0 },
        at: { bsonType: ["date", "string"], maxLength: 40 },
        u: { type: "string", pattern: "^https?://" },
        t: { type: "array", items: { type: "string" } },
      },
    });
  });

  it("does not change its input", () => {
    const before = JSON.stringify(publicModelSchema);
    toMongoJsonSchema(publicModelSchema);
    expect(JSON.stringify(publicModelSchema)).toBe(before);
  });
});

describe("product collections", () => {
  it("defines models, inventories, licenses and events, each with indexes", () => {
    expect(productCollections().map((c) => [c.name, c.indexes.map((i) => i.name)])).toEqual([
      ["models", ["id_unique", "updatedAt_1"]],
      ["inventories", ["host_path_unique", "modelId_1"]],
      ["licenses", ["id_unique"]],
      ["events", ["at_-1", "kind_at"]],
    ]);
  });

  it("uses only keywords MongoDB's $jsonSchema supports", () => {
    const supported = new Set(["bsonType", "type", "required", "additionalProperties", "minLength", "maxLength", "pattern", "minimum", "maximum", "multipleOf", "maxItems", "enum"]);
    for (const c of productCollections()) expect([...keywords(c.jsonSchema)].filter((k) => !supported.has(k))).toEqual([]);
  });

  it("derives the public model fields from the public schema: every public field, same constraints", () => {
    const props = byName("models").jsonSchema.properties as Record<string, unknown>;
    expect(Object.keys(props).filter((k) => !["_id", "localPath", "notes", "createdAt"].includes(k))).toEqual([...PUBLIC_MODEL_FIELDS]);
    expect(props.name).toEqual({ type: "string", minLength: 1, maxLength: 200 });
    expect(props.parameters).toEqual({ bsonType: ["int", "long", "double"], multipleOf: 1, minimum: 0, maximum: 1e15 });
    expect(props.id).toEqual({ type: "string", minLength: 1, maxLength: 128, pattern: publicModelSchema.properties.id.pattern });
    // `_id` stands in for a missing `id`, so only name and updatedAt are required.
    expect(byName("models").jsonSchema.required).toEqual(["name", "updatedAt"]);
    expect(byName("models").jsonSchema.additionalProperties).toBe(true);
  });

  it("derives licenses from the public licence schema and stores nothing else", () => {
    const schema = byName("licenses").jsonSchema;
    expect(Object.keys(schema.properties as object)).toEqual(["_id", ...Object.keys(licenseSchema.properties)]);
    expect(schema.required).toEqual(["id", "name"]);
    expect(schema.additionalProperties).toBe(false);
  });
});

describe("db init decisions", () => {
  const models = byName("models");
  const wanted = validatorOptions(models, "strict", "error");

  it("creates a missing collection, leaves an identical one alone and collMods a different one", () => {
    expect(planCollection(undefined, wanted)).toBe("create");
    expect(planCollection(structuredClone(wanted), wanted)).toBe("unchanged");
    expect(planCollection({ ...wanted, validationAction: "warn" }, wanted)).toBe("collMod");
    expect(planCollection({}, wanted)).toBe("collMod");
    // A server that leaves the defaults implicit still counts as unchanged.
    expect(planCollection({ validator: wanted.validator }, wanted)).toBe("unchanged");
  });

  it("accepts only the documented levels and actions", () => {
    expect(parseValidationLevel(undefined)).toBe("strict");
    expect(parseValidationLevel("moderate")).toBe("moderate");
    expect(parseValidationAction("warn")).toBe("warn");
    expect(() => parseValidationLevel("off")).toThrow(new ConfigError("--validation-level", '"off" is not one of strict, moderate'));
    expect(() => parseValidationAction("ignore")).toThrow(new ConfigError("--validation-action", '"ignore" is not one of error, warn'));
  });
});
