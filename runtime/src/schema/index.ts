/** Product collections and their validators (issue 6 §2). */
export { DEFAULT_DATABASE, EVENT_KIND_PATTERN, productCollections, type CollectionDefinition, type IndexDefinition } from "./collections.js";
export { toMongoJsonSchema, type JsonSchema } from "./mongo-json-schema.js";
export {
  initDatabase,
  parseValidationAction,
  parseValidationLevel,
  planCollection,
  validatorOptions,
  VALIDATION_ACTIONS,
  VALIDATION_LEVELS,
  type DbInitAction,
  type DbInitOptions,
  type DbInitReport,
  type ValidationAction,
  type ValidationLevel,
} from "./init.js";
