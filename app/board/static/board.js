// The live board: draws the rows in view, ticks their countdowns, refetches when the stream says so.
"use strict";

(() => {
  const ROW_HEIGHT = 56; // px, fixed by board.css so only the rows in view need to exist
  const OVERSCAN = 8; // rows drawn beyond each edge of the viewport
  const DEBOUNCE_MS = 300; // a burst of stream events costs one refetch
  const POLL_MS = 30000; // fallback refresh, stream or not
  const STREAM_STALE_MS = 30000; // stream down this long: say the numbers may be old
  const DATA_STALE_MS = 95000; // no successful refresh for this long: the same
  const STREAM_EVENTS = ["sla.warning", "sla.breached", "sla.met", "sla.paused", "sla.resumed",
    "sla.corrected", "ticket.updated"];
  const LABELS = { breached: "Breached", over_target: "Over target", warning: "Warning", ok: "On track", paused: "Paused" };
  const ICONS = { breached: "✖", over_target: "▲", warning: "!", ok: "✓", paused: "❚❚" };

  const config = JSON.parse(document.getElementById("board-config").textContent);
  const body = document.getElementById("rows");
  const live = document.getElementById("live");
  const stats = (window.__board = { firstRenderMs: null, ticks: [], fetches: 0, loads: 0, streamEvents: 0, renders: 0 });

  let rows = [];
  let serverNowMs = 0; // the server's "now" for the current data…
  let fetchedAt = 0; // …and performance.now() when it arrived
  let lastFetchOk = performance.now();
  let drawn = new Map(); // row index -> <tr> in the DOM
  let refetchTimer = null;
  let streamUp = false;
  let streamDownSince = performance.now();

  const nowMs = () => serverNowMs + (performance.now() - fetchedAt);

  let nextWindowChange = Infinity; // the first instant at which some row's calendar opens or closes

  /** Parse each row's instants once, not on every tick. */
  function prepare(row) {
    row.untilMs = row.open_until ? Date.parse(row.open_until) : Infinity;
    row.opensMs = row.opens_at ? Date.parse(row.opens_at) : Infinity;
    row.warnMs = row.warn_at ? Date.parse(row.warn_at) : Infinity;
    const change = row.paused ? Infinity : row.open ? row.untilMs : row.opensMs;
    if (change < nextWindowChange) nextWindowChange = change;
  }

  function setData(data) {
    rows = data.rows;
    stats.loads++;
    nextWindowChange = Infinity;
    rows.forEach(prepare);
    serverNowMs = Date.parse(data.now);
    fetchedAt = performance.now();
    lastFetchOk = fetchedAt;
    for (const [state, n] of Object.entries(data.counts)) {
      const el = document.getElementById(`count-${state}`);
      if (el) el.textContent = n;
    }
    document.getElementById("shown").textContent = data.shown;
    document.getElementById("total").textContent = data.total;
    document.getElementById("empty").hidden = rows.length > 0;
    draw(true);
  }

  // ---- numbers of one row, now -------------------------------------------------------------

  /** Remaining business seconds now: counts down only while the calendar is open and the clock runs. */
  function remainingNow(row, now) {
    if (row.paused || !row.open) return row.remaining_seconds;
    const stopAt = Math.min(now, row.untilMs);
    return row.remaining_seconds - Math.max(0, Math.floor((stopAt - serverNowMs) / 1000));
  }

  /** The row's state as time passes (the server's state is right as of its "now"). */
  function stateNow(row, remaining, now) {
    if (row.paused || row.state === "breached") return row.state;
    if (remaining < 0) return "breached";
    if (remaining < row.limit_seconds - row.target_seconds) return "over_target";
    if (row.state === "warning" || now >= row.warnMs) return "warning";
    return row.state;
  }

  /** Why a countdown stands still, or "" while it moves. */
  function stillReason(row, now) {
    if (row.paused) return `paused: ${row.paused_label}`;
    if (row.open && now >= row.untilMs) return "outside business hours";
    if (!row.open) {
      return row.opens_at ? `outside business hours until ${SLA.shortTime(row.opensMs, now)}` : "not counting";
    }
    return "";
  }

  function duration(seconds) {
    const s = Math.abs(seconds);
    const d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600);
    const m = Math.floor((s % 3600) / 60), sec = s % 60;
    const pad = (n) => String(n).padStart(2, "0");
    const text = d ? `${d}d ${pad(h)}h ${pad(m)}m` : h ? `${h}h ${pad(m)}m ${pad(sec)}s` : `${m}m ${pad(sec)}s`;
    return seconds < 0 ? `${text} late` : text;
  }

  // ---- drawing ----------------------------------------------------------------------------

  function cell(tr, className) {
    const td = document.createElement("td");
    td.className = className;
    tr.appendChild(td);
    return td;
  }

  function link(parent, href, text, external) {
    const a = document.createElement("a");
    a.href = href;
    a.textContent = text;
    if (external) { a.target = "_blank"; a.rel = "noopener noreferrer"; }
    parent.appendChild(a);
    return a;
  }

  function makeRow(row) {
    const tr = document.createElement("tr");
    const ticketPage = `/tickets/${encodeURIComponent(row.source)}/${encodeURIComponent(row.key)}`;
    const state = cell(tr, "c-state");
    tr._badge = document.createElement("span");
    tr._badge.className = "badge";
    state.appendChild(tr._badge);
    link(cell(tr, "c-key"), row.url || ticketPage, row.key, Boolean(row.url)).title = row.url ? "Open in " + row.source : "";
    const title = link(cell(tr, "c-title"), ticketPage, row.title || "(no title)", false);
    title.title = row.title || "";
    cell(tr, "c-tier").textContent = row.tier || "—";
    cell(tr, "c-prio").textContent = row.priority || "—";
    cell(tr, "c-who").textContent = row.assignee || "unassigned";
    cell(tr, "c-metric").textContent = row.metric.replace(/_/g, " ");
    const left = cell(tr, "c-left");
    tr._count = document.createElement("span");
    tr._count.className = "countdown";
    tr._why = document.createElement("span");
    tr._why.className = "why";
    left.append(tr._count, tr._why);
    const due = cell(tr, "c-due");
    if (row.due_at) {
      const ms = Date.parse(row.due_at);
      due.textContent = SLA.shortTime(ms, nowMs());
      due.title = SLA.fullTime(ms);
    } else {
      due.textContent = row.paused ? "on hold" : "—";
    }
    const bar = cell(tr, "c-bar");
    tr._meter = document.createElement("div");
    tr._meter.className = "meter";
    tr._meter.setAttribute("role", "progressbar");
    tr._fill = document.createElement("div");
    tr._fill.className = "fill";
    tr._meter.appendChild(tr._fill);
    bar.appendChild(tr._meter);
    return tr;
  }

  function update(tr, row, now) {
    const remaining = remainingNow(row, now);
    const state = stateNow(row, remaining, now);
    const why = stillReason(row, now);
    const text = duration(remaining);
    if (tr._state !== state) {
      tr.className = `row state-${state}${why ? " still" : ""}`;
      tr._badge.className = `badge state-${state}`;
      tr._badge.textContent = `${ICONS[state]} ${LABELS[state]}`;
      tr._state = state;
      if (state !== row.state) scheduleRefetch(); // crossed a line: let the server recount
    }
    if (tr._text !== text) { tr._count.textContent = text; tr._text = text; }
    if (tr._whyText !== why) { tr._why.textContent = why; tr._whyText = why; tr.classList.toggle("still", !!why); }
    const percent = row.limit_seconds ? 100 * (row.limit_seconds - remaining) / row.limit_seconds : 100;
    const width = `${Math.min(100, Math.max(0, percent)).toFixed(1)}%`;
    if (tr._width !== width) {
      tr._fill.style.width = width;
      tr._meter.setAttribute("aria-valuenow", Math.round(percent));
      tr._meter.title = `${Math.round(percent)}% of the limit used`;
      tr._width = width;
    }
  }

  function spacer(height) {
    const tr = document.createElement("tr");
    tr.className = "spacer";
    tr.setAttribute("aria-hidden", "true");
    const td = document.createElement("td");
    td.colSpan = columns;
    td.style.height = `${height}px`;
    tr.appendChild(td);
    return tr;
  }

  // Narrow screens hide some columns; a spacer spanning more than are shown would add phantom ones.
  let columns = 10;
  const countColumns = () => {
    columns = [...document.querySelectorAll(".board thead th")].filter((th) => th.offsetParent !== null).length;
  };

  /** Put the rows in view (plus some) into the table; the rest are spacer height. */
  function draw(dataChanged) {
    const top = body.getBoundingClientRect().top + window.scrollY;
    const first = Math.max(0, Math.floor((window.scrollY - top) / ROW_HEIGHT) - OVERSCAN);
    const last = Math.min(rows.length, first + Math.ceil(window.innerHeight / ROW_HEIGHT) + 2 * OVERSCAN);
    const now = nowMs();
    const next = new Map();
    const fragment = document.createDocumentFragment();
    fragment.appendChild(spacer(first * ROW_HEIGHT));
    for (let i = first; i < last; i++) {
      const reuse = !dataChanged && drawn.get(i);
      const tr = reuse || makeRow(rows[i]);
      update(tr, rows[i], now);
      next.set(i, tr);
      fragment.appendChild(tr);
    }
    fragment.appendChild(spacer((rows.length - last) * ROW_HEIGHT));
    body.replaceChildren(fragment);
    drawn = next;
    stats.renders++;
    if (stats.firstRenderMs === null && rows.length) stats.firstRenderMs = performance.now();
  }

  let scrollPending = false;
  window.addEventListener("scroll", () => {
    if (scrollPending) return;
    scrollPending = true;
    requestAnimationFrame(() => { scrollPending = false; draw(false); });
  }, { passive: true });
  window.addEventListener("resize", () => { countColumns(); draw(false); });
  countColumns();

  // ---- ticking ----------------------------------------------------------------------------

  function tick() {
    const started = performance.now();
    const now = nowMs();
    for (const [i, tr] of drawn) update(tr, rows[i], now);
    // A calendar opening or closing changes what ticks: ask the server for the new windows.
    if (now >= nextWindowChange + 1000) { nextWindowChange = Infinity; scheduleRefetch(); }
    showLiveness();
    stats.ticks.push(performance.now() - started);
    if (stats.ticks.length > 600) stats.ticks.shift();
    setTimeout(tick, 1000 - (Date.now() % 1000));
  }

  // ---- data and stream --------------------------------------------------------------------

  async function refetch() {
    refetchTimer = null;
    stats.fetches++;
    try {
      const response = await fetch(config.dataUrl, { headers: { Accept: "application/json" }, credentials: "same-origin" });
      if (response.status === 401) return reauthenticate();
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      setData(await response.json());
    } catch (error) {
      console.warn("board refresh failed", error);
    }
    showLiveness();
  }

  function scheduleRefetch() {
    if (refetchTimer === null) refetchTimer = setTimeout(refetch, DEBOUNCE_MS);
  }

  /** The session ended: reloading sends a person to sign in, and a wallboard back through its link. */
  function reauthenticate() {
    const last = Number(sessionStorage.getItem("board-reauth") || 0);
    if (Date.now() - last > 15000) {
      sessionStorage.setItem("board-reauth", String(Date.now()));
      location.reload();
    }
  }

  function connect() {
    const stream = new EventSource(config.streamUrl);
    const onEvent = () => { stats.streamEvents++; scheduleRefetch(); };
    stream.onopen = () => { streamUp = true; streamDownSince = null; scheduleRefetch(); showLiveness(); };
    stream.onmessage = onEvent;
    for (const type of STREAM_EVENTS) stream.addEventListener(type, onEvent);
    stream.onerror = () => {
      streamUp = false;
      if (streamDownSince === null) streamDownSince = performance.now();
      // The browser retries by itself (sending Last-Event-ID) unless the server refused outright.
      if (stream.readyState === EventSource.CLOSED) { stream.close(); setTimeout(connect, 5000); }
      showLiveness();
    };
  }

  function showLiveness() {
    const now = performance.now();
    const streamStale = !streamUp && streamDownSince !== null && now - streamDownSince > STREAM_STALE_MS;
    const dataStale = now - lastFetchOk > DATA_STALE_MS;
    const stale = streamStale || dataStale;
    const since = Math.round((now - (streamStale ? streamDownSince : lastFetchOk)) / 1000);
    const text = stale ? `⚠ Stale: no live updates for ${since}s, numbers may be out of date`
      : streamUp ? "● Live" : "○ Reconnecting…";
    if (live.textContent !== text) live.textContent = text;
    live.className = `live ${stale ? "stale" : streamUp ? "up" : "down"}`;
    document.body.classList.toggle("is-stale", stale);
  }

  const filters = document.getElementById("filters");
  if (filters) {
    // Only the filters in use go into the URL, so a team's bookmark reads like its board.
    filters.addEventListener("change", () => {
      const query = new URLSearchParams();
      for (const [name, value] of new FormData(filters)) if (value) query.append(name, value);
      const search = query.toString();
      location.assign(search ? `/?${search}` : "/");
    });
  }

  setData(config.initial);
  if (config.initial.partial) refetch();
  connect();
  setInterval(scheduleRefetch, POLL_MS);
  tick();
})();
