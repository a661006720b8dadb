/* Protobuf wire-format primitives: the only place that knows how bytes are laid out.
 *
 * Every field number in the RTA schema is below 16, so every tag is one byte.
 * Lengths and integers are varints; sfixed64 and double are 8 little-endian bytes.
 */
#ifndef RTASTREAM_WIRE_H
#define RTASTREAM_WIRE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

enum { WT_VARINT = 0, WT_FIXED64 = 1, WT_LEN = 2 };
#define TAG(field, wire_type) ((uint8_t)(((field) << 3) | (wire_type)))

/* StreamDataBurst.data and the StreamData oneof members. */
#define TAG_BURST_DATA TAG(1, WT_LEN)
enum {
    KIND_SESSION_JSON = 2,
    KIND_TIME_RANGE = 3,
    KIND_TIMESTAMPED = 4,
    KIND_PERIODIC = 5,
    KIND_ROW = 6,
    KIND_EVENT = 7,
};

static inline size_t varint_size(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

static inline uint8_t *put_varint(uint8_t *p, uint64_t v)
{
    while (v >= 0x80) {
        *p++ = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    *p++ = (uint8_t)v;
    return p;
}

/* Reads one varint from [p, end); returns NULL if it runs past end. */
static inline const uint8_t *get_varint(const uint8_t *p, const uint8_t *end, uint64_t *v)
{
    if (p < end && *p < 0x80) { /* one byte: tags, short lengths, small deltas */
        *v = *p;
        return p + 1;
    }
    uint64_t r = 0;
    for (unsigned shift = 0; p < end && shift < 64; shift += 7) {
        uint8_t b = *p++;
        r |= (uint64_t)(b & 0x7F) << shift;
        if (!(b & 0x80)) {
            *v = r;
            return p;
        }
    }
    return NULL;
}

static inline uint8_t *put_fixed64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
    return p + 8;
}

static inline uint64_t get_fixed64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

/* Copies n bytes. Up to 32 (the fields and value of a one-sample item, short texts) take two
 * overlapping loads and stores instead of a call to memcpy, which would cost more than the
 * copy. */
static inline uint8_t *put_bytes(uint8_t *p, const void *src, size_t n)
{
    const uint8_t *s = src;
    if (n <= 16) {
        if (n >= 8) {
            uint64_t head, tail;
            memcpy(&head, s, 8);
            memcpy(&tail, s + n - 8, 8);
            memcpy(p, &head, 8);
            memcpy(p + n - 8, &tail, 8);
        } else if (n >= 4) {
            uint32_t head, tail;
            memcpy(&head, s, 4);
            memcpy(&tail, s + n - 4, 4);
            memcpy(p, &head, 4);
            memcpy(p + n - 4, &tail, 4);
        } else if (n) {
            p[0] = s[0];
            p[n / 2] = s[n / 2];
            p[n - 1] = s[n - 1];
        }
    } else if (n <= 32) {
        uint8_t head[16], tail[16];
        memcpy(head, s, 16);
        memcpy(tail, s + n - 16, 16);
        memcpy(p, head, 16);
        memcpy(p + n - 16, tail, 16);
    } else {
        memcpy(p, s, n);
    }
    return p + n;
}

/* Sizes of whole fields, tag included. Proto3 omits fields holding their default. */
static inline size_t varint_field_size(uint64_t v) { return v ? 1 + varint_size(v) : 0; }
static inline size_t fixed64_field_size(uint64_t v) { return v ? 9 : 0; }
static inline size_t len_field_size(size_t n) { return n ? 1 + varint_size(n) + n : 0; }

static inline uint8_t *put_varint_field(uint8_t *p, int field, uint64_t v)
{
    if (!v)
        return p;
    *p++ = TAG(field, WT_VARINT);
    return put_varint(p, v);
}

static inline uint8_t *put_fixed64_field(uint8_t *p, int field, uint64_t v)
{
    if (!v)
        return p;
    *p++ = TAG(field, WT_FIXED64);
    return put_fixed64(p, v);
}

/* Tag and length of a length-delimited field whose n payload bytes follow. */
static inline uint8_t *put_len_header(uint8_t *p, int field, size_t n)
{
    *p++ = TAG(field, WT_LEN);
    return put_varint(p, n);
}

static inline uint8_t *put_len_field(uint8_t *p, int field, const void *src, size_t n)
{
    if (!n)
        return p;
    return put_bytes(put_len_header(p, field, n), src, n);
}

/* One StreamDataBurst entry: data { <kind> { inner } }. A set oneof member is always
 * written, even when empty. */
static inline size_t entry_size(size_t inner)
{
    size_t data = 1 + varint_size(inner) + inner;
    return 1 + varint_size(data) + data;
}

static inline uint8_t *put_entry_header(uint8_t *p, int kind, size_t inner)
{
    p = put_len_header(p, 1, 1 + varint_size(inner) + inner);
    return put_len_header(p, kind, inner);
}

#endif
