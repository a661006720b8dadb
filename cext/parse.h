/* Reading StreamDataBurst messages: the wire format parsed in place, no allocation.
 *
 * A reader walks the entries of an uncompressed burst one at a time and describes each by
 * offsets into the burst, so that sample values stay where they are (the caller makes
 * zero-copy views of them) and repeated fields are collected only when asked for. Parsing
 * follows protobuf's rules: fields in any order, the last of a repeated scalar wins,
 * repeated fields packed or not, unknown fields (groups included) skipped, and a known
 * field number with another wire type taken as unknown, every string checked to be UTF-8,
 * and a oneof member that a later one replaces read all the same (a malformed one makes the
 * burst malformed). One thing protobuf accepts is refused: the same oneof member given
 * twice in one StreamData (protobuf merges them).
 * Nothing here touches Python.
 */
#ifndef RTASTREAM_PARSE_H
#define RTASTREAM_PARSE_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    const uint8_t *data;
    size_t len, pos;
    const char *error;  /* why the last read failed */
    size_t error_at;    /* and where: a byte offset into data */
} rs_reader;

/* One StreamData entry. Offsets are into the reader's data. */
typedef struct {
    int kind;             /* KIND_* of wire.h; 0: the StreamData holds no member */
    size_t body, body_len; /* the member's own message, read again by rs_collect */
    uint32_t channel;     /* timestamped, periodic */
    int64_t start;        /* start timestamp; row or event timestamp; time range start */
    int64_t step;         /* delta scale; interval; time range end */
    int32_t samples;      /* periodic, as written */
    int32_t definition;   /* event */
    size_t count;         /* timestamp deltas; row channel ids; event raw doubles */
    size_t buffer, buffer_len; /* values; row buffer; session JSON; event status text */
    size_t text, text_len;     /* event app name */
} rs_entry;

void rs_reader_init(rs_reader *r, const uint8_t *data, size_t len);

/* Reads the next entry: 1 when one was read, 0 at the end, -1 on malformed input (then
 * r->error and r->error_at say why and where). */
int rs_read_entry(rs_reader *r, rs_entry *e);

/* The values of repeated field `field` of a member read before (e->body), in order, as
 * rs_read_entry counted them (e->count): varints as uint64, or for fixed = 1 the 8-byte
 * values (raw doubles) as their bits. */
void rs_collect(const rs_reader *r, const rs_entry *e, int field, int fixed, uint64_t *out);

/* The size an LZ4 raw block decompresses to, read from its sequence headers alone; -1 if
 * they run past the block or add up to more than cap. */
int64_t rs_lz4_size(const uint8_t *src, size_t n, size_t cap);

#endif
