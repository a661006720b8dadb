/* A StreamDataBurst under construction, and its packing into messages.
 *
 * Items are encoded into `wire` as complete StreamDataBurst entries the moment they are
 * added, so encode() is one copy and a message made of whole items is compressed straight
 * from `wire`. Each item keeps a small record (where its entry lies, and its kind); pack()
 * reads an item larger than the target back from its own bytes to split it by sample
 * ranges. No function here touches Python: all of them may run without the GIL.
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
    RS_ETOOLARGE,   /* an entry would encode to *size bytes, over RS_MAX_MESSAGE */
} rs_status;

typedef struct {
    uint8_t *data;
    size_t len, cap;
} rs_buf;

typedef struct {
    const uint8_t *data;
    size_t len;
} rs_text;            /* UTF-8 bytes */

typedef struct {
    size_t offset;      /* entry start in wire */
    uint32_t size;      /* entry size in wire: never over RS_MAX_MESSAGE */
    uint8_t kind;       /* KIND_* of wire.h */
    int8_t regular;     /* timestamped: the one delta (0 or 1) of every sample but the first,
                         * when sampling is regular; -1 otherwise */
} rs_item;

/* A TimestampedData or PeriodicData item cut into pieces: what its pieces need, read back
 * from its entry by rs_plan. */
typedef struct {
    uint8_t kind;
    uint8_t itemsize;   /* sample width */
    int8_t regular;     /* as its rs_item's */
    uint32_t channel;
    uint32_t samples;
    size_t offset, size; /* its entry in wire, as its rs_item's */
    size_t values;      /* offset of the sample bytes in wire */
    int64_t start;      /* first timestamp */
    int64_t step;       /* delta scale or interval */
    size_t loaded;      /* irregular timestamped: its place in the times */
} rs_series;

/* A packed message is a list of segments: whole items (their bytes in the wire, run_to >
 * run_from) or samples [lo, hi) of a series (an item split into pieces). */
typedef struct {
    size_t run_from, run_to;
    size_t series, lo, hi;
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
    rs_buf shared;      /* scratch: what all the items of one call share (a TimestampedData
                         * entry's fields after its channel id, a RowData's channel ids) */
    /* The packing plan (rs_plan) */
    rs_series *series;
    size_t nseries, cap_series;
    rs_segment *segments;
    size_t nsegments, cap_segments;
    rs_message *messages;
    size_t nmessages, cap_messages;
    /* Irregular timestamped series: timestamps, deltas in units of the item's scale, and
     * the running size of those deltas as varints. */
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
/* One PeriodicData per channel, all sampled alike: values holds nchannels rows of n
 * samples. */
rs_status rs_add_periodics(rs_burst *b, const uint32_t *channels, size_t nchannels,
                           int64_t start, int64_t interval, const uint8_t *values, size_t n,
                           size_t itemsize);
/* One RowData per time, all of the same channels: data holds nrows rows of width bytes. */
rs_status rs_add_rows(rs_burst *b, const uint32_t *channels, size_t nchannels,
                      const int64_t *times, size_t nrows, const uint8_t *data, size_t width,
                      size_t *size);
/* One Event per time. Event i's status text is status[i * status_step] and its app name
 * apps[i * app_step] (a step of 0: one text for all); raw holds n rows of nraw doubles. */
rs_status rs_add_events(rs_burst *b, size_t n, const int32_t *definitions, const int64_t *times,
                        const rs_text *status, size_t status_step, const rs_text *apps,
                        size_t app_step, const double *raw, size_t nraw, size_t *size);
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
