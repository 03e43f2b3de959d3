// RFC 8785 (JSON Canonicalization Scheme) of a parsed JSON value, as the bundle's hashes
// are taken over it: members sorted by their names' UTF-16 code units, no whitespace,
// strings escaped as JSON.stringify does, numbers as ECMAScript writes the IEEE double
// JSON.parse read (an integer literal beyond 2**53 - 1 reads rounded, so it cannot hash to
// what the loader hashed: the loader stores no such record).

export function escapeString(text) {
  return JSON.stringify(text);
}

export function numberText(value) {
  if (!Number.isFinite(value)) throw new Error(`${value} is not a JSON number`);
  return JSON.stringify(value);
}

export function canonical(value) {
  if (value === null || typeof value === "boolean") return JSON.stringify(value);
  if (typeof value === "number") return numberText(value);
  if (typeof value === "string") return escapeString(value);
  if (Array.isArray(value)) return "[" + value.map(canonical).join(",") + "]";
  if (typeof value === "object") {
    const keys = Object.keys(value).sort();
    return "{" + keys.map((k) => escapeString(k) + ":" + canonical(value[k])).join(",") + "}";
  }
  throw new Error(`${typeof value} is not a JSON value`);
}
