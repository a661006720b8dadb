/* Building a StreamDataBurst and packing it into messages. See burst.h. */
#include "burst.h"

#include <stdlib.h>

#include <lz4.h>

#include "parse.h"
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

static inline int items_reserve(rs_burst *b, size_t extra)
{
    if (b->cap_items - b->nitems >= extra)
        return 0;
    return grow((void **)&b->items, &b->cap_items, b->nitems + extra, sizeof *b->items);
}

/* Reserves room for one more entry of `size` bytes and its record. */
static inline rs_status reserve_entry(rs_burst *b, size_t size)
{
    if (size > RS_MAX_MESSAGE)
        return RS_ETOOLARGE;
    if (buf_reserve(&b->wire, size) || items_reserve(b, 1))
        return RS_ENOMEM;
    return RS_OK;
}

/* Takes the next `size` bytes of wire for an entry and records it (room was reserved for
 * both); returns where to write the entry. */
static inline uint8_t *claim_entry(rs_burst *b, int kind, size_t size, int regular)
{
    b->items[b->nitems++] = (rs_item){b->wire.len, (uint32_t)size, (uint8_t)kind, (int8_t)regular};
    uint8_t *p = b->wire.data + b->wire.len;
    b->wire.len += size;
    return p;
}

/* Drops what a failing call added (the wire was wire_len bytes and held nitems items before
 * it): a call adds everything or nothing. */
static rs_status roll_back(rs_burst *b, size_t wire_len, size_t nitems, rs_status st)
{
    b->wire.len = wire_len;
    b->nitems = nitems;
    return st;
}

void rs_burst_init(rs_burst *b) { memset(b, 0, sizeof *b); }

void rs_burst_free(rs_burst *b)
{
    free(b->wire.data);
    free(b->items);
    free(b->shared.data);
    free(b->series);
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

/* Fields 2 to 4 of a TimestampedData: start, scale, and the header of the dlen bytes of
 * deltas that follow. At most TIMESTAMPED_FIELDS bytes. */
#define TIMESTAMPED_FIELDS (9 + 11 + 6)
static uint8_t *put_timestamped_fields(uint8_t *p, int64_t start, uint64_t scale, size_t dlen)
{
    p = put_fixed64_field(p, 2, (uint64_t)start);
    p = put_varint_field(p, 3, scale);
    return put_len_header(p, 4, dlen);
}

/* What follows the channel id in the TimestampedData entries of one call (fields 2 to 4,
 * and the values' header), the same for all its channels: into b->shared, as *tail, *len. */
static rs_status put_tail(rs_burst *b, const int64_t *t, size_t n, uint64_t scale, int uniform,
                          size_t vlen, const uint8_t **tail, size_t *len)
{
    if (buf_reserve(&b->shared, TIMESTAMPED_FIELDS + 10 * n + 6))
        return RS_ENOMEM;
    /* The deltas' length is known once they are written: the fields go in front of them. */
    uint8_t *deltas = b->shared.data + TIMESTAMPED_FIELDS, fields[TIMESTAMPED_FIELDS];
    size_t dlen = put_deltas(deltas, t, n, scale, uniform);
    size_t flen = (size_t)(put_timestamped_fields(fields, t[0], scale, dlen) - fields);
    *tail = deltas - flen;
    memcpy(deltas - flen, fields, flen);
    *len = (size_t)(put_len_header(deltas + dlen, 5, vlen) - *tail);
    return RS_OK;
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
        size_t vlen = m * itemsize, tlen;
        int uniform = all_regular;
        if (!uniform && n > RS_MAX_SAMPLES)
            scan_times(t, m, &uniform); /* this part of it may be regular */
        int regular = !uniform ? -1 : m > 1 && step(t, 1) ? 1 : 0;
        const uint8_t *tail;
        st = put_tail(b, t, m, delta_scale(t, m, uniform), uniform, vlen, &tail, &tlen);
        if (st != RS_OK)
            return roll_back(b, wire0, items0, st);
        size_t most = entry_size(6 + tlen + vlen); /* with the longest channel id field */
        if (nchannels > SIZE_MAX / most || buf_reserve(&b->wire, nchannels * most) ||
            items_reserve(b, nchannels))
            return roll_back(b, wire0, items0, RS_ENOMEM);
        /* Entries differ only by their channel id, and their headers only by its size: a
         * header is encoded once per size. Locals, not b's fields, since every byte written
         * could alias them for the compiler. */
        uint8_t *base = b->wire.data, *p = base + b->wire.len, head[8] = {0};
        rs_item *rec = b->items + b->nitems;
        size_t id_field = SIZE_MAX, size = 0, hlen = 0;
        for (size_t c = 0; c < nchannels; c++) {
            if (varint_field_size(channels[c]) != id_field) {
                id_field = varint_field_size(channels[c]);
                size_t inner = id_field + tlen + vlen;
                size = entry_size(inner); /* under 1 MiB: a header of at most 8 bytes */
                hlen = (size_t)(put_entry_header(head, KIND_TIMESTAMPED, inner) - head);
            }
            *rec++ = (rs_item){(size_t)(p - base), (uint32_t)size, KIND_TIMESTAMPED, (int8_t)regular};
            memcpy(p, head, 8); /* one store: the bytes past the header are written over next */
            p += hlen;
            p = put_varint_field(p, 1, channels[c]);
            p = put_bytes(p, tail, tlen);
            p = put_bytes(p, values + (c * n + lo) * itemsize, vlen);
        }
        b->wire.len = (size_t)(p - base);
        b->nitems = (size_t)(rec - b->items);
    }
    return RS_OK;
}

/* ---- PeriodicData ---------------------------------------------------------------- */

static size_t periodic_inner(uint32_t channel, int64_t start, int64_t interval, size_t n,
                             size_t vlen)
{
    return varint_field_size(channel) + fixed64_field_size((uint64_t)start) +
           varint_field_size((uint64_t)interval) + varint_field_size(n) + len_field_size(vlen);
}

/* Writes a PeriodicData entry up to its values, which go at the returned address. */
static uint8_t *put_periodic_head(uint8_t *p, uint32_t channel, int64_t start, int64_t interval,
                                  size_t n, size_t vlen)
{
    p = put_entry_header(p, KIND_PERIODIC, periodic_inner(channel, start, interval, n, vlen));
    p = put_varint_field(p, 1, channel);
    p = put_fixed64_field(p, 2, (uint64_t)start);
    p = put_varint_field(p, 3, (uint64_t)interval);
    p = put_varint_field(p, 4, n);
    return put_len_header(p, 5, vlen);
}

rs_status rs_add_periodics(rs_burst *b, const uint32_t *channels, size_t nchannels,
                           int64_t start, int64_t interval, const uint8_t *values, size_t n,
                           size_t itemsize)
{
    if (!n)
        return RS_OK;
    /* The last sample's time, start + (n - 1) * interval, must fit int64 (interval > 0). */
    uint64_t room = (uint64_t)INT64_MAX - (uint64_t)start;
    if ((uint64_t)(n - 1) > room / (uint64_t)interval)
        return RS_EOVERFLOW;
    size_t wire0 = b->wire.len, items0 = b->nitems;
    for (size_t c = 0; c < nchannels; c++)
        for (size_t lo = 0; lo < n; lo += RS_MAX_SAMPLES) {
            size_t m = n - lo < RS_MAX_SAMPLES ? n - lo : RS_MAX_SAMPLES;
            int64_t t0 = (int64_t)((uint64_t)start + (uint64_t)lo * (uint64_t)interval);
            size_t vlen = m * itemsize;
            size_t size = entry_size(periodic_inner(channels[c], t0, interval, m, vlen));
            rs_status st = reserve_entry(b, size);
            if (st != RS_OK)
                return roll_back(b, wire0, items0, st);
            uint8_t *p = claim_entry(b, KIND_PERIODIC, size, -1);
            p = put_periodic_head(p, channels[c], t0, interval, m, vlen);
            put_bytes(p, values + (c * n + lo) * itemsize, vlen);
        }
    return RS_OK;
}

/* ---- RowData, Event, StreamTimeRange, session JSON ------------------------------- */

rs_status rs_add_rows(rs_burst *b, const uint32_t *channels, size_t nchannels,
                      const int64_t *times, size_t nrows, const uint8_t *data, size_t width,
                      size_t *size)
{
    /* The packed channel ids, the same in every row, encoded once. */
    if (buf_reserve(&b->shared, 5 * nchannels))
        return RS_ENOMEM;
    uint8_t *ids = b->shared.data, *p = ids;
    for (size_t c = 0; c < nchannels; c++)
        p = put_varint(p, channels[c]);
    size_t ids_len = (size_t)(p - ids), wire0 = b->wire.len, items0 = b->nitems;
    if (items_reserve(b, nrows))
        return RS_ENOMEM;
    for (size_t r = 0; r < nrows; r++) {
        size_t inner = len_field_size(ids_len) + fixed64_field_size((uint64_t)times[r]) +
                       len_field_size(width);
        *size = entry_size(inner);
        rs_status st = reserve_entry(b, *size);
        if (st != RS_OK)
            return roll_back(b, wire0, items0, st);
        p = put_entry_header(claim_entry(b, KIND_ROW, *size, -1), KIND_ROW, inner);
        p = put_len_field(p, 1, ids, ids_len);
        p = put_fixed64_field(p, 2, (uint64_t)times[r]);
        put_len_field(p, 3, data + r * width, width);
    }
    return RS_OK;
}

rs_status rs_add_events(rs_burst *b, size_t n, const int32_t *definitions, const int64_t *times,
                        const rs_text *status, size_t status_step, const rs_text *apps,
                        size_t app_step, const double *raw, size_t nraw, size_t *size)
{
    size_t wire0 = b->wire.len, items0 = b->nitems;
    if (items_reserve(b, n))
        return RS_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        const rs_text *text = &status[i * status_step], *app = &apps[i * app_step];
        /* int32 is sign-extended to 64 bits on the wire: a negative id takes 10 bytes. */
        uint64_t id = (uint64_t)(int64_t)definitions[i];
        size_t inner = varint_field_size(id) + len_field_size(app->len) +
                       fixed64_field_size((uint64_t)times[i]) + len_field_size(text->len) +
                       len_field_size(8 * nraw);
        *size = entry_size(inner);
        rs_status st = reserve_entry(b, *size);
        if (st != RS_OK)
            return roll_back(b, wire0, items0, st);
        uint8_t *p = put_entry_header(claim_entry(b, KIND_EVENT, *size, -1), KIND_EVENT, inner);
        p = put_varint_field(p, 1, id);
        p = put_len_field(p, 2, app->data, app->len);
        p = put_fixed64_field(p, 3, (uint64_t)times[i]);
        p = put_len_field(p, 4, text->data, text->len);
        if (nraw) {
            p = put_len_header(p, 5, 8 * nraw);
            for (const double *x = raw + i * nraw, *end = x + nraw; x < end; x++) {
                uint64_t bits;
                memcpy(&bits, x, 8);
                p = put_fixed64(p, bits);
            }
        }
    }
    return RS_OK;
}

rs_status rs_add_time_range(rs_burst *b, int64_t start, int64_t end)
{
    size_t inner = fixed64_field_size((uint64_t)start) + fixed64_field_size((uint64_t)end);
    size_t size = entry_size(inner);
    rs_status st = reserve_entry(b, size);
    if (st != RS_OK)
        return st;
    uint8_t *p = put_entry_header(claim_entry(b, KIND_TIME_RANGE, size, -1), KIND_TIME_RANGE,
                                  inner);
    p = put_fixed64_field(p, 1, (uint64_t)start);
    put_fixed64_field(p, 2, (uint64_t)end);
    return RS_OK;
}

rs_status rs_add_session_json(rs_burst *b, const uint8_t *text, size_t len, size_t *size)
{
    *size = entry_size(len);
    rs_status st = reserve_entry(b, *size);
    if (st != RS_OK)
        return st;
    uint8_t *p = claim_entry(b, KIND_SESSION_JSON, *size, -1);
    put_bytes(put_entry_header(p, KIND_SESSION_JSON, len), text, len);
    return RS_OK;
}

/* ---- packing: the plan --------------------------------------------------------- */

/* Reads item `it` back from its entry (we wrote it: well formed). */
static void read_item(const rs_burst *b, const rs_item *it, rs_reader *r, rs_entry *e)
{
    rs_reader_init(r, b->wire.data, it->offset + it->size);
    r->pos = it->offset;
    rs_read_entry(r, e);
}

/* Samples [lo, hi) of piece j when an item of n samples is cut into k pieces. */
static void piece_bounds(size_t n, size_t k, size_t j, size_t *lo, size_t *hi)
{
    *lo = n * j / k;
    *hi = n * (j + 1) / k;
}

/* Recovers an irregular series' timestamps, its deltas in units of its scale, and their
 * running size as varints: pieces are cut from these without dividing again, and sized
 * without encoding. */
static rs_status load_times(rs_burst *b, rs_series *s, const rs_reader *r, const rs_entry *e)
{
    size_t n = s->samples, at = b->nloaded;
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
    uint64_t *q = b->quotients + at;
    rs_collect(r, e, 4, 0, q);
    uint64_t t = (uint64_t)s->start;
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        total += varint_size(q[i]);
        t += q[i] * (uint64_t)s->step;
        b->times[at + i] = (int64_t)t;
        b->varint_bytes[at + i] = total;
    }
    s->loaded = at;
    b->nloaded = at + n;
    return RS_OK;
}

/* Reads a TimestampedData or PeriodicData item larger than the target back as a series to
 * cut into pieces; *s is NULL when it holds a single sample (it stays whole). */
static rs_status add_series(rs_burst *b, const rs_item *it, rs_series **s)
{
    rs_reader r;
    rs_entry e;
    read_item(b, it, &r, &e);
    size_t samples = it->kind == KIND_PERIODIC ? (size_t)(uint32_t)e.samples : e.count;
    *s = NULL;
    if (samples < 2)
        return RS_OK;
    if (grow((void **)&b->series, &b->cap_series, b->nseries + 1, sizeof *b->series))
        return RS_ENOMEM;
    rs_series *series = &b->series[b->nseries++];
    *series = (rs_series){
        .kind = it->kind,
        .itemsize = (uint8_t)(e.buffer_len / samples),
        .regular = it->regular,
        .channel = e.channel,
        .samples = (uint32_t)samples,
        .offset = it->offset,
        .size = it->size,
        .values = e.buffer,
        .start = e.start,
        .step = e.step,
    };
    *s = series;
    if (it->kind == KIND_TIMESTAMPED && it->regular < 0)
        return load_times(b, series, &r, &e);
    return RS_OK;
}

/* A piece's deltas are the item's divided by their gcd g; its scale is the item's times g,
 * or 1 when every step in it is 0 (g = 0). Regular series need none of this. */
static uint64_t piece_divisor(const rs_burst *b, const rs_series *s, size_t lo, size_t hi)
{
    const uint64_t *q = b->quotients + s->loaded;
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

static piece piece_of(const rs_burst *b, const rs_series *s, size_t lo, size_t hi)
{
    size_t m = hi - lo;
    piece pc = {m, 0, (uint64_t)s->step, 1, m, m * s->itemsize};
    if (s->kind == KIND_PERIODIC || s->regular >= 0) {
        uint64_t unit = s->kind == KIND_PERIODIC ? 1 : (uint64_t)s->regular;
        pc.start = (int64_t)((uint64_t)s->start + lo * unit * (uint64_t)s->step);
        return pc;
    }
    const uint64_t *q = b->quotients + s->loaded;
    const size_t *vb = b->varint_bytes + s->loaded;
    pc.start = b->times[s->loaded + lo];
    pc.g = piece_divisor(b, s, lo, hi);
    pc.scale = pc.g ? pc.scale * pc.g : 1;
    if (pc.g <= 1) /* the deltas as they are: their size is a difference of running sizes */
        pc.dlen = 1 + vb[hi - 1] - vb[lo];
    else
        for (size_t i = lo + 1; i < hi; i++)
            pc.dlen += varint_size(q[i] / pc.g) - 1;
    return pc;
}

static size_t piece_size(const rs_series *s, const piece *pc)
{
    if (s->kind == KIND_PERIODIC)
        return entry_size(periodic_inner(s->channel, pc->start, s->step, pc->samples, pc->vlen));
    return entry_size(timestamped_inner(s->channel, pc->start, pc->scale, pc->dlen, pc->vlen));
}

/* Writes a piece's entry up to its values, which go at the returned address. */
static uint8_t *put_piece_head(uint8_t *p, const rs_burst *b, const rs_series *s, size_t lo,
                               size_t hi, const piece *pc)
{
    size_t m = pc->samples;
    if (s->kind == KIND_PERIODIC)
        return put_periodic_head(p, s->channel, pc->start, s->step, m, pc->vlen);
    p = put_entry_header(p, KIND_TIMESTAMPED,
                         timestamped_inner(s->channel, pc->start, pc->scale, pc->dlen, pc->vlen));
    p = put_varint_field(p, 1, s->channel);
    p = put_timestamped_fields(p, pc->start, pc->scale, pc->dlen);
    *p++ = 0;
    if (s->regular >= 0) {
        memset(p, s->regular, m - 1);
        p += m - 1;
    } else {
        const uint64_t *q = b->quotients + s->loaded;
        for (size_t i = lo + 1; i < hi; i++)
            p = put_varint(p, pc->g > 1 ? q[i] / pc->g : q[i]);
    }
    return put_len_header(p, 5, pc->vlen);
}

/* Even pieces within the target (or single samples). From k = size / target, a miss grows
 * k in proportion to how far the largest piece overshot, so the search takes few steps. */
static size_t count_pieces(const rs_burst *b, const rs_series *s, size_t target)
{
    size_t n = s->samples;
    size_t k = (s->size + target - 1) / target;
    while (k < n) {
        size_t worst = 0, lo, hi;
        for (size_t j = 0; j < k; j++) {
            piece_bounds(n, k, j, &lo, &hi);
            piece pc = piece_of(b, s, lo, hi);
            size_t size = piece_size(s, &pc);
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
static inline rs_status add_segment(rs_burst *b, const rs_segment *seg, size_t target)
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
    b->nseries = b->nsegments = b->nmessages = b->nloaded = 0;
    if (!b->nitems)
        return RS_OK;
    if ((st = new_message(b)) != RS_OK)
        return st;
    const rs_item *it = b->items, *end = b->items + b->nitems;
    while (it < end) {
        rs_series *s = NULL;
        if (it->size > target && (it->kind == KIND_TIMESTAMPED || it->kind == KIND_PERIODIC) &&
            (st = add_series(b, it, &s)) != RS_OK)
            return st;
        if (s) {
            size_t k = count_pieces(b, s, target);
            for (size_t j = 0; j < k; j++) {
                rs_segment seg = {0, 0, (size_t)(s - b->series), 0, 0, 0};
                piece_bounds(s->samples, k, j, &seg.lo, &seg.hi);
                piece pc = piece_of(b, s, seg.lo, seg.hi);
                seg.size = piece_size(s, &pc);
                if ((st = add_segment(b, &seg, target)) != RS_OK)
                    return st;
            }
            it++;
            continue;
        }
        /* Whole items: this one, then as many as the message has room for, in one run. */
        rs_message *msg = &b->messages[b->nmessages - 1];
        if (msg->len && msg->len + it->size > target) {
            if ((st = new_message(b)) != RS_OK)
                return st;
            msg = &b->messages[b->nmessages - 1];
        }
        rs_segment seg = {it->offset, it->offset, 0, 0, 0, 0};
        do {
            if (it->kind == KIND_TIME_RANGE) { /* the message's last one is reported */
                rs_reader r;
                rs_entry e;
                read_item(b, it, &r, &e);
                msg->has_range = 1;
                msg->range_start = e.start;
                msg->range_end = e.step;
            }
            seg.size += it->size;
        } while (++it < end && msg->len + seg.size + it->size <= target);
        seg.run_to += seg.size;
        if ((st = add_segment(b, &seg, target)) != RS_OK)
            return st;
    }
    return RS_OK;
}

/* ---- packing: each message's bytes, compressed --------------------------------- */

typedef struct {
    rs_buf message;     /* a message assembled by copying */
    rs_buf stash;       /* wire bytes a piece's header covers while it is compressed in place */
    size_t stash_at;
} scratch;

static size_t values_at(const rs_series *s, size_t lo) { return s->values + lo * s->itemsize; }

/* A message that a piece leads, alone or followed by the whole items after its item, is
 * compressed where it lies: the piece's header is written over the bytes just before its
 * values (the previous piece's values, or the item's own header), kept aside meanwhile. */
static int put_in_place(rs_burst *b, const rs_message *msg, scratch *sc, const uint8_t **data)
{
    const rs_segment *seg = &b->segments[msg->first];
    const rs_series *s = &b->series[seg->series];
    if (seg->run_to || (msg->count == 2 ? seg->hi != s->samples || !seg[1].run_to
                                         : msg->count != 1))
        return 0;
    piece pc = piece_of(b, s, seg->lo, seg->hi);
    size_t head = seg->size - pc.vlen, values = values_at(s, seg->lo);
    if (values - s->offset < head || buf_reserve(&sc->stash, head))
        return 0;
    sc->stash_at = values - head;
    sc->stash.len = head;
    memcpy(sc->stash.data, b->wire.data + sc->stash_at, head);
    put_piece_head(b->wire.data + sc->stash_at, b, s, seg->lo, seg->hi, &pc);
    *data = b->wire.data + sc->stash_at;
    return 1;
}

/* Message m's bytes: in the wire when it is whole items; in place when a piece leads it
 * (unless in_place is 0: another thread may be reading the bytes before the piece); else
 * assembled in the scratch. message_done puts back what an in-place header covered. */
static rs_status message_data(rs_burst *b, size_t m, int in_place, scratch *sc,
                              const uint8_t **data)
{
    const rs_message *msg = &b->messages[m];
    const rs_segment *seg = &b->segments[msg->first];
    if (msg->count == 1 && seg->run_to) {
        *data = b->wire.data + seg->run_from;
        return RS_OK;
    }
    if (in_place && put_in_place(b, msg, sc, data))
        return RS_OK;
    if (buf_reserve(&sc->message, msg->len))
        return RS_ENOMEM;
    uint8_t *p = sc->message.data;
    for (size_t k = 0; k < msg->count; k++, seg++) {
        if (seg->run_to) {
            p = put_bytes(p, b->wire.data + seg->run_from, seg->run_to - seg->run_from);
            continue;
        }
        const rs_series *s = &b->series[seg->series];
        piece pc = piece_of(b, s, seg->lo, seg->hi);
        p = put_piece_head(p, b, s, seg->lo, seg->hi, &pc);
        p = put_bytes(p, b->wire.data + values_at(s, seg->lo), pc.vlen);
    }
    *data = sc->message.data;
    return RS_OK;
}

static void message_done(rs_burst *b, scratch *sc)
{
    if (sc->stash.len)
        memcpy(b->wire.data + sc->stash_at, sc->stash.data, sc->stash.len);
    sc->stash.len = 0;
}

void rs_compress_messages(rs_burst *b, size_t lo, size_t hi, char *const *out, const int *cap,
                          int *size)
{
    scratch sc;
    memset(&sc, 0, sizeof sc);
    for (size_t m = lo; m < hi; m++) {
        const uint8_t *data;
        /* The first message of a share that is not the first: the previous one, in another
         * thread's share, may hold the bytes just before it. */
        if (message_data(b, m, m > lo || lo == 0, &sc, &data) != RS_OK) {
            size[m] = -1;
            break;
        }
        size[m] = LZ4_compress_default((const char *)data, out[m], (int)b->messages[m].len, cap[m]);
        message_done(b, &sc);
        if (size[m] <= 0) {
            size[m] = -1;
            break;
        }
    }
    free(sc.message.data);
    free(sc.stash.data);
}
