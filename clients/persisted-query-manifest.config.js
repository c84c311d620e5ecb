// Apollo's generate-persisted-query-manifest for the operations in operations/: the manifest
// (format "apollo-persisted-query-manifest", version 1) goes to $TRUSTED_DOCUMENTS_DIR
// (default ./trusted-documents), as apollo-manifest.json.
const fs = require("node:fs");
const path = require("node:path");

const out = path.resolve(__dirname, process.env.TRUSTED_DOCUMENTS_DIR || "trusted-documents");
fs.mkdirSync(out, { recursive: true });

module.exports = {
  documents: [path.join(__dirname, "operations/**/*.js")],
  output: path.join(out, "apollo-manifest.json"),
};
