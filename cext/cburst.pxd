# The C API of burst.h: building a StreamDataBurst and packing it into messages.

from libc.stdint cimport int32_t, int64_t, uint8_t, uint32_t

cdef extern from "burst.h" nogil:
    enum: RS_MAX_SAMPLES, RS_MAX_MESSAGE
    ctypedef enum rs_status:
        RS_OK, RS_ENOMEM, RS_EORDER, RS_EOVERFLOW, RS_ETOOLARGE
    ctypedef struct rs_buf:
        uint8_t *data
        size_t len
    ctypedef struct rs_text:
        const uint8_t *data
        size_t len
    ctypedef struct rs_message:
        size_t len
        int has_range
        int64_t range_start, range_end
    ctypedef struct rs_burst:
        rs_buf wire
        size_t nitems
        rs_message *messages
        size_t nmessages
    void rs_burst_init(rs_burst *b)
    void rs_burst_free(rs_burst *b)
    void rs_burst_clear(rs_burst *b)
    rs_status rs_add_timestamped(rs_burst *b, const uint32_t *channels, size_t nchannels,
                                 const int64_t *times, size_t n, const uint8_t *values,
                                 size_t itemsize)
    rs_status rs_add_periodics(rs_burst *b, const uint32_t *channels, size_t nchannels,
                               int64_t start, int64_t interval, const uint8_t *values, size_t n,
                               size_t itemsize)
    rs_status rs_add_rows(rs_burst *b, const uint32_t *channels, size_t nchannels,
                          const int64_t *times, size_t nrows, const uint8_t *data, size_t width,
                          size_t *size)
    rs_status rs_add_events(rs_burst *b, size_t n, const int32_t *definitions,
                            const int64_t *times, const rs_text *status, size_t status_step,
                            const rs_text *apps, size_t app_step, const double *raw, size_t nraw,
                            size_t *size)
    rs_status rs_add_time_range(rs_burst *b, int64_t start, int64_t end)
    rs_status rs_add_session_json(rs_burst *b, const uint8_t *text, size_t len, size_t *size)
    rs_status rs_plan(rs_burst *b, size_t target)
    void rs_compress_messages(rs_burst *b, size_t lo, size_t hi, char *const *out,
                              const int *cap, int *size)
