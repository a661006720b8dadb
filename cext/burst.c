/* Building a StreamDataBurst and packing it into messages. See burst.h. */
#include "burst.h"

#include <stdlib.h>

#include <lz4.h>

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
    free(b->segments);
    free(b->messages);
    free(b->times);
    free(b->quotients);
    free(b->varint_bytes);
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

/* Timestamps may repeat but never go back, and each step must fit the int64 delta field
 * (the caller words the error: rtastream._columns.check_order); *regular tells whether
 * every step is the same. One pass of bit operations the compiler vectorises: a step is bad
 * when its top bit is set or the subtraction overflowed. */
static rs_status scan_times(const int64_t *t, size_t n, int *regular)
{
    uint64_t bad = 0, differ = 0, first = n > 1 ? (uint64_t)t[1] - (uint64_t)t[0] : 0;
    for (size_t i = 1; i < n; i++) {
        uint64_t a = (uint64_t)t[i], b = (uint64_t)t[i - 1], s = a - b;
        bad |= s | ((a ^ b) & (a ^ s));
        differ |= s ^ first;
    }
    *regular = !differ;
    return bad >> 63 ? RS_EORDER : RS_OK;
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

/* The delta scale: the greatest common divisor of the steps, 1 when there are none (or all
 * are 0). For regular sampling, the step itself. */
static uint64_t delta_scale(const int64_t *t, size_t n, int regular)
{
    if (regular)
        return n > 1 && step(t, 1) ? step(t, 1) : 1;
    uint64_t g = 0;
    for (size_t i = 1; i < n && g != 1; i++)
        if (step(t, i) != g) /* dividing is the slow part: skip it when nothing changes */
            g = gcd(step(t, i), g);
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
    int all_regular;
    rs_status st = scan_times(times, n, &all_regular);
    if (st != RS_OK)
        return st;
    size_t wire0 = b->wire.len, items0 = b->nitems;
    for (size_t lo = 0; lo < n; lo += RS_MAX_SAMPLES) {
        size_t m = n - lo < RS_MAX_SAMPLES ? n - lo : RS_MAX_SAMPLES;
        const int64_t *t = times + lo;
        size_t vlen = m * itemsize;
        /* The deltas are the same for every channel: encode them once. */
        int uniform = all_regular;
        if (!uniform && n > RS_MAX_SAMPLES)
            scan_times(t, m, &uniform); /* this part of it may be regular */
        uint64_t scale = delta_scale(t, m, uniform);
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
            it->regular = (int8_t)(!uniform ? -1 : m > 1 && step(t, 1) ? 1 : 0);
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

/* ---- packing: the plan --------------------------------------------------------- */

/* Grows an array of elements of `size` bytes to hold `need`; -1 when out of memory. */
static int grow(void **array, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap)
        return 0;
    size_t n = *cap ? *cap : 64;
    while (n < need)
        n *= 2;
    void *p = realloc(*array, n * size);
    if (!p)
        return -1;
    *array = p;
    *cap = n;
    return 0;
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

/* Recovers an irregular TimestampedData item's timestamps, its deltas in units of its
 * scale, and their running size as varints, from its own bytes: pieces are cut from
 * these without dividing again, and sized without encoding. */
static rs_status load_times(rs_burst *b, rs_item *it)
{
    size_t n = it->samples, at = b->nloaded;
    if (at + n > b->cap_loaded) {
        size_t cap = b->cap_loaded ? b->cap_loaded : 1024;
        while (cap < at + n)
            cap *= 2;
        int64_t *times = realloc(b->times, cap * sizeof *times);
        if (times)
            b->times = times;
        uint64_t *quotients = realloc(b->quotients, cap * sizeof *quotients);
        if (quotients)
            b->quotients = quotients;
        size_t *varint_bytes = realloc(b->varint_bytes, cap * sizeof *varint_bytes);
        if (varint_bytes)
            b->varint_bytes = varint_bytes;
        if (!times || !quotients || !varint_bytes)
            return RS_ENOMEM;
        b->cap_loaded = cap;
    }
    const uint8_t *p = b->wire.data + it->deltas, *end = b->wire.data + it->offset + it->size;
    uint64_t t = (uint64_t)it->start;
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t d = 0;
        const uint8_t *next = get_varint(p, end, &d); /* we wrote these bytes: well formed */
        total += (size_t)(next - p);
        p = next;
        t += d * (uint64_t)it->step;
        b->times[at + i] = (int64_t)t;
        b->quotients[at + i] = d;
        b->varint_bytes[at + i] = total;
    }
    it->loaded = at;
    b->nloaded = at + n;
    return RS_OK;
}

/* A piece's deltas are the item's divided by their gcd g; its scale is the item's times g,
 * or 1 when every step in it is 0 (g = 0). Regular items need none of this. */
static uint64_t piece_divisor(const rs_burst *b, const rs_item *it, size_t lo, size_t hi)
{
    const uint64_t *q = b->quotients + it->loaded;
    uint64_t g = 0;
    for (size_t i = lo + 1; i < hi && g != 1; i++)
        g = gcd(q[i], g);
    return g;
}

typedef struct {
    size_t samples;
    int64_t start;
    uint64_t scale, g;  /* timestamped */
    size_t dlen, vlen;  /* bytes of deltas (timestamped) and of values */
} piece;

static piece piece_of(const rs_burst *b, const rs_item *it, size_t lo, size_t hi)
{
    size_t m = hi - lo;
    piece pc = {m, 0, (uint64_t)it->step, 1, m, m * it->itemsize};
    if (it->kind == KIND_PERIODIC || it->regular >= 0) {
        uint64_t unit = it->kind == KIND_PERIODIC ? 1 : (uint64_t)it->regular;
        pc.start = (int64_t)((uint64_t)it->start + lo * unit * (uint64_t)it->step);
        return pc;
    }
    const uint64_t *q = b->quotients + it->loaded;
    const size_t *vb = b->varint_bytes + it->loaded;
    pc.start = b->times[it->loaded + lo];
    pc.g = piece_divisor(b, it, lo, hi);
    pc.scale = pc.g ? pc.scale * pc.g : 1;
    if (pc.g <= 1) /* the deltas as they are: their size is a difference of running sizes */
        pc.dlen = 1 + vb[hi - 1] - vb[lo];
    else
        for (size_t i = lo + 1; i < hi; i++)
            pc.dlen += varint_size(q[i] / pc.g) - 1;
    return pc;
}

static size_t piece_size(const rs_item *it, const piece *pc)
{
    if (it->kind == KIND_PERIODIC)
        return entry_size(periodic_inner(it->channel, pc->start, it->step, pc->samples, pc->vlen));
    return entry_size(timestamped_inner(it->channel, pc->start, pc->scale, pc->dlen, pc->vlen));
}

/* Writes a piece's entry up to its values, which go at the returned address. */
static uint8_t *put_piece_head(uint8_t *p, const rs_burst *b, const rs_item *it, size_t lo,
                               size_t hi, const piece *pc)
{
    size_t m = pc->samples;
    if (it->kind == KIND_PERIODIC) {
        p = put_entry_header(p, KIND_PERIODIC,
                             periodic_inner(it->channel, pc->start, it->step, m, pc->vlen));
        p = put_varint_field(p, 1, it->channel);
        p = put_fixed64_field(p, 2, (uint64_t)pc->start);
        p = put_varint_field(p, 3, (uint64_t)it->step);
        p = put_varint_field(p, 4, m);
        return put_len_header(p, 5, pc->vlen);
    }
    p = put_entry_header(p, KIND_TIMESTAMPED,
                         timestamped_inner(it->channel, pc->start, pc->scale, pc->dlen, pc->vlen));
    p = put_varint_field(p, 1, it->channel);
    p = put_fixed64_field(p, 2, (uint64_t)pc->start);
    p = put_varint_field(p, 3, pc->scale);
    p = put_len_header(p, 4, pc->dlen);
    *p++ = 0;
    if (it->regular >= 0) {
        memset(p, it->regular, m - 1);
        p += m - 1;
    } else {
        const uint64_t *q = b->quotients + it->loaded;
        for (size_t i = lo + 1; i < hi; i++)
            p = put_varint(p, pc->g > 1 ? q[i] / pc->g : q[i]);
    }
    return put_len_header(p, 5, pc->vlen);
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
            piece pc = piece_of(b, it, lo, hi);
            size_t size = piece_size(it, &pc);
            worst = size > worst ? size : worst;
        }
        if (worst <= target)
            return k;
        size_t grown = (k * worst + target - 1) / target;
        k = grown > k ? grown : k + 1;
    }
    return n;
}

static rs_status new_message(rs_burst *b)
{
    if (grow((void **)&b->messages, &b->cap_messages, b->nmessages + 1, sizeof *b->messages))
        return RS_ENOMEM;
    rs_message *msg = &b->messages[b->nmessages++];
    memset(msg, 0, sizeof *msg);
    msg->first = b->nsegments;
    return RS_OK;
}

/* Adds a segment to the last message, opening a new one if it would overflow the target.
 * Whole items right after whole items extend their run. */
static rs_status add_segment(rs_burst *b, const rs_segment *seg, size_t target)
{
    rs_message *msg = &b->messages[b->nmessages - 1];
    rs_status st;
    if (msg->len && msg->len + seg->size > target) {
        if ((st = new_message(b)) != RS_OK)
            return st;
        msg = &b->messages[b->nmessages - 1];
    }
    rs_segment *last = msg->count ? &b->segments[b->nsegments - 1] : NULL;
    if (last && seg->run_to && last->run_to == seg->run_from) {
        last->run_to = seg->run_to;
        last->size += seg->size;
    } else {
        if (grow((void **)&b->segments, &b->cap_segments, b->nsegments + 1, sizeof *seg))
            return RS_ENOMEM;
        b->segments[b->nsegments++] = *seg;
        msg->count++;
    }
    msg->len += seg->size;
    return RS_OK;
}

rs_status rs_plan(rs_burst *b, size_t target)
{
    rs_status st;
    b->nsegments = b->nmessages = b->nloaded = 0;
    if (!b->nitems)
        return RS_OK;
    if ((st = new_message(b)) != RS_OK)
        return st;
    for (size_t i = 0; i < b->nitems; i++) {
        rs_item *it = &b->items[i];
        if (it->size <= target || !splittable(it)) {
            rs_segment seg = {it->offset, it->offset + it->size, i, 0, 0, it->size};
            if ((st = add_segment(b, &seg, target)) != RS_OK)
                return st;
            if (it->kind == KIND_TIME_RANGE) {
                rs_message *msg = &b->messages[b->nmessages - 1];
                msg->has_range = 1;
                msg->range_start = it->start;
                msg->range_end = it->step;
            }
            continue;
        }
        if (it->kind == KIND_TIMESTAMPED && it->regular < 0 && (st = load_times(b, it)) != RS_OK)
            return st;
        size_t k = count_pieces(b, it, target);
        for (size_t j = 0; j < k; j++) {
            rs_segment seg = {0, 0, i, 0, 0, 0};
            piece_bounds(it->samples, k, j, &seg.lo, &seg.hi);
            piece pc = piece_of(b, it, seg.lo, seg.hi);
            seg.size = piece_size(it, &pc);
            if ((st = add_segment(b, &seg, target)) != RS_OK)
                return st;
        }
    }
    return RS_OK;
}

/* ---- packing: each message's bytes, compressed --------------------------------- */

typedef struct {
    rs_buf message;     /* a message assembled by copying */
    rs_buf stash;       /* wire bytes a piece's header covers while it is compressed in place */
    size_t stash_at;
} scratch;

static size_t values_at(const rs_item *it, size_t lo) { return it->values + lo * it->itemsize; }

/* A message that a piece leads, alone or followed by the whole items after its item, is
 * compressed where it lies: the piece's header is written over the bytes just before its
 * values (the previous piece's values, or the item's own header), kept aside meanwhile. */
static int put_in_place(rs_burst *b, const rs_message *msg, scratch *s, const uint8_t **data)
{
    const rs_segment *seg = &b->segments[msg->first];
    const rs_item *it = &b->items[seg->item];
    if (seg->run_to || (msg->count == 2 ? seg->hi != it->samples || !seg[1].run_to
                                         : msg->count != 1))
        return 0;
    piece pc = piece_of(b, it, seg->lo, seg->hi);
    size_t head = seg->size - pc.vlen, values = values_at(it, seg->lo);
    if (values - it->offset < head || buf_reserve(&s->stash, head))
        return 0;
    s->stash_at = values - head;
    s->stash.len = head;
    memcpy(s->stash.data, b->wire.data + s->stash_at, head);
    put_piece_head(b->wire.data + s->stash_at, b, it, seg->lo, seg->hi, &pc);
    *data = b->wire.data + s->stash_at;
    return 1;
}

/* Message m's bytes: in the wire when it is whole items; in place when a piece leads it
 * (unless in_place is 0: another thread may be reading the bytes before the piece); else
 * assembled in the scratch. message_done puts back what an in-place header covered. */
static rs_status message_data(rs_burst *b, size_t m, int in_place, scratch *s,
                              const uint8_t **data)
{
    const rs_message *msg = &b->messages[m];
    const rs_segment *seg = &b->segments[msg->first];
    if (msg->count == 1 && seg->run_to) {
        *data = b->wire.data + seg->run_from;
        return RS_OK;
    }
    if (in_place && put_in_place(b, msg, s, data))
        return RS_OK;
    if (buf_reserve(&s->message, msg->len))
        return RS_ENOMEM;
    uint8_t *p = s->message.data;
    for (size_t k = 0; k < msg->count; k++, seg++) {
        if (seg->run_to) {
            p = put_bytes(p, b->wire.data + seg->run_from, seg->run_to - seg->run_from);
            continue;
        }
        const rs_item *it = &b->items[seg->item];
        piece pc = piece_of(b, it, seg->lo, seg->hi);
        p = put_piece_head(p, b, it, seg->lo, seg->hi, &pc);
        p = put_bytes(p, b->wire.data + values_at(it, seg->lo), pc.vlen);
    }
    *data = s->message.data;
    return RS_OK;
}

static void message_done(rs_burst *b, scratch *s)
{
    if (s->stash.len)
        memcpy(b->wire.data + s->stash_at, s->stash.data, s->stash.len);
    s->stash.len = 0;
}

void rs_compress_messages(rs_burst *b, size_t lo, size_t hi, char *const *out, const int *cap,
                          int *size)
{
    scratch s;
    memset(&s, 0, sizeof s);
    for (size_t m = lo; m < hi; m++) {
        const uint8_t *data;
        /* The first message of a share that is not the first: the previous one, in another
         * thread's share, may hold the bytes just before it. */
        if (message_data(b, m, m > lo || lo == 0, &s, &data) != RS_OK) {
            size[m] = -1;
            break;
        }
        size[m] = LZ4_compress_default((const char *)data, out[m], (int)b->messages[m].len, cap[m]);
        message_done(b, &s);
        if (size[m] <= 0) {
            size[m] = -1;
            break;
        }
    }
    free(s.message.data);
    free(s.stash.data);
}
