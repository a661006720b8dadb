# The decoder: StreamDataBurst messages read back into items.
# Included by _native.pyx: one extension module; its cimports and imports are there.

# ---- decoding: StreamDataBurst messages into items ------------------------------------
# parse.c reads the wire format in place. Each item keeps the decompressed burst (a bytes
# object) and where its parts are in it: sample values are zero-copy views of it, and
# timestamps, channel ids and raw data are computed the first time they are asked for.
# The pure-Python twin (rtastream.reference.decode) builds the same classes from protobuf.

cdef str _CORRUPT = "not a valid StreamDataBurst: "


cdef int _check_samples(str what, int64_t n, size_t nbytes) except -1:
    """A TimestampedData or PeriodicData buffer holds its n samples, 1, 2, 4 or 8 bytes each."""
    if n == 0 and nbytes == 0 or n > 0 and nbytes % <uint64_t>n == 0 and nbytes // <uint64_t>n in (1, 2, 4, 8):
        return 0
    if n < 0:
        raise ValueError(f"{_CORRUPT}{what} claims {n} samples")
    raise ValueError(f"{_CORRUPT}{what} of {n} samples has a {nbytes}-byte buffer "
                     "(samples take 1, 2, 4 or 8 bytes)")


cdef int _check_row(size_t n, size_t nbytes) except -1:
    """A RowData buffer holds one value of 1, 2, 4 or 8 bytes per channel."""
    if not n <= nbytes <= 8 * n:
        raise ValueError(f"{_CORRUPT}RowData of {n} channels has a {nbytes}-byte buffer "
                         "(channels take 1, 2, 4 or 8 bytes)")
    return 0


cdef str _utf8(bytes data, size_t offset, size_t n):
    """A string of the burst, which parse.c has found to be UTF-8."""
    return PyUnicode_DecodeUTF8(PyBytes_AS_STRING(data) + offset, n, NULL)


cdef dict _little_dtypes = {}


cdef cnp.dtype _little(object dtype):
    """dtype in little-endian order, the wire's. Readers ask for the same few dtypes for
    every item: they are looked up, not built again."""
    try:
        return _little_dtypes[dtype]
    except (KeyError, TypeError):  # not seen yet, or unhashable (a list of fields)
        pass
    dt = np.dtype(dtype).newbyteorder("<")
    if len(_little_dtypes) < 64:
        try:
            _little_dtypes[dtype] = dt
        except TypeError:
            pass
    return dt


cdef object _view(bytes data, size_t offset, Py_ssize_t n, cnp.dtype dt):
    """n values of dt at offset in data: a read-only array that keeps data alive, no copy."""
    cdef cnp.npy_intp size = n
    Py_INCREF(dt)  # the array takes this reference
    cdef cnp.ndarray view = PyArray_NewFromDescr(
        &PyArray_Type, <PyObject *>dt, 1, &size, NULL, PyBytes_AS_STRING(data) + offset, 0, NULL)
    cnp.set_array_base(view, data)
    return view


cdef object _samples_view(bytes data, size_t offset, size_t nbytes, Py_ssize_t n, object dtype):
    """The buffer's n samples as a read-only array of dtype (little-endian), no copy."""
    cdef cnp.dtype dt = _little(dtype)
    if n and dt.itemsize * n != nbytes:
        raise ValueError(f"the buffer holds {n} samples of {nbytes // n} bytes, not of {dt} "
                         f"({dt.itemsize} bytes)")
    return _view(data, offset, n, dt)


cdef object _uint64s(bytes data, rs_entry *e, int field, int fixed, int typenum):
    """Repeated field `field` of an item, collected into a new array of 8-byte typenum."""
    cdef cnp.npy_intp size = e.count
    cdef cnp.ndarray out = cnp.PyArray_EMPTY(1, &size, typenum, 0)
    cdef rs_reader r
    rs_reader_init(&r, <const uint8_t *>PyBytes_AS_STRING(data), len(data))
    rs_collect(&r, e, field, fixed, <uint64_t *>cnp.PyArray_DATA(out))
    return out


# Items are not tracked by the cycle collector: they refer only to bytes, str, int tuples and
# arrays of numbers, which cannot lead back to them; a message of 1000 items would otherwise
# set a collection going on every decode.
@cython.no_gc
cdef class _Item:
    """What every decoded item has: the burst it was read from and where it lies in it."""
    cdef bytes _data
    cdef rs_entry _e

    cdef void _own(self, bytes data, const rs_entry *e):
        self._data = data
        self._e = e[0]

    def __eq__(self, other):
        return type(other) is type(self) and (<_Item>other)._key() == self._key()

    def __hash__(self):
        return hash(self._key())

    def __repr__(self):
        return f"{type(self).__name__}({self._fields()})"

    def __reduce__(self):
        return type(self), self._args()


@cython.no_gc
cdef class _Buffered(_Item):
    """An item with a buffer of values."""

    cdef void _hold(self, object buffer, size_t count):
        """Made from Python (the twin): the item's buffer is its own data."""
        self._data = bytes(buffer)
        self._e.buffer = 0
        self._e.buffer_len = len(self._data)
        self._e.count = count

    @property
    def buffer(self):
        """The values as written: a read-only memoryview of the message, no copy."""
        return memoryview(self._data)[self._e.buffer:self._e.buffer + self._e.buffer_len]


@cython.final
@cython.no_gc
cdef class TimestampedItem(_Buffered):
    """TimestampedData: one channel's samples at the given timestamps."""
    cdef object _timestamps

    def __init__(self, channel_id, timestamps, buffer):
        self._timestamps = np.asarray(timestamps, dtype=np.int64)
        self._hold(buffer, len(self._timestamps))
        self._e.channel = channel_id
        _check_samples("TimestampedData", self._e.count, self._e.buffer_len)

    @property
    def channel_id(self) -> int:
        return self._e.channel

    @property
    def timestamps(self):
        """int64 ns since the epoch, computed once (start + cumulated deltas x scale)."""
        cdef cnp.ndarray t
        cdef int64_t *p
        cdef uint64_t acc, scale
        cdef size_t i
        if self._timestamps is None:
            t = _uint64s(self._data, &self._e, 4, 0, cnp.NPY_INT64)
            p = <int64_t *>cnp.PyArray_DATA(t)
            acc, scale = <uint64_t>self._e.start, <uint64_t>self._e.step
            for i in range(self._e.count):  # wraps like the encoder: true times fit int64
                acc += <uint64_t>p[i] * scale
                p[i] = <int64_t>acc
            self._timestamps = t
        return self._timestamps

    def values(self, dtype):
        """The samples as the channel's dtype (it lives in configuration, not the message):
        a read-only view of the message, no copy."""
        return _samples_view(self._data, self._e.buffer, self._e.buffer_len, self._e.count, dtype)

    def _key(self):
        return self._e.channel, self.timestamps.tobytes(), bytes(self.buffer)

    def _fields(self):
        return f"channel_id={self.channel_id}, timestamps={self.timestamps!r}"

    def _args(self):
        return self.channel_id, self.timestamps, bytes(self.buffer)


@cython.final
@cython.no_gc
cdef class PeriodicItem(_Buffered):
    """PeriodicData: samples at start, start + interval, ..."""

    def __init__(self, channel_id, start, interval, samples, buffer):
        self._hold(buffer, 0)
        self._e.channel, self._e.start, self._e.step, self._e.samples = channel_id, start, interval, samples
        _check_samples("PeriodicData", self._e.samples, self._e.buffer_len)

    @property
    def channel_id(self) -> int:
        return self._e.channel

    @property
    def start(self) -> int:
        return self._e.start

    @property
    def interval(self) -> int:
        return self._e.step

    @property
    def samples(self) -> int:
        return self._e.samples

    @property
    def timestamps(self):
        """int64 ns since the epoch: start + k * interval."""
        cdef cnp.npy_intp size = self._e.samples
        cdef cnp.ndarray t = cnp.PyArray_EMPTY(1, &size, cnp.NPY_INT64, 0)
        cdef int64_t *p = <int64_t *>cnp.PyArray_DATA(t)
        cdef int32_t k
        for k in range(self._e.samples):
            p[k] = <int64_t>(<uint64_t>self._e.start + <uint64_t>k * <uint64_t>self._e.step)
        return t

    def values(self, dtype):
        """The samples as the channel's dtype: a read-only view of the message, no copy."""
        return _samples_view(self._data, self._e.buffer, self._e.buffer_len, self._e.samples, dtype)

    def _key(self):
        return self._args()

    def _fields(self):
        return (f"channel_id={self.channel_id}, start={self.start}, interval={self.interval}, "
                f"samples={self.samples}")

    def _args(self):
        return self.channel_id, self.start, self.interval, self.samples, bytes(self.buffer)


@cython.final
@cython.no_gc
cdef class RowItem(_Buffered):
    """RowData: one instant of several channels, packed in channel order."""
    cdef object _channel_ids

    def __init__(self, channel_ids, timestamp, buffer):
        self._channel_ids = tuple(int(c) for c in channel_ids)
        self._hold(buffer, len(self._channel_ids))
        self._e.start = timestamp
        _check_row(self._e.count, self._e.buffer_len)

    @property
    def channel_ids(self) -> tuple:
        if self._channel_ids is None:
            self._channel_ids = tuple(_uint64s(self._data, &self._e, 1, 0, cnp.NPY_UINT64)
                                      .astype(np.uint32).tolist())
        return self._channel_ids

    @property
    def timestamp(self) -> int:
        return self._e.start

    def values(self, dtype):
        """The row as an array of dtype: one value per channel, or a one-element structured
        array of the channels' packed dtype."""
        cdef cnp.dtype dt = _little(dtype)
        if dt.itemsize == 0 or self._e.buffer_len % dt.itemsize:
            raise ValueError(f"a {self._e.buffer_len}-byte row does not hold whole {dt} values")
        return _view(self._data, self._e.buffer, self._e.buffer_len // dt.itemsize, dt)

    def _key(self):
        return self._args()

    def _fields(self):
        return f"channel_ids={self.channel_ids}, timestamp={self.timestamp}"

    def _args(self):
        return self.channel_ids, self.timestamp, bytes(self.buffer)


@cython.final
@cython.no_gc
cdef class EventItem(_Item):
    """Event: an occurrence of an event definition, with its text and raw data."""
    cdef readonly str status_text
    cdef readonly str app_name
    cdef object _raw_data

    def __init__(self, definition_id, timestamp, status_text, raw_data, app_name):
        self._raw_data = np.asarray(raw_data, dtype=np.float64)
        self._e.definition, self._e.start = definition_id, timestamp
        self.status_text, self.app_name = status_text, app_name

    @property
    def definition_id(self) -> int:
        return self._e.definition

    @property
    def timestamp(self) -> int:
        return self._e.start

    @property
    def raw_data(self):
        """float64 array."""
        if self._raw_data is None:
            self._raw_data = _uint64s(self._data, &self._e, 5, 1, cnp.NPY_FLOAT64)
        return self._raw_data

    def _key(self):
        return self.definition_id, self.timestamp, self.status_text, self.raw_data.tobytes(), self.app_name

    def _fields(self):
        return (f"definition_id={self.definition_id}, timestamp={self.timestamp}, "
                f"status_text={self.status_text!r}, raw_data={self.raw_data!r}, "
                f"app_name={self.app_name!r}")

    def _args(self):
        return self.definition_id, self.timestamp, self.status_text, self.raw_data, self.app_name


@cython.final
@cython.no_gc
cdef class TimeRangeItem(_Item):
    """StreamTimeRange: the session's time span so far (inclusive, ns since the epoch)."""

    def __init__(self, start, end):
        self._e.start, self._e.step = start, end

    @property
    def start(self) -> int:
        return self._e.start

    @property
    def end(self) -> int:
        return self._e.step

    def _key(self):
        return self._args()

    def _fields(self):
        return f"start={self.start}, end={self.end}"

    def _args(self):
        return self.start, self.end


@cython.final
@cython.no_gc
cdef class SessionJsonItem(_Item):
    """A Session JSON update."""
    cdef readonly str text

    def __init__(self, text):
        self.text = text

    def json(self):
        return json.loads(self.text)

    def _key(self):
        return self.text

    def _fields(self):
        return f"text={self.text!r}"

    def _args(self):
        return self.text,


cdef object _item(bytes data, rs_entry *e):
    cdef _Item item
    if e.kind == KIND_TIMESTAMPED:
        _check_samples("TimestampedData", e.count, e.buffer_len)
        item = TimestampedItem.__new__(TimestampedItem)
    elif e.kind == KIND_PERIODIC:
        _check_samples("PeriodicData", e.samples, e.buffer_len)
        item = PeriodicItem.__new__(PeriodicItem)
    elif e.kind == KIND_ROW:
        _check_row(e.count, e.buffer_len)
        item = RowItem.__new__(RowItem)
    elif e.kind == KIND_EVENT:
        item = EventItem.__new__(EventItem)
        (<EventItem>item).status_text = _utf8(data, e.buffer, e.buffer_len)
        (<EventItem>item).app_name = _utf8(data, e.text, e.text_len)
    elif e.kind == KIND_TIME_RANGE:
        item = TimeRangeItem.__new__(TimeRangeItem)
    elif e.kind == KIND_SESSION_JSON:
        item = SessionJsonItem.__new__(SessionJsonItem)
        (<SessionJsonItem>item).text = _utf8(data, e.buffer, e.buffer_len)
    else:
        raise ValueError(f"{_CORRUPT}a StreamData holds no data")
    item._own(data, e)
    return item


def decode(message, *, compressed=True) -> list:
    """The items of one message, in order.

    `message` is what the writer put in Redis (an LZ4 raw block), the uncompressed bytes
    with compressed=False, or a StreamDataBurst protobuf message. Sample values are
    read-only views of the decompressed message; corrupt input raises ValueError.
    """
    if hasattr(message, "SerializeToString"):  # a protobuf StreamDataBurst
        message, compressed = message.SerializeToString(), False
    cdef bytes data
    cdef _Buffer buf
    if compressed:
        data = _unpack(message)
    elif type(message) is bytes:
        data = message
    else:  # a copy the items can keep: the caller may change its own buffer later
        buf = _Buffer(message, "message")
        data = (<const char *>buf.ptr())[:buf.size()]
    cdef rs_reader r
    cdef rs_entry e
    cdef list items = []
    cdef int got
    rs_reader_init(&r, <const uint8_t *>PyBytes_AS_STRING(data), len(data))
    while True:
        got = rs_read_entry(&r, &e)
        if got == 0:
            return items
        if got < 0:
            raise ValueError(f"{_CORRUPT}{r.error.decode('ascii')} at byte {r.error_at}")
        items.append(_item(data, &e))
