# The C API of parse.h (reading StreamDataBurst messages) and the entry kinds of wire.h.

from libc.stdint cimport int32_t, int64_t, uint8_t, uint32_t, uint64_t

cdef extern from "wire.h" nogil:
    enum:
        KIND_SESSION_JSON, KIND_TIME_RANGE, KIND_TIMESTAMPED, KIND_PERIODIC, KIND_ROW, KIND_EVENT

cdef extern from "parse.h" nogil:
    ctypedef struct rs_reader:
        const uint8_t *data
        size_t len
        const char *error
        size_t error_at
    ctypedef struct rs_entry:
        int kind
        uint32_t channel
        int64_t start, step
        int32_t samples, definition
        size_t count
        size_t buffer, buffer_len
        size_t text, text_len
    void rs_reader_init(rs_reader *r, const uint8_t *data, size_t len)
    int rs_read_entry(rs_reader *r, rs_entry *e)
    void rs_collect(const rs_reader *r, const rs_entry *e, int field, int fixed, uint64_t *out)
    int64_t rs_lz4_size(const uint8_t *src, size_t n, size_t cap)
