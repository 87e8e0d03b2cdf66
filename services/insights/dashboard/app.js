// Switchboard insights dashboard: polls the insights API with the session cookie and redraws in place.
//
// Every number sits in an element with a stable `data-kpi="..."` name and its raw value, as JSON, in
// `data-value` (`null` shows as "–"), so a test or a person can read what the API said. `<body
// data-updates>` counts finished refreshes. `?refresh=<seconds>` on the page's URL sets the interval.
// Only textContent is ever written: values from the API never become markup.
"use strict";

(() => {
  const DASH = "–";
  const params = new URLSearchParams(window.location.search);
  const REFRESH_MS = Math.max(1, Number(params.get("refresh")) || 5) * 1000;
  const DAY_MS = 86_400_000;
  const HOUR_MS = 3_600_000;
  const SLA_GROUPS = ["priority", "channel", "tier", "queue"];
  // KPI rows of the summary table: [path in the summary, label, format]
  const SUMMARY_ROWS = [
    ["created", "Created", "count"],
    ["solved", "Solved", "count"],
    ["reopened", "Reopened", "count"],
    ["backlog", "Backlog (open at the end)", "count"],
    ["first_reply.median_business_s", "First reply, median", "duration"],
    ["first_reply.p90_business_s", "First reply, p90", "duration"],
    ["first_reply.median_calendar_s", "First reply, median (calendar)", "duration"],
    ["first_reply.p90_calendar_s", "First reply, p90 (calendar)", "duration"],
    ["resolution.median_business_s", "Resolution, median", "duration"],
    ["resolution.p90_business_s", "Resolution, p90", "duration"],
    ["resolution.median_calendar_s", "Resolution, median (calendar)", "duration"],
    ["resolution.p90_calendar_s", "Resolution, p90 (calendar)", "duration"],
    ["sla_adherence_percent", "SLA adherence", "percent"],
    ["escalation_rate_percent", "Escalation rate", "percent"],
    ["fcr_percent", "FCR", "percent"],
    ["csat_percent", "CSAT", "percent"],
    ["csat_response_rate_percent", "CSAT response rate", "percent"],
    ["reopen_rate_percent", "Reopen rate", "percent"],
  ];
  const MEDIANS = [
    ["first-reply", "First reply (median, h)"],
    ["resolution", "Resolution (median, h)"],
  ];
  const VOLUME_FIELDS = ["created", "solved", "reopened"];
  const charts = {};

  // -- formatting --------------------------------------------------------------------------------

  const FORMATS = {
    count: (v) => Number(v).toLocaleString("en-US"),
    percent: (v) => `${Number(v).toFixed(1)} %`,
    duration: (v) => duration(Number(v)),
    text: (v) => String(v),
  };

  function duration(seconds) {
    if (seconds < 0) return `${duration(-seconds)} overdue`;
    const s = Math.round(seconds);
    if (s < 60) return `${s} s`;
    if (s < 600) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, "0")} s`;
    if (s < 3600) return `${Math.floor(s / 60)} min`;
    if (s < 86400) return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, "0")} min`;
    return `${Math.floor(s / 86400)} d ${Math.floor((s % 86400) / 3600)} h`;
  }

  function formatFor(key) {
    if (key.endsWith("_percent")) return "percent";
    if (key.endsWith("_s")) return "duration";
    return "count";
  }

  function get(object, path) {
    return path.split(".").reduce((o, k) => (o == null ? undefined : o[k]), object);
  }

  function setValue(el, value, format) {
    const v = value === undefined ? null : value;
    el.dataset.value = JSON.stringify(v);
    el.textContent = v === null ? DASH : FORMATS[format](v);
    el.classList.toggle("null", v === null);
  }

  function kpi(name, value, format = "count") {
    const el = document.createElement("span");
    el.dataset.kpi = name;
    setValue(el, value, format);
    return el;
  }

  function cell(content) {
    const td = document.createElement("td");
    if (content instanceof Node) td.append(content);
    else td.textContent = content === null || content === undefined || content === "" ? DASH : String(content);
    return td;
  }

  function row(...contents) {
    const tr = document.createElement("tr");
    tr.append(...contents.map(cell));
    return tr;
  }

  function emptyRow(columns, text) {
    const tr = document.createElement("tr");
    const td = document.createElement("td");
    td.colSpan = columns;
    td.className = "empty";
    td.textContent = text;
    tr.append(td);
    return tr;
  }

  function fill(tbody, rows, columns, emptyText) {
    tbody.replaceChildren(...(rows.length ? rows : [emptyRow(columns, emptyText)]));
  }

  function setCount(name, value) {
    for (const el of document.querySelectorAll(`[data-kpi="${name}"]`)) setValue(el, value, "count");
  }

  function slug(value) {
    return value === null || value === undefined || value === "" ? "none" : String(value);
  }

  // -- the API -----------------------------------------------------------------------------------

  async function api(path, query = {}) {
    const url = new URL(`v1/${path}`, document.baseURI);
    for (const [k, v] of Object.entries(query)) url.searchParams.set(k, v);
    const response = await fetch(url, { headers: { Accept: "application/json" }, cache: "no-store" });
    if (response.status === 401) {
      window.location.assign("dashboard/login");
      throw new Error("the session has ended");
    }
    if (!response.ok) {
      let detail = response.statusText;
      try {
        detail = (await response.json()).detail || detail;
      } catch {
        // not a problem document: the status text will do
      }
      throw new Error(`${url.pathname}: ${response.status} ${detail}`);
    }
    return response.json();
  }

  function iso(date) {
    return date.toISOString().replace(/\.\d{3}Z$/, "Z");
  }

  function ranges(now) {
    const today = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()));
    const week = new Date(today.getTime() - ((today.getUTCDay() + 6) % 7) * DAY_MS);
    const to = iso(now);
    return { today: { from: iso(today), to }, week: { from: iso(week), to } };
  }

  function listOf(answer) {
    if (Array.isArray(answer)) return answer;
    return (answer && (answer.items || answer.rows || answer.tickets)) || [];
  }

  // -- sections ----------------------------------------------------------------------------------

  async function loadKpis(r) {
    const section = document.getElementById("kpis");
    for (const [period, range] of Object.entries(r)) {
      section.dataset[`${period}From`] = range.from;
      section.dataset[`${period}To`] = range.to;
    }
    const [today, week] = await Promise.all([api("kpis/summary", r.today), api("kpis/summary", r.week)]);
    renderSummary({ today, week });
    await drawCharts(r);
  }

  function renderSummary(summaries) {
    const tbody = document.getElementById("kpi-rows");
    const levels = new Set();
    for (const s of Object.values(summaries)) Object.keys(s.open_escalations_by_level || {}).forEach((l) => levels.add(l));
    const rows = [
      ...SUMMARY_ROWS,
      ...[...levels].sort((a, b) => Number(a) - Number(b)).map((l) => [`open_escalations_by_level.${l}`, `Open escalations, level ${l}`, "count"]),
    ];
    fill(
      tbody,
      rows.map(([path, label, format]) => {
        const name = path === "fcr_percent" ? labelWithDefinition(label) : label;
        const cells = Object.entries(summaries).map(([period, s]) => kpi(`${period}.${path}`, get(s, path), format));
        return row(name, ...cells);
      }),
      3,
      "no KPIs",
    );
  }

  function labelWithDefinition(label) {
    const a = document.createElement("a");
    a.href = "#fcr-definition";
    a.textContent = label;
    a.title = "solved after exactly one public agent reply and not reopened within 7 days";
    return a;
  }

  async function drawCharts(r) {
    const [hourly, daily, ...medians] = await Promise.all([
      api("kpis/volume", { ...r.today, interval: "hour" }),
      api("kpis/volume", { ...r.week, interval: "day" }),
      ...MEDIANS.map(([name]) => api(`kpis/${name}`, { ...r.week, interval: "day" })),
    ]);
    const now = new Date(r.today.to);
    const hours = buckets(new Date(r.today.from), now, HOUR_MS);
    const days = buckets(new Date(r.week.from), now, DAY_MS);
    const hourLabel = (t) => `${String(new Date(t).getUTCHours()).padStart(2, "0")}:00`;
    const dayLabel = (t) => new Date(t).toLocaleDateString("en-GB", { weekday: "short", day: "numeric", timeZone: "UTC" });
    draw("chart-volume-today", "bar", hours.map(hourLabel), countSeries(hourly.rows || [], hours), "tickets");
    draw("chart-volume-week", "bar", days.map(dayLabel), countSeries(daily.rows || [], days), "tickets");
    const medianSeries = MEDIANS.map(([, label], i) => ({
      label,
      data: series(medians[i].rows || [], days, (row) => (row.median_business_s == null ? null : row.median_business_s / 3600)),
      spanGaps: true,
    }));
    draw("chart-medians", "line", days.map(dayLabel), medianSeries, "hours");
  }

  function buckets(from, to, step) {
    const out = [];
    for (let t = from.getTime(); t <= to.getTime(); t += step) out.push(t);
    return out;
  }

  function byBucket(rows) {
    const map = new Map();
    for (const row of rows) if (row.bucket) map.set(new Date(row.bucket).getTime(), row);
    return map;
  }

  function series(rows, times, pick) {
    const map = byBucket(rows);
    return times.map((t) => (map.has(t) ? pick(map.get(t)) : null));
  }

  function countSeries(rows, times) {
    // a series per volume field the rows have (backlog is a level, not a flow: left out); missing buckets count 0
    const fields = VOLUME_FIELDS.filter((f) => rows.some((row) => typeof row[f] === "number"));
    const map = byBucket(rows);
    return fields.map((field) => ({
      label: field.replaceAll("_", " "),
      data: times.map((t) => (map.has(t) ? map.get(t)[field] ?? 0 : 0)),
    }));
  }

  function draw(id, type, labels, datasets, yTitle) {
    if (typeof window.Chart === "undefined") return;
    const existing = charts[id];
    if (existing) {
      existing.data.labels = labels;
      datasets.forEach((d, i) => {
        if (existing.data.datasets[i]) Object.assign(existing.data.datasets[i], d);
        else existing.data.datasets.push(d);
      });
      existing.data.datasets.length = datasets.length;
      existing.update("none");
      return;
    }
    charts[id] = new window.Chart(document.getElementById(id), {
      type,
      data: { labels, datasets },
      options: {
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        scales: { y: { beginAtZero: true, title: { display: true, text: yTitle } } },
        plugins: { legend: { position: "bottom" } },
      },
    });
  }

  async function loadLive() {
    const [queues, agents] = await Promise.all([api("live/queues"), api("live/agents")]);
    fill(
      document.getElementById("queues"),
      listOf(queues).map((q) =>
        row(
          q.queue,
          kpi(`queue.${slug(q.queue)}.waiting`, q.waiting),
          kpi(`queue.${slug(q.queue)}.oldest_wait_s`, q.oldest_wait_s, "duration"),
          kpi(`queue.${slug(q.queue)}.assigned`, q.assigned),
        ),
      ),
      4,
      "no queues",
    );
    fill(
      document.getElementById("agents"),
      listOf(agents).map((a) => {
        const load = document.createElement("span");
        load.append(kpi(`agent.${a.agent_id}.load`, a.load), " / ", kpi(`agent.${a.agent_id}.capacity`, a.capacity));
        if (a.capacity) load.append(meter(a.load, a.capacity));
        const status = kpi(`agent.${a.agent_id}.status`, a.status, "text");
        status.className = `badge ${String(a.status)}`;
        return row(a.name || a.agent_id, status, load, byChannel(a.load_by_channel, a.capacity_by_channel));
      }),
      4,
      "no agents",
    );
  }

  function meter(value, max) {
    const m = document.createElement("meter");
    m.min = 0;
    m.max = max;
    m.value = value || 0;
    m.high = max * 0.8;
    return m;
  }

  function byChannel(load, capacity) {
    const channels = [...new Set([...Object.keys(load || {}), ...Object.keys(capacity || {})])].sort();
    return channels.map((c) => `${c} ${(load || {})[c] ?? 0}/${(capacity || {})[c] ?? DASH}`).join(" · ");
  }

  async function loadSla(r) {
    const [atRisk, breached, ...adherence] = await Promise.all([
      api("live/sla-at-risk"),
      api("live/sla-breached-today"),
      ...SLA_GROUPS.map((g) => api("kpis/sla", { ...r.week, group_by: g })),
    ]);
    const risky = [...listOf(atRisk)].sort((a, b) => a.seconds_to_breach - b.seconds_to_breach);
    setCount("sla_at_risk.count", risky.length);
    fill(
      document.getElementById("at-risk"),
      risky.map((t) =>
        row(
          t.reference || t.ticket_id,
          t.metric,
          kpi(`sla_at_risk.${t.ticket_id}.${t.metric}${t.cycle ? `.${t.cycle}` : ""}.seconds_to_breach`, t.seconds_to_breach, "duration"),
          t.priority,
          t.queue,
        ),
      ),
      5,
      "nothing at risk",
    );
    const late = listOf(breached);
    setCount("sla_breached_today.count", Array.isArray(breached) ? late.length : breached.count ?? late.length);
    fill(
      document.getElementById("breached"),
      late.map((t) => row(t.reference || t.ticket_id, t.metric, time(t.breached_at || t.due_at), t.priority, t.queue)),
      5,
      "no breaches today",
    );
    renderAdherence(adherence);
  }

  function time(value) {
    if (!value) return DASH;
    const d = new Date(value);
    return Number.isNaN(d.getTime()) ? String(value) : d.toLocaleTimeString("en-GB", { timeZone: "UTC" }) + " UTC";
  }

  function renderAdherence(answers) {
    const tables = answers.map((answer, i) => {
      const groupBy = SLA_GROUPS[i];
      const rows = answer.rows || [];
      const keys = [];
      for (const r of rows) for (const k of Object.keys(r)) if (!["group", "bucket"].includes(k) && !keys.includes(k)) keys.push(k);
      const table = document.createElement("table");
      table.dataset.groupBy = groupBy;
      const caption = document.createElement("caption");
      caption.textContent = `By ${groupBy}`;
      const head = document.createElement("thead");
      const headRow = document.createElement("tr");
      for (const name of [groupBy, ...keys]) {
        const th = document.createElement("th");
        th.scope = "col";
        th.textContent = name.replace(/_percent$/, " %").replace(/_s$/, "").replaceAll("_", " ");
        headRow.append(th);
      }
      head.append(headRow);
      const body = document.createElement("tbody");
      fill(
        body,
        rows.map((r) => row(slug(r.group), ...keys.map((k) => kpi(`sla.${groupBy}.${slug(r.group)}.${k}`, r[k], formatFor(k))))),
        keys.length + 1,
        "no tickets",
      );
      table.append(caption, head, body);
      return table;
    });
    document.getElementById("adherence").replaceChildren(...tables);
  }

  async function loadEscalations() {
    const open = [...listOf(await api("live/escalations"))].sort((a, b) => b.level - a.level || b.age_s - a.age_s);
    const state = (e) => e.state || (e.acknowledged ? "acknowledged" : "open");
    setCount("escalations.count", open.length);
    fill(
      document.getElementById("escalation-rows"),
      open.map((e) =>
        row(
          e.reference || e.ticket_id,
          e.policy_id || e.trigger,
          kpi(`escalation.${e.escalation_id}.level`, e.level),
          kpi(`escalation.${e.escalation_id}.age_s`, e.age_s, "duration"),
          state(e),
        ),
      ),
      5,
      "no open escalations",
    );
  }

  // -- the loop ----------------------------------------------------------------------------------

  async function refresh() {
    const r = ranges(new Date());
    const sections = { kpis: loadKpis(r), live: loadLive(), sla: loadSla(r), escalations: loadEscalations() };
    const results = await Promise.allSettled(Object.values(sections));
    const failed = [];
    Object.keys(sections).forEach((name, i) => {
      const el = document.querySelector(`[data-error-for="${name}"]`);
      const result = results[i];
      el.hidden = result.status === "fulfilled";
      el.textContent = result.status === "fulfilled" ? "" : `Could not load: ${result.reason.message || result.reason}`;
      if (result.status !== "fulfilled") failed.push(name);
    });
    document.body.dataset.updates = String(Number(document.body.dataset.updates) + 1);
    document.getElementById("status").dataset.state = failed.length ? "error" : "ok";
    document.getElementById("updated").textContent = failed.length
      ? `updated ${new Date().toLocaleTimeString("en-GB")}, ${failed.join(", ")} failed`
      : `updated ${new Date().toLocaleTimeString("en-GB")}, every ${REFRESH_MS / 1000} s`;
    window.setTimeout(refresh, REFRESH_MS);
  }

  refresh();
})();
