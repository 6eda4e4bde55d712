// The demo EHR page: a patient list, a chart, and our CDS cards, called from the browser the way the
// public CDS Hooks sandbox calls a service (discovery, patient-view with prefetch or fhirServer, feedback),
// each call with a fresh demo-EHR JWT for its exact URL from POST /demo/token.
// Every text goes into the page with textContent or createTextNode; nothing uses innerHTML.
"use strict";

(function () {
  const RANK = { critical: 0, warning: 1, info: 2 };
  const INDICATOR_TEXT = { critical: "Critical", warning: "Warning", info: "Info" };
  const state = { config: null, service: null, patients: [], current: null, exchanges: [] };
  const $ = (id) => document.getElementById(id);

  // --- small helpers ------------------------------------------------------------------------------

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "class") node.className = value;
      else if (key === "text") node.textContent = value;
      else if (key.startsWith("data-")) node.setAttribute(key, value);
      else if (key === "hidden") node.hidden = true;
      else node.setAttribute(key, value);
    }
    for (const child of children) {
      if (child === null || child === undefined || child === false) continue;
      node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
    }
    return node;
  }

  function uuid() {
    // crypto.randomUUID exists only in secure contexts; a page served on a LAN address over http is not one.
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    const b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    const h = Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  }

  function notice(message) {
    const box = $("notice");
    box.textContent = message || "";
    box.hidden = !message;
  }

  async function getJson(url, options) {
    const response = await fetch(url, options);
    let body = null;
    try { body = await response.json(); } catch (_) { body = null; }
    return { status: response.status, ok: response.ok, body };
  }

  function outcomeText(body) {
    const issue = body && body.issue && body.issue[0];
    return issue ? issue.diagnostics || issue.code : "no details";
  }

  function decodeJwt(jwt) {
    const part = (text) => JSON.parse(atob(text.replace(/-/g, "+").replace(/_/g, "/")));
    const [header, payload] = jwt.split(".");
    return { header: part(header), payload: part(payload) };
  }

  // --- the CDS Hooks client -----------------------------------------------------------------------

  async function demoToken(aud) {
    const answer = await getJson("/demo/token", {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ aud }),
    });
    if (!answer.ok) throw new Error(`no demo token: ${outcomeText(answer.body)}`);
    return answer.body.jwt;
  }

  // Call one CDS Hooks endpoint with a JWT whose aud is its public URL; log the exchange.
  async function cds(method, path, body) {
    const aud = state.config.serviceBase + path;
    const jwt = await demoToken(aud);
    const started = performance.now();
    const options = { method, headers: { Authorization: `Bearer ${jwt}` } };
    if (body !== undefined) {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    const answer = await getJson(path, options);
    logExchange({ method, url: aud, jwt: decodeJwt(jwt), request: body, status: answer.status,
      response: answer.body, ms: Math.round(performance.now() - started) });
    return answer;
  }

  function logExchange(exchange) {
    state.exchanges.unshift(exchange);
    state.exchanges.length = Math.min(state.exchanges.length, 12);
    const log = $("exchange-log");
    log.textContent = "";
    for (const x of state.exchanges) {
      const auth = { header: x.jwt.header, claims: x.jwt.payload };
      log.appendChild(el("article", { class: "exchange" },
        el("h3", { text: `${x.method} ${x.url} \u2192 ${x.status} (${x.ms} ms)` }),
        el("h4", { text: "Authorization: Bearer JWT (decoded)" }),
        el("pre", { text: JSON.stringify(auth, null, 2) }),
        x.request !== undefined ? el("h4", { text: "Request body" }) : null,
        x.request !== undefined ? el("pre", { class: "request", text: JSON.stringify(x.request, null, 2) }) : null,
        el("h4", { text: "Response body" }),
        el("pre", { class: "response", text: JSON.stringify(x.response, null, 2) })));
    }
  }

  // --- FHIR reads (through the page's own server: /demo/fhir) -------------------------------------

  async function fhir(query) {
    return getJson(`${state.config.fhirProxy}/${query}`, { headers: { Accept: "application/fhir+json" } });
  }

  function fill(template, context) {
    return template
      .replace(/\{\{\s*context\.patientId\s*\}\}/g, encodeURIComponent(context.patientId))
      .replace(/\{\{\s*context\.userId\s*\}\}/g, encodeURIComponent(context.userId))
      .replace(/\{\{\s*userPractitionerId\s*\}\}/g, encodeURIComponent(context.userId.split("/").pop()));
  }

  // Fetch every prefetch template of the service; a key that cannot be read is left out (as the sandbox does).
  async function readPrefetch(context) {
    const templates = state.service.prefetch || {};
    const keys = Object.keys(templates);
    const answers = await Promise.all(keys.map((key) => fhir(fill(templates[key], context))));
    const prefetch = {};
    keys.forEach((key, i) => { if (answers[i].ok && answers[i].body) prefetch[key] = answers[i].body; });
    return prefetch;
  }

  function resourcesOf(prefetch) {
    const resources = [];
    for (const value of Object.values(prefetch)) {
      if (!value) continue;
      if (value.resourceType === "Bundle") {
        for (const entry of value.entry || []) if (entry.resource) resources.push(entry.resource);
      } else if (value.resourceType !== "OperationOutcome") resources.push(value);
    }
    return resources;
  }

  // --- patients -----------------------------------------------------------------------------------

  function nameOf(patient) {
    const name = (patient.name || [])[0] || {};
    return [...(name.given || []), name.family].filter(Boolean).join(" ") || patient.id;
  }

  function labelOf(patient) {
    const div = patient.text && patient.text.div;
    if (!div) return "";
    // An inert document: nothing in it runs or loads; only its text is used.
    return new DOMParser().parseFromString(div, "text/html").body.textContent.trim();
  }

  function ageOf(birthDate, now) {
    if (!birthDate) return "";
    const born = new Date(`${birthDate.slice(0, 10)}T00:00:00Z`);
    let months = (now.getUTCFullYear() - born.getUTCFullYear()) * 12 + (now.getUTCMonth() - born.getUTCMonth());
    if (now.getUTCDate() < born.getUTCDate()) months -= 1;
    return months < 24 ? `${months} mo` : `${Math.floor(months / 12)} y`;
  }

  async function loadPatients() {
    if (!state.config.fhirServer) {
      notice("No demo FHIR server is configured (CDS_DEMO_FHIR_URL), so there are no patients. "
        + "`make run` starts one; its console says why it did not.");
      return;
    }
    const answer = await fhir("Patient?_count=500");
    if (!answer.ok) { notice(`The demo FHIR server did not list patients: ${outcomeText(answer.body)}`); return; }
    const now = new Date();
    state.patients = (answer.body.entry || []).map((e) => e.resource)
      .sort((a, b) => a.id.localeCompare(b.id));
    const rows = $("patient-rows");
    rows.textContent = "";
    for (const p of state.patients) {
      const sex = p.gender ? p.gender[0].toUpperCase() : "";
      const link = el("a", { href: `#patient=${encodeURIComponent(p.id)}`, text: nameOf(p) });
      const row = el("tr", { "data-patient-id": p.id },
        el("td", {}, link), el("td", { text: ageOf(p.birthDate, now) }), el("td", { text: sex, title: p.gender }),
        el("td", { class: "label", text: labelOf(p) || p.id }));
      row.addEventListener("click", (event) => {
        if (event.target.tagName === "A") return; // the link sets the hash itself
        location.hash = `patient=${encodeURIComponent(p.id)}`;
      });
      rows.appendChild(row);
    }
    $("patient-count").textContent = `${state.patients.length} patients`;
  }

  function filterPatients() {
    const words = $("patient-filter").value.toLowerCase().split(/\s+/).filter(Boolean);
    for (const row of $("patient-rows").rows) {
      const text = row.textContent.toLowerCase();
      row.hidden = !words.every((w) => text.includes(w));
    }
  }

  // --- the chart ----------------------------------------------------------------------------------

  function day(iso) { return iso ? iso.slice(0, 10) : "date unknown"; }

  function fmt(value) {
    if (value === null || value === undefined) return "";
    return Number.isInteger(value) ? String(value) : String(Math.round(value * 100) / 100);
  }

  function chartHeader(patient) {
    const header = $("chart-header");
    header.textContent = "";
    const sex = patient.gender || "sex unknown";
    header.appendChild(el("h2", { text: nameOf(patient) }));
    header.appendChild(el("p", { class: "demographics",
      text: `${sex} \u00b7 ${ageOf(patient.birthDate, new Date())} \u00b7 born ${patient.birthDate || "unknown"} \u00b7 id ${patient.id}` }));
    const label = labelOf(patient);
    if (label) header.appendChild(el("p", { class: "clinical-label", text: label }));
  }

  function summaryRow(name, value) {
    return el("div", { class: "row" }, el("dt", { text: name }), el("dd", {}, value));
  }

  function labText(lab) {
    if (!lab || !lab.latest) return "not on record";
    const l = lab.latest;
    const value = l.value !== null ? `${fmt(l.value)} ${l.unit}` : l.display || "unreadable";
    return `${value} (${day(l.date)})${l.usable ? "" : " \u2013 not usable: " + (l.problem || "")}`;
  }

  function renderSummary(summary) {
    const box = $("summary");
    box.textContent = "";
    box.appendChild(el("h3", { text: "Chart summary" }));
    const dl = el("dl");
    const ab = summary.antibody || {};
    const newest = (ab.results || []).slice(-1)[0];
    let abText = "not on record";
    if (ab.status) {
      const first = ab.firstPositive;
      abText = `${ab.status}` + (first ? ` (first positive ${day(first.date)}${first.method ? ", " + first.method : ""})` : "")
        + (newest && (!first || newest.ref !== first.ref) ? `; latest ${newest.positivity} ${day(newest.date)}` : "");
    }
    dl.appendChild(summaryRow("Anti-NXP2", el("span", { class: `antibody antibody--${ab.status || "none"}`, text: abText })));
    if (summary.onset) {
      dl.appendChild(summaryRow("Myositis onset",
        `${day(summary.onset.date)}${summary.onset.approximate ? " (approximate)" : ""}`));
    }
    const problems = el("ul", { class: "problems" });
    for (const p of summary.problems || []) {
      const status = p.current ? p.clinicalStatus || "current" : `${p.clinicalStatus || "not current"}`;
      problems.appendChild(el("li", { class: p.current ? "" : "inactive",
        text: `${p.display} \u2013 onset ${day(p.onset || p.recorded)} (${status})` }));
    }
    dl.appendChild(summaryRow("Diagnoses", (summary.problems || []).length ? problems : "none on record"));
    dl.appendChild(summaryRow("Latest CK", labText(summary.labs && summary.labs.ck)));
    dl.appendChild(summaryRow("Latest ferritin", labText(summary.labs && summary.labs.ferritin)));
    const g = summary.growth;
    let growth = "not on record";
    if (g) {
      growth = `BMI ${fmt(g.bmi)} kg/m\u00b2 (${day(g.date)})`;
      if (g.z !== null && g.z !== undefined) growth += `; BMI-for-age z ${fmt(g.z)}${g.reference ? " (" + g.reference + ")" : ""}`;
    }
    dl.appendChild(summaryRow("BMI", growth));
    box.appendChild(dl);
  }

  // A small trend plot per analyte: inline SVG built with DOM calls (no charting library).
  function plot(title, lab) {
    const NS = "http://www.w3.org/2000/svg";
    const W = 300, H = 120, L = 44, R = 10, T = 10, B = 24;
    const svgEl = (tag, attrs, text) => {
      const node = document.createElementNS(NS, tag);
      for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
      if (text !== undefined) node.textContent = text;
      return node;
    };
    const figure = el("figure", { class: "plot", "data-analyte": title });
    figure.appendChild(el("figcaption", { text: `${title}${lab && lab.unit ? " (" + lab.unit + ")" : ""}` }));
    const points = ((lab && lab.series) || []).map((p) => ({ t: Date.parse(p.date), v: p.value, date: p.date }));
    if (!points.length) { figure.appendChild(el("p", { class: "muted", text: "no results" })); return figure; }
    const svg = svgEl("svg", { viewBox: `0 0 ${W} ${H}`, width: W, height: H, role: "img",
      "aria-label": `${title} over time` });
    const t0 = Math.min(...points.map((p) => p.t)), t1 = Math.max(...points.map((p) => p.t));
    const vmax = Math.max(...points.map((p) => p.v)) * 1.1 || 1;
    const x = (t) => (t1 === t0 ? (L + W - R) / 2 : L + ((t - t0) / (t1 - t0)) * (W - L - R));
    const y = (v) => T + (1 - v / vmax) * (H - T - B);
    svg.appendChild(svgEl("line", { x1: L, y1: H - B, x2: W - R, y2: H - B, class: "axis" }));
    svg.appendChild(svgEl("line", { x1: L, y1: T, x2: L, y2: H - B, class: "axis" }));
    svg.appendChild(svgEl("text", { x: L - 4, y: T + 8, "text-anchor": "end", class: "tick" }, fmt(Math.round(vmax))));
    svg.appendChild(svgEl("text", { x: L - 4, y: H - B, "text-anchor": "end", class: "tick" }, "0"));
    svg.appendChild(svgEl("text", { x: L, y: H - 6, class: "tick" }, day(points[0].date)));
    if (points.length > 1) {
      svg.appendChild(svgEl("text", { x: W - R, y: H - 6, "text-anchor": "end", class: "tick" }, day(points[points.length - 1].date)));
      svg.appendChild(svgEl("polyline", { class: "trend", points: points.map((p) => `${x(p.t)},${y(p.v)}`).join(" ") }));
    }
    for (const p of points) {
      const dot = svgEl("circle", { cx: x(p.t), cy: y(p.v), r: 3.5, class: "point" });
      dot.appendChild(svgEl("title", {}, `${fmt(p.v)} ${lab.unit || ""} on ${day(p.date)}`));
      svg.appendChild(dot);
    }
    figure.appendChild(svg);
    return figure;
  }

  function renderTrend(summary) {
    const box = $("trend");
    box.textContent = "";
    box.appendChild(el("h3", { text: "Trend" }));
    box.appendChild(plot("CK", summary.labs && summary.labs.ck));
    box.appendChild(plot("Ferritin", summary.labs && summary.labs.ferritin));
  }

  async function loadSummary(patient, prefetch) {
    const answer = await getJson("/demo/summary", {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ patient, resources: resourcesOf(prefetch).filter((r) => r.resourceType !== "Patient") }),
    });
    if (!answer.ok) { $("summary").textContent = `Chart summary unavailable: ${outcomeText(answer.body)}`; return; }
    renderSummary(answer.body);
    renderTrend(answer.body);
  }

  // --- cards --------------------------------------------------------------------------------------

  async function sendFeedback(card, item, statusLine) {
    const answer = await cds("POST", `/cds-services/${state.service.id}/feedback`, {
      feedback: [{ card: card.uuid, outcomeTimestamp: new Date().toISOString().replace(/\.\d+Z$/, "Z"), ...item }],
    });
    statusLine.textContent = answer.ok
      ? `${item.outcome === "accepted" ? "Accepted" : "Dismissed"}; feedback stored.`
      : `Feedback not stored (${answer.status}): ${outcomeText(answer.body)}`;
    statusLine.dataset.feedback = answer.ok ? item.outcome : "failed";
    return answer.ok;
  }

  function cardElement(card) {
    const topic = (card.source && card.source.topic) || {};
    const node = el("article", { class: `card card--${card.indicator}`, "data-card-id": topic.code || "",
      "data-indicator": card.indicator, "data-uuid": card.uuid || "" });
    node.appendChild(el("header", {},
      el("span", { class: "badge", text: INDICATOR_TEXT[card.indicator] || card.indicator }),
      el("h3", { class: "summary", text: card.summary })));
    const source = card.source || {};
    node.appendChild(el("p", { class: "source" }, "Source: ",
      source.url ? el("a", { href: source.url, target: "_blank", rel: "noopener noreferrer", text: source.label })
        : el("span", { text: source.label })));
    if (card.detail) {
      // Shown whole, as many EHRs do (no "more" fold); the "Plain text" switch shows the raw markdown
      // instead, as EHRs that do not render markdown show it.
      node.appendChild(el("div", { class: "detail" }, window.CardMarkdown.render(card.detail),
        el("pre", { class: "detail-raw", text: card.detail })));
    }
    if (card.links && card.links.length) {
      const links = el("ul", { class: "links" });
      for (const link of card.links) {
        if (!/^https?:\/\//.test(link.url)) continue;
        links.appendChild(el("li", {}, el("a", { href: link.url, target: "_blank", rel: "noopener noreferrer",
          text: link.label })));
      }
      node.appendChild(links);
    }
    const statusLine = el("p", { class: "card-status", role: "status" });
    const actions = el("div", { class: "actions" });
    for (const suggestion of card.suggestions || []) {
      const button = el("button", { type: "button", class: "suggestion", "data-suggestion-uuid": suggestion.uuid || "",
        text: suggestion.label, title: (suggestion.actions || []).map((a) => a.description).join("\n") });
      button.addEventListener("click", async () => {
        button.disabled = true;
        const ok = await sendFeedback(card, { outcome: "accepted", acceptedSuggestions: [{ id: suggestion.uuid }] }, statusLine);
        if (ok) { button.textContent = `\u2713 ${suggestion.label}`; node.classList.add("accepted"); } else button.disabled = false;
      });
      actions.appendChild(button);
    }
    if (card.uuid) { // like the sandbox: a card without a uuid cannot be dismissed (no feedback possible)
      const dismiss = el("button", { type: "button", class: "dismiss", text: "Dismiss" });
      const form = el("fieldset", { class: "override", hidden: true }, el("legend", { text: "Why dismiss this card?" }));
      const name = `reason-${card.uuid}`;
      (card.overrideReasons || []).forEach((reason, i) => {
        form.appendChild(el("label", {}, el("input", { type: "radio", name, value: String(i), checked: i === 0 ? "" : null }),
          ` ${reason.display}`));
      });
      const comment = el("input", { type: "text", class: "comment", placeholder: "Comment (optional)", maxlength: "500" });
      const confirm = el("button", { type: "button", class: "confirm-dismiss", text: "Dismiss card" });
      form.append(comment, confirm);
      dismiss.addEventListener("click", () => { form.hidden = !form.hidden; });
      confirm.addEventListener("click", async () => {
        const picked = form.querySelector("input[type=radio]:checked");
        const reason = picked ? card.overrideReasons[Number(picked.value)] : null;
        const override = {};
        if (reason) override.reason = reason;
        if (comment.value.trim()) override.userComment = comment.value.trim();
        const item = { outcome: "overridden" };
        if (Object.keys(override).length) item.overrideReason = override;
        confirm.disabled = true;
        if (await sendFeedback(card, item, statusLine)) {
          node.classList.add("dismissed");
          form.hidden = true;
          dismiss.disabled = true;
          node.querySelectorAll("button.suggestion").forEach((b) => { b.disabled = true; });
        } else confirm.disabled = false;
      });
      actions.appendChild(dismiss);
      node.append(actions, form);
    } else node.appendChild(actions);
    node.appendChild(statusLine);
    return node;
  }

  function renderCards(cards, elapsed) {
    const box = $("cards");
    box.textContent = "";
    const sorted = cards.map((c, i) => [c, i])
      .sort((a, b) => (RANK[a[0].indicator] ?? 3) - (RANK[b[0].indicator] ?? 3) || a[1] - b[1]).map((p) => p[0]);
    for (const card of sorted) box.appendChild(cardElement(card));
    if (!sorted.length) box.appendChild(el("p", { class: "no-cards", text: "No cards for this patient." }));
    box.dataset.state = "ready";
    box.dataset.elapsedMs = String(Math.round(elapsed));
    $("cards-timing").textContent = `${sorted.length} card${sorted.length === 1 ? "" : "s"}, shown ${Math.round(elapsed)} ms after opening the chart`;
  }

  // --- opening a chart ----------------------------------------------------------------------------

  async function openPatient(id) {
    const patient = state.patients.find((p) => p.id === id);
    if (!patient || !state.service) return;
    const started = performance.now();
    state.current = id;
    for (const row of $("patient-rows").rows) row.classList.toggle("selected", row.dataset.patientId === id);
    $("chart-empty").hidden = true;
    $("chart-body").hidden = false;
    chartHeader(patient);
    $("summary").textContent = "";
    $("trend").textContent = "";
    const box = $("cards");
    box.textContent = "";
    box.dataset.state = "loading";
    box.dataset.patientId = id;
    $("cards-timing").textContent = "loading\u2026";
    const sendPrefetch = $("send-prefetch").checked;
    const context = { userId: state.config.userId, patientId: id };
    const request = (prefetch) => {
      const body = { hook: state.service.hook, hookInstance: uuid(), fhirServer: state.config.fhirServer || undefined,
        context };
      if (prefetch) body.prefetch = prefetch;
      return body;
    };
    // Without prefetch the service reads the FHIR server itself, so the call need not wait for our reads.
    const early = sendPrefetch ? null : cds("POST", `/cds-services/${state.service.id}`, request(null));
    const prefetch = await readPrefetch(context);
    if (state.current !== id) return;
    const call = early || cds("POST", `/cds-services/${state.service.id}`, request(prefetch));
    const summary = loadSummary(patient, prefetch);
    const answer = await call;
    if (state.current !== id) return;
    if (answer.ok) renderCards(answer.body.cards || [], performance.now() - started);
    else {
      box.dataset.state = "error";
      box.textContent = "";
      box.appendChild(el("p", { class: "error", text: `The CDS service answered ${answer.status}: ${outcomeText(answer.body)}` }));
    }
    await summary;
  }

  function route() {
    const match = /^#patient=(.+)$/.exec(location.hash);
    if (match) openPatient(decodeURIComponent(match[1])).catch((e) => notice(String(e)));
  }

  async function boot() {
    state.config = (await getJson("/demo/config")).body;
    const discovery = await cds("GET", "/cds-services");
    if (!discovery.ok) { notice(`Discovery failed (${discovery.status}): ${outcomeText(discovery.body)}`); return; }
    state.service = (discovery.body.services || []).find((s) => s.hook === "patient-view");
    if (!state.service) { notice("The service offers no patient-view service."); return; }
    await loadPatients();
    $("patient-filter").addEventListener("input", filterPatients);
    $("plain-text").addEventListener("change", (event) => { $("cards").classList.toggle("plain-text", event.target.checked); });
    window.addEventListener("hashchange", route);
    document.body.dataset.ready = "true";
    route();
  }

  document.addEventListener("DOMContentLoaded", () => { boot().catch((e) => notice(`The demo failed to start: ${e}`)); });
})();
