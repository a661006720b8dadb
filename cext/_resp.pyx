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
    _DIGITS = 24  # room for a sign and the 20 digits of any 64-bit value

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


cdef inline Py_ssize_t _digits(long long value, char *end) noexcept:
    """Writes the decimal form of value just before `end`; returns its length."""
    cdef char *p = end
    cdef unsigned long long v = <unsigned long long>value
    if value < 0:
        v = 0ULL - v
    while True:
        p -= 1
        p[0] = <char>(48 + v % 10)  # '0' + digit
        v //= 10
        if v == 0:
            break
    if value < 0:
        p -= 1
        p[0] = b'-'
    return end - p


cdef int _put_header(Scratch *s, char kind, Py_ssize_t n) except -1:
    """'*<n>\\r\\n' (array) or '$<n>\\r\\n' (bulk string)."""
    cdef char buf[_DIGITS]
    cdef Py_ssize_t length = _digits(n, buf + _DIGITS)
    _put(s, &kind, 1)
    _put(s, buf + _DIGITS - length, length)
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
    cdef char digits_buf[_DIGITS]
    cdef char *digits_end = digits_buf + _DIGITS
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
                        n = _digits(number, digits_end)
                        _put_bulk(&s, digits_end - n, n)
                else:
                    raise TypeError(f"a Redis command argument must be str, int or bytes, "
                                    f"got {kind.__name__}: {arg!r}")
        out.append(PyBytes_FromStringAndSize(s.data, s.len))
    finally:
        PyMem_Free(s.data)
    return out

