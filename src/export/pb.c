/*
 * A minimal protocol-buffers encoder: the wire format only (no schema, no decoding), enough to
 * write ONNX ModelProto messages. Embedded messages are built in their own buffer and appended
 * with their length; floats are little-endian IEEE-754 as the format requires.
 */
#include "export-impl.h"

#include <string.h>

void nas_i_buf_free(nas_i_buf *b) {
    nas_free(b->p);
    memset(b, 0, sizeof *b);
}

void nas_i_buf_put(nas_i_buf *b, const void *data, size_t n) {
    if (b->oom || n == 0) {
        return;
    }
    if (b->n + n > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->n + n) {
            cap *= 2;
        }
        unsigned char *p = nas_realloc(b->p, cap);
        if (!p) {
            b->oom = true;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->n, data, n);
    b->n += n;
}

void nas_i_buf_u16(nas_i_buf *b, uint16_t v) {
    unsigned char c[2] = {(unsigned char)(v & 0xff), (unsigned char)(v >> 8)};
    nas_i_buf_put(b, c, 2);
}

void nas_i_buf_u32(nas_i_buf *b, uint32_t v) {
    unsigned char c[4];
    for (int i = 0; i < 4; i++) {
        c[i] = (unsigned char)(v >> (8 * i));
    }
    nas_i_buf_put(b, c, 4);
}

void nas_i_pb_varint(nas_i_buf *b, uint64_t v) {
    unsigned char c[10];
    int n = 0;
    do {
        c[n] = (unsigned char)(v & 0x7f);
        v >>= 7;
        if (v) {
            c[n] |= 0x80;
        }
        n++;
    } while (v);
    nas_i_buf_put(b, c, (size_t)n);
}

void nas_i_pb_tag(nas_i_buf *b, int field, int wire) {
    nas_i_pb_varint(b, ((uint64_t)field << 3) | (uint64_t)wire);
}

void nas_i_pb_uint(nas_i_buf *b, int field, uint64_t v) {
    nas_i_pb_tag(b, field, NAS_PB_VARINT);
    nas_i_pb_varint(b, v);
}

void nas_i_pb_int(nas_i_buf *b, int field, int64_t v) {
    nas_i_pb_uint(b, field, (uint64_t)v);
}

void nas_i_pb_float(nas_i_buf *b, int field, float v) {
    uint32_t u;
    memcpy(&u, &v, sizeof u);
    nas_i_pb_tag(b, field, NAS_PB_I32);
    nas_i_buf_u32(b, u);
}

void nas_i_pb_bytes(nas_i_buf *b, int field, const void *p, size_t n) {
    nas_i_pb_tag(b, field, NAS_PB_LEN);
    nas_i_pb_varint(b, n);
    nas_i_buf_put(b, p, n);
}

void nas_i_pb_str(nas_i_buf *b, int field, const char *s) {
    nas_i_pb_bytes(b, field, s, strlen(s));
}

void nas_i_pb_msg(nas_i_buf *b, int field, const nas_i_buf *m) {
    if (m->oom) {
        b->oom = true;
        return;
    }
    nas_i_pb_bytes(b, field, m->p, m->n);
}

void nas_i_pb_packed_i64(nas_i_buf *b, int field, const int64_t *v, int n) {
    nas_i_buf t = {0};
    for (int i = 0; i < n; i++) {
        nas_i_pb_varint(&t, (uint64_t)v[i]);
    }
    nas_i_pb_msg(b, field, &t);
    nas_i_buf_free(&t);
}

void nas_i_pb_packed_f32(nas_i_buf *b, int field, const float *v, int64_t n) {
    nas_i_pb_tag(b, field, NAS_PB_LEN);
    nas_i_pb_varint(b, (uint64_t)n * 4u);
    for (int64_t i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, &v[i], sizeof u);
        nas_i_buf_u32(b, u);
    }
}
