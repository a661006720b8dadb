# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""The native core: Burst (encoding and packing), the LZ4 raw-block codec, and decoding.

Plain arguments (exact ints, canonical arrays, lists of ints, ASCII str) go straight to the
C core in burst.c; anything else is checked and made canonical by rtastream._columns, which
also words every error (once per call, never per sample). The C core encodes without the
GIL; meanwhile a Burst is marked busy, so another thread touching it gets an error instead
of a buffer pulled from under the C code. parse.c reads messages back (see decode()).

One extension module, in five parts: this file (the C declarations, the GIL and buffer
helpers every part uses), then by `include`, in order: _native_arguments.pxi (the fast path
for canonical arguments), _native_compression.pxi (the LZ4 codec, threads included),
_native_burst.pxi (Burst) and _native_decoding.pxi (decode() and its items).
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


include "_native_arguments.pxi"
include "_native_compression.pxi"
include "_native_burst.pxi"
include "_native_decoding.pxi"
