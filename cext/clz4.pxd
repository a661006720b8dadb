# The parts of liblz4's C API (lz4.h) the native core uses: raw blocks, no frames.

cdef extern from "lz4.h" nogil:
    int LZ4_compressBound(int size)
    int LZ4_compress_default(const char *src, char *dst, int size, int capacity)
    int LZ4_decompress_safe(const char *src, char *dst, int size, int capacity)
    int LZ4_versionNumber()
