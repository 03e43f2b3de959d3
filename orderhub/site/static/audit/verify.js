// The in-browser verifier of an orderhub audit bundle (format orderhub-audit-bundle/v2,
// docs/audit-bundle.md): the same checks, in the same order, with the same item names as
// `orderhub audit verify` (ledger/bundle/verify.py), using only WebCrypto (SHA-256, Ed25519)
// and the modules beside it. verifyBundle(bundle, logKeyText, witnessKeyTexts) resolves to
// {ok: true, checked: [...]} or {ok: false, error, checked}; it trusts only the keys given.

import { canonical } from "./canonical.js";
import { fromHex, hex, sha256, utf8, equal } from "./bytes.js";
import { allWithPrefix, hashes, leafHash, provedRows, verifyInclusion } from "./merkle.js";
import { ALG_COSIGNATURE, ALG_NOTE, cosigner, openCheckpoint, parseVerifierKey, verifyCosignature } from "./notes.js";
import { Deriver, EVENT_COLUMNS } from "./derive.js";
import { rederiveClaim } from "./rollup.js";
import { readIsoUtc } from "./values.js";

export const BUNDLE_FORMAT = "orderhub-audit-bundle/v2";
const CROSSWALK_KEY = ["source_system", "source_field", "source_code"];
const BUILD_FIELDS = ["crosswalk_version", "crosswalk_rows", "derivation_spec", "claims_root", "claims_size"];

class Refused extends Error {}

const fail = (message) => { throw new Refused(message); };

async function guard(item, check) {
  try {
    return await check();
  } catch (error) {
    if (error instanceof Refused) throw error;
    throw new Refused(`${item}: ${error.message}`);
  }
}

function hash32(value, item) {
  const raw = fromHex(value, item);
  if (raw.length !== 32) fail(`${item}: a hash has 32 bytes, not ${raw.length}`);
  return raw;
}

async function loggedEntry(holder, checkpoint, kind, item) {
  if (!holder || typeof holder.log_entry !== "string") fail(`${item}: log_entry must be the entry's canonical JSON text`);
  const entry = JSON.parse(holder.log_entry);
  if (canonical(entry) !== holder.log_entry) fail(`${item}: log_entry is not in RFC 8785 canonical form`);
  const index = holder.log_index;
  await guard(`${item} (log entry ${index})`, async () => verifyInclusion(
    await leafHash(utf8(holder.log_entry)), index, checkpoint.size, hashes(holder.log_proof, `${item} log_proof`), checkpoint.root));
  if (entry.kind !== kind) fail(`${item}: log entry ${index} is a '${entry.kind}' event, not '${kind}'`);
  return { index, payload: entry.payload || {} };
}

async function checkAnchors(receipts, checkpoint, witnessKeys, checked) {
  const trusted = new Map();
  for (const text of witnessKeys) {
    const key = await guard("witness key", () => parseVerifierKey(text, ALG_COSIGNATURE, "witness key"));
    trusted.set(key.text, key);
  }
  const cosigned = new Set();
  const others = [];
  for (const [i, receipt] of receipts.entries()) {
    const item = `anchor #${i} (${receipt.anchor}, ${receipt.chain})`;
    if (receipt.origin !== checkpoint.origin || receipt.tree_size !== checkpoint.size || receipt.root_hash !== hex(checkpoint.root)) {
      fail(`${item}: the receipt is not for the checkpoint`);
    }
    if (receipt.anchor !== "witness") {
      checked.push(`${item}: not checked here (its chain is checked by orderhub audit verify)`);
      continue;
    }
    const line = receipt.details?.cosignature;
    const by = await guard(item, () => cosigner(line, checkpoint.body));
    if (!trusted.has(by)) {
      others.push(`${item} is cosigned by ${by}`);
      checked.push(`${item}: not checked - cosigned by ${by}, not a trusted witness key`);
      continue;
    }
    const at = await guard(item, () => verifyCosignature(line, checkpoint.body, trusted.get(by)));
    if (at !== receipt.details.timestamp) fail(`${item}: witness cosignature is timestamped ${at}, the receipt says ${receipt.details.timestamp}`);
    cosigned.add(by);
    checked.push(`${item}: cosignature/v1 by ${by} at ${at} verifies with the trusted witness key`);
  }
  for (const name of trusted.keys()) {
    if (!cosigned.has(name)) fail(`anchors: no receipt is cosigned by the trusted witness key ${name}${others.length ? ` (${others.join("; ")})` : ""}`);
  }
}

async function checkRecords(bundle, checkpoint, checked) {
  const batches = new Map();
  for (const batch of bundle.batches) {
    const item = `batch ${batch.batch_id}`;
    const { index, payload } = await loggedEntry(batch, checkpoint, "extraction_batch", item);
    if (payload.batch_id !== batch.batch_id) fail(`${item}: log entry ${index} records batch ${payload.batch_id}`);
    batches.set(batch.batch_id, { root: hash32(payload.merkle_root, `${item} merkle_root`), payload });
    checked.push(`${item}: log entry ${index} is in the checkpoint; it logs ${payload.records_stored} records`);
  }
  if (!Array.isArray(bundle.records) || !bundle.records.length) fail("records: the bundle holds no record");
  for (const [i, record] of bundle.records.entries()) {
    const item = `record #${i} (${record.table} ${record.record_key})`;
    const actual = hex(await guard(item, () => sha256(utf8(canonical(record.data)))));
    if (actual !== record.content_hash) fail(`${item}: its data hashes to ${actual}, not its content hash ${record.content_hash}`);
    const batch = batches.get(record.batch_id) ?? fail(`${item}: its batch ${record.batch_id} is not in the bundle`);
    for (const field of ["system", "extracted_at"]) {
      if (field === "extracted_at" && !(field in batch.payload)) continue; // a batch logged before
      if (record[field] !== batch.payload[field]) fail(`${item}: its ${field} is ${JSON.stringify(record[field])}, batch ${record.batch_id} logged ${JSON.stringify(batch.payload[field])}`);
    }
    const proof = record.batch_proof;
    if (proof.tree_size !== batch.payload.records_stored) fail(`${item}: its proof is for a batch of ${proof.tree_size} records, batch ${record.batch_id} logged ${batch.payload.records_stored}`);
    await guard(`${item} in batch ${record.batch_id}`, async () => verifyInclusion(
      await leafHash(fromHex(record.content_hash, item)), proof.leaf_index, proof.tree_size, hashes(proof.path, item), batch.root));
    checked.push(`${item}: data hashes to ${actual}, leaf ${proof.leaf_index} of batch ${record.batch_id}`);
  }
  return new Map([...batches].map(([id, b]) => [id, [b.payload.system, b.payload.stream]]));
}

async function checkBuild(bundle, checkpoint, checked) {
  const { index, payload } = await loggedEntry(bundle.build, checkpoint, "dbt_build", "build");
  for (const name of BUILD_FIELDS) if (payload[name] == null) fail(`build: log entry ${index} does not log ${name}`);
  const spec = bundle.derivation?.spec;
  const digest = hex(await sha256(utf8(canonical(spec))));
  if (digest !== payload.derivation_spec) fail(`derivation spec: it hashes to ${digest}, the build logged ${payload.derivation_spec}`);
  const claim = bundle.claim?.order;
  if (!claim || claim.order_id !== bundle.subject?.order_id) fail(`claim: it is about ${JSON.stringify(claim)}, the bundle about ${JSON.stringify(bundle.subject)}`);
  await provedRows([{ leaf_index: bundle.claim.leaf_index, path: bundle.claim.path, row: claim }], ["order_id"],
    hash32(payload.claims_root, "build claims_root"), payload.claims_size, "claim").catch((e) => fail(e.message));
  const crosswalk = await provedRows(bundle.derivation.crosswalk, CROSSWALK_KEY,
    hash32(payload.crosswalk_version, "build crosswalk_version"), payload.crosswalk_rows, "crosswalk").catch((e) => fail(e.message));
  checked.push(`build: log entry ${index} (dbt_build) is in the checkpoint; spec, crosswalk rows and claim proved`);
  return { payload, spec, claim, crosswalk };
}

function compareEvents(bundle, derivation, claim, checked) {
  const derived = derivation.events;
  const seen = new Set();
  for (const [i, event] of bundle.events.entries()) {
    const row = event.row;
    const item = `event #${i} (${row.event_id})`;
    const mine = derived.get(row.event_id) ?? fail(`${item}: no record of the bundle derives its event_id`);
    for (const column of EVENT_COLUMNS) {
      if ((row[column] ?? null) !== mine[column]) fail(`${item}: ${column} is ${JSON.stringify(row[column])}, its record derives ${JSON.stringify(mine[column])}`);
    }
    if (bundle.records[event.record]?.content_hash !== mine.source_content_hash) fail(`${item}: it names record #${event.record}, not the record it comes from`);
    seen.add(row.event_id);
  }
  for (const [id, mine] of derived) {
    const what = `${mine.source_system} ${mine.source_record_key} ${mine.source_field}=${JSON.stringify(mine.source_code)}`;
    if (mine.order_id !== claim.order_id) fail(`event ${id} (${what}): its record now belongs to order ${mine.order_id}`);
    if (!seen.has(id)) fail(`event ${id} (${what}): derived from the bundle's records but missing from its events`);
  }
  const listed = (bundle.not_events || []).map(canonical).sort();
  const given = derivation.notEvents.map(canonical).sort();
  if (listed.length !== given.length || listed.some((x, i) => x !== given[i])) {
    fail(`not_events: the status values that are no event are not the ones the records give (the records give ${given.length}, the bundle lists ${listed.length})`);
  }
  for (const id of claim.event_ids || []) if (!seen.has(id)) fail(`claim: it names event ${id}, which no record of the bundle derives`);
  checked.push(`events: ${seen.size} re-derived from ${bundle.records.length} records, column for column; ${given.length} status values are no event, each by its rule`);
}

async function checkDerivation(bundle, checkpoint, streams, checked) {
  const { payload, spec, claim, crosswalk } = await checkBuild(bundle, checkpoint, checked);
  const tables = new Map(spec.streams.map((s) => [s.table, JSON.stringify([s.system, s.stream])]));
  const versions = bundle.records.map((r, i) => {
    if (tables.get(r.table) !== JSON.stringify(streams.get(r.batch_id))) fail(`record #${i} (${r.table} ${r.record_key}): the spec does not read ${r.table} as the stream its batch logged`);
    return { position: i, system: r.system, table: r.table, record_key: r.record_key, content_hash: r.content_hash,
      batch_id: r.batch_id, extracted_at: readIsoUtc(r.extracted_at, `record #${i} extracted_at`), data: r.data };
  });
  const rowsOf = (system, field) => {
    try {
      return allWithPrefix(crosswalk, [utf8(system), utf8(field)]);
    } catch (error) {
      fail(error.message);
    }
  };
  const derivation = await guard("derivation spec", () => new Deriver(spec).derive(versions, rowsOf, payload.crosswalk_version));
  compareEvents(bundle, derivation, claim, checked);
  const again = rederiveClaim(claim.order_id, [...derivation.events.values()], spec);
  for (const [name, value] of Object.entries(again)) {
    if (canonical(claim[name] ?? null) !== canonical(value)) fail(`claim: ${name} is ${JSON.stringify(claim[name])}, the events derive ${JSON.stringify(value)}`);
  }
  checked.push(`claim: order ${claim.order_id} is ${claim.canonical_status} (event ${claim.status_event_id}, node ${JSON.stringify(claim.status_node)}, since ${claim.status_since}), ${claim.shipments.length} shipments: re-derived from its events`);
}

export async function verifyBundle(bundle, logKeyText, witnessKeyTexts = []) {
  const checked = [];
  try {
    if (bundle?.format !== BUNDLE_FORMAT) fail(`format: expected '${BUNDLE_FORMAT}', got ${JSON.stringify(bundle?.format)}`);
    const logKey = await guard("log key", () => parseVerifierKey(logKeyText, ALG_NOTE, "log key"));
    const checkpoint = await guard("checkpoint", () => openCheckpoint(bundle.log.checkpoint, logKey));
    if (bundle.log.tree_size !== undefined && bundle.log.tree_size !== checkpoint.size) fail(`checkpoint: the bundle says size ${bundle.log.tree_size}, the note ${checkpoint.size}`);
    checked.push(`checkpoint ${checkpoint.origin} size ${checkpoint.size} root ${hex(checkpoint.root)} is signed by the trusted log key`);
    await checkAnchors(bundle.anchors || [], checkpoint, witnessKeyTexts, checked);
    const streams = await checkRecords(bundle, checkpoint, checked);
    await checkDerivation(bundle, checkpoint, streams, checked);
    return { ok: true, checked };
  } catch (error) {
    return { ok: false, error: error instanceof Refused ? error.message : `bundle: ${error.message}`, checked };
  }
}

export { equal };
