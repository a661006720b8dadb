# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""The native core: Burst (encoding and packing), the LZ4 raw-block codec, and decoding.

Plain arguments (exact ints, canonical arrays, lists of ints, ASCII str) go straight to the
C core in burst.c; anything else is checked and made canonical by rtastream._columns, which
also words every error (once per call, never per sample). The C core encodes without the
GIL; meanwhile a Burst is marked busy, so another thread touching it gets an error instead
of a buffer pulled from under the C code. parse.c reads messages back (see decode()).
"""

from cpython.buffer cimport PyBUF_SIMPLE, PyBuffer_Release, PyObject_CheckBuffer, PyObject_GetBuffer
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_GET_SIZE
from cpython.object cimport PyObject, PyTypeObject
from cpython.ref cimport Py_DECREF, Py_INCREF
from libc.string cimport memcpy
from cpython.list cimport PyList_GET_ITEM
from cpython.long cimport PyLong_AsLongLongAndOverflow, PyLong_CheckExact
from cpython.tuple cimport PyTuple_GET_ITEM
from cpython.unicode cimport PyUnicode_CheckExact, PyUnicode_DecodeUTF8, PyUnicode_GET_LENGTH
from libc.stdint cimport INT32_MAX, INT32_MIN, UINT32_MAX, int32_t, int64_t, uint8_t, uint32_t, uint64_t
from libc.stdlib cimport calloc, free, malloc

cimport cython
cimport numpy as cnp

from cburst cimport *
from clz4 cimport *
from cparse cimport *

import json
import os
import sys
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from rtastream import _columns as columns

cnp.import_array()

cdef extern from "numpy/arrayobject.h":
    # Not in numpy's .pxd, as it takes a reference to descr: the caller gives it one.
    object PyArray_NewFromDescr(PyTypeObject *subtype, PyObject *descr, int nd,
                                cnp.npy_intp *dims, cnp.npy_intp *strides, void *data, int flags,
                                PyObject *obj)
    PyTypeObject PyArray_Type

cdef extern from "Python.h":
    ctypedef struct PyThreadState
    PyObject *PyBytes_FromStringAndSize(const char *, Py_ssize_t) except NULL
    int _PyBytes_Resize(PyObject **, Py_ssize_t) except -1
    bint PyUnicode_IS_ASCII(object)
    void *PyUnicode_DATA(object)
    PyThreadState *PyEval_SaveThread() nogil
    void PyEval_RestoreThread(PyThreadState *) nogil

MAX_SAMPLES = RS_MAX_SAMPLES
MAX_MESSAGE = RS_MAX_MESSAGE
LZ4_VERSION = LZ4_versionNumber()

# Below this many bytes of work, releasing the GIL costs more than it gives: another
# thread may take it and make us wait for its switch interval.
cdef enum:
    NOGIL_BYTES = 16384
    LZ4_END_ROOM = 64


cdef inline PyThreadState *_release_gil(size_t work) noexcept:
    return PyEval_SaveThread() if work >= NOGIL_BYTES else NULL


cdef inline void _restore_gil(PyThreadState *state) noexcept:
    if state != NULL:
        PyEval_RestoreThread(state)


cdef class _Buffer:
    """A read-only, C-contiguous view of a bytes-like object, released on deletion."""
    cdef Py_buffer view

    def __cinit__(self, obj, str name="buffer"):
        try:
            PyObject_GetBuffer(obj, &self.view, PyBUF_SIMPLE)
        except (BufferError, TypeError):
            what = "a non-contiguous " if PyObject_CheckBuffer(obj) else ""
            raise TypeError(f"{name} must be a C-contiguous bytes-like object, not "
                            f"{what}{type(obj).__name__}") from None

    def __dealloc__(self):
        PyBuffer_Release(&self.view)

    cdef inline const uint8_t *ptr(self) noexcept:
        return <const uint8_t *>self.view.buf

    cdef inline size_t size(self) noexcept:
        return <size_t>self.view.len


# ---- the fast path: arguments that are already canonical skip rtastream._columns ------
# Anything else (lists, other dtypes, strided or big-endian arrays, bad values) goes through
# _columns, which converts it or raises the error; so checks and messages live in one place.

cdef bint _LITTLE = sys.byteorder == "little"


cdef inline bint _plain(object obj, int ndim) noexcept:
    """An exact, C-contiguous, aligned ndarray of ndim dimensions in native order, on a
    little-endian machine (the wire's order)."""
    if not _LITTLE or not cnp.PyArray_CheckExact(obj):
        return False
    cdef cnp.ndarray a = <cnp.ndarray>obj
    return (cnp.PyArray_NDIM(a) == ndim and cnp.PyArray_ISCARRAY_RO(a)
            and cnp.PyArray_ISNOTSWAPPED(a))


cdef inline bint _plain_values(object obj, int ndim) noexcept:
    if not _plain(obj, ndim):
        return False
    cdef int t = cnp.PyArray_TYPE(<cnp.ndarray>obj)
    return (cnp.NPY_INT8 <= t <= cnp.NPY_ULONGLONG and t != cnp.NPY_BOOL) or \
        t == cnp.NPY_FLOAT32 or t == cnp.NPY_FLOAT64


cdef inline bint _plain_int64(object obj, int64_t *out) noexcept:
    """An exact int within int64."""
    cdef int overflow = 0
    if not PyLong_CheckExact(obj):
        return False
    out[0] = PyLong_AsLongLongAndOverflow(obj, &overflow)
    return overflow == 0


cdef inline bint _plain_uint32(object obj, uint32_t *out) noexcept:
    cdef int64_t v
    if not _plain_int64(obj, &v) or v < 0 or v > UINT32_MAX:
        return False
    out[0] = <uint32_t>v
    return True


cdef bint _plain_ids(object obj, Py_ssize_t n, uint32_t *out) noexcept:
    """n channel ids, all within uint32, from a list, tuple or range of ints or a 1-D
    integer ndarray."""
    cdef Py_ssize_t i
    cdef int64_t v, step
    if type(obj) is list or type(obj) is tuple:
        if len(obj) != n:
            return False
        for i in range(n):
            item = <object>(PyList_GET_ITEM(obj, i) if type(obj) is list else PyTuple_GET_ITEM(obj, i))
            if not _plain_uint32(item, &out[i]):
                return False
        return True
    if type(obj) is range:
        # Within the bounds _plain_ids_len checks, every element is a uint32 (a range is
        # monotonic), so v + i * step neither overflows nor leaves uint32.
        if (_plain_ids_len(obj) != n or not _plain_int64(obj.start, &v)
                or not _plain_int64(obj.step, &step)):
            return False
        for i in range(n):
            out[i] = <uint32_t>(v + i * step)
        return True
    if not _plain(obj, 1) or cnp.PyArray_DIM(<cnp.ndarray>obj, 0) != n:
        return False
    cdef int t = cnp.PyArray_TYPE(<cnp.ndarray>obj)
    cdef void *p = cnp.PyArray_DATA(<cnp.ndarray>obj)
    if t == cnp.NPY_UINT32:
        memcpy(out, p, n * 4)
        return True
    for i in range(n):
        if t == cnp.NPY_INT64:
            v = (<int64_t *>p)[i]
        elif t == cnp.NPY_INT32:
            v = (<int32_t *>p)[i]
        elif t == cnp.NPY_UINT64:
            if (<uint64_t *>p)[i] > UINT32_MAX:
                return False
            v = <int64_t>(<uint64_t *>p)[i]
        else:
            return False
        if v < 0 or v > UINT32_MAX:
            return False
        out[i] = <uint32_t>v
    return True


cdef bint _plain_int32s(object obj, Py_ssize_t n, int32_t *out) noexcept:
    """n int32 values (event definition ids) from a list of ints or a 1-D integer array."""
    cdef Py_ssize_t i
    cdef int64_t v
    cdef int t
    cdef void *p
    if type(obj) is list:
        if len(<list>obj) != n:
            return False
        for i in range(n):
            if not (_plain_int64(<object>PyList_GET_ITEM(obj, i), &v) and INT32_MIN <= v <= INT32_MAX):
                return False
            out[i] = <int32_t>v
        return True
    if not _plain(obj, 1) or cnp.PyArray_DIM(<cnp.ndarray>obj, 0) != n:
        return False
    t, p = cnp.PyArray_TYPE(<cnp.ndarray>obj), cnp.PyArray_DATA(<cnp.ndarray>obj)
    for i in range(n):
        if t == cnp.NPY_INT32:
            v = (<int32_t *>p)[i]
        elif t == cnp.NPY_INT64:
            v = (<int64_t *>p)[i]
        elif t == cnp.NPY_UINT32:
            v = (<uint32_t *>p)[i]
        else:
            return False
        if not INT32_MIN <= v <= INT32_MAX:
            return False
        out[i] = <int32_t>v
    return True


cdef Py_ssize_t _plain_ids_len(object obj) noexcept:
    """How many ids _plain_ids may find in obj: -1 if it is none of the plain kinds (or a
    range that cannot hold uint32 ids, whose len() might not even fit)."""
    if type(obj) is list or type(obj) is tuple:
        return len(obj)
    if type(obj) is range:
        return len(obj) if 0 <= obj.start <= 0xFFFFFFFF and 0 <= obj.stop <= 0x100000000 else -1
    return cnp.PyArray_DIM(<cnp.ndarray>obj, 0) if _plain(obj, 1) else -1


# Channel ids of one call, in a buffer on the stack when they are few.
cdef enum:
    STACK_IDS = 128

cdef struct Ids:
    uint32_t *ptr
    Py_ssize_t n
    uint32_t stack[STACK_IDS]


cdef int _ids_alloc(Ids *ids, Py_ssize_t n) except -1:
    ids.n = n
    ids.ptr = &ids.stack[0] if n <= STACK_IDS else <uint32_t *>malloc(n * sizeof(uint32_t))
    if ids.ptr == NULL:
        raise MemoryError()
    return 0


cdef void _ids_free(Ids *ids) noexcept:
    if ids.ptr != &ids.stack[0]:
        free(ids.ptr)


cdef int _ids_from_array(Ids *ids, cnp.ndarray checked) except -1:
    """Replaces what ids holds with the uint32 array rtastream._columns returns."""
    _ids_free(ids)
    _ids_alloc(ids, cnp.PyArray_DIM(checked, 0))
    memcpy(ids.ptr, cnp.PyArray_DATA(checked), ids.n * sizeof(uint32_t))
    return 0


cdef inline bint _plain_row(object buffer, Py_ssize_t nids) noexcept:
    """Raw bytes of a size n channels can fill, or one plain value per channel."""
    if type(buffer) is bytes:
        return nids <= len(<bytes>buffer) <= 8 * nids
    return _plain_values(buffer, 1) and cnp.PyArray_DIM(<cnp.ndarray>buffer, 0) == nids


cdef inline bint _ascii(object text) noexcept:
    """An exact str of ASCII only: its characters are its UTF-8 bytes, no encoding needed."""
    return PyUnicode_CheckExact(text) and PyUnicode_IS_ASCII(text)


cdef bint _plain_texts(object texts, size_t n) noexcept:
    """One ASCII str, or a list of n of them."""
    if _ascii(texts):
        return True
    if type(texts) is not list or len(<list>texts) != n:
        return False
    for text in <list>texts:
        if not _ascii(text):
            return False
    return True


cdef inline rs_text _text(object text) noexcept:
    """The UTF-8 bytes of an ASCII str (its own buffer) or of bytes."""
    if type(text) is bytes:
        return rs_text(<const uint8_t *>PyBytes_AS_STRING(text), PyBytes_GET_SIZE(text))
    return rs_text(<const uint8_t *>PyUnicode_DATA(text), PyUnicode_GET_LENGTH(text))


cdef size_t _texts(object texts, size_t n, rs_text *out) noexcept:
    """The texts of n events into out: one ASCII str or bytes for all, or a list of n: the
    step from one event's text to the next (0: the same for all)."""
    cdef size_t i
    if type(texts) is str or type(texts) is bytes:
        out[0] = _text(texts)
        return 0
    for i in range(n):
        out[i] = _text(<object>PyList_GET_ITEM(texts, i))
    return 1


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


def unpack(message) -> bytes:
    """Decompress one message (an LZ4 raw block) into the uncompressed StreamDataBurst bytes.

    The output is capped at 1 MiB, as the Stream Service caps it.
    """
    return _unpack(message)


cdef bytes _unpack(object message):
    cdef _Buffer buf = _Buffer(message, "message")
    cdef size_t n = buf.size()
    if n > <size_t>LZ4_compressBound(RS_MAX_MESSAGE):
        raise ValueError(f"message is {n} bytes: no LZ4 block of at most 1 MiB is that large")
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
            "message is not an LZ4 raw block of at most 1 MiB (1048576 bytes) uncompressed: "
            "corrupt, truncated or oversize"
        )
    return data


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
        if not _plain_int64(timestamp, &t):
            t = columns.integer(timestamp, "timestamp", columns.INT64)
        cdef Ids ids
        cdef Py_ssize_t n = _plain_ids_len(channel_ids)
        _ids_alloc(&ids, max(n, 0))
        cdef _Buffer row_buf
        cdef size_t size = 0
        try:
            if n < 0 or not _plain_ids(channel_ids, n, ids.ptr):
                _ids_from_array(&ids, columns.channel_ids(channel_ids))
            row_buf = _Buffer(buffer if _plain_row(buffer, ids.n) else columns.row_buffer(buffer, ids.n))
            self._enter()
            st = rs_add_rows(&self.c, ids.ptr, ids.n, &t, 1, row_buf.ptr(), row_buf.size(), &size)
            self.busy = False
        finally:
            _ids_free(&ids)
        _check(st, "row", size)

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


cdef size_t _target(object target) except 0:
    cdef int64_t t
    if _plain_int64(target, &t) and 1 <= t <= RS_MAX_MESSAGE:
        return <size_t>t
    return columns.target(target)


cdef int _check(rs_status st, str what="item", size_t size=0) except -1:
    if st == RS_OK:
        return 0
    if st == RS_ENOMEM:
        raise MemoryError("out of memory while encoding a burst")
    if st == RS_ETOOLARGE:
        raise columns.too_large_error(what, size)
    raise RuntimeError(f"burst encoder failed with status {st}")


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
