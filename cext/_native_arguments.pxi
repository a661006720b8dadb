# Argument checks: the fast path for arguments already canonical.
# Included by _native.pyx: one extension module; its cimports and imports are there.

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


cdef inline Py_ssize_t _widths_fit(Ids *ids, const uint8_t *widths, Py_ssize_t known) noexcept:
    """The bytes a row of these channels holds, by `widths` (indexed by channel id, 0: not
    a row channel there); -1 if a channel has none. A bound configuration's check of row()."""
    cdef Py_ssize_t i, total = 0
    for i in range(ids.n):
        if ids.ptr[i] >= <size_t>known or widths[ids.ptr[i]] == 0:
            return -1
        total += widths[ids.ptr[i]]
    return total


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


cdef size_t _target(object target) except 0:
    cdef int64_t t
    if _plain_int64(target, &t) and 1 <= t <= RS_MAX_MESSAGE:
        return <size_t>t
    return columns.target(target)
