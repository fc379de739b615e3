"use strict";
// The ops token comes in the address's fragment (never sent to a server); it is taken
// out of the address bar at once, and kept for this tab only.
const token = (() => {
  const given = new URLSearchParams(location.hash.slice(1)).get("token");
  if (given) {
    sessionStorage.setItem("customs-stream-token", given);
    history.replaceState(null, "", location.pathname + location.search);
  }
  return given || sessionStorage.getItem("customs-stream-token");
})();
const $ = (id) => document.getElementById(id);
const cell = (text, cls) => {
  const td = document.createElement("td");
  td.textContent = text === null || text === undefined ? "–" : String(text);
  if (cls) td.className = cls;
  return td;
};
function bars(target, entries, colour) {
  const max = Math.max(1, ...entries.map(([, v]) => v));
  target.replaceChildren(...entries.map(([label, value]) => {
    const row = document.createElement("div");
    row.className = "bar";
    const name = document.createElement("span");
    name.textContent = label;
    const fill = document.createElement("div");
    fill.className = "fill";
    fill.style.width = (100 * value / max) + "%";
    if (colour) fill.style.background = colour(label);
    const num = document.createElement("span");
    num.className = "num";
    num.textContent = typeof value === "number" && value < 1 && value > 0
      ? (100 * value).toFixed(1) + "%" : String(value);
    row.append(name, fill, num);
    return row;
  }));
}
let chart = null;
function drawChart(kpis) {
  // Mean and p95 hours, filing to release, per port: green and standard side by side.
  const ports = [...new Set(kpis.map((k) => k.port))];
  const figure = (channel, field) => ports.map((port) => {
    const k = kpis.find((x) => x.port === port && x.channel === channel);
    return k ? k[field] : null;
  });
  const datasets = [
    {label: "green · mean h", data: figure("GREEN", "mean_clearance_hours"), backgroundColor: "#1b8a4b"},
    {label: "standard · mean h", data: figure("STANDARD", "mean_clearance_hours"), backgroundColor: "#36597a"},
    {label: "green · p95 h", data: figure("GREEN", "p95_clearance_hours"), backgroundColor: "#8fd1ab"},
    {label: "standard · p95 h", data: figure("STANDARD", "p95_clearance_hours"), backgroundColor: "#a3bcd6"},
  ];
  if (chart === null) {
    chart = new Chart($("chart"), {
      type: "bar", data: {labels: ports, datasets},
      options: {animation: false, maintainAspectRatio: false,
                scales: {y: {title: {display: true, text: "hours, filing to release"}}}},
    });
  } else {
    chart.data.labels = ports;
    chart.data.datasets.forEach((set, i) => { set.data = datasets[i].data; });
    chart.update("none");
  }
}
function band(b) {
  // The p10-p90 hours a declaration filed now is expected in ("–": too little history).
  return b ? b.p10_hours + "–" + b.p90_hours : "–";
}
function render(data) {
  bars($("statuses"), Object.entries(data.statuses));
  $("total").textContent = data.total;
  $("open").textContent = data.open;
  $("kpis").replaceChildren(...data.kpis.map((k) => {
    const tr = document.createElement("tr");
    tr.append(cell(k.port), cell(k.channel, k.channel), cell(k.released, "num"),
      cell(k.mean_clearance_hours, "num"), cell(k.p50_clearance_hours, "num"),
      cell(k.p95_clearance_hours, "num"),
      cell((100 * k.within_24h_share).toFixed(1) + "%", "num"),
      cell(band(k.expected_band), "num"));
    return tr;
  }));
  bars($("share"), data.kpis.map((k) => [k.port + " " + k.channel, k.within_24h_share]),
    (label) => label.endsWith("GREEN") ? "var(--green)" : "var(--std)");
  const dead = Object.entries(data.dead_letters);
  if (dead.length) bars($("dead"), dead, () => "var(--bad)");
  else $("dead").textContent = "none";
  const hooks = Object.entries(data.webhooks || {});
  if (hooks.some(([, n]) => n > 0)) {
    bars($("webhooks"), hooks, (label) => label === "delivered" ? "var(--green)" : "var(--bad)");
  } else $("webhooks").textContent = "no deliveries yet";
  $("recent").replaceChildren(...data.recent.map((s) => {
    const tr = document.createElement("tr");
    tr.append(cell(s.declaration_id), cell(s.buyer_id), cell(s.port), cell(s.status),
      cell(s.channel, s.channel), cell(s.decision), cell(s.clearance_hours, "num"),
      cell(s.updated_at ? s.updated_at.slice(11, 19) : null));
    return tr;
  }));
  if (typeof Chart !== "undefined") drawChart(data.kpis);  // the tables show without it
}
async function refresh() {
  try {
    const response = await fetch("/board/data", {
      headers: token ? {"Authorization": "Bearer " + token} : {},
    });
    const body = await response.json();
    if (!response.ok) throw new Error(body.error || response.statusText);
    render(body);
    $("error").textContent = "";
    $("state").textContent = "live · updated " + new Date().toLocaleTimeString();
  } catch (error) {
    $("error").textContent = "Cannot load the board: " + error.message +
      (token ? "" : " (open the address with #token=<ops token>)");
  }
}
refresh();
setInterval(refresh, 2000);
