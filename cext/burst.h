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
    int8_t regular;     /* timestamped: the one delta (0 or 1) of every sample but the
                         * first, when sampling is regular; -1 otherwise */
    uint32_t channel;
    uint32_t samples;
    size_t offset;      /* entry start in wire */
    size_t size;        /* entry size in wire */
    size_t deltas;      /* offset of the packed delta varints (timestamped) */
    size_t values;      /* offset of the sample bytes (timestamped, periodic) */
    int64_t start;      /* first timestamp, or time range start */
    int64_t step;       /* delta scale, interval, or time range end */
    size_t loaded;      /* irregular timestamped item being split: its place in the times */
} rs_item;

/* A packed message is a list of segments: whole items (their bytes in the wire, run_to >
 * run_from) or samples [lo, hi) of an item split into pieces. */
typedef struct {
    size_t run_from, run_to;
    size_t item, lo, hi;
    size_t size;        /* encoded bytes */
} rs_segment;

typedef struct {
    size_t first, count; /* its segments */
    size_t len;          /* uncompressed bytes */
    int has_range;       /* it carries a time range: the last one is below */
    int64_t range_start, range_end;
} rs_message;

typedef struct {
    rs_buf wire;        /* the burst, entry after entry */
    rs_item *items;
    size_t nitems, cap_items;
    rs_buf deltas;      /* scratch: packed deltas shared by the channels of one call */
    /* The packing plan (rs_plan) */
    rs_segment *segments;
    size_t nsegments, cap_segments;
    rs_message *messages;
    size_t nmessages, cap_messages;
    /* Irregular timestamped items being split: timestamps, deltas in units of the item's
     * scale, and the running size of those deltas as varints. */
    int64_t *times;
    uint64_t *quotients;
    size_t *varint_bytes;
    size_t nloaded, cap_loaded;
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

/* Packing, in two steps. rs_plan cuts the burst into messages of at most `target` bytes
 * (unless one unsplittable item is larger; never over RS_MAX_MESSAGE): items stay whole
 * unless one alone is larger than the target, then it is split by sample ranges.
 * rs_compress_messages then LZ4-compresses messages [lo, hi) of the plan: out[m] (room
 * cap[m]) gets message m's block and size[m] its size, or -1 if it failed. Several threads
 * may each compress a share, in contiguous ranges: the output does not depend on how the
 * messages are shared out. */
rs_status rs_plan(rs_burst *b, size_t target);
void rs_compress_messages(rs_burst *b, size_t lo, size_t hi, char *const *out, const int *cap,
                          int *size);

#endif
