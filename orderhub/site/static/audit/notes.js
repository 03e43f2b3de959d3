// C2SP signed notes, checkpoints and cosignatures with WebCrypto Ed25519 (ledger/note.py,
// ledger/checkpoint.py, ledger/cosignature.py). A verifier key is
// <name>+<hex key id>+<base64(type || 32-byte key)>, key id = SHA-256(name || 0x0A || type || key)[:4],
// type 0x01 for the log's signature, 0x04 for a witness's cosignature/v1.

import { concat, equal, fromBase64, hex, sha256, utf8 } from "./bytes.js";

export const ALG_NOTE = 0x01;
export const ALG_COSIGNATURE = 0x04;
const DASH = "\u2014 ";

export async function parseVerifierKey(text, alg, what) {
  const parts = String(text).trim().split("+");
  if (parts.length < 3) throw new Error(`${what} is not <name>+<hex key id>+<base64 key>`);
  const [name, idHex] = parts;
  const raw = fromBase64(parts.slice(2).join("+"), `${what} material`);
  if (raw.length !== 33 || raw[0] !== alg) throw new Error(`${what} is not an Ed25519 key of type ${alg}`);
  const publicKey = raw.slice(1);
  const keyId = (await sha256(concat(utf8(name), Uint8Array.of(0x0a, alg), publicKey))).slice(0, 4);
  if (hex(keyId) !== idHex.toLowerCase()) throw new Error(`${what} id ${idHex} does not match the key named ${name}`);
  const key = await crypto.subtle.importKey("raw", publicKey, { name: "Ed25519" }, false, ["verify"]);
  return { name, keyId, key, text: `${name}+${hex(keyId)}` };
}

export function splitNote(note) {
  const at = note.lastIndexOf("\n\n");
  if (at < 0) throw new Error("note has no blank line between its text and its signatures");
  const text = note.slice(0, at + 1);
  const block = note.slice(at + 2);
  if (!block.endsWith("\n")) throw new Error("note signatures must end with a newline");
  const signatures = block.slice(0, -1).split("\n").map((line, i) => {
    if (!line.startsWith(DASH)) throw new Error(`signature line ${i + 1} does not start with '— '`);
    const [name, blob, ...rest] = line.slice(DASH.length).split(" ");
    if (!blob || rest.length) throw new Error(`signature line ${i + 1} is not '— <name> <base64>'`);
    const raw = fromBase64(blob, `signature line ${i + 1}`);
    return { name, keyId: raw.slice(0, 4), signature: raw.slice(4) };
  });
  return { text, signatures };
}

const verifyEd25519 = (key, signature, message) =>
  crypto.subtle.verify({ name: "Ed25519" }, key, signature, message);

/** The checkpoint of a note signed by the trusted log key: {origin, size, root, body}. */
export async function openCheckpoint(note, logKey) {
  const { text, signatures } = splitNote(note);
  let verified = false;
  for (const s of signatures) {
    if (s.name !== logKey.name || !equal(s.keyId, logKey.keyId)) continue;
    if (!(await verifyEd25519(logKey.key, s.signature, utf8(text)))) {
      throw new Error(`the signature by ${logKey.text} does not verify over the note text`);
    }
    verified = true;
  }
  if (!verified) throw new Error(`the note is not signed by ${logKey.text}`);
  const lines = text.slice(0, -1).split("\n");
  if (lines.length < 3 || !/^(0|[1-9][0-9]*)$/.test(lines[1])) throw new Error("malformed checkpoint text");
  return { origin: lines[0], size: Number(lines[1]), root: fromBase64(lines[2], "checkpoint root"), body: text };
}

/** The key of a cosignature line ("name+keyid") without checking it. */
export function cosigner(line, body) {
  const { signatures } = splitNote(body + "\n" + line);
  if (signatures.length !== 1) throw new Error("a witness receipt's cosignature is one signature line");
  return `${signatures[0].name}+${hex(signatures[0].keyId)}`;
}

/** The timestamp of a cosignature/v1 line by ``witness`` over the checkpoint ``body``. */
export async function verifyCosignature(line, body, witness) {
  const { signatures } = splitNote(body + "\n" + line);
  const s = signatures.find((x) => x.name === witness.name && equal(x.keyId, witness.keyId));
  if (!s) throw new Error(`no cosignature by ${witness.text}`);
  if (s.signature.length !== 72) throw new Error("a cosignature holds 8 bytes of time and 64 of signature");
  const view = new DataView(s.signature.buffer, s.signature.byteOffset, 8);
  const timestamp = view.getBigUint64(0);
  const message = utf8(`cosignature/v1\ntime ${timestamp}\n${body}`);
  if (!(await verifyEd25519(witness.key, s.signature.slice(8), message))) {
    throw new Error(`the cosignature by ${witness.text} does not verify over the checkpoint`);
  }
  return Number(timestamp);
}
