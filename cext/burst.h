/* A StreamDataBurst under construction, and its packing into messages.
 *
 * Items are encoded into `wire` as complete StreamDataBurst entries the moment they are
 * added, so encode() is one copy and a message made of whole items is compressed straight
 * from `wire`. Each item keeps a small record so that pack() can split an item that is
 * larger than the target by sample ranges. No function here touches Python: all of them
 * may run without the GIL.
 */
#ifndef RTASTREAM_BURST_H
#define RTASTREAM_BURST_H

#include <stddef.h>
#include <stdint.h>

#define RS_MAX_SAMPLES 10000             /* per TimestampedData / PeriodicData item */
#define RS_MAX_MESSAGE (1024 * 1024)     /* uncompressed burst, the Stream Service's buffer */

typedef enum {
    RS_OK = 0,
    RS_ENOMEM,      /* out of memory */
    RS_EORDER,      /* timestamps go backwards, or a step exceeds int64 */
    RS_EOVERFLOW,   /* a periodic sample time runs past int64 */
    RS_ETOOLARGE,   /* one entry would encode to `index` bytes, over RS_MAX_MESSAGE */
} rs_status;

typedef struct {
    uint8_t *data;
    size_t len, cap;
} rs_buf;

typedef struct {
    uint8_t kind;       /* KIND_* of wire.h */
    uint8_t itemsize;   /* sample width (timestamped, periodic) */
    uint32_t channel;
    uint32_t samples;
    size_t offset;      /* entry start in wire */
    size_t size;        /* entry size in wire */
    size_t deltas;      /* offset of the packed delta varints (timestamped) */
    size_t values;      /* offset of the sample bytes (timestamped, periodic) */
    int64_t start;      /* first timestamp, or time range start */
    int64_t step;       /* delta scale, interval, or time range end */
} rs_item;

typedef struct {
    rs_buf wire;        /* the burst, entry after entry */
    rs_item *items;
    size_t nitems, cap_items;
    rs_buf deltas;      /* scratch: packed deltas shared by the channels of one call */
    rs_buf message;     /* scratch: a message holding split pieces */
    int64_t *times;     /* scratch: timestamps of an item being split */
    uint64_t *quotients; /* scratch: and its deltas, in units of its scale */
    size_t times_cap;
} rs_burst;

void rs_burst_init(rs_burst *b);
void rs_burst_free(rs_burst *b);
void rs_burst_clear(rs_burst *b);

/* values: nchannels rows of n samples, little-endian, row after row. */
rs_status rs_add_timestamped(rs_burst *b, const uint32_t *channels, size_t nchannels,
                             const int64_t *times, size_t n, const uint8_t *values,
                             size_t itemsize);
rs_status rs_add_periodic(rs_burst *b, uint32_t channel, int64_t start, int64_t interval,
                          const uint8_t *values, size_t n, size_t itemsize);
rs_status rs_add_row(rs_burst *b, const uint32_t *channels, size_t nchannels, int64_t time,
                     const uint8_t *buffer, size_t len, size_t *size);
rs_status rs_add_event(rs_burst *b, int32_t definition, const uint8_t *app, size_t app_len,
                       int64_t time, const uint8_t *status, size_t status_len,
                       const double *raw, size_t nraw, size_t *size);
rs_status rs_add_time_range(rs_burst *b, int64_t start, int64_t end);
rs_status rs_add_session_json(rs_burst *b, const uint8_t *text, size_t len, size_t *size);

/* Packing: call rs_pack_next until it returns 0 bytes. Each message is at most `target`
 * bytes unless one unsplittable item is larger; never over RS_MAX_MESSAGE. */
typedef struct {
    size_t target;
    size_t item;        /* next item to place */
    size_t piece, pieces; /* split progress of that item (pieces == 0: not split) */
} rs_packer;

typedef struct {
    const uint8_t *data;  /* points into wire or the message scratch */
    size_t len;
    int has_range;        /* the message carries a time range: the last one is below */
    int64_t range_start, range_end;
} rs_message;

void rs_pack_begin(rs_packer *pk, size_t target);
rs_status rs_pack_next(rs_burst *b, rs_packer *pk, rs_message *out);

#endif
