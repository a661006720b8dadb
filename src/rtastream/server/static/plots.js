// The waveforms: one plot per channel, labelled from the session's configuration (name,
// unit, type), drawn from the channel's Timeline as min and max per pixel column.
(function (global) {
  "use strict";

  // RTA's channel types as rta.js names them (3f32 has no single dtype: left to "auto").
  const RTA_TYPES = { u8: "u8", s8: "i8", u16: "u16", s16: "i16", u32: "u32", s32: "i32",
                      f32: "f32", f64: "f64" };

  // A channel's plot, in channel order inside `container`.
  function channel(container, id, width, info) {
    const div = document.createElement("div");
    div.className = "plot";
    div.innerHTML = '<div class="label"><span><b></b> <select></select></span><span class="value"></span></div><canvas></canvas>';
    const select = div.querySelector("select");
    select.setAttribute("aria-label", `type of channel ${id}`);
    for (const dtype of ["auto", ...Object.keys(rta.DTYPES)]) select.add(new Option(dtype, dtype));
    const made = { id, width, timeline: new timeline.Timeline(width), dtype: "auto", guess: null,
                   div, select, canvas: div.querySelector("canvas"), value: div.querySelector(".value") };
    select.onchange = () => { made.dtype = select.value; };
    label(made, info);
    div.dataset.id = id;
    const after = [...container.children].find((p) => Number(p.dataset.id) > id);
    container.insertBefore(div, after || null);
    return made;
  }

  // Fetch the bound configurations: channel id (with its binding's offset) -> {name, unit, dtype}.
  async function configured(bindings) {
    const out = new Map();
    for (const { identifier, channelOffset = 0 } of bindings) {
      let config;
      try {
        const reply = await fetch(`/rta/v2/configs/${encodeURIComponent(identifier)}`);
        if (!reply.ok) continue; // published elsewhere: nothing to show
        config = await reply.json();
      } catch (error) {
        continue;
      }
      for (const [id, info] of channelsOf(config)) out.set(id + channelOffset, info);
    }
    return out;
  }

  // Channel id -> {name, unit, dtype} of an RTA configuration (JSON): a channel is named
  // after the parameter it feeds, with that parameter's unit (else its conversion's).
  function channelsOf(config) {
    const out = new Map();
    for (const app of Object.values(config)) {
      const units = new Map((app.conversions || []).map((c) => [c.name, c.unit || ""]));
      for (const ch of app.channels || []) {
        out.set(ch.id, { name: ch.name || "", unit: "", dtype: RTA_TYPES[ch.type || "f64"] });
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

  function label(ch, info) {
    const b = ch.div.querySelector("b");
    if (!info) { b.textContent = `channel ${ch.id}`; return; }
    b.textContent = info.unit ? `${info.name} [${info.unit}]` : info.name;
    b.title = `channel ${ch.id}`;
    if (info.dtype && ch.dtype === "auto") {
      ch.dtype = info.dtype;
      ch.select.value = info.dtype;
    }
  }

  // The dtype of a channel set to "auto": by sample width; 4 bytes that do not read as
  // ordinary floats are taken as int32.
  function dtypeOf(ch, block) {
    if (ch.dtype !== "auto") return ch.dtype;
    if (!ch.guess) {
      const byWidth = { 8: "f64", 4: "f32", 2: "i16", 1: "u8" }[ch.width] || "u8";
      if (byWidth === "f32") {
        const values = rta.samples(block.raw, "f32");
        const floats = values.every((v) => Number.isFinite(v) && (v === 0 || Math.abs(v) > 1e-30));
        ch.guess = floats ? "f32" : "i32";
      } else ch.guess = byWidth;
    }
    return ch.guess;
  }

  // A block's values as its channel's dtype, decoded once per dtype.
  function values(ch, block) {
    const dtype = dtypeOf(ch, block);
    if (block.dtype !== dtype) { block.values = rta.samples(block.raw, dtype); block.dtype = dtype; }
    return block.values;
  }

  // Draw [from, to] (ns since the origin) of a channel, with grid lines each second and
  // the events as markers.
  function draw(ch, from, to, events) {
    const canvas = ch.canvas;
    const width = canvas.clientWidth, height = canvas.clientHeight;
    if (canvas.width !== width || canvas.height !== height) { canvas.width = width; canvas.height = height; }
    const x = (t) => Math.min(width - 1, Math.floor((t - from) / (to - from) * width));
    const lo = new Float64Array(width).fill(Infinity), hi = new Float64Array(width).fill(-Infinity);
    let min = Infinity, max = -Infinity, lastV = NaN;
    for (const [block, i, j] of ch.timeline.between(from, to)) {
      const v = values(ch, block);
      for (let k = i; k < j; k++) {
        if (!Number.isFinite(v[k])) continue;
        const column = x(block.t[k]);
        lo[column] = Math.min(lo[column], v[k]);
        hi[column] = Math.max(hi[column], v[k]);
        min = Math.min(min, v[k]);
        max = Math.max(max, v[k]);
        lastV = v[k];
      }
    }
    const g = canvas.getContext("2d");
    g.clearRect(0, 0, width, height);
    const marks = (times, color) => {
      g.strokeStyle = color;
      g.beginPath();
      for (const t of times) { g.moveTo(x(t) + 0.5, 0); g.lineTo(x(t) + 0.5, height); }
      g.stroke();
    };
    const seconds = [];
    for (let s = Math.ceil(from / 1e9); s * 1e9 <= to; s++) seconds.push(s * 1e9);
    marks(seconds, "#2a333d");
    marks(events.filter((t) => t >= from && t <= to), "#e0a340");
    ch.value.textContent = "";
    if (min > max) return;
    const pad = (max - min) * 0.08 || 1;
    const y = (v) => height - 2 - (v - (min - pad)) / (max - min + 2 * pad) * (height - 4);
    g.strokeStyle = "#4fb3ff";
    g.lineWidth = 1.2;
    g.beginPath();
    let drawing = false;
    for (let c = 0; c < width; c++) {
      if (lo[c] > hi[c]) continue;
      if (!drawing) { g.moveTo(c, y(lo[c])); drawing = true; } else g.lineTo(c, y(lo[c]));
      if (hi[c] !== lo[c]) g.lineTo(c, y(hi[c]));
    }
    g.stroke();
    ch.value.textContent = `${lastV.toPrecision(6)}  [${min.toPrecision(4)}, ${max.toPrecision(4)}]`;
  }

  global.plots = { channel, configured, label, values, draw };
})(globalThis);
