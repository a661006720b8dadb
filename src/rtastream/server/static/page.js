// The page: lists sessions and draws one. A session's history comes from the REST data
// endpoints, a window at a time as the view moves (never the whole of a long session); a
// live one is then followed over the RTA WebSocket from where its history ended.
// Decoding lives in rta.js, what is held in timeline.js, the waveforms in plots.js.
(function () {
  "use strict";

  const SUBPROTOCOL = "mat.ocs.rta.stream-lz4";
  const WINDOW = 10e9; // ns on screen
  const PAD = WINDOW / 2; // ns fetched beyond either side of the view, ahead of scrolling
  const KEEP = 6 * WINDOW; // ns held beyond either side of the view; the rest is forgotten
  const PROBE_WAIT = 2000; // ms a live session's time range may take to come
  const LIVE = new Set(["open", "waiting"]);
  const $ = (id) => document.getElementById(id);

  let current = null; // the session on screen

  // --- the session list -----------------------------------------------------------------

  async function listSessions() {
    let page;
    try {
      const reply = await fetch("/rta/v2/sessions?pageSize=50");
      page = await reply.json();
    } catch (error) {
      return; // the server is gone for a moment; try again on the next round
    }
    const stale = new Set(page.stale || []); // open, but their writer's heartbeat stopped
    const shownState = (s) => (stale.has(s.identity) ? "stale" : s.state);
    const sessions = page.sessions.sort((a, b) => LIVE.has(shownState(b)) - LIVE.has(shownState(a)));
    const list = $("sessions");
    list.replaceChildren(...sessions.map((s) => {
      const li = document.createElement("li");
      li.className = (LIVE.has(shownState(s)) ? "live" : "ended") + (current && current.identity === s.identity ? " open" : "");
      li.dataset.identity = s.identity;
      li.innerHTML = '<a class="name"><span class="dot"></span></a><span class="meta"></span>';
      const link = li.querySelector(".name");
      link.href = "#" + encodeURIComponent(s.identity);
      link.append(s.identifier || s.identity);
      li.onclick = () => { location.hash = encodeURIComponent(s.identity); };
      li.querySelector(".meta").textContent = `${shownState(s)} · ${new Date(s.timestamp).toLocaleString()}`;
      return li;
    }));
    if (!sessions.length) list.innerHTML = '<li class="empty">no sessions</li>';
  }

  // --- opening a session ------------------------------------------------------------------

  const path = (identity) => `/rta/v2/sessions/${encodeURIComponent(identity)}`;
  const socketUrl = (identity) =>
    `${location.protocol === "https:" ? "wss:" : "ws:"}//${location.host}${path(identity)}/stream`;

  async function open(identity) {
    if (current && current.socket) current.socket.close(1000);
    const session = current = {
      identity, origin: null, start: 0, end: null, live: false, model: null, ready: false,
      channels: new Map(), events: new Map(), spans: new timeline.Spans(), viewEnd: null,
      wanted: wanted(), fetching: false, failed: null, socket: null, since: null,
      configured: new Map(), bindings: "", fetches: [], received: { rest: 0, socket: 0, kept: 0, from: {} },
    };
    $("plots").replaceChildren();
    $("header").hidden = $("subscribe").hidden = $("scroll").hidden = false;
    $("identity").textContent = $("identifier").textContent = identity;
    $("state").textContent = $("range").textContent = "";
    status("loading...");
    listSessions();
    const reply = await fetch(path(identity)).catch((error) => ({ ok: false, text: () => String(error) }));
    if (session !== current) return;
    if (!reply.ok) { status(`cannot open the session: ${await reply.text()}`); return; }
    const text = await reply.text();
    model(session, JSON.parse(text));
    if (LIVE.has(session.model.state)) await openLive(session);
    else openRecorded(session, exactRange(text));
  }

  // A Session JSON's timeRange as BigInts: JSON.parse would round ns since the epoch.
  function exactRange(text) {
    const range = /"timeRange"\s*:\s*\{([^}]*)\}/.exec(text);
    const start = range && /"startTime"\s*:\s*(-?\d+)/.exec(range[1]);
    const end = range && /"endTime"\s*:\s*(-?\d+)/.exec(range[1]);
    return start && end ? [BigInt(start[1]), BigInt(end[1])] : null;
  }

  function setRange(session, [start, end]) {
    if (session.origin === null) session.origin = start;
    session.start = rel(session, start);
    session.end = rel(session, end);
    const span = Number(end - start) / 1e9;
    $("range").textContent = `${iso(start)} → ${iso(end)} (${span.toFixed(1)} s)`;
  }

  function openRecorded(session, range) {
    if (!range) { status("no data: the session has no time range"); return; }
    setRange(session, range);
    status("recorded: drawn from the REST data endpoints");
    session.ready = true;
  }

  // A live session: its history up to now over REST, then the socket from there on.
  async function openLive(session) {
    const probed = await probe(session.identity);
    if (session !== current) return;
    if (probed.state && !LIVE.has(probed.state)) { open(session.identity); return; } // it just ended
    session.live = true;
    if (probed.range) {
      setRange(session, probed.range);
      const lasts = await need(session);
      if (session !== current || session.failed) return; // no history: the status says why
      session.since = seam(session, lasts);
    } else session.spans.add(-Infinity, Infinity); // no data yet: all of it comes live
    session.ready = true;
    follow(session);
  }

  // A live session's current time range and state, from the socket's first messages (its
  // Session JSON over REST has the time range its writer last put in it, often none).
  function probe(identity) {
    return new Promise((resolve) => {
      const ws = new WebSocket(socketUrl(identity), SUBPROTOCOL);
      ws.binaryType = "arraybuffer";
      let state = null;
      const done = (range) => {
        clearTimeout(timer);
        ws.onmessage = ws.onclose = null;
        ws.close(1000);
        resolve({ range, state });
      };
      const timer = setTimeout(() => done(null), PROBE_WAIT);
      ws.onmessage = (message) => {
        for (const item of rta.decodeMessage(new Uint8Array(message.data))) {
          if (item.kind === "sessionJson") state = JSON.parse(item.text).state;
          if (item.kind === "timeRange") { done([item.start, item.end]); return; }
        }
      };
      ws.onclose = () => done(null);
    });
  }

  // Where the socket's back-fill starts (ns since the epoch): the earliest of the channels'
  // last samples over REST (so nothing after any of them is missed), else the history's start.
  function seam(session, lasts) {
    const at = lasts.size ? Math.min(...lasts.values()) : session.spans.spans[0][0];
    return session.origin + BigInt(at);
  }

  // The session over the socket: from `since` on (back-fill), then live.
  function follow(session) {
    const since = session.since === null ? "" : `?since=${session.since}`;
    const ws = new WebSocket(socketUrl(session.identity) + since, SUBPROTOCOL);
    ws.binaryType = "arraybuffer";
    session.socket = ws;
    let first = true;
    ws.onmessage = (message) => {
      if (session !== current) return;
      for (const item of rta.decodeMessage(new Uint8Array(message.data))) take(session, item, "socket");
      if (first) {
        first = false;
        const { all, ids, events } = session.wanted;
        ws.send(rta.encodeSubscription({ allEvents: events, allData: all, channels: all ? [] : ids }));
        status(`following live: ${describe(session.wanted)}`);
      }
    };
    ws.onclose = (event) => {
      if (session !== current) return;
      session.live = false;
      status(event.code === 1000
        ? `closed: ${event.reason || "normal close"}`
        : `closed with code ${event.code}${event.reason ? ": " + event.reason : ""}`);
    };
  }

  // --- what the form asks for -------------------------------------------------------------

  let allChannels = false;

  function wanted() {
    return { ids: parseChannels($("channels").value), all: allChannels, events: $("events").checked };
  }

  function describe({ all }) { return all ? "every channel" : `channels ${$("channels").value}`; }

  // "0-3, 7" -> [0, 1, 2, 3, 7]
  function parseChannels(text) {
    const ids = [];
    for (const part of text.split(/[\s,]+/).filter(Boolean)) {
      const [a, b = a] = part.split("-").map(Number);
      if (Number.isInteger(a) && Number.isInteger(b) && a >= 0 && b >= a && b - a < 10000) {
        for (let id = a; id <= b; id++) ids.push(id);
      }
    }
    return [...new Set(ids)].sort((x, y) => x - y);
  }

  // [0, 1, 2, 3, 7, 12] -> "0-3,7,C": the data endpoints' hex channel expression.
  function hexChannels({ ids, all }) {
    if (all) return "-";
    const terms = [];
    for (let i = 0; i < ids.length; i++) {
      let j = i;
      while (j + 1 < ids.length && ids[j + 1] === ids[j] + 1) j++;
      terms.push(i === j ? ids[i].toString(16) : `${ids[i].toString(16)}-${ids[j].toString(16)}`);
      i = j;
    }
    return terms.join(",");
  }

  // --- history over REST --------------------------------------------------------------------

  // Fetch the part of the view (and PAD beyond it) not held yet, one request at a time.
  // Returns each channel's last sample fetched (ns since the origin).
  async function need(session) {
    if (session.fetching || session.failed || session.origin === null) return new Map();
    const [from, to] = viewOf(session);
    const top = session.live && to + PAD >= end(session) ? Infinity : Math.min(to + PAD, end(session));
    const gap = session.spans.missing(Math.max(session.start, from - PAD), top)[0];
    if (!gap) return new Map();
    session.fetching = true;
    try {
      return await fetchSpan(session, ...gap);
    } catch (error) {
      session.failed = error.message;
      status(`cannot fetch the history: ${error.message}`);
      return new Map();
    } finally {
      session.fetching = false;
    }
  }

  async function fetchSpan(session, from, to) {
    const ns = (t) => String(session.origin + BigInt(t) < 0n ? 0n : session.origin + BigInt(t));
    const range = `start=${ns(from)}` + (to === Infinity ? "" : `&end=${ns(to)}`);
    session.fetches.push([ns(from), to === Infinity ? null : ns(to)]);
    const channels = hexChannels(session.wanted);
    const kinds = channels ? ["timestamped", "periodic"] : [];
    if (session.wanted.events) kinds.push("events");
    const bodies = await Promise.all(kinds.map(async (kind) => {
      const url = `${path(session.identity)}/data/${kind}${kind === "events" ? "" : "/" + channels}?${range}`;
      const reply = await fetch(url);
      if (!reply.ok) throw new Error(`${reply.status} ${await reply.text()}`);
      return [kind, new Uint8Array(await reply.arrayBuffer())];
    }));
    const lasts = new Map();
    if (session !== current) return lasts;
    for (const [kind, body] of bodies) {
      for (const chunk of rta.decodeChunks(body, kind)) {
        for (const item of chunk.items) {
          const last = take(session, item, "rest");
          if (last !== null && !(last <= lasts.get(item.channel))) lasts.set(item.channel, last);
        }
      }
    }
    session.spans.add(from, to);
    return lasts;
  }

  // --- what arrives -------------------------------------------------------------------------

  function rel(session, ns) { // ns since the epoch -> ns since the session's origin
    if (session.origin === null) session.origin = ns;
    return Number(ns - session.origin);
  }

  function model(session, json) {
    session.model = json;
    if (json.configBindings) configure(session, json.configBindings);
    $("identifier").textContent = json.identifier || json.identity;
    $("state").textContent = json.state;
    $("state").className = "state " + json.state;
  }

  // Take one decoded item; a data item's last sample time (ns since the origin), else null.
  function take(session, item, source) {
    if (item.kind === "sessionJson") model(session, JSON.parse(item.text));
    else if (item.kind === "timeRange") setRange(session, [item.start, item.end]);
    else if (item.kind === "event") {
      const t = rel(session, item.timestamp);
      session.events.set(`${t} ${item.definition} ${item.statusText}`, { t, text: item.statusText });
    } else if (item.kind === "timestamped" || item.kind === "periodic") {
      const n = item.timestamps.length;
      if (!n || item.buffer.length % n) return null;
      const ch = session.channels.get(item.channel) ||
        session.channels.set(item.channel, plots.channel($("plots"), item.channel, item.buffer.length / n,
                                                        session.configured.get(item.channel))).get(item.channel);
      if (item.buffer.length / n !== ch.width) return null; // a channel has one sample width
      const times = Float64Array.from(item.timestamps, (t) => rel(session, t));
      session.received[source] += n;
      session.received.kept += ch.timeline.add(times, item.buffer);
      const first = times.reduce((a, b) => Math.min(a, b));
      session.received.from[source] = Math.min(session.received.from[source] ?? Infinity, first);
      return times.reduce((a, b) => Math.max(a, b));
    }
    return null;
  }

  // Fetch the bound configurations (once per set of bindings) and label the channels.
  async function configure(session, bindings) {
    const key = JSON.stringify(bindings);
    if (key === session.bindings) return;
    session.bindings = key;
    const configured = await plots.configured(bindings);
    if (session !== current) return;
    session.configured = configured;
    for (const ch of session.channels.values()) plots.label(ch, configured.get(ch.id));
  }

  function iso(ns) { return new Date(Number(ns / 1000000n)).toISOString().slice(11, 23); }

  function status(text) { $("status").textContent = text; }

  // --- the view: WINDOW ns ending at viewEnd, or at the end while following -----------------

  function end(session) {
    let latest = session.end ?? -Infinity;
    for (const ch of session.channels.values()) latest = Math.max(latest, ch.timeline.last ?? -Infinity);
    return latest;
  }

  function viewOf(session) {
    const last = end(session);
    const to = session.viewEnd === null ? last
      : Math.max(Math.min(session.start + WINDOW, last), Math.min(session.viewEnd, last));
    return [to - WINDOW, to];
  }

  function move(to) {
    const session = current;
    if (!session || session.origin === null) return;
    session.viewEnd = to >= end(session) ? null : to; // the end: follow it
  }

  function shift(fraction) {
    if (current && current.origin !== null) move(viewOf(current)[1] + fraction * WINDOW);
  }

  let forgotten = 0;

  function draw() {
    const session = current;
    if (session && session.origin !== null && session.end !== null) {
      const [from, to] = viewOf(session);
      const events = [...session.events.values()].map((e) => e.t);
      for (const ch of session.channels.values()) plots.draw(ch, from, to, events);
      showPosition(session, from, to);
      if (performance.now() - forgotten > 1000) { forget(session, from, to); forgotten = performance.now(); }
      if (session.ready) need(session);
    }
    requestAnimationFrame(draw);
  }

  // Hold no more than KEEP beyond either side of the view (the live edge stays open).
  function forget(session, from, to) {
    const lo = from - KEEP <= session.start ? -Infinity : from - KEEP;
    const hi = to + KEEP >= end(session) ? Infinity : to + KEEP;
    for (const ch of session.channels.values()) ch.timeline.keep(lo, hi);
    session.spans.keep(lo, hi);
  }

  function showPosition(session, from, to) {
    const slider = $("position");
    slider.min = Math.round(Math.min(session.start + WINDOW, end(session)) / 1e6);
    slider.max = Math.round(end(session) / 1e6);
    if (document.activeElement !== slider) slider.value = Math.round(to / 1e6);
    const at = (t) => iso(session.origin + BigInt(Math.round(t)));
    $("shown").textContent = `${at(Math.max(from, session.start))} → ${at(to)}` +
      (session.viewEnd === null ? (session.live ? " · following live" : " · the end") : "");
  }

  // --- for tests and the curious: what the page holds, in ns since the epoch ---------------

  globalThis.rtaPage = {
    state() {
      const s = current;
      if (!s || s.origin === null || s.end === null) return null;
      const ns = (t) => String(s.origin + BigInt(t));
      const [from, to] = viewOf(s);
      const complete = !s.spans.missing(Math.max(s.start, from), to).length; // the view is all held
      return { identity: s.identity, live: s.live, following: s.viewEnd === null, fetching: s.fetching, complete,
               start: ns(s.start), end: ns(end(s)), view: [ns(from), ns(to)], failed: s.failed,
               since: s.since === null ? null : String(s.since), fetches: s.fetches,
               received: { ...s.received, from: Object.fromEntries(Object.entries(s.received.from)
                 .map(([source, t]) => [source, ns(t)])) }, channels: [...s.channels.keys()] };
    },
    samples(id) {
      const ch = current && current.channels.get(id);
      const out = { times: [], values: [] };
      if (!ch) return out;
      for (const [block, i, j] of ch.timeline.between(-Infinity, Infinity)) {
        const v = plots.values(ch, block);
        for (let k = i; k < j; k++) { out.times.push(String(current.origin + BigInt(block.t[k]))); out.values.push(v[k]); }
      }
      return out;
    },
  };

  // --- wiring -------------------------------------------------------------------------------

  const reopen = (all) => { allChannels = all; if (current) open(current.identity); };
  $("subscribe").onsubmit = (event) => { event.preventDefault(); reopen(false); };
  $("all").onclick = () => reopen(true);
  $("position").oninput = (event) => move(Number(event.target.value) * 1e6);
  $("first").onclick = () => current && move(current.start + WINDOW);
  $("earlier").onclick = () => shift(-0.5);
  $("later").onclick = () => shift(0.5);
  $("last").onclick = () => current && move(Infinity);
  $("plots").addEventListener("wheel", (event) => {
    event.preventDefault();
    shift((event.deltaX || event.deltaY) / 1000);
  }, { passive: false });
  const KEYS = { ArrowLeft: () => shift(-0.1), ArrowRight: () => shift(0.1), PageUp: () => shift(-1),
                 PageDown: () => shift(1), Home: () => $("first").click(), End: () => $("last").click() };
  $("plots").addEventListener("keydown", (event) => {
    if (KEYS[event.key]) { event.preventDefault(); KEYS[event.key](); }
  });
  const select = () => {
    const identity = decodeURIComponent(location.hash.slice(1));
    if (identity && (!current || current.identity !== identity)) open(identity);
  };
  window.addEventListener("hashchange", select);
  select();
  listSessions();
  setInterval(listSessions, 2000);
  requestAnimationFrame(draw);
})();
