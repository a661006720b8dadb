/* Building a StreamDataBurst and packing it into messages. See burst.h. */
#include "burst.h"

#include <stdlib.h>

#include "wire.h"

/* ---- growable buffers ------------------------------------------------------------ */

static int buf_grow(rs_buf *b, size_t extra)
{
    size_t need = b->len + extra;
    size_t cap = b->cap ? b->cap : 4096;
    if (need < b->len)
        return -1;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    uint8_t *data = realloc(b->data, cap);
    if (!data)
        return -1;
    b->data = data;
    b->cap = cap;
    return 0;
}

static inline int buf_reserve(rs_buf *b, size_t extra)
{
    return b->cap - b->len >= extra ? 0 : buf_grow(b, extra);
}

static int items_reserve(rs_burst *b, size_t extra)
{
    size_t need = b->nitems + extra;
    if (need <= b->cap_items)
        return 0;
    size_t cap = b->cap_items ? b->cap_items * 2 : 64;
    while (cap < need)
        cap *= 2;
    rs_item *items = realloc(b->items, cap * sizeof *items);
    if (!items)
        return -1;
    b->items = items;
    b->cap_items = cap;
    return 0;
}

/* Appends a record for an entry of `size` bytes about to be written at the end of wire.
 * The caller has reserved room for both. */
static rs_item *push_item(rs_burst *b, int kind, size_t size)
{
    rs_item *it = &b->items[b->nitems++];
    memset(it, 0, sizeof *it);
    it->kind = (uint8_t)kind;
    it->offset = b->wire.len;
    it->size = size;
    return it;
}

/* Reserves room for one more entry of `size` bytes and its record. */
static rs_status reserve_entry(rs_burst *b, size_t size)
{
    if (size > RS_MAX_MESSAGE)
        return RS_ETOOLARGE;
    if (buf_reserve(&b->wire, size) || items_reserve(b, 1))
        return RS_ENOMEM;
    return RS_OK;
}

void rs_burst_init(rs_burst *b) { memset(b, 0, sizeof *b); }

void rs_burst_free(rs_burst *b)
{
    free(b->wire.data);
    free(b->items);
    free(b->deltas.data);
    free(b->message.data);
    free(b->times);
    free(b->quotients);
    rs_burst_init(b);
}

void rs_burst_clear(rs_burst *b)
{
    b->wire.len = 0;
    b->nitems = 0;
}

/* ---- TimestampedData ------------------------------------------------------------- */

static inline uint64_t step(const int64_t *t, size_t i)
{
    return (uint64_t)t[i] - (uint64_t)t[i - 1];
}

/* Timestamps may repeat but never go back, and each step must fit the int64 delta field.
 * (The caller words the error: rtastream._columns.check_order.) */
static rs_status check_times(const int64_t *t, size_t n)
{
    for (size_t i = 1; i < n; i++)
        if (t[i] < t[i - 1] || step(t, i) > (uint64_t)INT64_MAX)
            return RS_EORDER;
    return RS_OK;
}

static uint64_t gcd(uint64_t a, uint64_t b)
{
    while (b) {
        uint64_t r = a % b;
        a = b;
        b = r;
    }
    return a;
}

/* The delta scale: the greatest common divisor of the steps, 1 when there are none.
 * *uniform tells whether every step is the same (regular sampling: no division needed). */
static uint64_t delta_scale(const int64_t *t, size_t n, int *uniform)
{
    uint64_t g = 0;
    *uniform = 1;
    for (size_t i = 1; i < n; i++) {
        uint64_t s = step(t, i);
        *uniform &= s == step(t, 1);
        if (g != 1)
            g = gcd(s, g);
    }
    return g ? g : 1;
}

/* Packed deltas: 0, then each step divided by the scale. Room for 10 bytes a sample. */
static size_t put_deltas(uint8_t *out, const int64_t *t, size_t n, uint64_t scale, int uniform)
{
    uint8_t *p = out;
    *p++ = 0;
    if (uniform) { /* every delta is 1 (or 0 when all steps are 0): one byte each */
        if (n > 1)
            memset(p, step(t, 1) ? 1 : 0, n - 1);
        return n;
    }
    for (size_t i = 1; i < n; i++)
        p = put_varint(p, scale == 1 ? step(t, i) : step(t, i) / scale);
    return (size_t)(p - out);
}

static size_t timestamped_inner(uint32_t channel, int64_t start, uint64_t scale, size_t dlen,
                                size_t vlen)
{
    return varint_field_size(channel) + fixed64_field_size((uint64_t)start) +
           varint_field_size(scale) + len_field_size(dlen) + len_field_size(vlen);
}

/* Writes one TimestampedData entry; returns the end. *dpos and *vpos get where the
 * deltas and the values start. */
static uint8_t *put_timestamped(uint8_t *p, uint32_t channel, int64_t start, uint64_t scale,
                                const uint8_t *deltas, size_t dlen, const uint8_t *values,
                                size_t vlen, uint8_t **dpos, uint8_t **vpos)
{
    p = put_entry_header(p, KIND_TIMESTAMPED,
                         timestamped_inner(channel, start, scale, dlen, vlen));
    p = put_varint_field(p, 1, channel);
    p = put_fixed64_field(p, 2, (uint64_t)start);
    p = put_varint_field(p, 3, scale);
    p = put_len_header(p, 4, dlen);
    *dpos = p;
    p = put_bytes(p, deltas, dlen);
    p = put_len_header(p, 5, vlen);
    *vpos = p;
    return put_bytes(p, values, vlen);
}

rs_status rs_add_timestamped(rs_burst *b, const uint32_t *channels, size_t nchannels,
                             const int64_t *times, size_t n, const uint8_t *values,
                             size_t itemsize)
{
    rs_status st = check_times(times, n);
    if (st != RS_OK)
        return st;
    size_t wire0 = b->wire.len, items0 = b->nitems;
    for (size_t lo = 0; lo < n; lo += RS_MAX_SAMPLES) {
        size_t m = n - lo < RS_MAX_SAMPLES ? n - lo : RS_MAX_SAMPLES;
        const int64_t *t = times + lo;
        size_t vlen = m * itemsize;
        /* The deltas are the same for every channel: encode them once. */
        int uniform;
        uint64_t scale = delta_scale(t, m, &uniform);
        b->deltas.len = 0;
        if (buf_reserve(&b->deltas, 10 * m))
            goto nomem;
        size_t dlen = put_deltas(b->deltas.data, t, m, scale, uniform);
        size_t total = 0;
        for (size_t c = 0; c < nchannels; c++)
            total += entry_size(timestamped_inner(channels[c], t[0], scale, dlen, vlen));
        if (buf_reserve(&b->wire, total) || items_reserve(b, nchannels))
            goto nomem;
        for (size_t c = 0; c < nchannels; c++) {
            size_t size = entry_size(timestamped_inner(channels[c], t[0], scale, dlen, vlen));
            rs_item *it = push_item(b, KIND_TIMESTAMPED, size);
            uint8_t *dpos, *vpos, *base = b->wire.data;
            put_timestamped(base + b->wire.len, channels[c], t[0], scale, b->deltas.data, dlen,
                            values + (c * n + lo) * itemsize, vlen, &dpos, &vpos);
            it->itemsize = (uint8_t)itemsize;
            it->channel = channels[c];
            it->samples = (uint32_t)m;
            it->start = t[0];
            it->step = (int64_t)scale;
            it->deltas = (size_t)(dpos - base);
            it->values = (size_t)(vpos - base);
            b->wire.len += size;
        }
    }
    return RS_OK;
nomem:
    b->wire.len = wire0;
    b->nitems = items0;
    return RS_ENOMEM;
}

/* ---- PeriodicData ---------------------------------------------------------------- */

static size_t periodic_inner(uint32_t channel, int64_t start, int64_t interval, size_t n,
                             size_t vlen)
{
    return varint_field_size(channel) + fixed64_field_size((uint64_t)start) +
           varint_field_size((uint64_t)interval) + varint_field_size(n) + len_field_size(vlen);
}

static uint8_t *put_periodic(uint8_t *p, uint32_t channel, int64_t start, int64_t interval,
                             size_t n, const uint8_t *values, size_t vlen, uint8_t **vpos)
{
    p = put_entry_header(p, KIND_PERIODIC, periodic_inner(channel, start, interval, n, vlen));
    p = put_varint_field(p, 1, channel);
    p = put_fixed64_field(p, 2, (uint64_t)start);
    p = put_varint_field(p, 3, (uint64_t)interval);
    p = put_varint_field(p, 4, n);
    p = put_len_header(p, 5, vlen);
    *vpos = p;
    return put_bytes(p, values, vlen);
}

rs_status rs_add_periodic(rs_burst *b, uint32_t channel, int64_t start, int64_t interval,
                          const uint8_t *values, size_t n, size_t itemsize)
{
    if (!n)
        return RS_OK;
    /* The last sample's time, start + (n - 1) * interval, must fit int64 (interval > 0). */
    uint64_t room = (uint64_t)INT64_MAX - (uint64_t)start;
    if ((uint64_t)(n - 1) > room / (uint64_t)interval)
        return RS_EOVERFLOW;
    size_t wire0 = b->wire.len, items0 = b->nitems;
    for (size_t lo = 0; lo < n; lo += RS_MAX_SAMPLES) {
        size_t m = n - lo < RS_MAX_SAMPLES ? n - lo : RS_MAX_SAMPLES;
        int64_t t0 = (int64_t)((uint64_t)start + (uint64_t)lo * (uint64_t)interval);
        size_t vlen = m * itemsize;
        size_t size = entry_size(periodic_inner(channel, t0, interval, m, vlen));
        if (reserve_entry(b, size) != RS_OK) {
            b->wire.len = wire0;
            b->nitems = items0;
            return RS_ENOMEM;
        }
        rs_item *it = push_item(b, KIND_PERIODIC, size);
        uint8_t *vpos, *base = b->wire.data;
        put_periodic(base + b->wire.len, channel, t0, interval, m, values + lo * itemsize, vlen,
                     &vpos);
        it->itemsize = (uint8_t)itemsize;
        it->channel = channel;
        it->samples = (uint32_t)m;
        it->start = t0;
        it->step = interval;
        it->values = (size_t)(vpos - base);
        b->wire.len += size;
    }
    return RS_OK;
}

/* ---- RowData, Event, StreamTimeRange, session JSON ------------------------------- */

rs_status rs_add_row(rs_burst *b, const uint32_t *channels, size_t nchannels, int64_t time,
                     const uint8_t *buffer, size_t len, size_t *size)
{
    size_t ids = 0;
    for (size_t c = 0; c < nchannels; c++)
        ids += varint_size(channels[c]);
    size_t inner = len_field_size(ids) + fixed64_field_size((uint64_t)time) + len_field_size(len);
    *size = entry_size(inner);
    rs_status st = reserve_entry(b, *size);
    if (st != RS_OK)
        return st;
    push_item(b, KIND_ROW, *size);
    uint8_t *p = put_entry_header(b->wire.data + b->wire.len, KIND_ROW, inner);
    if (ids) {
        p = put_len_header(p, 1, ids);
        for (size_t c = 0; c < nchannels; c++)
            p = put_varint(p, channels[c]);
    }
    p = put_fixed64_field(p, 2, (uint64_t)time);
    put_len_field(p, 3, buffer, len);
    b->wire.len += *size;
    return RS_OK;
}

rs_status rs_add_event(rs_burst *b, int32_t definition, const uint8_t *app, size_t app_len,
                       int64_t time, const uint8_t *status, size_t status_len,
                       const double *raw, size_t nraw, size_t *size)
{
    /* int32 is sign-extended to 64 bits on the wire: a negative id takes 10 bytes. */
    uint64_t id = (uint64_t)(int64_t)definition;
    size_t inner = varint_field_size(id) + len_field_size(app_len) +
                   fixed64_field_size((uint64_t)time) + len_field_size(status_len) +
                   len_field_size(8 * nraw);
    *size = entry_size(inner);
    rs_status st = reserve_entry(b, *size);
    if (st != RS_OK)
        return st;
    push_item(b, KIND_EVENT, *size);
    uint8_t *p = put_entry_header(b->wire.data + b->wire.len, KIND_EVENT, inner);
    p = put_varint_field(p, 1, id);
    p = put_len_field(p, 2, app, app_len);
    p = put_fixed64_field(p, 3, (uint64_t)time);
    p = put_len_field(p, 4, status, status_len);
    if (nraw) {
        p = put_len_header(p, 5, 8 * nraw);
        for (size_t i = 0; i < nraw; i++) {
            uint64_t bits;
            memcpy(&bits, &raw[i], 8);
            p = put_fixed64(p, bits);
        }
    }
    b->wire.len += *size;
    return RS_OK;
}

rs_status rs_add_time_range(rs_burst *b, int64_t start, int64_t end)
{
    size_t inner = fixed64_field_size((uint64_t)start) + fixed64_field_size((uint64_t)end);
    size_t size = entry_size(inner);
    rs_status st = reserve_entry(b, size);
    if (st != RS_OK)
        return st;
    rs_item *it = push_item(b, KIND_TIME_RANGE, size);
    it->start = start;
    it->step = end;
    uint8_t *p = put_entry_header(b->wire.data + b->wire.len, KIND_TIME_RANGE, inner);
    p = put_fixed64_field(p, 1, (uint64_t)start);
    put_fixed64_field(p, 2, (uint64_t)end);
    b->wire.len += size;
    return RS_OK;
}

rs_status rs_add_session_json(rs_burst *b, const uint8_t *text, size_t len, size_t *size)
{
    *size = entry_size(len);
    rs_status st = reserve_entry(b, *size);
    if (st != RS_OK)
        return st;
    push_item(b, KIND_SESSION_JSON, *size);
    uint8_t *p = put_entry_header(b->wire.data + b->wire.len, KIND_SESSION_JSON, len);
    put_bytes(p, text, len);
    b->wire.len += *size;
    return RS_OK;
}

/* ---- packing --------------------------------------------------------------------- */

void rs_pack_begin(rs_packer *pk, size_t target)
{
    memset(pk, 0, sizeof *pk);
    pk->target = target;
}

static int splittable(const rs_item *it)
{
    return (it->kind == KIND_TIMESTAMPED || it->kind == KIND_PERIODIC) && it->samples > 1;
}

/* Samples [lo, hi) of piece j when an item of n samples is cut into k pieces. */
static void piece_bounds(size_t n, size_t k, size_t j, size_t *lo, size_t *hi)
{
    *lo = n * j / k;
    *hi = n * (j + 1) / k;
}

/* Recovers a TimestampedData item's timestamps and its deltas (in units of its scale)
 * from its own bytes: pieces are cut from these without dividing again. */
static rs_status load_times(rs_burst *b, const rs_item *it)
{
    if (b->times_cap < it->samples) {
        int64_t *times = realloc(b->times, it->samples * sizeof *times);
        uint64_t *quotients = realloc(b->quotients, it->samples * sizeof *quotients);
        if (times)
            b->times = times;
        if (quotients)
            b->quotients = quotients;
        if (!times || !quotients)
            return RS_ENOMEM;
        b->times_cap = it->samples;
    }
    const uint8_t *p = b->wire.data + it->deltas, *end = b->wire.data + it->offset + it->size;
    uint64_t t = (uint64_t)it->start;
    for (size_t i = 0; i < it->samples; i++) {
        uint64_t d = 0;
        p = get_varint(p, end, &d); /* we wrote these bytes: they are well formed */
        t += d * (uint64_t)it->step;
        b->times[i] = (int64_t)t;
        b->quotients[i] = d;
    }
    return RS_OK;
}

/* A piece's deltas are the item's divided by their gcd g; its scale is the item's times g,
 * or 1 when every step in it is 0. */
static uint64_t piece_divisor(const rs_burst *b, size_t lo, size_t hi)
{
    uint64_t g = 0;
    for (size_t i = lo + 1; i < hi && g != 1; i++)
        g = gcd(b->quotients[i], g);
    return g;
}

static size_t piece_deltas(const rs_burst *b, size_t lo, size_t hi, uint64_t g, uint8_t *out)
{
    size_t size = 1;
    if (out)
        *out++ = 0;
    for (size_t i = lo + 1; i < hi; i++) {
        uint64_t d = g > 1 ? b->quotients[i] / g : b->quotients[i];
        size += varint_size(d);
        if (out)
            out = put_varint(out, d);
    }
    return size;
}

static uint64_t piece_scale(const rs_item *it, uint64_t g)
{
    return g ? (uint64_t)it->step * g : 1;
}

/* Encoded size of samples [lo, hi) of an item, as an entry of its own. */
static size_t piece_size(const rs_burst *b, const rs_item *it, size_t lo, size_t hi)
{
    size_t m = hi - lo, vlen = m * it->itemsize;
    if (it->kind == KIND_PERIODIC) {
        int64_t t0 = (int64_t)((uint64_t)it->start + (uint64_t)lo * (uint64_t)it->step);
        return entry_size(periodic_inner(it->channel, t0, it->step, m, vlen));
    }
    uint64_t g = piece_divisor(b, lo, hi);
    size_t dlen = piece_deltas(b, lo, hi, g, NULL);
    return entry_size(timestamped_inner(it->channel, b->times[lo], piece_scale(it, g), dlen, vlen));
}

/* Appends samples [lo, hi) of an item to the message scratch as an entry of its own. */
static rs_status put_piece(rs_burst *b, const rs_item *it, size_t lo, size_t hi, size_t size)
{
    size_t m = hi - lo, vlen = m * it->itemsize;
    const uint8_t *values = b->wire.data + it->values + lo * it->itemsize;
    uint8_t *dpos, *vpos;
    if (buf_reserve(&b->message, size))
        return RS_ENOMEM;
    uint8_t *p = b->message.data + b->message.len;
    if (it->kind == KIND_PERIODIC) {
        int64_t t0 = (int64_t)((uint64_t)it->start + (uint64_t)lo * (uint64_t)it->step);
        put_periodic(p, it->channel, t0, it->step, m, values, vlen, &vpos);
    } else {
        uint64_t g = piece_divisor(b, lo, hi);
        b->deltas.len = 0;
        if (buf_reserve(&b->deltas, 10 * m))
            return RS_ENOMEM;
        size_t dlen = piece_deltas(b, lo, hi, g, b->deltas.data);
        put_timestamped(p, it->channel, b->times[lo], piece_scale(it, g), b->deltas.data, dlen,
                        values, vlen, &dpos, &vpos);
    }
    b->message.len += size;
    return RS_OK;
}

/* Even pieces within the target (or single samples). From k = size / target, a miss grows
 * k in proportion to how far the largest piece overshot, so the search takes few steps. */
static size_t count_pieces(const rs_burst *b, const rs_item *it, size_t target)
{
    size_t n = it->samples;
    size_t k = (it->size + target - 1) / target;
    while (k < n) {
        size_t worst = 0, lo, hi;
        for (size_t j = 0; j < k; j++) {
            piece_bounds(n, k, j, &lo, &hi);
            size_t size = piece_size(b, it, lo, hi);
            worst = size > worst ? size : worst;
        }
        if (worst <= target)
            return k;
        size_t grown = (k * worst + target - 1) / target;
        k = grown > k ? grown : k + 1;
    }
    return n;
}

static rs_status append_wire(rs_burst *b, size_t from, size_t to)
{
    if (buf_reserve(&b->message, to - from))
        return RS_ENOMEM;
    memcpy(b->message.data + b->message.len, b->wire.data + from, to - from);
    b->message.len += to - from;
    return RS_OK;
}

rs_status rs_pack_next(rs_burst *b, rs_packer *pk, rs_message *out)
{
    size_t size = 0, run_from = 0, run_to = 0;
    int scratch = 0; /* the message is being assembled in b->message */
    rs_status st;
    memset(out, 0, sizeof *out);
    b->message.len = 0;
    while (pk->item < b->nitems) {
        const rs_item *it = &b->items[pk->item];
        if (!pk->pieces && (it->size <= pk->target || !splittable(it))) {
            if (size && size + it->size > pk->target)
                break;
            if (scratch) {
                if ((st = append_wire(b, it->offset, it->offset + it->size)) != RS_OK)
                    return st;
            } else {
                if (!size)
                    run_from = it->offset;
                run_to = it->offset + it->size;
            }
            if (it->kind == KIND_TIME_RANGE) {
                out->has_range = 1;
                out->range_start = it->start;
                out->range_end = it->step;
            }
            size += it->size;
            pk->item++;
            continue;
        }
        if (!pk->pieces) {
            if (it->kind == KIND_TIMESTAMPED && (st = load_times(b, it)) != RS_OK)
                return st;
            pk->pieces = count_pieces(b, it, pk->target);
            pk->piece = 0;
        }
        size_t lo, hi;
        piece_bounds(it->samples, pk->pieces, pk->piece, &lo, &hi);
        size_t psize = piece_size(b, it, lo, hi);
        if (size && size + psize > pk->target)
            break;
        if (!scratch) {
            scratch = 1;
            if (size && (st = append_wire(b, run_from, run_to)) != RS_OK)
                return st;
        }
        if ((st = put_piece(b, it, lo, hi, psize)) != RS_OK)
            return st;
        size += psize;
        if (++pk->piece == pk->pieces) {
            pk->pieces = 0;
            pk->item++;
        }
    }
    out->data = scratch ? b->message.data : b->wire.data + run_from;
    out->len = size;
    return RS_OK;
}
