/* Reading StreamDataBurst messages. See parse.h. */
#include "parse.h"

#include "wire.h"

enum { WT_START_GROUP = 3, WT_END_GROUP = 4, WT_FIXED32 = 5 };
#define KEY(field, wire_type) (((uint32_t)(field) << 3) | (uint32_t)(wire_type))
#define MAX_DEPTH 100 /* messages and groups nested, as protobuf (upb) allows */
enum { DEPTH_BURST, DEPTH_DATA, DEPTH_MEMBER }; /* StreamDataBurst, StreamData, its member */

typedef struct {
    uint32_t number;
    int type;
    uint64_t value;           /* varint or fixed64 */
    const uint8_t *payload;   /* length-delimited */
    size_t len;
} field;

/* Records why and where reading failed; NULL, or -1 from reject(), for the caller to return. */
static const uint8_t *fail(rs_reader *r, const uint8_t *at, const char *why)
{
    r->error = why;
    r->error_at = (size_t)(at - r->data);
    return NULL;
}

static int reject(rs_reader *r, const uint8_t *at, const char *why)
{
    fail(r, at, why);
    return -1;
}

static const uint8_t *next_field(rs_reader *r, const uint8_t *p, const uint8_t *end, field *f,
                                 int depth, int in_group);

/* Skips the fields of a group up to its end, which must carry the same number. (Within a
 * group protobuf lets field number 0 pass.) */
static const uint8_t *skip_group(rs_reader *r, const uint8_t *p, const uint8_t *end,
                                 uint32_t number, int depth, const uint8_t *start)
{
    if (depth > MAX_DEPTH)
        return fail(r, start, "groups nested too deep");
    while (p < end) {
        uint64_t key;
        const uint8_t *q = get_varint(p, end, &key);
        if (q && (key & 7) == WT_END_GROUP)
            return key >> 3 == number ? q : fail(r, p, "group ends with another field number");
        field f;
        if (!(p = next_field(r, p, end, &f, depth, 1)))
            return NULL;
    }
    return fail(r, start, "group without its end");
}

/* Reads one field of a message (or group) nested `depth` deep, skipping a group whole;
 * returns where the next field starts. */
static inline const uint8_t *next_field(rs_reader *r, const uint8_t *p, const uint8_t *end, field *f,
                                 int depth, int in_group)
{
    const uint8_t *start = p;
    uint64_t key, n;
    if (!(p = get_varint(p, end, &key)))
        return fail(r, start, "truncated field key");
    if (key > UINT32_MAX || p - start > 5 || (key >> 3 == 0 && !in_group))
        return fail(r, start, "invalid field key");
    f->number = (uint32_t)(key >> 3);
    f->type = (int)(key & 7);
    switch (f->type) {
    case WT_VARINT:
        if (!(p = get_varint(p, end, &f->value)))
            return fail(r, start, "truncated varint");
        return p;
    case WT_FIXED64:
        if (end - p < 8)
            return fail(r, start, "truncated fixed64 field");
        f->value = get_fixed64(p);
        return p + 8;
    case WT_FIXED32:
        if (end - p < 4)
            return fail(r, start, "truncated fixed32 field");
        return p + 4;
    case WT_LEN:
        if (!(p = get_varint(p, end, &n)) || n > (uint64_t)(end - p))
            return fail(r, start, "truncated length-delimited field");
        f->payload = p;
        f->len = (size_t)n;
        return p + n;
    case WT_START_GROUP:
        return skip_group(r, p, end, f->number, depth + 1, start);
    case WT_END_GROUP:
        return fail(r, start, "end of a group that was not started");
    default:
        return fail(r, start, "invalid wire type");
    }
}

/* Adds the number of varints in a packed field to *count; -1 if one runs past the field
 * or takes more than 10 bytes. The loops are written for the compiler to vectorise. */
static int count_varints(const uint8_t *p, size_t n, size_t *count)
{
    uint8_t any = 0;
    for (size_t i = 0; i < n; i++)
        any |= p[i];
    if (!(any & 0x80)) { /* one byte each, as the deltas of regular timestamps */
        *count += n;
        return 0;
    }
    /* Some take several bytes: none may run past the field or take more than 10. */
    if (p[n - 1] >= 0x80)
        return -1;
    size_t more = 0; /* continuation bytes, counted 255 at most to a byte */
    for (size_t i = 0; i < n; i += 255) {
        uint8_t part = 0;
        for (size_t k = i, stop = n - i < 255 ? n : i + 255; k < stop; k++)
            part = (uint8_t)(part + (p[k] >> 7));
        more += part;
    }
    uint8_t run = 0; /* high bit: 10 continuation bytes in a row somewhere */
    if (more >= 10)
        for (size_t i = 0; i + 10 <= n; i++) {
            uint8_t all = 0xFF;
            for (size_t k = 0; k < 10; k++)
                all &= p[i + k];
            run |= all;
        }
    if (run & 0x80)
        return -1;
    *count += n - more;
    return 0;
}

static size_t offset(const rs_reader *r, const uint8_t *p) { return (size_t)(p - r->data); }

/* Whether [p, p + n) is well-formed UTF-8, as protobuf requires of every string it reads
 * (and Python of a str): no overlong form, surrogate, or code point past U+10FFFF. */
static int is_utf8(const uint8_t *p, size_t n)
{
    const uint8_t *end = p + n;
    while (p < end) {
        uint8_t c = *p++;
        if (c < 0x80)
            continue;
        size_t more = c >= 0xF0 ? 3 : c >= 0xE0 ? 2 : 1;
        uint8_t lo = c == 0xE0 ? 0xA0 : c == 0xF0 ? 0x90 : 0x80; /* else overlong */
        uint8_t hi = c == 0xED ? 0x9F : c == 0xF4 ? 0x8F : 0xBF; /* else surrogate, too big */
        if (c < 0xC2 || c > 0xF4 || (size_t)(end - p) < more || p[0] < lo || p[0] > hi)
            return 0;
        for (size_t i = 1; i < more; i++)
            if ((p[i] & 0xC0) != 0x80)
                return 0;
        p += more;
    }
    return 1;
}

/* Reads the fields of the member message e->body into e; -1 on malformed input. */
static int read_member(rs_reader *r, rs_entry *e)
{
    const uint8_t *p = r->data + e->body, *end = p + e->body_len;
    if (e->kind == KIND_SESSION_JSON) {
        e->buffer = e->body;
        e->buffer_len = e->body_len;
        return is_utf8(p, e->body_len) ? 0 : reject(r, p, "a string is not UTF-8");
    }
    field f;
    while (p < end) {
        if (!(p = next_field(r, p, end, &f, DEPTH_MEMBER, 0)))
            return -1;
        uint32_t key = KEY(f.number, f.type);
        switch (e->kind) {
        case KIND_TIMESTAMPED:
        case KIND_PERIODIC:
            if (key == KEY(1, WT_VARINT))
                e->channel = (uint32_t)f.value;
            else if (key == KEY(2, WT_FIXED64))
                e->start = (int64_t)f.value;
            else if (key == KEY(3, WT_VARINT))
                e->step = (int64_t)f.value;
            else if (key == KEY(5, WT_LEN)) {
                e->buffer = offset(r, f.payload);
                e->buffer_len = f.len;
            } else if (e->kind == KIND_PERIODIC && key == KEY(4, WT_VARINT))
                e->samples = (int32_t)(uint32_t)f.value;
            else if (e->kind == KIND_TIMESTAMPED && key == KEY(4, WT_VARINT))
                e->count++;
            else if (e->kind == KIND_TIMESTAMPED && key == KEY(4, WT_LEN)
                     && count_varints(f.payload, f.len, &e->count))
                return reject(r, f.payload, "malformed packed varint");
            break;
        case KIND_ROW:
            if (key == KEY(1, WT_VARINT))
                e->count++;
            else if (key == KEY(1, WT_LEN) && count_varints(f.payload, f.len, &e->count))
                return reject(r, f.payload, "malformed packed varint");
            else if (key == KEY(2, WT_FIXED64))
                e->start = (int64_t)f.value;
            else if (key == KEY(3, WT_LEN)) {
                e->buffer = offset(r, f.payload);
                e->buffer_len = f.len;
            }
            break;
        case KIND_EVENT:
            if (key == KEY(1, WT_VARINT))
                e->definition = (int32_t)(uint32_t)f.value;
            else if ((key == KEY(2, WT_LEN) || key == KEY(4, WT_LEN))
                     && !is_utf8(f.payload, f.len)) /* even one a later one replaces */
                return reject(r, f.payload, "a string is not UTF-8");
            else if (key == KEY(2, WT_LEN)) {
                e->text = offset(r, f.payload);
                e->text_len = f.len;
            } else if (key == KEY(3, WT_FIXED64))
                e->start = (int64_t)f.value;
            else if (key == KEY(4, WT_LEN)) {
                e->buffer = offset(r, f.payload);
                e->buffer_len = f.len;
            } else if (key == KEY(5, WT_FIXED64))
                e->count++;
            else if (key == KEY(5, WT_LEN)) {
                if (f.len % 8)
                    return reject(r, f.payload, "packed doubles not a multiple of 8 bytes");
                e->count += f.len / 8;
            }
            break;
        case KIND_TIME_RANGE:
            if (key == KEY(1, WT_FIXED64))
                e->start = (int64_t)f.value;
            else if (key == KEY(2, WT_FIXED64))
                e->step = (int64_t)f.value;
            break;
        }
    }
    return 0;
}

void rs_reader_init(rs_reader *r, const uint8_t *data, size_t len)
{
    memset(r, 0, sizeof *r);
    r->data = data;
    r->len = len;
}

int rs_read_entry(rs_reader *r, rs_entry *e)
{
    const uint8_t *p = r->data + r->pos, *end = r->data + r->len;
    field f;
    while (p < end) {
        if (!(p = next_field(r, p, end, &f, DEPTH_BURST, 0)))
            return -1;
        if (KEY(f.number, f.type) != KEY(1, WT_LEN))
            continue; /* unknown: skipped */
        r->pos = offset(r, p);
        /* StreamData: a oneof of length-delimited members 2..7; the last one set wins, but
         * protobuf reads every one it meets and refuses the burst if any is malformed. */
        memset(e, 0, sizeof *e);
        const uint8_t *q = f.payload, *stop = f.payload + f.len;
        field m;
        while (q < stop) {
            if (!(q = next_field(r, q, stop, &m, DEPTH_DATA, 0)))
                return -1;
            if (m.type != WT_LEN || m.number < KIND_SESSION_JSON || m.number > KIND_EVENT)
                continue;
            if ((int)m.number == e->kind)
                return reject(r, m.payload, "a StreamData sets the same member twice");
            memset(e, 0, sizeof *e);
            e->kind = (int)m.number;
            e->body = offset(r, m.payload);
            e->body_len = m.len;
            if (read_member(r, e))
                return -1;
        }
        return 1;
    }
    r->pos = r->len;
    return 0;
}

void rs_collect(const rs_reader *r, const rs_entry *e, int number, int fixed, uint64_t *out)
{
    rs_reader scratch = *r; /* next_field reports errors into it; there are none: e was read */
    const uint8_t *p = r->data + e->body, *end = p + e->body_len;
    size_t k = 0;
    field f;
    while (p < end && k < e->count) {
        if (!(p = next_field(&scratch, p, end, &f, DEPTH_MEMBER, 0)))
            return;
        if (f.number != (uint32_t)number)
            continue;
        if (fixed && f.type == WT_FIXED64)
            out[k++] = f.value;
        else if (!fixed && f.type == WT_VARINT)
            out[k++] = f.value;
        else if (f.type == WT_LEN) {
            const uint8_t *q = f.payload, *stop = f.payload + f.len;
            while (q < stop && k < e->count) {
                if (fixed) {
                    out[k++] = get_fixed64(q);
                    q += 8;
                } else if (!(q = get_varint(q, stop, &out[k++])))
                    return;
            }
        }
    }
}

int64_t rs_lz4_size(const uint8_t *src, size_t n, size_t cap)
{
    const uint8_t *p = src, *end = src + n;
    size_t size = 0;
    while (p < end) {
        unsigned token = *p++, more;
        size_t literals = token >> 4, match = token & 15;
        if (literals == 15)
            do {
                if (p == end)
                    return -1;
                literals += more = *p++;
            } while (more == 255);
        if ((size_t)(end - p) < literals)
            return -1;
        p += literals;
        size += literals;
        if (p == end) /* the last sequence holds literals only */
            break;
        if (end - p < 2)
            return -1;
        p += 2; /* the match offset */
        if (match == 15)
            do {
                if (p == end)
                    return -1;
                match += more = *p++;
            } while (more == 255);
        size += match + 4;
        if (size > cap)
            return -1;
    }
    return size > cap ? -1 : (int64_t)size;
}
