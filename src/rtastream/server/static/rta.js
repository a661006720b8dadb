// The RTA live stream and REST data in the browser: LZ4 raw blocks, StreamDataBurst and
// `application/vnd.mat.protobuf+chunked` decoding, StreamRequest encoding. Small on purpose;
// the tests run it in Chromium against the Python encoder and the official protobuf classes.
(function (global) {
  "use strict";

  const MAX_MESSAGE = 1 << 20; // a burst never exceeds 1 MiB uncompressed

  // One LZ4 raw block (no frame, no size prefix) into at most `limit` bytes.
  function lz4Block(src, limit = MAX_MESSAGE) {
    let out = new Uint8Array(Math.min(limit, Math.max(256, src.length * 4)));
    let s = 0;
    let d = 0;
    const room = (n) => {
      if (d + n > limit) throw new Error(`LZ4 block decompresses to more than ${limit} bytes`);
      if (d + n > out.length) {
        const grown = new Uint8Array(Math.min(limit, Math.max(d + n, out.length * 2)));
        grown.set(out.subarray(0, d));
        out = grown;
      }
    };
    const length = (n) => {
      if (n !== 15) return n;
      let byte;
      do {
        if (s >= src.length) throw new Error("LZ4 block truncated in a length");
        byte = src[s++];
        n += byte;
      } while (byte === 255);
      return n;
    };
    if (src.length === 0) throw new Error("empty LZ4 block");
    while (true) {
      if (s >= src.length) throw new Error("LZ4 block truncated: no last literals");
      const token = src[s++];
      const literals = length(token >> 4);
      if (s + literals > src.length) throw new Error("LZ4 block truncated in literals");
      room(literals);
      out.set(src.subarray(s, s + literals), d);
      s += literals;
      d += literals;
      if (s === src.length) return out.subarray(0, d); // the last sequence: literals only
      if (s + 2 > src.length) throw new Error("LZ4 block truncated in an offset");
      const offset = src[s] | (src[s + 1] << 8);
      s += 2;
      if (offset === 0 || offset > d) throw new Error("LZ4 block has a bad match offset");
      const match = length(token & 15) + 4;
      room(match);
      if (offset >= match) {
        out.copyWithin(d, d - offset, d - offset + match);
      } else {
        for (let i = 0; i < match; i++) out[d + i] = out[d - offset + i];
      }
      d += match;
    }
  }

  // Protobuf wire format, the subset StreamDataBurst needs.
  class Reader {
    constructor(bytes) {
      this.bytes = bytes;
      this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      this.pos = 0;
    }
    get done() { return this.pos >= this.bytes.length; }
    varint() { // as a BigInt: int64 and uint64 values need all 64 bits
      let result = 0n;
      for (let shift = 0n; shift < 70n; shift += 7n) {
        if (this.pos >= this.bytes.length) throw new Error("protobuf truncated in a varint");
        const byte = this.bytes[this.pos++];
        result |= BigInt(byte & 0x7f) << shift;
        if (byte < 0x80) return BigInt.asUintN(64, result);
      }
      throw new Error("protobuf varint longer than 10 bytes");
    }
    small() { // a varint that must fit a JavaScript number (tags, lengths, ids)
      const value = this.varint();
      if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw new Error("protobuf length too large");
      return Number(value);
    }
    int64() { return BigInt.asIntN(64, this.varint()); }
    int32() { return Number(BigInt.asIntN(32, this.varint())); }
    sint64() { const v = this.varint(); return (v >> 1n) ^ -(v & 1n); } // zigzag
    sfixed64() {
      this.need(8);
      const value = this.view.getBigInt64(this.pos, true);
      this.pos += 8;
      return value;
    }
    need(n) { if (this.pos + n > this.bytes.length) throw new Error("protobuf truncated"); }
    bytesField() {
      const n = this.small();
      this.need(n);
      const value = this.bytes.subarray(this.pos, this.pos + n);
      this.pos += n;
      return value;
    }
    message() { return new Reader(this.bytesField()); }
    string() { return new TextDecoder().decode(this.bytesField()); }
    skip(wire) {
      if (wire === 0) this.varint();
      else if (wire === 1) { this.need(8); this.pos += 8; }
      else if (wire === 2) this.bytesField();
      else if (wire === 5) { this.need(4); this.pos += 4; }
      else throw new Error(`protobuf wire type ${wire} is not supported`);
    }
    // Each field as [number, wire type], the reader positioned on its value.
    *fields() {
      while (!this.done) {
        const tag = this.small();
        yield [tag >>> 3, tag & 7];
      }
    }
    // A repeated scalar, packed (wire type 2) or not.
    repeated(wire, read, into) {
      if (wire !== 2) { into.push(read()); return; }
      const size = this.small();
      const end = this.pos + size;
      if (end > this.bytes.length) throw new Error("protobuf truncated");
      while (this.pos < end) into.push(read());
    }
  }

  function timestamped(r) {
    const item = { kind: "timestamped", channel: 0, timestamps: null, buffer: new Uint8Array() };
    let start = 0n, scale = 0n;
    const deltas = [];
    for (const [field, wire] of r.fields()) {
      if (field === 1) item.channel = r.small();
      else if (field === 2) start = r.sfixed64();
      else if (field === 3) scale = r.int64();
      else if (field === 4) r.repeated(wire, () => r.int64(), deltas);
      else if (field === 5) item.buffer = r.bytesField();
      else r.skip(wire);
    }
    item.timestamps = new BigInt64Array(deltas.length);
    let t = start;
    deltas.forEach((delta, i) => { t = BigInt.asIntN(64, t + delta * scale); item.timestamps[i] = t; });
    return item;
  }

  function periodic(r) {
    const item = { kind: "periodic", channel: 0, start: 0n, interval: 0n, samples: 0,
                   buffer: new Uint8Array() };
    for (const [field, wire] of r.fields()) {
      if (field === 1) item.channel = r.small();
      else if (field === 2) item.start = r.sfixed64();
      else if (field === 3) item.interval = r.int64();
      else if (field === 4) item.samples = r.int32();
      else if (field === 5) item.buffer = r.bytesField();
      else r.skip(wire);
    }
    item.timestamps = new BigInt64Array(Math.max(0, item.samples));
    for (let i = 0; i < item.timestamps.length; i++) {
      item.timestamps[i] = BigInt.asIntN(64, item.start + item.interval * BigInt(i));
    }
    return item;
  }

  function row(r) {
    const item = { kind: "row", channels: [], timestamp: 0n, buffer: new Uint8Array() };
    for (const [field, wire] of r.fields()) {
      if (field === 1) r.repeated(wire, () => r.small(), item.channels);
      else if (field === 2) item.timestamp = r.sfixed64();
      else if (field === 3) item.buffer = r.bytesField();
      else r.skip(wire);
    }
    return item;
  }

  function event(r) {
    const item = { kind: "event", definition: 0, appName: "", timestamp: 0n, statusText: "",
                   rawData: [] };
    for (const [field, wire] of r.fields()) {
      if (field === 1) item.definition = r.int32();
      else if (field === 2) item.appName = r.string();
      else if (field === 3) item.timestamp = r.sfixed64();
      else if (field === 4) item.statusText = r.string();
      else if (field === 5) {
        r.repeated(wire, () => {
          r.need(8);
          const value = r.view.getFloat64(r.pos, true);
          r.pos += 8;
          return value;
        }, item.rawData);
      } else r.skip(wire);
    }
    return item;
  }

  function timeRange(r) {
    const item = { kind: "timeRange", start: 0n, end: 0n };
    for (const [field, wire] of r.fields()) {
      if (field === 1) item.start = r.sfixed64();
      else if (field === 2) item.end = r.sfixed64();
      else r.skip(wire);
    }
    return item;
  }

  const KINDS = { 3: timeRange, 4: timestamped, 5: periodic, 6: row, 7: event };

  // The items of an uncompressed StreamDataBurst, in order.
  function decodeBurst(bytes) {
    const items = [];
    const burst = new Reader(bytes);
    for (const [field, wire] of burst.fields()) {
      if (field !== 1 || wire !== 2) { burst.skip(wire); continue; }
      const data = burst.message();
      let item = null;
      for (const [kind, kindWire] of data.fields()) {
        if (kind === 2 && kindWire === 2) item = { kind: "sessionJson", text: data.string() };
        else if (KINDS[kind] && kindWire === 2) item = KINDS[kind](data.message());
        else data.skip(kindWire);
      }
      if (item === null) throw new Error("a StreamData with no data set");
      items.push(item);
    }
    return items;
  }

  // A server message: an LZ4 raw block holding one StreamDataBurst.
  function decodeMessage(bytes) { return decodeBurst(lz4Block(bytes)); }

  // --- application/vnd.mat.protobuf+chunked (the REST data endpoints) -------------------

  const LISTS = { timestamped, periodic, row, events: event }; // the list's field 1 each
  const MAX_LIST = 4 << 20; // RTA: a list MUST NOT exceed 4 MiB before compression

  // ChunkTransferHeader; start, duration and compression are differences from `previous`.
  function chunkHeader(r, previous) {
    const header = { start: previous.start, duration: previous.duration,
                     compression: previous.compression, channels: [], unpacked: 0, packed: 0 };
    for (const [field, wire] of r.fields()) {
      if (field === 1) header.start = BigInt.asIntN(64, header.start + r.sint64());
      else if (field === 2) header.duration = BigInt.asIntN(64, header.duration + r.sint64());
      else if (field === 3) r.repeated(wire, () => r.small(), header.channels);
      else if (field === 4) header.compression += r.int32();
      else if (field === 5) header.unpacked = r.int32();
      else if (field === 6) header.packed = r.int32();
      else r.skip(wire);
    }
    return header;
  }

  // Every chunk of a response body of `kind` (timestamped, periodic, row or events), each
  // {start, end, channels, items}: its header and its list's items, decoded.
  function decodeChunks(bytes, kind) {
    const read = LISTS[kind];
    if (!read) throw new Error(`unknown data kind ${kind}`);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const chunks = [];
    let pos = 0, previous = { start: 0n, duration: 0n, compression: 0 };
    while (pos < bytes.length) {
      if (pos + 4 > bytes.length) throw new Error("chunk truncated in its header length");
      const size = view.getInt32(pos, true);
      if (size < 0 || pos + 4 + size > bytes.length) throw new Error("chunk truncated in its header");
      const header = chunkHeader(new Reader(bytes.subarray(pos + 4, pos + 4 + size)), previous);
      pos += 4 + size;
      if (header.packed < 0 || pos + header.packed > bytes.length) throw new Error("chunk truncated in its payload");
      const list = payload(bytes.subarray(pos, pos + header.packed), header);
      pos += header.packed;
      const items = [];
      for (const [field, wire] of list.fields()) {
        if (field === 1 && wire === 2) items.push(read(list.message()));
        else list.skip(wire);
      }
      chunks.push({ start: header.start, end: header.start + header.duration,
                    channels: header.channels, items });
      previous = header;
    }
    return chunks;
  }

  function payload(packed, header) {
    if (header.unpacked < 0 || header.unpacked > MAX_LIST) {
      throw new Error(`chunk unpacks to ${header.unpacked} bytes: a list is at most ${MAX_LIST}`);
    }
    if (header.compression === 0 || (header.unpacked === 0 && !packed.length)) return new Reader(packed);
    if (header.compression !== 1) throw new Error(`chunk compression ${header.compression} is not LZ4 (1)`);
    const list = lz4Block(packed, header.unpacked);
    if (list.length !== header.unpacked) {
      throw new Error(`chunk unpacked to ${list.length} bytes, its header says ${header.unpacked}`);
    }
    return new Reader(list);
  }

  function varint(value, out) {
    let v = BigInt.asUintN(64, BigInt(value));
    while (v >= 0x80n) { out.push(Number(v & 0x7fn) | 0x80); v >>= 7n; }
    out.push(Number(v));
  }

  // StreamRequest{subscribe: StreamSubscription{...}}, canonical proto3 encoding.
  function encodeSubscription({ allEvents = false, allData = false, channels = [] } = {}) {
    const sub = [];
    if (allEvents) sub.push(0x08, 1);
    if (allData) sub.push(0x10, 1);
    if (channels.length) {
      const packed = [];
      channels.forEach((id) => varint(id, packed));
      sub.push(0x1a);
      varint(packed.length, sub);
      sub.push(...packed);
    }
    const out = [0x12];
    varint(sub.length, out);
    return new Uint8Array(out.concat(sub));
  }

  const DTYPES = {
    f64: [Float64Array, 8], f32: [Float32Array, 4], i64: [BigInt64Array, 8],
    u64: [BigUint64Array, 8], i32: [Int32Array, 4], u32: [Uint32Array, 4],
    i16: [Int16Array, 2], u16: [Uint16Array, 2], i8: [Int8Array, 1], u8: [Uint8Array, 1],
  };

  // Sample values (little-endian) as numbers; the dtype lives in configuration.
  function samples(buffer, dtype) {
    const [Type, width] = DTYPES[dtype] || [];
    if (!Type) throw new Error(`unknown dtype ${dtype}`);
    if (buffer.length % width) throw new Error(`${buffer.length} bytes is no whole ${dtype}`);
    const view = new DataView(buffer.buffer, buffer.byteOffset, buffer.byteLength);
    const out = new Float64Array(buffer.length / width);
    const get = {
      f64: (o) => view.getFloat64(o, true), f32: (o) => view.getFloat32(o, true),
      i64: (o) => Number(view.getBigInt64(o, true)), u64: (o) => Number(view.getBigUint64(o, true)),
      i32: (o) => view.getInt32(o, true), u32: (o) => view.getUint32(o, true),
      i16: (o) => view.getInt16(o, true), u16: (o) => view.getUint16(o, true),
      i8: (o) => view.getInt8(o), u8: (o) => view.getUint8(o),
    }[dtype];
    for (let i = 0; i < out.length; i++) out[i] = get(i * width);
    return out;
  }

  global.rta = { lz4Block, decodeBurst, decodeMessage, decodeChunks, encodeSubscription, samples,
                 DTYPES };
})(globalThis);
