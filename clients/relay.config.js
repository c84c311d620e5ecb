// relay-compiler for the operations in operations/: artifacts and the persisted-documents map
// (a flat JSON object, document id -> document text) go to $TRUSTED_DOCUMENTS_DIR
// (default ./trusted-documents), as relay-persisted.json.
const fs = require("node:fs");
const path = require("node:path");

const out = path.resolve(__dirname, process.env.TRUSTED_DOCUMENTS_DIR || "trusted-documents");
const persisted = path.join(out, "relay-persisted.json");
// relay-compiler requires both to exist before it runs.
fs.mkdirSync(path.join(out, "__generated__"), { recursive: true });
if (!fs.existsSync(persisted)) fs.writeFileSync(persisted, "{}\n");

module.exports = {
  src: "./operations",
  schema: "../schema.graphql",
  language: "javascript",
  artifactDirectory: path.relative(__dirname, path.join(out, "__generated__")),
  persistConfig: { file: path.relative(__dirname, persisted), algorithm: "SHA256" },
};
