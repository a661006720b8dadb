# The burst builder: items appended in call order, packed into messages.
# Included by _native.pyx: one extension module; its cimports and imports are there.

# ---- the burst builder ---------------------------------------------------------------

cdef class Burst:
    """A StreamDataBurst under construction: items are appended in call order.

    Reusable: clear() empties it and keeps its buffers. Not thread-safe; use one per thread.
    """
    cdef rs_burst c
    cdef bint busy

    def __cinit__(self):
        rs_burst_init(&self.c)

    def __dealloc__(self):
        rs_burst_free(&self.c)

    cdef int _enter(self) except -1:
        if self.busy:
            raise RuntimeError("Burst is in use by another thread; use one Burst per thread")
        self.busy = True
        return 0

    def timestamped(self, channel_ids, timestamps, values):
        """Append one TimestampedData per channel: values is 1-D (channel_ids an int) or
        2-D (channels, samples) sharing the timestamps (ns since the epoch, or datetime64)."""
        cdef Ids ids
        cdef int nd = cnp.PyArray_NDIM(<cnp.ndarray>values) if cnp.PyArray_CheckExact(values) else 0
        cdef bint fast = (_plain(timestamps, 1) and cnp.PyArray_TYPE(<cnp.ndarray>timestamps) == cnp.NPY_INT64
                          and (nd == 1 or nd == 2) and _plain_values(values, nd)
                          and cnp.PyArray_DIM(<cnp.ndarray>values, nd - 1) == cnp.PyArray_DIM(<cnp.ndarray>timestamps, 0))
        _ids_alloc(&ids, cnp.PyArray_DIM(<cnp.ndarray>values, 0) if fast and nd == 2 else 1)
        try:
            if fast:
                fast = _plain_uint32(channel_ids, ids.ptr) if nd == 1 else _plain_ids(channel_ids, ids.n, ids.ptr)
            if fast:
                self._timestamped(ids.ptr, ids.n, timestamps, values)
            else:
                checked, times, samples = columns.timestamped(channel_ids, timestamps, values)
                _ids_from_array(&ids, checked)
                self._timestamped(ids.ptr, ids.n, times, samples)
        finally:
            _ids_free(&ids)

    cdef _timestamped(self, const uint32_t *ids, Py_ssize_t nids, cnp.ndarray times,
                      cnp.ndarray samples):
        cdef const int64_t *time_ptr = <const int64_t *>cnp.PyArray_DATA(times)
        cdef const uint8_t *value_ptr = <const uint8_t *>cnp.PyArray_DATA(samples)
        cdef size_t n = cnp.PyArray_DIM(times, 0)
        cdef size_t itemsize = cnp.PyArray_ITEMSIZE(samples)
        self._enter()
        cdef PyThreadState *gil = _release_gil(cnp.PyArray_NBYTES(samples))
        cdef rs_status st = rs_add_timestamped(&self.c, ids, nids, time_ptr, n, value_ptr,
                                               itemsize)
        _restore_gil(gil)
        self.busy = False
        if st == RS_EORDER:
            columns.check_order(times)  # raises the error, worded
        _check(st)

    def periodic(self, channel_id, start, interval, values):
        """Append PeriodicData: samples at start, start + interval, ... (ns)."""
        cdef uint32_t channel
        cdef int64_t t0, step
        cdef object checked = values
        if not (_plain_uint32(channel_id, &channel) and _plain_int64(start, &t0)
                and _plain_int64(interval, &step) and step > 0 and _plain_values(values, 1)):
            channel, t0, step, checked = columns.periodic(channel_id, start, interval, values)
        self._periodics(&channel, 1, t0, step, <cnp.ndarray>checked)

    def periodics(self, channel_ids, start, interval, values):
        """Append one PeriodicData per channel, all sampled at start, start + interval, ...
        (ns): values is 2-D (channels, samples)."""
        cdef int64_t t0, step
        cdef Ids ids
        cdef bint fast = (_plain_int64(start, &t0) and _plain_int64(interval, &step) and step > 0
                          and _plain_values(values, 2))
        _ids_alloc(&ids, cnp.PyArray_DIM(<cnp.ndarray>values, 0) if fast else 0)
        try:
            if not (fast and _plain_ids(channel_ids, ids.n, ids.ptr)):
                checked, t0, step, values = columns.periodics(channel_ids, start, interval, values)
                _ids_from_array(&ids, checked)
            self._periodics(ids.ptr, ids.n, t0, step, <cnp.ndarray>values)
        finally:
            _ids_free(&ids)

    cdef int _periodics(self, const uint32_t *ids, size_t nids, int64_t t0, int64_t step,
                        cnp.ndarray samples) except -1:
        """samples: 1-D (one channel) or 2-D (channels, samples)."""
        cdef const uint8_t *p = <const uint8_t *>cnp.PyArray_DATA(samples)
        cdef size_t n = cnp.PyArray_DIM(samples, cnp.PyArray_NDIM(samples) - 1)
        self._enter()
        cdef PyThreadState *gil = _release_gil(cnp.PyArray_NBYTES(samples))
        cdef rs_status st = rs_add_periodics(&self.c, ids, nids, t0, step, p, n,
                                             cnp.PyArray_ITEMSIZE(samples))
        _restore_gil(gil)
        self.busy = False
        if st == RS_EOVERFLOW:
            columns.check_span(t0, step, n)  # raises the error, worded
        return _check(st)

    def row(self, channel_ids, timestamp, buffer):
        """Append RowData: one row of several channels, packed in channel order."""
        cdef int64_t t
        self._row(channel_ids, timestamp, buffer, NULL, -1, &t)

    def _row_within(self, channel_ids, timestamp, buffer, widths):
        """row() for the live writer, returning the row's timestamp (an int). With `widths`
        (bytes: each channel id's width, 0 where the bound configuration has no row channel
        rtastream writes), only a plain row they pass is appended (an int timestamp, ids of
        a plain kind, `buffer` bytes of those channels' widths); for any other, None and
        nothing appended: the configuration's own checks decide (rules.py)."""
        cdef int64_t t
        if widths is None:
            self._row(channel_ids, timestamp, buffer, NULL, -1, &t)
        elif not self._row(channel_ids, timestamp, buffer,
                           <const uint8_t *>PyBytes_AS_STRING(<bytes?>widths),
                           PyBytes_GET_SIZE(widths), &t):
            return None
        return t

    cdef bint _row(self, channel_ids, timestamp, buffer, const uint8_t *widths,
                   Py_ssize_t known, int64_t *t) except -1:
        """Append the row; with `widths` (`known` of them, else -1), only if the check
        costs no Python call and passes (else False, nothing appended)."""
        if not _plain_int64(timestamp, t):
            if known >= 0:
                return False
            t[0] = columns.integer(timestamp, "timestamp", columns.INT64)
        cdef Ids ids
        cdef Py_ssize_t n = _plain_ids_len(channel_ids)
        _ids_alloc(&ids, max(n, 0))
        cdef _Buffer row_buf
        cdef size_t size = 0
        try:
            if n < 0 or not _plain_ids(channel_ids, n, ids.ptr):
                if known >= 0:
                    return False
                _ids_from_array(&ids, columns.channel_ids(channel_ids))
            if known >= 0 and not (type(buffer) is bytes and _widths_fit(&ids, widths, known)
                                   == PyBytes_GET_SIZE(buffer)):
                return False
            row_buf = _Buffer(buffer if _plain_row(buffer, ids.n) else columns.row_buffer(buffer, ids.n))
            self._enter()
            st = rs_add_rows(&self.c, ids.ptr, ids.n, t, 1, row_buf.ptr(), row_buf.size(), &size)
            self.busy = False
        finally:
            _ids_free(&ids)
        _check(st, "row", size)
        return True

    def rows(self, channel_ids, timestamps, values):
        """Append one RowData per timestamp, all of the same channels: values is 2-D
        (instants, channels) of one dtype, or structured, one record per instant and one
        field per channel."""
        cdef Ids ids
        cdef bint fast = (_plain(timestamps, 1) and cnp.PyArray_TYPE(<cnp.ndarray>timestamps) == cnp.NPY_INT64
                          and _plain_values(values, 2)
                          and cnp.PyArray_DIM(<cnp.ndarray>values, 0) == cnp.PyArray_DIM(<cnp.ndarray>timestamps, 0))
        _ids_alloc(&ids, cnp.PyArray_DIM(<cnp.ndarray>values, 1) if fast else 0)
        try:
            if not (fast and _plain_ids(channel_ids, ids.n, ids.ptr)):
                checked, timestamps, values = columns.rows(channel_ids, timestamps, values)
                _ids_from_array(&ids, checked)
            self._rows(&ids, <cnp.ndarray>timestamps, <cnp.ndarray>values)
        finally:
            _ids_free(&ids)

    cdef int _rows(self, Ids *ids, cnp.ndarray times, cnp.ndarray data) except -1:
        cdef const int64_t *t = <const int64_t *>cnp.PyArray_DATA(times)
        cdef const uint8_t *p = <const uint8_t *>cnp.PyArray_DATA(data)
        cdef size_t nrows = cnp.PyArray_DIM(times, 0), width = cnp.PyArray_NBYTES(data) // max(nrows, 1)
        cdef size_t size = 0
        self._enter()
        cdef PyThreadState *gil = _release_gil(cnp.PyArray_NBYTES(data))
        cdef rs_status st = rs_add_rows(&self.c, ids.ptr, ids.n, t, nrows, p, width, &size)
        _restore_gil(gil)
        self.busy = False
        return _check(st, "row", size)

    def events(self, definition_ids, timestamps, status_texts="", raw_data=(), app_names=""):
        """Append one Event per timestamp: definition_ids one per event, status_texts and
        app_names one str for all or one per event, raw_data 2-D (events, numbers)."""
        cdef size_t n
        cdef bint fast = (_plain(timestamps, 1)
                          and cnp.PyArray_TYPE(<cnp.ndarray>timestamps) == cnp.NPY_INT64
                          and (type(raw_data) is tuple and not raw_data
                               or _plain(raw_data, 2) and cnp.PyArray_TYPE(<cnp.ndarray>raw_data) == cnp.NPY_FLOAT64))
        if fast:
            n = cnp.PyArray_DIM(<cnp.ndarray>timestamps, 0)
            fast = (_plain_texts(status_texts, n) and _plain_texts(app_names, n)
                    and (type(raw_data) is tuple or cnp.PyArray_DIM(<cnp.ndarray>raw_data, 0) == n))
        cdef int32_t *defs = NULL
        if fast:
            defs = <int32_t *>malloc(max(n, 1) * sizeof(int32_t))
            if defs == NULL:
                raise MemoryError()
            fast = _plain_int32s(definition_ids, n, defs)
        try:
            if not fast:
                ids, timestamps, status_texts, raw_data, app_names = columns.events(
                    definition_ids, timestamps, status_texts, raw_data, app_names)
                n = len(timestamps)
                free(defs)
                defs = <int32_t *>malloc(max(n, 1) * sizeof(int32_t))
                if defs == NULL:
                    raise MemoryError()
                memcpy(defs, cnp.PyArray_DATA(<cnp.ndarray>ids), n * sizeof(int32_t))
            raw = np.zeros((n, 0)) if type(raw_data) is tuple else raw_data
            self._events(n, defs, <cnp.ndarray>timestamps, status_texts, <cnp.ndarray>raw, app_names)
        finally:
            free(defs)

    cdef int _events(self, size_t n, const int32_t *defs, cnp.ndarray times, object status,
                     cnp.ndarray raw, object apps) except -1:
        cdef rs_text *texts = <rs_text *>malloc(max(2 * n, 1) * sizeof(rs_text))
        if texts == NULL:
            raise MemoryError()
        cdef size_t size = 0, status_step, app_step
        cdef rs_status st
        try:
            status_step, app_step = _texts(status, n, texts), _texts(apps, n, texts + n)
            self._enter()
            st = rs_add_events(&self.c, n, defs, <const int64_t *>cnp.PyArray_DATA(times), texts,
                               status_step, texts + n, app_step,
                               <const double *>cnp.PyArray_DATA(raw), cnp.PyArray_DIM(raw, 1), &size)
            self.busy = False
        finally:
            free(texts)
        return _check(st, "event", size)

    def event(self, definition_id, timestamp, status_text="", raw_data=(), app_name=""):
        """Append an Event."""
        cdef int64_t definition, t
        if not (_plain_int64(definition_id, &definition) and INT32_MIN <= definition <= INT32_MAX):
            definition = columns.integer(definition_id, "definition_id", columns.INT32, "int32")
        if not _plain_int64(timestamp, &t):
            t = columns.integer(timestamp, "timestamp", columns.INT64)
        status = status_text if _ascii(status_text) else columns.text(status_text, "status_text")
        app = app_name if _ascii(app_name) else columns.text(app_name, "app_name")
        if not (_plain(raw_data, 1) and cnp.PyArray_TYPE(<cnp.ndarray>raw_data) == cnp.NPY_FLOAT64):
            raw_data = columns.raw_data(raw_data)
        cdef cnp.ndarray raw = <cnp.ndarray>raw_data
        cdef rs_text texts[2]
        _texts(status, 1, &texts[0])
        _texts(app, 1, &texts[1])
        cdef int32_t definition32 = <int32_t>definition
        cdef size_t size = 0
        self._enter()
        st = rs_add_events(&self.c, 1, &definition32, &t, &texts[0], 0, &texts[1], 0,
                           <const double *>cnp.PyArray_DATA(raw), cnp.PyArray_DIM(raw, 0), &size)
        self.busy = False
        _check(st, "event", size)

    def time_range(self, start, end):
        """Append a StreamTimeRange (inclusive, ns since the epoch)."""
        cdef int64_t t0, t1
        if not _plain_int64(start, &t0):
            t0 = columns.integer(start, "start", columns.INT64)
        if not _plain_int64(end, &t1):
            t1 = columns.integer(end, "end", columns.INT64)
        if t1 < t0:
            raise ValueError(f"time range ends before it starts: end {t1} < start {t0}")
        self._enter()
        st = rs_add_time_range(&self.c, t0, t1)
        self.busy = False
        _check(st)

    def session_json(self, text):
        """Append a Session JSON update: a str, a mapping (compact JSON) or a Session."""
        data = columns.session_json(text)
        cdef size_t size = 0
        self._enter()
        st = rs_add_session_json(&self.c, <const uint8_t *><char *>data, len(data), &size)
        self.busy = False
        _check(st, "session_json", size)

    @property
    def nbytes(self) -> int:
        """Size of encode()'s output so far: cheap, for flushing near a target."""
        return self.c.wire.len

    def __len__(self):
        """Number of items (StreamData entries)."""
        return self.c.nitems

    def clear(self):
        """Remove every item; the buffers are kept for reuse."""
        self._enter()
        rs_burst_clear(&self.c)
        self.busy = False

    def encode(self) -> bytes:
        """The uncompressed StreamDataBurst."""
        self._enter()  # pack() may be writing piece headers into it on another thread
        self.busy = False
        return (<char *>self.c.wire.data)[:self.c.wire.len] if self.c.wire.len else b""

    def pack(self, target=columns.DEFAULT_TARGET, threads=None) -> list:
        """The burst as LZ4 raw-block messages of about `target` uncompressed bytes each.

        Items stay whole unless one alone is larger than the target; then it is split by
        sample ranges. No message decompresses to more than 1 MiB. threads: how many
        threads compress the messages (None: the machine's cores when the burst is large
        enough to pay for them); the messages are the same whatever the number.
        """
        return self._pack(_target(target), threads, False)

    def pack_with_time_ranges(self, target=columns.DEFAULT_TARGET, threads=None) -> list:
        """Like pack(), as (message, (start, end) or None) pairs: the last time range each
        message carries, which is what a writer records in the session hash."""
        return self._pack(_target(target), threads, True)

    cdef list _pack(self, size_t target, object threads, bint ranges):
        self._enter()
        cdef _Compression job
        cdef rs_message *msg
        try:
            gil = _release_gil(self.c.wire.len)
            st = rs_plan(&self.c, target)
            _restore_gil(gil)
            _check(st)
            if self.c.nmessages == 1:  # whole items, the wire as it is: the common case
                msg = &self.c.messages[0]
                data = _compress(self.c.wire.data, self.c.wire.len)
                return [(data, (msg.range_start, msg.range_end) if msg.has_range else None)
                        if ranges else data]
            job = _Compression(self)
            job.run_all(_threads(threads, self.c.nmessages, self.c.wire.len))
            return job.results(ranges)
        finally:
            self.busy = False


cdef int _check(rs_status st, str what="item", size_t size=0) except -1:
    if st == RS_OK:
        return 0
    if st == RS_ENOMEM:
        raise MemoryError("out of memory while encoding a burst")
    if st == RS_ETOOLARGE:
        raise columns.too_large_error(what, size)
    raise RuntimeError(f"burst encoder failed with status {st}")
