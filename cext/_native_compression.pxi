# LZ4 compression and decompression: the only place, threads included.
# Included by _native.pyx: one extension module; its cimports and imports are there.

# ---- compression: LZ4 raw blocks, no frame and no size prefix ------------------------

cdef object _take_bytes(PyObject *raw, Py_ssize_t size):
    """A new bytes object (ours alone) of which the C code wrote the first `size` bytes,
    shrunk in place, no copy; or, if size < 0 (that C code failed), freed and None."""
    if size < 0:
        Py_DECREF(<object>raw)
        return None
    _PyBytes_Resize(&raw, size)
    result = <object>raw
    Py_DECREF(result)
    return result


cdef object _compress(const uint8_t *src, size_t n):
    """LZ4-compresses n bytes straight into a new bytes object."""
    cdef int bound = LZ4_compressBound(<int>n)
    cdef PyObject *out = PyBytes_FromStringAndSize(NULL, bound)
    cdef char *dst = PyBytes_AS_STRING(<object>out)
    cdef PyThreadState *gil = _release_gil(n)
    cdef int size = LZ4_compress_default(<const char *>src, dst, <int>n, bound)
    _restore_gil(gil)
    data = _take_bytes(out, size if size > 0 else -1)
    if data is None:
        raise RuntimeError("LZ4 compression failed")
    return data


def compress(data) -> bytes:
    """Compress bytes-like data (at most 1 MiB) as one LZ4 raw block."""
    cdef _Buffer buf = _Buffer(data, "data")
    if buf.size() > RS_MAX_MESSAGE:
        raise ValueError(f"data is {buf.size()} bytes, over the {RS_MAX_MESSAGE}-byte (1 MiB) limit of one message")
    return _compress(buf.ptr(), buf.size())


def decompress(data) -> bytes:
    """Decompress one LZ4 raw block of at most 1 MiB uncompressed: the inverse of compress()."""
    return _unpack(data, "data")


def unpack(message) -> bytes:
    """Decompress one message (an LZ4 raw block) into the uncompressed StreamDataBurst bytes.

    The output is capped at 1 MiB, as the Stream Service caps it.
    """
    return _unpack(message)


cdef bytes _unpack(object message, str name="message"):
    """The LZ4 raw block `message` decompressed; errors call it `name` (the caller's)."""
    cdef _Buffer buf = _Buffer(message, name)
    cdef size_t n = buf.size()
    if n > <size_t>LZ4_compressBound(RS_MAX_MESSAGE):
        raise ValueError(f"{name} is {n} bytes: no LZ4 block of at most 1 MiB is that large")
    # The block's sequence headers tell its size: the output is allocated once. A little
    # room past the end lets LZ4 accept every block it would accept with a 1 MiB buffer,
    # as the Stream Service gives it (LZ4 checks its end rules against the room it has).
    cdef int64_t size = rs_lz4_size(buf.ptr(), n, RS_MAX_MESSAGE)
    cdef int room = <int>min(size + LZ4_END_ROOM, RS_MAX_MESSAGE)
    cdef PyObject *out = PyBytes_FromStringAndSize(NULL, room if size >= 0 else 0)
    cdef const char *src = <const char *>buf.ptr()
    cdef char *dst = PyBytes_AS_STRING(<object>out)
    cdef PyThreadState *gil = _release_gil(n)
    if size >= 0 and LZ4_decompress_safe(src, dst, <int>n, room) != size:
        size = -1
    _restore_gil(gil)
    data = _take_bytes(out, size)
    if data is None:
        raise ValueError(
            f"{name} is not an LZ4 raw block of at most 1 MiB (1048576 bytes) uncompressed: "
            "corrupt, truncated or oversize"
        )
    return data


# ---- compressing the messages of a plan, on one thread or several -----------------------

cdef enum:
    PARALLEL_BYTES = 1 << 20    # threads=None: below this much wire, one thread
    PARALLEL_MESSAGE_BYTES = 4 * 65536  # and at least this much per thread

cdef object _pool = None


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


cdef size_t _threads(object threads, size_t nmessages, size_t nbytes) except 0:
    cdef size_t n
    if threads is None:
        n = 1 if nbytes < PARALLEL_BYTES else min(_cores(), nbytes // PARALLEL_MESSAGE_BYTES)
    else:
        n = columns.threads(threads)
    return max(1, min(n, nmessages))


cdef class _Compression:
    """The messages of a planned burst and their LZ4 blocks: one bytes object per message,
    allocated to the LZ4 bound and shrunk in place once written."""
    cdef Burst burst
    cdef size_t n
    cdef PyObject **blocks
    cdef char **out
    cdef int *cap
    cdef int *size

    def __cinit__(self, Burst burst):
        self.burst = burst
        self.n = burst.c.nmessages
        self.blocks = <PyObject **>calloc(max(self.n, 1), sizeof(PyObject *))
        self.out = <char **>malloc(max(self.n, 1) * sizeof(char *))
        self.cap = <int *>malloc(max(self.n, 1) * sizeof(int))
        self.size = <int *>calloc(max(self.n, 1), sizeof(int))
        if not (self.blocks and self.out and self.cap and self.size):
            raise MemoryError()
        cdef size_t m
        for m in range(self.n):
            self.cap[m] = LZ4_compressBound(<int>burst.c.messages[m].len)
            self.blocks[m] = PyBytes_FromStringAndSize(NULL, self.cap[m])
            self.out[m] = PyBytes_AS_STRING(<object>self.blocks[m])

    def run(self, size_t lo, size_t hi):
        """Compresses messages [lo, hi), without the GIL: called on a pool thread."""
        with nogil:
            rs_compress_messages(&self.burst.c, lo, hi, self.out, self.cap, self.size)

    cdef int run_all(self, size_t threads) except -1:
        cdef PyThreadState *gil
        if threads == 1:
            gil = _release_gil(self.burst.c.wire.len)
            rs_compress_messages(&self.burst.c, 0, self.n, self.out, self.cap, self.size)
            _restore_gil(gil)
            return 0
        global _pool
        if _pool is None:
            _pool = ThreadPoolExecutor(max(_cores() - 1, 1), thread_name_prefix="rtastream-pack")
        # Contiguous shares of about equal bytes; this thread takes the first one.
        cdef size_t total = self.burst.c.wire.len, done = 0, m, lo = 0, k = 1
        bounds = []
        for m in range(self.n):
            done += self.burst.c.messages[m].len
            if done * threads >= k * total and m + 1 < self.n and k < threads:
                bounds.append((lo, m + 1))
                lo, k = m + 1, k + 1
        bounds.append((lo, self.n))
        futures = [_pool.submit(self.run, a, b) for a, b in bounds[1:]]
        self.run(*bounds[0])
        for future in futures:
            future.result()
        return 0

    cdef list results(self, bint ranges):
        cdef list out = []
        cdef size_t m
        cdef rs_message *msg
        for m in range(self.n):
            if self.size[m] <= 0:
                raise MemoryError("out of memory or LZ4 failure while packing a burst")
        for m in range(self.n):
            data = _take_bytes(self.blocks[m], self.size[m])
            self.blocks[m] = NULL
            msg = &self.burst.c.messages[m]
            if ranges:
                out.append((data, (msg.range_start, msg.range_end) if msg.has_range else None))
            else:
                out.append(data)
        return out

    def __dealloc__(self):
        cdef size_t m
        if self.blocks != NULL:  # what results() did not hand over, after an error
            for m in range(self.n):
                if self.blocks[m] != NULL:
                    Py_DECREF(<object>self.blocks[m])
        free(self.blocks)
        free(self.out)
        free(self.cap)
        free(self.size)
