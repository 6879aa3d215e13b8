// The dashboard: polls this silo's /dashboard/api once a second for the view on screen and draws it with the DOM
// (textContent only: job ids, errors and paths are data, never markup). No framework, no build step.
"use strict";

const KeyStorage = "cluster-api-key";
const RefreshMs = 1000;
const MaxCurvePoints = 2000;
const Views = ["members", "jobs", "models"];

const state = {
  key: sessionStorage.getItem(KeyStorage),
  curves: new Map(), // job id -> { points: [[step, loss]], done: bool }
  cards: new Map(),  // job id -> the card's elements, updated in place
  cancelling: null,
};

class Unauthorized extends Error {}

async function api(path, init = {}) {
  const headers = Object.assign({ Accept: "application/json" }, init.headers || {});
  if (state.key) headers.Authorization = "Bearer " + state.key;
  const response = await fetch("/dashboard/api" + path, Object.assign({}, init, { headers }));
  if (response.status === 401) throw new Unauthorized();
  let body = null;
  try { body = await response.json(); } catch { /* not JSON: the status says it */ }
  if (!response.ok) throw new Error((body && body.error) || `${response.status} ${response.statusText}`);
  return body;
}

function el(tag, attributes = {}, ...children) {
  const node = tag === "svg" || SvgTags.has(tag) ? document.createElementNS("http://www.w3.org/2000/svg", tag) : document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === null || value === undefined || value === false) continue;
    node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}
const SvgTags = new Set(["polyline", "line", "text", "g"]);

function number(value) { return typeof value === "number" ? value : Number(value); } // "NaN" arrives as a string
function fixed(value, digits) { const n = number(value); return value === null || value === undefined ? "–" : Number.isFinite(n) ? n.toFixed(digits) : String(value); }
function grouped(value) { return value === null || value === undefined ? "–" : Math.round(number(value)).toLocaleString("en-US"); }
function duration(seconds) {
  if (seconds === null || seconds === undefined) return "–";
  const s = Math.max(0, Math.round(number(seconds)));
  const pad = n => String(n).padStart(2, "0");
  return `${Math.floor(s / 3600)}:${pad(Math.floor(s / 60) % 60)}:${pad(s % 60)}`;
}
function mebibytes(bytes) { return bytes === null || bytes === undefined ? "–" : `${(bytes / 1048576).toFixed(0)} MiB`; }
function milliseconds(seconds) { return seconds === null || seconds === undefined ? "–" : `${(number(seconds) * 1000).toFixed(1)} ms`; }
function badge(text) { return el("span", { class: "state " + String(text).toLowerCase() }, String(text).toLowerCase()); }

function currentView() {
  const name = location.hash.replace("#", "");
  return Views.includes(name) ? name : "jobs";
}

function show(view) {
  for (const name of Views) document.getElementById(name).hidden = name !== view;
  for (const link of document.querySelectorAll("nav a")) link.classList.toggle("current", link.dataset.view === view);
}

function problem(message) {
  const box = document.getElementById("problem");
  box.hidden = !message;
  box.textContent = message || "";
}

// --- members -------------------------------------------------------------------------------------------------

async function renderMembers() {
  const cluster = await api("/cluster");
  document.getElementById("silo").textContent = "silo " + cluster.this_silo;
  const rows = cluster.members.map(m => el("tr", { "data-member": m.name },
    el("td", {}, m.name),
    el("td", {}, el("code", {}, m.silo)),
    el("td", {}, badge(m.status)),
    el("td", {}, m.devices.length === 0 ? el("span", { class: "muted" }, "none") :
      m.devices.map(d => el("div", { "data-device": d.device }, el("code", {}, d.device), " · ",
        d.owner ? el("span", {}, "held by ", el("code", {}, d.owner)) : el("span", { class: "muted" }, "free")))),
    el("td", { class: "number" }, mebibytes(m.working_set_bytes)),
    el("td", {}, m.started_at ? new Date(m.started_at).toLocaleString() : "–"),
    el("td", {}, m.orleans_version || "–")));
  document.getElementById("member-rows").replaceChildren(...rows);
}

// --- jobs ----------------------------------------------------------------------------------------------------

async function renderJobs() {
  const jobs = await api("/jobs");
  document.getElementById("no-jobs").hidden = jobs.length > 0;
  const list = document.getElementById("job-list");
  const cards = jobs.map(job => {
    const card = state.cards.get(job.id) || makeCard(job.id);
    state.cards.set(job.id, card);
    fillCard(card, job);
    return card.root;
  });
  list.replaceChildren(...cards);
  await Promise.all(jobs.map(job => updateCurve(job)));
}

function makeCard(id) {
  const card = {
    title: el("span", {}, id),
    badge: el("span"),
    step: el("b"), loss: el("b"), rate: el("b"), eta: el("b"),
    workers: el("div", { class: "muted" }),
    curve: el("svg", { class: "curve", viewBox: "0 0 640 180", "data-points": 0, role: "img", "aria-label": `loss curve of ${id}` }),
    error: el("div", { class: "error", hidden: true }),
    events: el("ul", { class: "events" }),
    cancel: el("button", { type: "button", class: "danger", "data-cancel": id }, "Cancel…"),
  };
  card.cancel.addEventListener("click", () => askToCancel(id));
  card.root = el("article", { class: "card", "data-job": id },
    el("h3", {}, card.title, card.badge, card.cancel),
    el("div", { class: "stats" },
      el("span", {}, "step ", card.step), el("span", {}, "loss ", card.loss),
      el("span", {}, "tokens/s ", card.rate), el("span", {}, "ETA ", card.eta)),
    card.workers, card.curve, card.error, card.events);
  return card;
}

function fillCard(card, job) {
  const fresh = badge(job.state);
  card.badge.replaceWith(fresh);
  card.badge = fresh;
  card.root.dataset.state = job.state;
  card.step.textContent = `${job.step}/${job.max_steps}`;
  card.loss.textContent = fixed(job.loss, 4);
  card.rate.textContent = grouped(job.tokens_per_second);
  card.eta.textContent = job.finished ? "–" : duration(job.eta_seconds);
  card.workers.textContent = job.workers.length ? `workers: ${job.workers.join(", ")}${job.coordinator ? ` · coordinator on ${job.coordinator}` : ""}` : "";
  card.error.hidden = !job.error;
  card.error.textContent = job.error || "";
  card.events.replaceChildren(...job.events.map(e => el("li", {}, e)));
  card.cancel.hidden = job.finished || !job.reachable;
}

async function updateCurve(job) {
  const curve = state.curves.get(job.id) || { points: [], done: false };
  state.curves.set(job.id, curve);
  if (curve.done || !job.reachable) return;
  const after = curve.points.length ? curve.points[curve.points.length - 1][0] : 0;
  const answer = await api(`/jobs/${encodeURIComponent(job.id)}/steps?after=${after}`);
  curve.points.push(...answer.steps.map(([step, loss]) => [step, number(loss)]));
  if (job.finished) curve.done = true; // the steps it asked for were recorded before it finished
  draw(state.cards.get(job.id).curve, curve.points);
}

// The x axis runs to the last step recorded, not to the job's end: a long job's first thousand steps would be a
// vertical line at the left edge otherwise (the step counter above says how far along it is).
function draw(svg, points) {
  const maxSteps = Math.max(1, points.length ? points[points.length - 1][0] : 1);
  const [left, right, top, bottom] = [48, 632, 10, 160];
  const shown = points.length > MaxCurvePoints ? points.filter((_, i) => i % Math.ceil(points.length / MaxCurvePoints) === 0) : points;
  const losses = shown.map(p => p[1]).filter(Number.isFinite);
  const [low, high] = losses.length ? [Math.min(...losses), Math.max(...losses)] : [0, 1];
  const span = high - low || 1;
  const x = step => left + (right - left) * step / maxSteps;
  const y = loss => bottom - (bottom - top) * (loss - low) / span;
  const line = shown.filter(p => Number.isFinite(p[1])).map(p => `${x(p[0]).toFixed(1)},${y(p[1]).toFixed(1)}`).join(" ");
  svg.replaceChildren(
    el("line", { x1: left, y1: bottom, x2: right, y2: bottom }),
    el("line", { x1: left, y1: top, x2: left, y2: bottom }),
    el("text", { x: 4, y: top + 8 }, high.toFixed(3)),
    el("text", { x: 4, y: bottom }, low.toFixed(3)),
    el("text", { x: left, y: 176 }, "step 0"),
    el("text", { x: right, y: 176, "text-anchor": "end" }, `step ${maxSteps}`),
    el("polyline", { points: line }));
  svg.dataset.points = String(points.length);
}

function askToCancel(id) {
  state.cancelling = id;
  document.getElementById("cancel-job").textContent = id;
  document.getElementById("confirm-cancel").showModal();
}

async function confirmCancel() {
  const id = state.cancelling;
  document.getElementById("confirm-cancel").close();
  state.cancelling = null;
  try {
    await api(`/jobs/${encodeURIComponent(id)}/cancel`, { method: "POST", headers: { "X-Cluster-Dashboard": "cancel" } });
    await refreshNow();
  } catch (e) { problem(`could not cancel ${id}: ${e.message}`); }
}

// --- models --------------------------------------------------------------------------------------------------

async function renderModels() {
  const answer = await api("/models");
  document.getElementById("no-models").hidden = answer.models.length > 0;
  const cards = answer.models.map(model => {
    const ready = model.replicas.filter(r => r.ready).length;
    return el("article", { class: "card", "data-model": model.name },
      el("h3", {}, model.name, model.name === answer.default ? el("span", { class: "state" }, "default") : null),
      el("div", { class: "muted" }, `${ready} of ${model.wanted_replicas} replica(s) ready · `, el("code", {}, model.directory)),
      el("div", { class: "muted" }, "heads: ", model.heads.length ? model.heads.map(h => `${h.name} (${h.task})`).join(", ") : "–"),
      el("table", {},
        el("thead", {}, el("tr", {}, ["replica", "silo", "device", "state", "queue", "p50", "p99", "requests", ""].map((h, i) =>
          el("th", { class: i >= 4 && i <= 7 ? "number" : null }, h)))),
        el("tbody", {}, model.replicas.map(r => el("tr", { "data-replica": r.key },
          el("td", {}, el("code", {}, r.key)),
          el("td", {}, r.silo_name),
          el("td", {}, el("code", {}, r.device)),
          el("td", {}, badge(r.ready ? "ready" : "down")),
          el("td", { class: "number", "data-queue": r.queue_depth }, r.queue_depth),
          el("td", { class: "number" }, milliseconds(r.latency && r.latency.p50_seconds)),
          el("td", { class: "number" }, milliseconds(r.latency && r.latency.p99_seconds)),
          el("td", { class: "number" }, r.latency ? grouped(r.latency.requests) : "0"),
          el("td", { class: "error" }, r.error || ""))))));
  });
  document.getElementById("model-list").replaceChildren(...cards);
}

// --- the loop ------------------------------------------------------------------------------------------------

const Renderers = { members: renderMembers, jobs: renderJobs, models: renderModels };
let timer = null;
let running = Promise.resolve();

async function refresh() {
  const view = currentView();
  show(view);
  try {
    await Renderers[view]();
    document.getElementById("key-form").hidden = true;
    document.querySelector("main").hidden = false;
    problem(null);
    document.getElementById("updated").textContent = "updated " + new Date().toLocaleTimeString();
  } catch (e) {
    if (e instanceof Unauthorized) {
      document.getElementById("key-form").hidden = false;
      document.querySelector("main").hidden = true;
      problem(state.key ? "that API key was refused" : null);
    } else problem(`this silo could not answer: ${e.message}`);
  }
}

function refreshNow() {
  clearTimeout(timer);
  running = running.then(refresh).finally(() => {
    clearTimeout(timer); // one pending refresh, however many were asked for meanwhile
    timer = setTimeout(refreshNow, RefreshMs);
  });
  return running;
}

document.getElementById("key-form").addEventListener("submit", event => {
  event.preventDefault();
  state.key = document.getElementById("key").value.trim();
  sessionStorage.setItem(KeyStorage, state.key);
  refreshNow();
});
document.getElementById("keep-running").addEventListener("click", () => document.getElementById("confirm-cancel").close());
document.getElementById("confirm-cancel-button").addEventListener("click", confirmCancel);
window.addEventListener("hashchange", refreshNow);
refreshNow();
