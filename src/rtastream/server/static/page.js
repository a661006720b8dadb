// The page: lists sessions, opens one over the RTA WebSocket protocol, subscribes to the
// channels asked for and draws them as scrolling waveforms. Decoding lives in rta.js.
(function () {
  "use strict";

  const SUBPROTOCOL = "mat.ocs.rta.stream-lz4";
  const WINDOW = 10; // seconds of data on screen
  const LIVE = new Set(["open", "waiting"]);
  const $ = (id) => document.getElementById(id);

  let socket = null;
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
      li.innerHTML = '<span class="name"><span class="dot"></span></span><span class="meta"></span>';
      li.querySelector(".name").append(s.identifier || s.identity);
      li.querySelector(".meta").textContent = `${shownState(s)} · ${new Date(s.timestamp).toLocaleString()}`;
      li.onclick = () => { location.hash = encodeURIComponent(s.identity); };
      return li;
    }));
    if (!sessions.length) list.innerHTML = '<li class="empty">no sessions in Redis</li>';
  }

  // --- one session over the WebSocket ---------------------------------------------------

  function open(identity) {
    if (socket) socket.close(1000);
    current = { identity, channels: new Map(), events: [], range: null, origin: null,
                subscribed: false, messages: 0, configured: new Map(), bindings: "" };
    $("plots").replaceChildren();
    $("header").hidden = false;
    $("identity").textContent = identity;
    $("identifier").textContent = identity;
    $("state").textContent = "";
    $("range").textContent = "";
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const url = `${scheme}//${location.host}/rta/v2/sessions/${encodeURIComponent(identity)}/stream`;
    const ws = new WebSocket(url, SUBPROTOCOL);
    ws.binaryType = "arraybuffer";
    const session = current;
    socket = ws;
    status("connecting...");
    ws.onmessage = (message) => {
      if (session !== current) return;
      session.messages++;
      for (const item of rta.decodeMessage(new Uint8Array(message.data))) take(session, item);
      if (session.messages === 1) {
        status("connected");
        if (LIVE.has(session.state)) { $("subscribe").hidden = false; subscribe(); }
      }
    };
    ws.onclose = (event) => {
      if (session !== current) return;
      $("subscribe").hidden = true;
      status(event.code === 1000
        ? `closed: ${event.reason || "normal close"}`
        : `closed with code ${event.code}${event.reason ? ": " + event.reason : ""}`);
    };
    listSessions();
  }

  function status(text) { $("status").textContent = text; }

  function subscribe(all = false) {
    if (!socket || socket.readyState !== WebSocket.OPEN) return;
    const channels = parseChannels($("channels").value);
    socket.send(rta.encodeSubscription({ allEvents: $("events").checked, allData: all, channels }));
    status(`subscribed to ${all ? "every channel" : "channels " + $("channels").value}`);
  }

  // "0-3, 7" -> [0, 1, 2, 3, 7]
  function parseChannels(text) {
    const ids = [];
    for (const part of text.split(/[\s,]+/).filter(Boolean)) {
      const [a, b = a] = part.split("-").map(Number);
      if (Number.isInteger(a) && Number.isInteger(b) && a >= 0 && b >= a && b - a < 10000) {
        for (let id = a; id <= b; id++) ids.push(id);
      }
    }
    return ids;
  }

  // --- what arrives -----------------------------------------------------------------------

  function seconds(session, ns) { // ns since the epoch -> seconds since the session's origin
    if (session.origin === null) session.origin = ns;
    return Number(ns - session.origin) / 1e9;
  }

  function take(session, item) {
    if (item.kind === "sessionJson") {
      const model = JSON.parse(item.text);
      session.state = model.state;
      if (model.configBindings) configure(session, model.configBindings);
      $("identifier").textContent = model.identifier || model.identity;
      $("state").textContent = model.state;
      $("state").className = "state " + model.state;
    } else if (item.kind === "timeRange") {
      session.range = [item.start, item.end];
      const span = Number(item.end - item.start) / 1e9;
      $("range").textContent = `${iso(item.start)} → ${iso(item.end)} (${span.toFixed(1)} s)`;
    } else if (item.kind === "timestamped" || item.kind === "periodic") {
      const n = item.timestamps.length;
      if (!n) return;
      const channel = channelOf(session, item.channel, item.buffer.length / n);
      const t = new Float64Array(n);
      for (let i = 0; i < n; i++) t[i] = seconds(session, item.timestamps[i]);
      channel.chunks.push({ t, raw: item.buffer, values: null, dtype: null,
                            last: t.reduce((a, b) => Math.max(a, b)) });
    } else if (item.kind === "event") {
      session.events.push({ t: seconds(session, item.timestamp), text: item.statusText });
    }
  }

  function iso(ns) { return new Date(Number(ns / 1000000n)).toISOString().slice(11, 23); }

  function channelOf(session, id, width) {
    let channel = session.channels.get(id);
    if (channel) return channel;
    const div = document.createElement("div");
    div.className = "plot";
    div.innerHTML = '<div class="label"><span><b></b> <select></select></span><span class="value"></span></div><canvas></canvas>';
    div.querySelector("b").textContent = `channel ${id}`;
    const select = div.querySelector("select");
    for (const dtype of ["auto", ...Object.keys(rta.DTYPES)]) select.add(new Option(dtype, dtype));
    channel = { id, width, chunks: [], dtype: "auto", guess: null, div, select,
                canvas: div.querySelector("canvas"), value: div.querySelector(".value") };
    select.onchange = () => { channel.dtype = select.value; };
    session.channels.set(id, channel);
    label(channel, session.configured.get(id));
    const plots = [...$("plots").children];
    const after = plots.find((p) => Number(p.dataset.id) > id);
    div.dataset.id = id;
    $("plots").insertBefore(div, after || null);
    return channel;
  }

  // --- the session's configuration: names, units and types ------------------------------

  // RTA's channel types as rta.js names them (3f32 has no single dtype: left to "auto").
  const RTA_TYPES = { u8: "u8", s8: "i8", u16: "u16", s16: "i16", u32: "u32", s32: "i32",
                      f32: "f32", f64: "f64" };

  // Fetch the bound configurations (once per set of bindings) and label the channels.
  async function configure(session, bindings) {
    const key = JSON.stringify(bindings);
    if (key === session.bindings) return;
    session.bindings = key;
    const configured = new Map();
    for (const { identifier, channelOffset = 0 } of bindings) {
      let config;
      try {
        const reply = await fetch(`/rta/v2/configs/${encodeURIComponent(identifier)}`);
        if (!reply.ok) continue; // published elsewhere: nothing to show
        config = await reply.json();
      } catch (error) {
        continue;
      }
      for (const [id, info] of channelsOf(config)) configured.set(id + channelOffset, info);
    }
    if (session !== current) return;
    session.configured = configured;
    for (const channel of session.channels.values()) label(channel, configured.get(channel.id));
  }

  // Channel id -> {name, unit, dtype} of an RTA configuration (JSON): a channel is named
  // after the parameter it feeds, with that parameter's unit (else its conversion's).
  function channelsOf(config) {
    const out = new Map();
    for (const app of Object.values(config)) {
      const units = new Map((app.conversions || []).map((c) => [c.name, c.unit || ""]));
      for (const channel of app.channels || []) {
        out.set(channel.id, { name: channel.name || "", unit: "", dtype: RTA_TYPES[channel.type || "f64"] });
      }
      for (const parameter of app.parameters || []) {
        for (const id of parameter.channels || []) {
          const info = out.get(id);
          if (!info) continue;
          info.name = parameter.name;
          info.unit = parameter.unit ?? units.get(parameter.conv) ?? "";
        }
      }
    }
    return out;
  }

  function label(channel, info) {
    const b = channel.div.querySelector("b");
    if (!info) { b.textContent = `channel ${channel.id}`; return; }
    b.textContent = info.unit ? `${info.name} [${info.unit}]` : info.name;
    b.title = `channel ${channel.id}`;
    if (info.dtype && channel.dtype === "auto") {
      channel.dtype = info.dtype;
      channel.select.value = info.dtype;
    }
  }

  // The dtype of a channel set to "auto": by sample width; 4 bytes that do not read as
  // ordinary floats are taken as int32.
  function dtypeOf(channel, chunk) {
    if (channel.dtype !== "auto") return channel.dtype;
    if (!channel.guess) {
      const byWidth = { 8: "f64", 4: "f32", 2: "i16", 1: "u8" }[channel.width] || "u8";
      if (byWidth === "f32") {
        const values = rta.samples(chunk.raw, "f32");
        const floats = values.every((v) => Number.isFinite(v) && (v === 0 || Math.abs(v) > 1e-30));
        channel.guess = floats ? "f32" : "i32";
      } else channel.guess = byWidth;
    }
    return channel.guess;
  }

  // --- drawing ------------------------------------------------------------------------------

  function draw() {
    const session = current;
    if (session && session.origin !== null) {
      const end = session.range ? seconds(session, session.range[1]) : latest(session);
      for (const channel of session.channels.values()) plot(session, channel, end - WINDOW, end);
    }
    requestAnimationFrame(draw);
  }

  function latest(session) {
    let end = -Infinity;
    for (const channel of session.channels.values()) {
      for (const chunk of channel.chunks) end = Math.max(end, chunk.last);
    }
    return end;
  }

  function plot(session, channel, from, to) {
    channel.chunks = channel.chunks.filter((chunk) => chunk.last >= from - WINDOW);
    const canvas = channel.canvas;
    const width = canvas.clientWidth, height = canvas.clientHeight;
    if (canvas.width !== width || canvas.height !== height) {
      canvas.width = width;
      canvas.height = height;
    }
    // Min and max per pixel column: order-free, so back-filled data lands where it belongs.
    const lo = new Float64Array(width).fill(Infinity), hi = new Float64Array(width).fill(-Infinity);
    let min = Infinity, max = -Infinity, lastT = -Infinity, lastV = NaN;
    for (const chunk of channel.chunks) {
      const dtype = dtypeOf(channel, chunk);
      if (chunk.dtype !== dtype) { chunk.values = rta.samples(chunk.raw, dtype); chunk.dtype = dtype; }
      for (let i = 0; i < chunk.t.length; i++) {
        const t = chunk.t[i], v = chunk.values[i];
        if (t < from || t > to || !Number.isFinite(v)) continue;
        const x = Math.min(width - 1, Math.floor((t - from) / (to - from) * width));
        if (v < lo[x]) lo[x] = v;
        if (v > hi[x]) hi[x] = v;
        if (v < min) min = v;
        if (v > max) max = v;
        if (t > lastT) { lastT = t; lastV = v; }
      }
    }
    const g = canvas.getContext("2d");
    g.clearRect(0, 0, width, height);
    g.strokeStyle = "#2a333d";
    g.beginPath();
    for (let s = Math.ceil(from); s <= to; s++) { // a grid line each second
      const x = Math.round((s - from) / (to - from) * width) + 0.5;
      g.moveTo(x, 0);
      g.lineTo(x, height);
    }
    g.stroke();
    for (const e of session.events) {
      if (e.t < from || e.t > to) continue;
      const x = Math.round((e.t - from) / (to - from) * width) + 0.5;
      g.strokeStyle = "#e0a340";
      g.beginPath(); g.moveTo(x, 0); g.lineTo(x, height); g.stroke();
    }
    if (min > max) return;
    const pad = (max - min) * 0.08 || 1;
    const y = (v) => height - 2 - (v - (min - pad)) / (max - min + 2 * pad) * (height - 4);
    g.strokeStyle = "#4fb3ff";
    g.lineWidth = 1.2;
    g.beginPath();
    let drawing = false;
    for (let x = 0; x < width; x++) {
      if (lo[x] > hi[x]) continue;
      if (!drawing) { g.moveTo(x, y(lo[x])); drawing = true; } else g.lineTo(x, y(lo[x]));
      if (hi[x] !== lo[x]) g.lineTo(x, y(hi[x]));
    }
    g.stroke();
    channel.value.textContent = `${lastV.toPrecision(6)}  [${min.toPrecision(4)}, ${max.toPrecision(4)}]`;
  }

  // --- wiring -------------------------------------------------------------------------------

  $("subscribe").onsubmit = (event) => { event.preventDefault(); subscribe(); };
  $("all").onclick = () => subscribe(true);
  const follow = () => {
    const identity = decodeURIComponent(location.hash.slice(1));
    if (identity && (!current || current.identity !== identity)) open(identity);
  };
  window.addEventListener("hashchange", follow);
  follow();
  listSessions();
  setInterval(listSessions, 2000);
  requestAnimationFrame(draw);
})();
