// Benchmark: the browser's audit verifier (orderhub/site/static/audit/verify.js) on a vector,
// under Node's WebCrypto (SHA-256, Ed25519), as a tracking page runs it.
//     node bench/audit_verify_js.mjs [docs/audit-vectors/valid/SO-V1.json] [runs]
import { readFileSync } from "node:fs";
import { verifyBundle } from "../orderhub/site/static/audit/verify.js";

const vectors = new URL("../docs/audit-vectors/", import.meta.url);
const keys = JSON.parse(readFileSync(new URL("keys.json", vectors)));
const file = process.argv[2] ?? new URL("valid/SO-V1.json", vectors);
const runs = Number(process.argv[3] ?? 30);
const bundle = JSON.parse(readFileSync(file));
const times = [];
for (let i = 0; i < runs; i++) {
  const started = performance.now();
  const result = await verifyBundle(bundle, keys.log_key, [keys.witness_key]);
  times.push(performance.now() - started);
  if (!result.ok) throw new Error(result.error);
}
times.sort((a, b) => a - b);
const at = (q) => times[Math.min(times.length - 1, Math.floor(times.length * q))].toFixed(1);
console.log(`verifyBundle: ${bundle.events.length} events, ${bundle.records.length} records, ` +
  `${runs} runs: median ${at(0.5)} ms, p95 ${at(0.95)} ms (Node ${process.version})`);
