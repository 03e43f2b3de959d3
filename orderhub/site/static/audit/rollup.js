// An order's status re-derived from its canonical events: the port of
// ledger/bundle/rollup.py (shipments, steps, decisions; SQL's three-valued logic kept).

import { compareText } from "./bytes.js";

export const CLAIM_FIELDS = [
  "order_id", "canonical_status", "status_event_id", "status_node", "status_shipment_id",
  "updated_at", "status_since", "status_since_event_id", "payment_state", "shipments", "event_ids",
];
export const SHIPMENT_FIELDS = [
  "shipment_id", "direction", "canonical_status", "status_event_id", "status_node", "updated_at", "status_since",
];

const upper = (t) => t.replace(/[a-z]/g, (c) => c.toUpperCase());
const eqUpper = (a, b) => a !== null && b !== null && upper(a) === upper(b);
const present = (values) => values.filter((v) => v !== null);
const minText = (values) => present(values).sort(compareText)[0] ?? null;
const maxText = (values) => present(values).sort(compareText).at(-1) ?? null;

function groups(steps, ...columns) {
  const found = new Map();
  for (const s of steps) {
    const k = JSON.stringify(columns.map((c) => s[c]));
    if (!found.has(k)) found.set(k, []);
    found.get(k).push(s);
  }
  return [...found.values()];
}

function scope(events, spec) {
  const { rules, return_nodes: nodes } = spec;
  const [wms, tms] = [rules.delivery_system, rules.tracker_system];
  const steps = events.map((e) => ({ ...e }));
  for (const s of steps) {
    s.at_return_node = nodes.some((n) => eqUpper(s.node_country, n.country) &&
      (eqUpper(s.node_postal_code, n.postal_code) || (s.node_postal_code === null && eqUpper(s.node, n.city))));
  }
  for (const group of groups(steps, "source_system", "shipment_ref")) {
    const first = group.reduce((a, b) => (compareText(b.event_id, a.event_id) < 0 ? b : a));
    const code = maxText(group.map((s) => s.tracking_code));
    const returned = group.some((s) => s.canonical_status === rules.delivered && s.at_return_node && !s.is_clock_skewed);
    for (const s of group) Object.assign(s, { opens: s === first, ref_code: code, to_return_node: returned });
  }
  for (const group of groups(steps, "ref_code")) {
    const code = group[0].ref_code;
    const named = minText(group.filter((s) => s.source_system === wms).map((s) => s.shipment_ref));
    const ofTracker = group.some((s) => s.source_system === tms);
    for (const s of group) Object.assign(s, { named_by: code === null ? null : named, of_tracker: code !== null && ofTracker });
  }
  const opened = steps.filter((s) => s.opens);
  const count = (f) => opened.filter(f).length;
  const deliveries = count((s) => s.source_system === wms);
  const unnamed = count((s) => s.source_system === wms && s.ref_code === null);
  const named = count((s) => s.source_system === wms && s.of_tracker);
  const trackers = count((s) => s.source_system === tms);
  const firstDelivery = minText(steps.filter((s) => s.source_system === wms).map((s) => s.shipment_ref));
  for (const s of steps) {
    let carried = null;
    if (s.source_system === tms) {
      carried = s.named_by;
      if (carried === null && deliveries === 1 && unnamed === 1 && trackers === 1) carried = firstDelivery;
    }
    const ref = s.shipment_ref;
    s.shipment_id = s.shipment_direction = null;
    if (s.source_system === wms) {
      s.shipment_id = ref === null ? null : `${wms}:${ref}`;
      s.shipment_direction = "outbound";
    } else if (s.source_system === tms) {
      s.shipment_id = carried !== null ? `${wms}:${carried}` : ref === null ? null : `${tms}:${ref}`;
      s.shipment_direction = carried !== null ? "outbound"
        : s.to_return_node || (deliveries > 0 && named === deliveries) ? "return" : "outbound";
    }
  }
  return steps;
}

function orderSteps(steps) {
  // null sorts above every text, so descending puts it first (as the Python port does)
  const byText = (a, b) => (a === null ? (b === null ? 0 : 1) : b === null ? -1 : compareText(a, b));
  steps.sort((a, b) =>
    (a.event_time === null) - (b.event_time === null) || (a.event_time < b.event_time ? -1 : a.event_time > b.event_time ? 1 : 0) ||
    b.status_precedence - a.status_precedence ||
    (a.lifecycle_rank === null) - (b.lifecycle_rank === null) || (a.lifecycle_rank ?? 0) - (b.lifecycle_rank ?? 0) ||
    -byText(a.source_field, b.source_field) || -compareText(a.event_id, b.event_id));
  steps.forEach((s, i) => { s.step_number = i + 1; });
}

const earlier = (step, other) => other.event_time !== null && (step.event_time === null || other.event_time < step.event_time);
const terminalRank = (s) => (s.is_lifecycle && s.is_terminal && !s.is_clock_skewed ? s.lifecycle_rank : null);

function flag(steps, rules) {
  for (const s of steps) s.is_lifecycle = s.payment_state === null;
  orderSteps(steps);
  for (const s of steps) {
    const ranks = present(steps.filter((o) => earlier(s, o) && (o.shipment_id === s.shipment_id || o.shipment_id === null)).map(terminalRank));
    const highest = ranks.length ? Math.max(...ranks) : null;
    s.is_after_terminal = Boolean(s.is_lifecycle && !s.is_terminal && !s.is_clock_skewed && highest !== null && highest > s.lifecycle_rank);
    s.is_regression = s.is_after_terminal && s.event_class === rules.physical;
    s.may_decide = s.is_lifecycle && !s.is_after_terminal && !s.is_clock_skewed;
  }
  const last = new Map();
  for (const s of steps) {
    if (s.is_clock_skewed || (s.is_lifecycle && !s.may_decide)) {
      s.starts_status_run = false;
      continue;
    }
    const axis = s.is_lifecycle ? JSON.stringify(["life", s.shipment_id]) : "payment";
    const value = s.is_lifecycle ? s.canonical_status : s.payment_state;
    s.starts_status_run = !last.has(axis) || last.get(axis) !== value;
    last.set(axis, value);
  }
}

function first(steps, condition, order = "step") {
  const meeting = steps.filter((s) => s[condition]);
  meeting.sort(order === "rank"
    ? (a, b) => (a.lifecycle_rank === null) - (b.lifecycle_rank === null) || (a.lifecycle_rank ?? 0) - (b.lifecycle_rank ?? 0) || b.step_number - a.step_number
    : (a, b) => b.step_number - a.step_number);
  return meeting[0] ?? null;
}

const get = (step, column) => (step === null ? null : step[column]);

function roles(steps, rules) {
  const shipped = new Set(rules.shipped_statuses);
  for (const group of groups(steps, "shipment_id")) {
    const deciding = group.filter((s) => s.may_decide).map((s) => s.step_number);
    const left = group.some((s) => s.may_decide && shipped.has(s.canonical_status));
    for (const s of group) {
      s.decides_shipment = Boolean(s.may_decide && s.shipment_id !== null && s.step_number === Math.max(...deciding));
      s.has_left = left;
    }
  }
  for (const group of groups(steps, "shipment_id", "source_field")) {
    const deciding = group.filter((s) => s.may_decide).map((s) => s.step_number);
    for (const s of group) s.field_latest = Boolean(s.may_decide && s.shipment_id === null && s.step_number === Math.max(...deciding));
  }
  for (const s of steps) {
    const [status, direction] = [s.canonical_status, s.shipment_direction];
    s.shipment_status = null;
    if (s.decides_shipment) s.shipment_status = direction === "return" && status === rules.delivered ? rules.returned : status;
    s.decides_outbound = s.decides_shipment && direction === "outbound" && status !== rules.cancelled;
    s.decides_return = s.decides_shipment && direction === "return" && status === rules.delivered;
    s.own_may_decide = s.may_decide && s.shipment_id === null;
    s.says_partial = s.field_latest && status === rules.partially_fulfilled;
    s.payment_step = !s.is_lifecycle && !s.is_clock_skewed;
    s.waiting = s.decides_outbound && !s.is_terminal && !s.has_left;
    s.open = s.decides_outbound && !s.is_terminal;
    s.outbound_terminal = s.decides_outbound && s.is_terminal;
  }
}

const and3 = (...v) => (v.some((x) => x === false) ? false : v.some((x) => x === null) ? null : true);
const or3 = (...v) => (v.some((x) => x === true) ? true : v.some((x) => x === null) ? null : false);
const not3 = (v) => (v === null ? null : !v);
const gt3 = (a, b) => (a === null || b === null ? null : a > b);

function shipmentChoice(steps, rules) {
  const anyLeft = steps.some((s) => s.decides_outbound && s.has_left);
  const delivered = steps.filter((s) => s.decides_outbound && s.canonical_status === rules.delivered).length;
  const returned = steps.filter((s) => s.decides_return).length;
  const [waiting, opened] = [first(steps, "waiting", "rank"), first(steps, "open", "rank")];
  const [partial, own] = [first(steps, "says_partial"), first(steps, "own_may_decide")];
  const [back, terminal] = [first(steps, "decides_return"), first(steps, "outbound_terminal")];
  const latest = first(steps, "decides_shipment");
  if (anyLeft && (waiting !== null || partial !== null)) return ["partial", partial ?? waiting, false, null];
  if (opened !== null) return ["open", opened, false, null];
  if (returned > 0 && returned >= delivered) return ["returned", back, true, get(back, "step_number")];
  if (terminal !== null) return ["terminal", terminal, true, terminal.step_number];
  if (own === null) return ["latest", latest, get(latest, "is_terminal"), get(latest, "step_number")];
  return [null, null, false, null];
}

function decide(steps, rules) {
  roles(steps, rules);
  const [rule, chosen, isTerminal, terminalStep] = shipmentChoice(steps, rules);
  const [own, paying] = [first(steps, "own_may_decide"), first(steps, "payment_step")];
  const ownDecides = or3(rule === null, and3(get(own, "is_terminal"), not3(and3(isTerminal, gt3(terminalStep, get(own, "step_number"))))));
  const ownStatus = get(own, "canonical_status") ?? rules.placed;
  const paymentDecides = and3(paying ? paying.payment_state === rules.unpaid : null,
    or3(and3(ownDecides, ownStatus === rules.placed), own === null && rule === null));
  const deciding = paymentDecides ? paying : ownDecides ? own : chosen;
  for (const s of steps) {
    s.decides_status = deciding !== null && s === deciding;
    s.decided_status = null;
    if (s.decides_status) {
      s.decided_status = paymentDecides || ownDecides ? s.canonical_status
        : rule === "partial" ? rules.partially_fulfilled : rule === "returned" ? rules.returned : s.canonical_status;
    }
  }
}

export function stepsOf(events, spec) {
  const steps = scope(events, spec);
  flag(steps, spec.rules);
  decide(steps, spec.rules);
  return steps;
}

function since(deciding, steps, sameAxis) {
  const runs = steps.filter((s) => s.starts_status_run && s.step_number <= deciding.step_number &&
    (s.payment_state === null) === (deciding.payment_state === null) && (!sameAxis || s.shipment_id === deciding.shipment_id));
  return runs.reduce((a, b) => (a === null || b.step_number > a.step_number ? b : a), null);
}

export function orderClaim(orderId, status, shipments, eventIds) {
  status = status || {};
  const claim = { order_id: orderId };
  for (const name of CLAIM_FIELDS.slice(1, -2)) claim[name] = status[name] ?? null;
  claim.shipments = [...shipments].sort((a, b) => compareText(a.shipment_id ?? "", b.shipment_id ?? ""))
    .map((s) => Object.fromEntries(SHIPMENT_FIELDS.map((n) => [n, s[n] ?? null])));
  claim.event_ids = [...eventIds].sort();
  return claim;
}

export function rederiveClaim(orderId, events, spec) {
  const steps = stepsOf(events.filter((e) => e.is_mapped), spec);
  let status = {};
  const deciding = steps.find((s) => s.decides_status) ?? null;
  if (deciding !== null) {
    const from = since(deciding, steps, deciding.payment_state === null);
    status = {
      canonical_status: deciding.decided_status, status_event_id: deciding.event_id,
      status_node: deciding.node, status_shipment_id: deciding.shipment_id, updated_at: deciding.event_time,
      status_since: get(from, "event_time"), status_since_event_id: get(from, "event_id"),
    };
  }
  const payments = steps.filter((s) => s.payment_state !== null);
  status.payment_state = payments.length ? payments.at(-1).payment_state : null;
  const shipments = [];
  for (const group of groups(steps, "shipment_id")) {
    const shipment = group[0].shipment_id;
    if (shipment === null) continue;
    const decides = group.find((s) => s.decides_shipment) ?? null;
    const from = decides === null ? null : since(decides, group, true);
    shipments.push({
      shipment_id: shipment, direction: minText(group.map((s) => s.shipment_direction)),
      canonical_status: get(decides, "shipment_status"), status_event_id: get(decides, "event_id"),
      status_node: get(decides, "node"), updated_at: get(decides, "event_time"), status_since: get(from, "event_time"),
    });
  }
  return orderClaim(orderId, status, shipments, events.map((e) => e.event_id));
}
