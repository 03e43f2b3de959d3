// RFC 9162 Merkle proofs, and committed tables proved row by row (ledger/bundle/tables.py):
// leaf(x) = SHA-256(0x00 || x), node(l, r) = SHA-256(0x01 || l || r); a table's leaf input is
// the 32-byte SHA-256 of a row's RFC 8785 bytes, rows ordered bytewise by their key columns.

import { canonical } from "./canonical.js";
import { compareBytes, concat, equal, fromHex, sha256, utf8 } from "./bytes.js";

export const leafHash = (data) => sha256(concat(Uint8Array.of(0), data));
export const nodeHash = (left, right) => sha256(concat(Uint8Array.of(1), left, right));
export const rowHash = (row) => sha256(utf8(canonical(row)));

/** RFC 9162 section 2.1.3.2: ``leaf`` is leaf ``index`` of the tree of ``size`` with ``root``. */
export async function verifyInclusion(leaf, index, size, proof, root) {
  if (!(index >= 0 && index < size)) throw new Error(`leaf index ${index} is not below the tree size ${size}`);
  let [fn, sn, r] = [index, size - 1, leaf];
  for (const p of proof) {
    if (sn === 0) throw new Error(`inclusion proof has ${proof.length} hashes: too many`);
    if (fn % 2 === 1 || fn === sn) {
      r = await nodeHash(p, r);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      r = await nodeHash(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  if (sn !== 0) throw new Error(`inclusion proof has ${proof.length} hashes: too few`);
  if (!equal(r, root)) throw new Error("inclusion proof does not lead to the root");
}

export function hashes(list, item) {
  if (!Array.isArray(list)) throw new Error(`${item}: the proof must be a list of hex hashes`);
  return list.map((h, i) => {
    const raw = fromHex(h, `${item} hash #${i}`);
    if (raw.length !== 32) throw new Error(`${item} hash #${i}: a hash has 32 bytes, not ${raw.length}`);
    return raw;
  });
}

export const keyOf = (row, columns) => columns.map((c) => utf8(row[c] ?? ""));

export function compareKeys(a, b) {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const c = compareBytes(a[i], b[i]);
    if (c) return c;
  }
  return a.length - b.length;
}

/** Rows of a committed table, each proved against ``root`` (a tree of ``size`` leaves). */
export async function provedRows(entries, columns, root, size, item) {
  const rows = new Map();
  for (const [i, entry] of entries.entries()) {
    const where = `${item} row #${i}`;
    if (!entry || typeof entry.row !== "object" || entry.row === null) throw new Error(`${where}: must be an object with a row`);
    if (!Number.isInteger(entry.leaf_index)) throw new Error(`${where}: leaf_index is not an integer`);
    try {
      await verifyInclusion(await leafHash(await rowHash(entry.row)), entry.leaf_index, size,
        hashes(entry.path, where), root);
    } catch (error) {
      throw new Error(`${where} (leaf ${entry.leaf_index}): ${error.message}`);
    }
    rows.set(entry.leaf_index, { index: entry.leaf_index, row: entry.row, key: keyOf(entry.row, columns) });
  }
  const sorted = [...rows.values()].sort((a, b) => a.index - b.index);
  for (let i = 1; i < sorted.length; i++) {
    if (compareKeys(sorted[i - 1].key, sorted[i].key) >= 0) {
      throw new Error(`${item}: leaf ${sorted[i - 1].index} and leaf ${sorted[i].index} are not in key order`);
    }
  }
  return { rows, size, item };
}

/** Every row whose key starts with ``prefix`` (byte arrays), proved complete by its neighbours. */
export function allWithPrefix(proved, prefix) {
  const { rows, size, item } = proved;
  const head = (r) => r.key.slice(0, prefix.length);
  const indexes = [...rows.values()].filter((r) => compareKeys(head(r), prefix) === 0).map((r) => r.index).sort((a, b) => a - b);
  const shown = prefix.map((p) => new TextDecoder().decode(p)).join("/");
  if (indexes.length) {
    const [lo, hi] = [indexes[0], indexes.at(-1)];
    if (hi - lo + 1 !== indexes.length) throw new Error(`${item}: the rows of ${shown} are not one run of leaves`);
    if ((lo > 0 && !rows.has(lo - 1)) || (hi + 1 < size && !rows.has(hi + 1))) {
      throw new Error(`${item}: the rows of ${shown} come without the leaves around them, so the bundle does not prove it has them all`);
    }
    return indexes.map((i) => rows.get(i).row);
  }
  if (size === 0) return [];
  let below = -1;
  let above = size;
  for (const r of rows.values()) {
    const c = compareKeys(head(r), prefix);
    if (c < 0) below = Math.max(below, r.index);
    if (c > 0) above = Math.min(above, r.index);
  }
  if (above - below !== 1) throw new Error(`${item}: no row of ${shown}, and the bundle does not prove there is none (two adjacent leaves around where it would be)`);
  return [];
}
