# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""RESP2 for the writers' pipelines, without Python objects per argument.

The twin of rtastream.resp.pack_commands_py (pure Python), which the tests hold it to,
together with redis-py's own packer. Small pieces are gathered in one C buffer and become
one bytes object; a bytes argument of BIG_ARG bytes or more (a stream message) goes out as
its own chunk: the caller's object, never copied.
"""

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from cpython.long cimport PyLong_AsLongLongAndOverflow
from cpython.mem cimport PyMem_Free, PyMem_Realloc
from libc.string cimport memcpy

cdef extern from "Python.h":
    const char *PyUnicode_AsUTF8AndSize(object, Py_ssize_t *) except NULL

cdef enum:
    _BIG_ARG = 4096

BIG_ARG = _BIG_ARG


cdef struct Scratch:
    char *data
    Py_ssize_t len
    Py_ssize_t cap


cdef int _put(Scratch *s, const char *p, Py_ssize_t n) except -1:
    cdef Py_ssize_t cap
    cdef char *grown
    if s.len + n > s.cap:
        cap = max(2 * s.cap, s.len + n, 512)
        grown = <char *>PyMem_Realloc(s.data, <size_t>cap)
        if grown == NULL:
            raise MemoryError()
        s.data, s.cap = grown, cap
    memcpy(s.data + s.len, p, <size_t>n)
    s.len += n
    return 0


cdef int _put_int(Scratch *s, long long value) except -1:
    """Decimal digits of value."""
    cdef char digits[24]
    cdef int i = 24
    cdef unsigned long long v = <unsigned long long>value
    if value < 0:
        v = 0ULL - v
    while True:
        i -= 1
        digits[i] = <char>(48 + v % 10)  # '0' + digit
        v //= 10
        if v == 0:
            break
    if value < 0:
        i -= 1
        digits[i] = b'-'
    return _put(s, digits + i, 24 - i)


cdef int _put_header(Scratch *s, char kind, Py_ssize_t n) except -1:
    """'*<n>\\r\\n' (array) or '$<n>\\r\\n' (bulk string)."""
    _put(s, &kind, 1)
    _put_int(s, n)
    return _put(s, b"\r\n", 2)


cdef int _put_bulk(Scratch *s, const char *p, Py_ssize_t n) except -1:
    _put_header(s, b'$', n)
    _put(s, p, n)
    return _put(s, b"\r\n", 2)


def pack_commands(commands):
    """RESP2 for a pipeline of commands (tuples of str, int and bytes arguments), as
    chunks for one scatter-gather send."""
    cdef Scratch s
    cdef Py_ssize_t n
    cdef const char *p
    cdef int overflow
    cdef long long number
    cdef list out = []
    s.data, s.len, s.cap = NULL, 0, 0
    try:
        for command in commands:
            _put_header(&s, b'*', len(command))
            for arg in command:
                kind = type(arg)
                if kind is bytes:
                    n = PyBytes_GET_SIZE(arg)
                    if n >= _BIG_ARG:
                        _put_header(&s, b'$', n)
                        out.append(PyBytes_FromStringAndSize(s.data, s.len))
                        out.append(arg)
                        s.len = 0
                        _put(&s, b"\r\n", 2)
                    else:
                        _put_bulk(&s, PyBytes_AS_STRING(arg), n)
                elif kind is str:
                    p = PyUnicode_AsUTF8AndSize(arg, &n)
                    _put_bulk(&s, p, n)
                elif kind is int:
                    number = PyLong_AsLongLongAndOverflow(arg, &overflow)
                    if overflow:  # beyond 64 bits: rare enough for Python's formatting
                        digits = b"%d" % arg
                        _put_bulk(&s, PyBytes_AS_STRING(digits), PyBytes_GET_SIZE(digits))
                    else:
                        _put(&s, b"$", 1)
                        _put_int(&s, _digit_count(number))
                        _put(&s, b"\r\n", 2)
                        _put_int(&s, number)
                        _put(&s, b"\r\n", 2)
                else:
                    raise TypeError(f"a Redis command argument must be str, int or bytes, "
                                    f"got {kind.__name__}: {arg!r}")
        out.append(PyBytes_FromStringAndSize(s.data, s.len))
    finally:
        PyMem_Free(s.data)
    return out


cdef inline long long _digit_count(long long value) noexcept:
    """Characters in the decimal form of value, the sign included."""
    cdef unsigned long long v = <unsigned long long>value
    cdef long long count = 1
    if value < 0:
        v = 0ULL - v
        count += 1
    while v >= 10:
        v //= 10
        count += 1
    return count
