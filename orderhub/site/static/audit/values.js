// How a derivation spec reads a record, as ledger/bundle/values.py does (docs/audit-bundle.md,
// "Reading a record"): JSON values as the text PostgreSQL's ->> gives, the expressions of a
// spec, ISO 8601 times (as integer microseconds since the epoch) and event ids.

import { canonical, escapeString } from "./canonical.js";
import { md5Hex, utf8, compareBytes } from "./bytes.js";

export function jsonType(value) {
  if (value === null || value === undefined) return "null";
  if (typeof value === "boolean") return "boolean";
  if (typeof value === "number") return "number";
  if (typeof value === "string") return "string";
  return Array.isArray(value) ? "array" : "object";
}

/** A JSON number as PostgreSQL's numeric writes it: plain decimal, no exponent. */
export function plainNumber(value) {
  const text = canonical(value);
  const match = /^(-?)(\d+)(?:\.(\d+))?(?:e([+-]\d+))?$/.exec(text);
  if (!match[4]) return text;
  const [, sign, whole, fraction = "", exponent] = match;
  let digits = whole + fraction;
  let point = whole.length + Number(exponent);
  if (point <= 0) return `${sign}0.${"0".repeat(-point)}${digits}`;
  if (point >= digits.length) return sign + digits + "0".repeat(point - digits.length);
  return `${sign}${digits.slice(0, point)}.${digits.slice(point)}`;
}

/** A JSON value as PostgreSQL writes jsonb: ", " and ": ", keys by length then bytewise. */
export function jsonbText(value) {
  const kind = jsonType(value);
  if (kind === "null") return "null";
  if (kind === "boolean") return value ? "true" : "false";
  if (kind === "number") return plainNumber(value);
  if (kind === "string") return escapeString(value);
  if (kind === "array") return "[" + value.map(jsonbText).join(", ") + "]";
  const keys = Object.keys(value).sort((a, b) => {
    const [x, y] = [utf8(a), utf8(b)];
    return x.length !== y.length ? x.length - y.length : compareBytes(x, y);
  });
  return "{" + keys.map((k) => `${escapeString(k)}: ${jsonbText(value[k])}`).join(", ") + "}";
}

export function asText(value) {
  if (value === null || value === undefined) return null;
  return typeof value === "string" ? value : jsonbText(value);
}

export function atPath(data, path) {
  let value = data;
  for (const step of path) {
    if (value && typeof value === "object" && !Array.isArray(value) && typeof step === "string") {
      value = Object.hasOwn(value, step) ? value[step] : null;
    } else if (Array.isArray(value) && Number.isInteger(step)) {
      value = step >= -value.length && step < value.length ? value.at(step) : null;
    } else {
      return null;
    }
  }
  return value === undefined ? null : value;
}

export function evaluate(expr, data, refs = {}) {
  if ("path" in expr) {
    let value = atPath(data, expr.path);
    if ("only" in expr && jsonType(value) !== expr.only) value = null;
    let text = asText(value);
    if (text === "" && "empty" in expr) text = expr.empty;
    if (text === null && "missing" in expr) text = expr.missing;
    return text;
  }
  if ("value" in expr) return expr.value === null ? null : String(expr.value);
  if ("concat" in expr) {
    const parts = expr.concat.map((e) => evaluate(e, data, refs));
    return parts.some((p) => p === null) ? null : parts.join("");
  }
  if ("coalesce" in expr) {
    for (const e of expr.coalesce) {
      const text = evaluate(e, data, refs);
      if (text !== null) return text;
    }
    return null;
  }
  if ("ref" in expr) return refs[expr.ref] ?? null;
  if ("if_contains" in expr) {
    const text = evaluate(expr.if_contains, data, refs);
    return text !== null && text.includes(expr.text) ? expr.then : expr.else;
  }
  if ("first" in expr) {
    const items = atPath(data, expr.first);
    for (const item of Array.isArray(items) ? items : []) {
      const text = evaluate(expr.of, item, refs);
      if (text !== null) return text;
    }
    return null;
  }
  throw new Error(`spec: unknown expression ${JSON.stringify(expr)}`);
}

const TIME =
  /^\s*(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?)?\s*(Z|z|[+-]\d{2}(?::?\d{2})?)?\s*$/;

function rint(x) {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** OData V2 JSON's date-time literal: milliseconds since the epoch (UTC); an offset after
 * them only names the zone the writer was in. */
const ODATA_TIME = /^\/Date\((-?[0-9]+)(?:[+-][0-9]{4})?\)\/$/;

/** ISO 8601 text (no offset: UTC) or an OData V2 /Date(ms)/ literal as microseconds since
 * the epoch, or null. */
export function parseTime(text) {
  if (text === null) return null;
  const odata = ODATA_TIME.exec(text);
  if (odata) return Number(odata[1]) * 1000;
  const m = TIME.exec(text);
  if (!m) {
    throw new Error(
      `time ${JSON.stringify(text)} is neither ISO 8601 nor OData /Date()/ date-time text this spec reads`,
    );
  }
  const [y, mo, d, h = 0, mi = 0, s = 0] = m.slice(1, 7).map((v) => (v === undefined ? 0 : Number(v)));
  const ms = Date.UTC(y, mo - 1, d, h, mi, s);
  const back = new Date(ms);
  if (back.getUTCFullYear() !== y || back.getUTCMonth() !== mo - 1 || back.getUTCDate() !== d ||
      h > 23 || mi > 59 || s > 59) {
    throw new Error(`time ${JSON.stringify(text)}: not a valid date and time`);
  }
  let micros = ms * 1000 + (m[7] ? rint(Number("0." + m[7]) * 1e6) : 0);
  const zone = m[8];
  if (zone && zone !== "Z" && zone !== "z") {
    const digits = zone.slice(1).replace(":", "");
    const offset = (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2, 4) || 0)) * 60e6;
    micros -= zone[0] === "+" ? offset : -offset;
  }
  return micros;
}

export function isoUtc(micros) {
  if (micros === null) return null;
  const ms = Math.floor(micros / 1000);
  const rest = micros - ms * 1000;
  const base = new Date(ms).toISOString(); // YYYY-MM-DDTHH:MM:SS.mmmZ
  return `${base.slice(0, 23)}${String(rest).padStart(3, "0")}Z`;
}

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;

/** A time the bundle wrote itself (YYYY-MM-DDTHH:MM:SS.ffffffZ) as microseconds. */
export function readIsoUtc(text, item) {
  if (typeof text !== "string" || !ISO.test(text)) {
    throw new Error(`${item}: ${JSON.stringify(text)} is not YYYY-MM-DDTHH:MM:SS.ffffffZ`);
  }
  return parseTime(text);
}

export function eventId(parts) {
  return md5Hex(parts.filter((p) => p !== null).join("|"));
}
