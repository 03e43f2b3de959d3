// Canonical events re-derived from source records by a derivation spec: the port of
// ledger/bundle/derive.py (docs/audit-bundle.md, "The derivation spec"), rule for rule.

import { compareText } from "./bytes.js";
import { atPath, evaluate, eventId, isoUtc, parseTime } from "./values.js";

export const EVENT_COLUMNS = [
  "event_id", "order_id", "source_system", "source_field", "source_code", "normalised_code",
  "canonical_status", "cbv_biz_step", "cbv_disposition", "lifecycle_rank", "is_terminal",
  "payment_state", "is_mapped", "event_class", "source_precedence", "status_precedence",
  "node", "node_type", "node_region", "node_country", "node_postal_code", "event_message",
  "event_time", "is_clock_skewed", "shipment_ref", "tracking_code", "carrier",
  "crosswalk_version", "source_record_key", "source_content_hash", "source_batch_id",
  "source_extracted_at",
];
const ATTRIBUTES = ["canonical_status", "cbv_biz_step", "cbv_disposition", "lifecycle_rank", "is_terminal", "payment_state"];
const OBSERVED = ["node", "node_type", "node_region", "node_country", "node_postal_code", "event_message"];
const MINUTE = 60e6;
const DAY = 86400e6;

export function normalise(code, rule) {
  rule = rule || {};
  let text = code;
  if (text !== null && rule.trim_whitespace) text = text.replace(/[ \t\n\r\f\v]+/g, " ").replace(/^ +| +$/g, "");
  if (text === "") text = null;
  if (text === null) text = rule.blank_code || null;
  if (text !== null && rule.ignore_case) text = text.replace(/[A-Z]/g, (c) => c.toLowerCase());
  return text;
}

const key = (...parts) => JSON.stringify(parts);
const cmpNullsLast = (a, b, cmp) => (a === null ? (b === null ? 0 : 1) : b === null ? -1 : cmp(a, b));
const cmpNum = (a, b) => (a < b ? -1 : a > b ? 1 : 0);
const cmpAsc = (a, b) => cmpNullsLast(a, b, (x, y) => (typeof x === "string" ? compareText(x, y) : cmpNum(x, y)));

export class Deriver {
  constructor(spec) {
    this.spec = spec;
    this.streams = new Map(spec.streams.map((s) => [s.table, s]));
    this.fields = new Map(spec.status_fields.map((r) => [key(r.source_system, r.source_field), r]));
    this.precedence = new Map(spec.source_precedence.map((r) => [r.source_system, r]));
    this.tolerance = new Map(spec.clock_skew_tolerances.map((r) => [r.source_system, r]));
    this.rules = spec.rules;
  }

  stream(v) {
    const s = this.streams.get(v.table);
    if (!s || s.system !== v.system) throw new Error(`record #${v.position}: the spec has no stream for ${v.system} ${v.table}`);
    return s;
  }

  recordState(versions) {
    const attrs = this.stream(versions[0]).record;
    const time = (v) => parseTime(evaluate(attrs.version_time, v.data));
    const latest = versions.reduce((best, v) => {
      const [a, b] = [time(v), time(best)];
      if ((a === null) !== (b === null)) return a === null ? v : best;
      const c = cmpNum(a ?? 0, b ?? 0) || cmpNum(v.extracted_at, best.extracted_at) || compareText(v.content_hash, best.content_hash);
      return c > 0 ? v : best;
    });
    const refs = { order_ref: evaluate(attrs.order_ref, latest.data) };
    const state = { order_id: refs.order_ref };
    for (const name of ["shipment_ref", "tracking_code", "carrier"]) {
      state[name] = attrs[name] ? evaluate(attrs[name], latest.data, refs) : null;
    }
    return state;
  }

  observations(v, out) {
    const stream = this.stream(v);
    let items = [v.data];
    if (stream.kind === "list") {
      const value = atPath(v.data, stream.items.path);
      items = Array.isArray(value) ? value : [];
    }
    const found = [];
    if (this.deletion(v, found) && stream.deletion.status_fields === "skip") items = []; // a version saying the record is gone observes no status
    for (const item of items) {
      const where = Object.fromEntries(OBSERVED.map((n) => [n, evaluate(stream.observation[n], item)]));
      const time = parseTime(evaluate(stream.observation.event_time, item));
      const sighting = (stream.sighting || []).map((e) => evaluate(e, item) ?? "");
      for (const status of stream.status_fields) {
        const field = evaluate(status.field, item);
        const code = evaluate(status.code, item);
        if (code === null && status.absent === "skip") continue;
        const k = normalise(code, this.fields.get(key(v.system, field)));
        found.push({ version: v, field, code, key: k, time, where, sighting });
      }
    }
    for (const summary of stream.summary_fields || []) {
      const value = evaluate(summary.value, v.data);
      if (value !== null) out.skip(v, summary.name, value, "summary_field");
    }
    return found;
  }

  // Whether v says its record is gone (the stream's deletion code is not null); if so, its
  // deletion observation is added to found.
  deletion(v, found) {
    const stream = this.stream(v);
    const rule = stream.deletion;
    const code = rule ? evaluate(rule.code, v.data) : null;
    if (!rule || code === null) return false;
    const field = evaluate(rule.field, v.data);
    const exprs = { ...stream.observation, ...(rule.observation || {}) };
    const where = Object.fromEntries(OBSERVED.map((n) => [n, evaluate(exprs[n], v.data)]));
    const time = parseTime(evaluate(rule.event_time, v.data));
    const k = normalise(code, this.fields.get(key(v.system, field)));
    found.push({ version: v, field, code, key: k, time, where, sighting: [] });
    return true;
  }

  eventsOf(versions, out) {
    const kind = this.stream(versions[0]).kind;
    const observed = versions.flatMap((v) => this.observations(v, out));
    const kept = [];
    if (kind === "list") {
      observed.sort((a, b) => cmpNum(a.version.extracted_at, b.version.extracted_at) || compareText(a.version.content_hash, b.version.content_hash));
      const seen = new Set();
      for (const o of observed) {
        const sighting = key(o.field, o.time, o.sighting);
        if (seen.has(sighting)) {
          out.skip(o.version, o.field, o.code, "seen_in_earlier_version");
          continue;
        }
        seen.add(sighting);
        kept.push(o);
      }
      return kept;
    }
    observed.sort((a, b) => cmpAsc(a.time, b.time) || cmpNum(a.version.extracted_at, b.version.extracted_at) || compareText(a.version.content_hash, b.version.content_hash));
    const runs = new Map();
    for (const o of observed) {
      if (o.key === null) {
        if (o.code !== null) out.skip(o.version, o.field, o.code, "blank_without_code");
      } else if (runs.has(o.field) && runs.get(o.field) === o.key) {
        out.skip(o.version, o.field, o.code, "repeats_previous_version");
      } else {
        runs.set(o.field, o.key);
        kept.push(o);
      }
    }
    return kept;
  }

  mapped(o, state, crosswalk, version) {
    const v = o.version;
    const system = v.system;
    const rule = this.fields.get(key(system, o.field));
    const matches = o.field !== null && o.key !== null
      ? crosswalk(system, o.field).filter((r) => normalise(r.source_code, rule) === o.key) : [];
    if (matches.length > 1) throw new Error(`crosswalk: codes of ${system} ${o.field} normalise alike`);
    const row = matches[0] || null;
    const attrs = Object.fromEntries(ATTRIBUTES.map((a) => [a, row ? row[a] ?? null : null]));
    const precedence = this.precedence.get(system) || {};
    const sourcePrecedence = precedence.precedence ?? this.rules.missing_precedence;
    const authority = precedence.authority_on ?? null;
    const tolerance = this.tolerance.get(system);
    const skewed = Boolean(tolerance && o.time !== null &&
      (o.time > v.extracted_at + tolerance.max_ahead_minutes * MINUTE || o.time < v.extracted_at - tolerance.max_behind_days * DAY));
    return {
      event_id: eventId([system, v.record_key, o.field, o.code ?? "", isoUtc(o.time)]),
      order_id: state.order_id, source_system: system, source_field: o.field,
      source_code: o.code, normalised_code: row ? row.source_code : o.key, ...attrs,
      is_mapped: row !== null, event_class: (rule && rule.event_class) || this.rules.default_event_class,
      source_precedence: sourcePrecedence,
      status_precedence: authority !== null && attrs.canonical_status === authority ? 0 : sourcePrecedence,
      ...o.where, event_time: isoUtc(o.time), is_clock_skewed: skewed,
      shipment_ref: state.shipment_ref, tracking_code: state.tracking_code, carrier: state.carrier,
      crosswalk_version: version, source_record_key: v.record_key,
      source_content_hash: v.content_hash, source_batch_id: v.batch_id,
      source_extracted_at: isoUtc(v.extracted_at),
    };
  }

  derive(versions, crosswalk, version) {
    const out = {
      events: new Map(), notEvents: [], records: new Map(),
      skip(v, field, code, rule) { this.notEvents.push({ record: v.position, field, code, rule }); },
    };
    const records = new Map();
    for (const v of versions) {
      const k = key(v.system, v.record_key);
      if (!records.has(k)) records.set(k, []);
      records.get(k).push(v);
    }
    const candidates = [];
    for (const [k, record] of records) {
      const state = this.recordState(record);
      out.records.set(k, state);
      for (const o of this.eventsOf(record, out)) candidates.push([this.mapped(o, state, crosswalk, version), o]);
    }
    candidates.sort(([ra, a], [rb, b]) => cmpNum(a.version.extracted_at, b.version.extracted_at) ||
      compareText(a.version.content_hash, b.version.content_hash) ||
      OBSERVED.reduce((c, n) => c || cmpAsc(ra[n], rb[n]), 0));
    for (const [row, o] of candidates) {
      if (out.events.has(row.event_id)) out.skip(o.version, o.field, o.code, "same_event_id");
      else out.events.set(row.event_id, row);
    }
    return out;
  }
}
