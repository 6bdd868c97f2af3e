// Typed documents for the dashboard's operations, from the schema `./dev check-typescript`
// writes out of the Python code (schema.graphql, not committed).
import type { CodegenConfig } from "@graphql-codegen/cli";
import { buildASTSchema, NoDeprecatedCustomRule, validate } from "graphql";

const config: CodegenConfig = {
  schema: "schema.graphql",
  documents: ["operations/*.graphql"],
  ignoreNoDocuments: false,
  overwrite: true,
  generates: {
    "src/gql/": {
      preset: "client",
      presetConfig: {
        fragmentMasking: false,
      },
      config: {
        // A scalar the schema adds without a mapping here fails the check.
        strictScalars: true,
        scalars: {
          // RFC 3339 in UTC with a Z, e.g. "2024-01-31T12:00:00Z".
          DateTime: "string",
          // ISO 8601 day, e.g. "2024-01-31".
          Date: "string",
          // Fixed-point decimal as a string, e.g. "12.345678" (numbers are accepted as input too).
          Decimal: "string",
          // One end of a range: "2024-01-31" (a whole day) or an RFC 3339 time.
          TimeBound: "string",
          // An IANA time zone name, e.g. "Europe/Paris".
          TimeZone: "string",
          JSON: 'import("../json").JsonValue',
        },
        enumsAsTypes: true,
        useTypeImports: true,
        skipTypename: true,
      },
      documentTransforms: [
        {
          // An operation that selects a deprecated field fails the check.
          transform: ({ documents, schema }) => {
            const built = buildASTSchema(schema);
            for (const file of documents) {
              if (file.document === undefined) continue;
              const errors = validate(built, file.document, [NoDeprecatedCustomRule]);
              if (errors.length > 0) {
                throw new Error(`${file.location ?? "operation"}: ${errors.map(String).join("; ")}`);
              }
            }
            return documents;
          },
        },
      ],
    },
  },
};

export default config;
