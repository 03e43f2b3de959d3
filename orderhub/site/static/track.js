// The tracking page: look one order up at PostgREST's /rpc/track and show it.
// The API's URL comes from /config.json. An order and token in the URL's fragment
// (#order=1000042&token=...) are filled in and looked up at once; the fragment never
// reaches a server. After each successful lookup the page dispatches the DOM event
// "orderhub:tracked" (detail: {order, token, apiUrl, lang}) and keeps the result in
// window.orderhubTracking.lastResult (the site's /config.json in .config); a failed lookup
// hides the result and the proof section: the hooks orderhub/site/README.md describes.
"use strict";

(function () {
  const WORDS = window.ORDERHUB_I18N;
  const state = { lang: "en", apiUrl: null, result: null };

  const $ = (id) => document.getElementById(id);

  function t(key, values) {
    const text = (WORDS[state.lang] && WORDS[state.lang][key]) || WORDS.en[key] || key;
    return text.replace(/\{(\w+)\}/g, (_, name) => (values && name in values ? values[name] : ""));
  }

  function chooseLanguage() {
    const asked = new URLSearchParams(window.location.search).get("lang");
    const stored = window.localStorage && window.localStorage.getItem("orderhub.lang");
    const wanted = asked || stored || (navigator.language || "en");
    return wanted.toLowerCase().startsWith("zh") ? "zh-Hans" : "en";
  }

  function applyLanguage(lang) {
    state.lang = lang;
    document.documentElement.lang = lang;
    document.querySelectorAll("[data-i18n]").forEach((node) => {
      node.textContent = t(node.dataset.i18n);
    });
    document.querySelectorAll("[data-i18n-aria]").forEach((node) => {
      node.setAttribute("aria-label", t(node.dataset.i18nAria));
    });
    document.querySelectorAll("button.lang").forEach((button) => {
      button.setAttribute("aria-pressed", String(button.dataset.lang === lang));
    });
    document.title = t("title");
    if (state.result) render(state.result);
  }

  function formatTime(value) {
    if (!value) return "";
    const options = { dateStyle: "medium", timeStyle: "short" };
    return new Intl.DateTimeFormat(state.lang, options).format(new Date(value));
  }

  function element(tag, text, className) {
    const node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = text;
    if (className) node.className = className;
    return node;
  }

  function timeElement(value) {
    const node = element("time", formatTime(value));
    node.dateTime = value;
    return node;
  }

  function showMessage(key) {
    const box = $("message");
    box.textContent = t(key);
    box.hidden = false;
  }

  function place(step) {
    // a store's or warehouse's own name, else the kind of place and who or what it is
    const kind = step.node_type ? t("node." + step.node_type) : "";
    const carrierPlace = step.node_type && step.node_type.startsWith("carrier");
    const name = step.place || [kind, carrierPlace ? step.carrier : step.node].filter(Boolean).join(" ");
    const where = [step.city, step.region, step.country].filter(Boolean).join(", ");
    return [name, where].filter(Boolean).join(" · ");
  }

  function renderDates(order) {
    const dates = $("dates");
    dates.replaceChildren();
    const add = (label, value, note) => {
      if (!value) return;
      dates.append(element("dt", t(label)));
      const dd = element("dd");
      dd.append(timeElement(value));
      if (note) dd.append(" " + note);
      dates.append(dd);
    };
    add("promised", order.promised_delivery_at);
    if (order.delivered_at) {
      add("delivered", order.delivered_at);
    } else if (order.estimated_delivery_at) {
      add("estimated", order.estimated_delivery_at, t("estimated_" + order.estimate_source));
    }
    const late = $("late");
    late.textContent = t("late");
    late.hidden = !order.is_late;
  }

  function renderCarbon(order) {
    // the delivery's well-to-wheel CO2e (ISO 14083 / GLEC) and the low-carbon option
    const box = $("carbon");
    const carbon = order.carbon;
    box.hidden = !carbon;
    if (!carbon) return;
    const kg = (value) => Number(value).toLocaleString(state.lang, { maximumFractionDigits: 2 });
    box.textContent = t("carbon", {
      kg: kg(carbon.wtw_kg_co2e),
      low: kg(carbon.low_carbon_wtw_kg_co2e),
      saving: kg(carbon.low_carbon_saving_kg_co2e),
    });
  }

  function renderParcels(order) {
    const list = $("parcels");
    list.replaceChildren();
    if (!order.parcels.length) list.append(element("li", t("no_parcels")));
    order.parcels.forEach((parcel) => {
      const label = parcel.carrier
        ? t("parcel", { carrier: parcel.carrier, code: parcel.tracking_code || "" })
        : t("parcel_unassigned");
      const prefix = parcel.direction === "return" ? t("return_parcel") + ": " : "";
      list.append(element("li", prefix + label + " — " + t("status." + parcel.status)));
    });
  }

  function renderSteps(order) {
    const list = $("steps");
    list.replaceChildren();
    if (!order.steps.length) list.append(element("li", t("no_steps")));
    order.steps.forEach((step) => {
      const item = element("li");
      item.append(timeElement(step.at));
      item.append(element("span", t("status." + step.status), "what"));
      const where = place(step);
      if (where) item.append(element("span", where, "where"));
      if (step.message) item.append(element("span", step.message, "note"));
      list.append(item);
    });
  }

  function render(order) {
    $("result-heading").textContent = t("order_heading", { order: order.order_id });
    const since = order.status_since ? " " + t("since", { time: formatTime(order.status_since) }) : "";
    $("status").textContent = t("status." + order.status) + since;
    const warnings = $("warnings");
    warnings.replaceChildren();
    order.warnings.forEach((warning) => {
      const item = element("li", warning.message[state.lang] || warning.message.en);
      item.setAttribute("role", "alert");
      warnings.append(item);
    });
    renderDates(order);
    renderCarbon(order);
    renderParcels(order);
    renderSteps(order);
    $("result").hidden = false;
  }

  async function lookup(orderId, token) {
    const response = await fetch(state.apiUrl + "/rpc/track", {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify({ order_id: orderId, tracking_token: token }),
    });
    if (response.status === 404) return null;
    if (!response.ok) throw new Error("HTTP " + response.status);
    return response.json();
  }

  async function submit(event) {
    if (event) event.preventDefault();
    const orderId = $("order-id").value.trim();
    const token = $("tracking-token").value.trim();
    $("message").hidden = true;
    if (!orderId || !token) {
      showMessage("missing");
      (orderId ? $("tracking-token") : $("order-id")).focus();
      return;
    }
    const button = $("submit");
    button.disabled = true;
    button.setAttribute("aria-busy", "true");
    try {
      const order = await lookup(orderId, token);
      if (!order) {
        state.result = null;
        $("result").hidden = true;
        $("proof").hidden = true;
        showMessage("not_found");
        return;
      }
      state.result = order;
      window.orderhubTracking.lastResult = order;
      render(order);
      $("result-heading").setAttribute("tabindex", "-1");
      $("result-heading").focus();
      document.dispatchEvent(
        new CustomEvent("orderhub:tracked", {
          detail: { order, token, apiUrl: state.apiUrl, lang: state.lang },
        })
      );
    } catch (error) {
      showMessage("failed");
    } finally {
      button.disabled = false;
      button.removeAttribute("aria-busy");
    }
  }

  async function start() {
    window.orderhubTracking = { lastResult: null, config: null, t, get apiUrl() { return state.apiUrl; } };
    applyLanguage(chooseLanguage());
    document.querySelectorAll("button.lang").forEach((button) => {
      button.addEventListener("click", () => {
        window.localStorage && window.localStorage.setItem("orderhub.lang", button.dataset.lang);
        applyLanguage(button.dataset.lang);
      });
    });
    $("lookup").addEventListener("submit", submit);
    const config = await (await fetch("/config.json")).json();
    window.orderhubTracking.config = config;
    state.apiUrl = config.api_url;
    const fragment = new URLSearchParams(window.location.hash.slice(1));
    if (fragment.get("order") && fragment.get("token")) {
      $("order-id").value = fragment.get("order");
      $("tracking-token").value = fragment.get("token");
      submit();
    }
    document.body.dataset.ready = "true";
  }

  document.addEventListener("DOMContentLoaded", start);
})();
