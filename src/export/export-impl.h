/*
 * Internals of src/export: a minimal protocol-buffers encoder (the wire format of
 * https://protobuf.dev/programming-guides/encoding/: varints, 64-bit, length-delimited and
 * 32-bit fields, packed repeated scalars) used by the ONNX writer, and a growable byte buffer.
 */
#pragma once

#include "ghnas/export.h"

#include <stddef.h>
#include <stdint.h>

/* A growable byte buffer with a sticky out-of-memory flag (checked once at the end). */
typedef struct nas_i_buf {
    unsigned char *p;
    size_t n, cap;
    bool oom;
} nas_i_buf;

void nas_i_buf_free(nas_i_buf *b);
void nas_i_buf_put(nas_i_buf *b, const void *data, size_t n);
void nas_i_buf_u16(nas_i_buf *b, uint16_t v); /* little-endian */
void nas_i_buf_u32(nas_i_buf *b, uint32_t v); /* little-endian */

/* Wire types. */
enum { NAS_PB_VARINT = 0, NAS_PB_I64 = 1, NAS_PB_LEN = 2, NAS_PB_I32 = 5 };

void nas_i_pb_varint(nas_i_buf *b, uint64_t v);                        /* a bare varint */
void nas_i_pb_tag(nas_i_buf *b, int field, int wire);                  /* (field << 3) | wire */
void nas_i_pb_uint(nas_i_buf *b, int field, uint64_t v);               /* varint field */
void nas_i_pb_int(nas_i_buf *b, int field, int64_t v);                 /* int32/int64 field (two's
                                                                          complement, 10 bytes if < 0) */
void nas_i_pb_float(nas_i_buf *b, int field, float v);                 /* fixed32 field */
void nas_i_pb_bytes(nas_i_buf *b, int field, const void *p, size_t n); /* length-delimited */
void nas_i_pb_str(nas_i_buf *b, int field, const char *s);
void nas_i_pb_msg(nas_i_buf *b, int field, const nas_i_buf *m); /* an embedded message */
void nas_i_pb_packed_i64(nas_i_buf *b, int field, const int64_t *v, int n);
void nas_i_pb_packed_f32(nas_i_buf *b, int field, const float *v, int64_t n);
