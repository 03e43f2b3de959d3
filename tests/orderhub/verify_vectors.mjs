// Runs the in-browser verifier (orderhub/site/static/audit/verify.js) under Node's WebCrypto
// on every audit vector: prints one JSON line per vector {file, ok, error, last}.
import { readFileSync } from "node:fs";
import { verifyBundle } from "../../orderhub/site/static/audit/verify.js";

const folder = new URL("../../docs/audit-vectors/", import.meta.url);
const keys = JSON.parse(readFileSync(new URL("keys.json", folder)));
for (const entry of JSON.parse(readFileSync(new URL("manifest.json", folder))).vectors) {
  const bundle = JSON.parse(readFileSync(new URL(entry.file, folder)));
  const result = await verifyBundle(bundle, keys.log_key, [keys.witness_key]);
  console.log(JSON.stringify({ file: entry.file, ok: result.ok, error: result.error ?? null, last: result.checked.at(-1) ?? null }));
}
