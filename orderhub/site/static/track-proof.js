// The tracking page's proof section: after each lookup, the in-browser verifier's "Verify"
// button (audit/proof.js) for the order just shown. It listens for the page's
// "orderhub:tracked" event and points the section at the order's audit bundle,
// /audit/<order>?token=<tracking token>, and at the keys the site publishes under
// /.well-known/orderhub/ - as /config.json's "audit" entry says. A site that serves no
// bundles ("audit": null) leaves the section hidden. orderhub/site/README.md has the hooks.

import { mountProof } from "./audit/proof.js";

const section = document.getElementById("proof");
let mounted = false;

function bundleUrl(template, orderId, token) {
  const path = template.replace("{order}", encodeURIComponent(orderId));
  return `${path}?token=${encodeURIComponent(token)}`;
}

function offer(event) {
  const { order, token } = event.detail;
  const tracking = window.orderhubTracking;
  const audit = tracking && tracking.config && tracking.config.audit;
  if (!section || !audit) return;
  section.dataset.bundleUrl = bundleUrl(audit.bundle_url, order.order_id, token);
  section.dataset.logKeyUrl = audit.log_key_url;
  section.dataset.witnessKeyUrl = audit.witness_key_url;
  if (!mounted) {
    mountProof(section);
    const button = section.querySelector("button");
    button.dataset.i18n = "verify";
    button.textContent = tracking.t("verify");
    section.querySelector("[data-proof-status]").setAttribute("role", "status");
    mounted = true;
  } else {
    // another order: forget the last answer
    section.querySelector("[data-proof-status]").textContent = "";
    section.querySelector("[data-proof-checks]").replaceChildren();
    section.dataset.result = "ready";
  }
  section.hidden = false;
}

document.addEventListener("orderhub:tracked", offer);
