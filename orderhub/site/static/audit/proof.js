// The "verify" button of the tracking page: checks the order's audit bundle in the browser
// against the log key the site publishes at a well-known URL, with WebCrypto only, so the
// answer does not rest on the server that sent the page's data (docs/audit-bundle.md,
// "In the browser"). Mounts itself on <section id="proof" data-bundle-url="...">; the key
// URLs default to /.well-known/orderhub/log-key and /.well-known/orderhub/witness-key
// (data-log-key-url, data-witness-key-url; data-witness-key-url="" trusts no witness).

import { verifyBundle } from "./verify.js";

export const LOG_KEY_URL = "/.well-known/orderhub/log-key";
export const WITNESS_KEY_URL = "/.well-known/orderhub/witness-key";

async function text(url) {
  const response = await fetch(url, { cache: "no-store" });
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return (await response.text()).trim();
}

function show(section, result) {
  const status = section.querySelector("[data-proof-status]");
  const list = section.querySelector("[data-proof-checks]");
  status.textContent = result.ok ? "Verified: the status is proved by the signed log." : `Not verified: ${result.error}`;
  list.replaceChildren(...result.checked.map((line) => Object.assign(document.createElement("li"), { textContent: line })));
  section.dataset.result = result.ok ? "verified" : "failed";
}

/** Check the bundle at ``bundleUrl`` with the published keys; resolves to the result. */
export async function verifyPublished({ bundleUrl, logKeyUrl = LOG_KEY_URL, witnessKeyUrl = WITNESS_KEY_URL }) {
  try {
    const [logKey, witnessKey, bundle] = await Promise.all([
      text(logKeyUrl),
      witnessKeyUrl ? text(witnessKeyUrl) : Promise.resolve(null),
      fetch(bundleUrl, { cache: "no-store" }).then((r) => {
        if (!r.ok) throw new Error(`${bundleUrl}: HTTP ${r.status}`);
        return r.json();
      }),
    ]);
    return await verifyBundle(bundle, logKey, witnessKey ? [witnessKey] : []);
  } catch (error) {
    return { ok: false, error: error.message, checked: [] };
  }
}

export function mountProof(section) {
  const button = Object.assign(document.createElement("button"), { type: "button", textContent: "Verify" });
  const status = Object.assign(document.createElement("p"), { textContent: "" });
  status.dataset.proofStatus = "";
  const list = document.createElement("ol");
  list.dataset.proofChecks = "";
  section.append(button, status, list);
  button.addEventListener("click", async () => {
    button.disabled = true;
    section.dataset.result = "running";
    status.textContent = "Verifying…";
    const { bundleUrl, logKeyUrl, witnessKeyUrl } = section.dataset;
    show(section, await verifyPublished({
      bundleUrl,
      logKeyUrl: logKeyUrl || LOG_KEY_URL,
      witnessKeyUrl: witnessKeyUrl === undefined ? WITNESS_KEY_URL : witnessKeyUrl,
    }));
    button.disabled = false;
  });
  section.dataset.result = "ready";
}

if (typeof document !== "undefined") {
  const section = document.querySelector("section#proof[data-bundle-url]");
  if (section) mountProof(section);
}
