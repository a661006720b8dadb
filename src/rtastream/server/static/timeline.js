// What the page holds of a session: each channel's samples in a Timeline (each timestamp
// once, however often REST and the socket send it), and the time spans known complete
// (Spans), so that only what is missing is fetched. Times are ns since the session's
// origin, as Numbers: exact integers for sessions under 104 days.
(function (global) {
  "use strict";

  const BLOCK = 8192; // samples a block grows to by appending

  // The index of the first element of `sorted` (ascending) for which `below` is false.
  function search(sorted, below) {
    let lo = 0, hi = sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (below(sorted[mid])) lo = mid + 1; else hi = mid;
    }
    return lo;
  }

  // Samples of one channel: blocks of {t: Float64Array, raw: Uint8Array (width bytes a
  // sample)}, each ascending and unique, the blocks disjoint and in time order.
  class Timeline {
    constructor(width) {
      this.width = width;
      this.blocks = [];
    }

    get size() { return this.blocks.reduce((n, b) => n + b.t.length, 0); }
    get first() { return this.blocks.length ? this.blocks[0].t[0] : null; }
    get last() { return this.blocks.length ? this.blocks[this.blocks.length - 1].t.at(-1) : null; }

    has(time) {
      const b = this.blocks[search(this.blocks, (block) => block.t.at(-1) < time)];
      return b !== undefined && b.t[search(b.t, (t) => t < time)] === time;
    }

    // Add samples given in any order; those at a time already held are left out (the
    // first sent is kept). Returns how many were new.
    add(times, raw) {
      const w = this.width;
      const order = Array.from(times.keys()).sort((a, b) => times[a] - times[b]);
      const fresh = order.filter((i, k) => (k === 0 || times[i] !== times[order[k - 1]]) &&
                                           !this.has(times[i]));
      if (!fresh.length) return 0;
      const t = Float64Array.from(fresh, (i) => times[i]);
      const bytes = new Uint8Array(fresh.length * w);
      fresh.forEach((i, k) => bytes.set(raw.subarray(i * w, (i + 1) * w), k * w));
      this.insert({ t, raw: bytes });
      return fresh.length;
    }

    insert(block) {
      const lo = search(this.blocks, (b) => b.t.at(-1) < block.t[0]);
      const hi = search(this.blocks, (b) => b.t[0] <= block.t.at(-1));
      if (lo < hi) { // it falls among held samples: one block of all of them
        this.blocks.splice(lo, hi - lo, this.merge([...this.blocks.slice(lo, hi), block]));
        return;
      }
      const before = this.blocks[lo - 1];
      if (before && before.t.length + block.t.length <= BLOCK) {
        this.blocks[lo - 1] = this.merge([before, block]); // live data: a block grows
      } else this.blocks.splice(lo, 0, block);
    }

    // One block of disjoint sets of samples (concatenated when they follow one another).
    merge(blocks) {
      const w = this.width;
      const n = blocks.reduce((sum, b) => sum + b.t.length, 0);
      blocks.sort((x, y) => x.t[0] - y.t[0]);
      if (blocks.every((b, k) => k === 0 || blocks[k - 1].t.at(-1) < b.t[0])) {
        const t = new Float64Array(n), raw = new Uint8Array(n * w);
        let at = 0;
        for (const b of blocks) { t.set(b.t, at); raw.set(b.raw, at * w); at += b.t.length; }
        return { t, raw };
      }
      const pairs = [];
      for (const b of blocks) for (let i = 0; i < b.t.length; i++) pairs.push([b.t[i], b, i]);
      pairs.sort((x, y) => x[0] - y[0]);
      const t = new Float64Array(n), raw = new Uint8Array(n * w);
      pairs.forEach(([time, b, i], k) => { t[k] = time; raw.set(b.raw.subarray(i * w, (i + 1) * w), k * w); });
      return { t, raw };
    }

    // [block, i, j) of each run of samples timed in [from, to], in time order.
    *between(from, to) {
      for (let k = search(this.blocks, (b) => b.t.at(-1) < from); k < this.blocks.length; k++) {
        const b = this.blocks[k];
        if (b.t[0] > to) return;
        yield [b, search(b.t, (t) => t < from), search(b.t, (t) => t <= to)];
      }
    }

    // Forget every sample outside [from, to].
    keep(from, to) {
      const kept = [];
      for (const [b, i, j] of this.between(from, to)) {
        if (i === 0 && j === b.t.length) kept.push(b);
        else if (j > i) kept.push({ t: b.t.slice(i, j), raw: b.raw.slice(i * this.width, j * this.width) });
      }
      this.blocks = kept;
    }
  }

  // Disjoint, sorted, inclusive [from, to] spans of time (to may be Infinity).
  class Spans {
    constructor() { this.spans = []; }

    add(from, to) {
      const merged = [from, to];
      this.spans = this.spans.filter(([a, b]) => {
        if (b + 1 < from || a - 1 > to) return true;
        merged[0] = Math.min(merged[0], a);
        merged[1] = Math.max(merged[1], b);
        return false;
      });
      this.spans.push(merged);
      this.spans.sort((x, y) => x[0] - y[0]);
    }

    // The parts of [from, to] not in any span.
    missing(from, to) {
      const out = [];
      let at = from;
      for (const [a, b] of this.spans) {
        if (b < at) continue;
        if (a > to) break;
        if (a > at) out.push([at, a - 1]);
        if (b >= to) return out;
        at = b + 1;
      }
      if (at <= to) out.push([at, to]);
      return out;
    }

    keep(from, to) {
      this.spans = this.spans.filter(([a, b]) => b >= from && a <= to)
        .map(([a, b]) => [Math.max(a, from), Math.min(b, to)]);
    }
  }

  global.timeline = { Timeline, Spans };
})(globalThis);
