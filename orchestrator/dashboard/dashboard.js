// SPDX-License-Identifier: Apache-2.0
// Polls /api/v1 and fills the dashboard; read-only, so a viewer sees all of it.
"use strict";

const POLL_MS = 2000;
const STUCK_S = 10 * 60;

function cell(row, text) {
  const td = document.createElement("td");
  td.textContent = String(text);
  row.appendChild(td);
  return td;
}

function bar(confirmed, failed, admitted) {
  const b = document.createElement("div");
  b.className = "bar";
  for (const [cls, n] of [["ok", confirmed], ["bad", failed]]) {
    const part = document.createElement("div");
    part.className = cls;
    part.style.width = admitted ? (100 * n / admitted) + "%" : "0";
    b.appendChild(part);
  }
  return b;
}

async function json(path) {
  const r = await fetch("/api/v1/" + path, {cache: "no-store"});
  if (!r.ok) throw new Error(path + ": " + r.status);
  return r.json();
}

async function campaigns() {
  const list = await json("campaigns");
  const body = document.querySelector("#campaigns tbody");
  const rows = [];
  let newest = null;
  for (const c of list) {
    const s = await json("campaigns/" + encodeURIComponent(c.campaign));
    const tr = document.createElement("tr");
    tr.dataset.campaign = s.campaign;
    cell(tr, s.campaign);
    cell(tr, s.state).className = "state";
    cell(tr, s.stage + "/" + s.stages_total);
    cell(tr, s.counts.admitted).className = "admitted";
    cell(tr, s.counts.confirmed).className = "confirmed";
    cell(tr, s.counts.failed).className = "failed";
    cell(tr, "").appendChild(bar(s.counts.confirmed, s.counts.failed, s.counts.admitted));
    rows.push(tr);
    newest = s.campaign;
  }
  body.replaceChildren(...rows);
  return newest;
}

async function devices() {
  const list = await json("devices");
  const by = new Map();
  const now = Date.now() / 1000;
  const stuck = [];
  for (const d of list) {
    const v = d.version || "unknown";
    by.set(v, (by.get(v) || 0) + 1);
    if (d.last_seen && now - d.last_seen > STUCK_S) stuck.push(d.device);
  }
  const body = document.querySelector("#versions tbody");
  body.replaceChildren(...[...by.entries()].sort().map(([v, n]) => {
    const tr = document.createElement("tr");
    tr.dataset.version = v;
    cell(tr, v);
    cell(tr, n).className = "count";
    return tr;
  }));
  document.getElementById("stuck").replaceChildren(...stuck.map((id) => {
    const li = document.createElement("li");
    li.textContent = id;
    return li;
  }));
}

async function events(campaign) {
  const list = campaign ? await json("campaigns/" + encodeURIComponent(campaign) + "/events") : [];
  document.getElementById("events").replaceChildren(...list.slice(-20).reverse().map((e) => {
    const li = document.createElement("li");
    li.textContent = e.ts + " " + (e.device || "-") + " " + e.kind + " " + e.detail;
    return li;
  }));
}

async function refresh() {
  const updated = document.getElementById("updated");
  try {
    const newest = await campaigns();
    await devices();
    await events(newest);
    updated.textContent = "updated " + new Date().toISOString();
  } catch (e) {
    updated.textContent = "error: " + e.message;
  }
  setTimeout(refresh, POLL_MS);
}

document.getElementById("stuck-minutes").textContent = String(STUCK_S / 60);
refresh();
