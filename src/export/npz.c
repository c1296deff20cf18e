/*
 * The .npz writer: a zip archive (PKWARE APPNOTE 6.3: local headers, stored entries, central
 * directory, end record; no zip64, so the archive stays under 4 GiB) of NumPy .npy files
 * (format 1.0: magic, version, header dict padded to a multiple of 64 bytes, raw data), as
 * numpy.savez writes them. Every array is float32 little-endian in C order.
 */
#include "export-impl.h"

#include <stdio.h>
#include <string.h>
#include <zlib.h>

/* One .npy file of a float array into b. */
static void npy(nas_i_buf *b, int ndim, const int64_t *dims, const float *data) {
    char shape[160] = "";
    size_t len = 0;
    int64_t n = 1;
    for (int d = 0; d < ndim; d++) {
        len += (size_t)snprintf(shape + len, sizeof shape - len, "%lld, ", (long long)dims[d]);
        n *= dims[d];
    }
    if (ndim > 1) { /* "(3, 4, )" is valid Python, but write what numpy writes: "(3, 4)" */
        shape[len - 2] = '\0';
    } else if (ndim == 1) {
        shape[len - 1] = '\0'; /* "(5,)" */
    }
    char head[256];
    int h = snprintf(head, sizeof head, "{'descr': '<f4', 'fortran_order': False, 'shape': (%s), }",
                     shape);
    /* magic (6) + version (2) + header length (2) + header + padding + '\n' = multiple of 64 */
    int total = 10 + h + 1;
    int pad = (64 - total % 64) % 64;
    nas_i_buf_put(b, "\x93NUMPY\x01\x00", 8);
    nas_i_buf_u16(b, (uint16_t)(h + pad + 1));
    nas_i_buf_put(b, head, (size_t)h);
    for (int i = 0; i < pad; i++) {
        nas_i_buf_put(b, " ", 1);
    }
    nas_i_buf_put(b, "\n", 1);
    nas_i_buf_put(b, data, (size_t)n * sizeof *data);
}

typedef struct zip {
    nas_i_buf out; /* the archive so far */
    nas_i_buf dir; /* central directory entries */
    uint16_t entries;
    bool too_big;
} zip;

/* DOS date 1980-01-01 00:00, as numpy's zipfile writes for in-memory entries. */
#define DOS_TIME 0
#define DOS_DATE ((0 << 9) | (1 << 5) | 1)

static void zip_add(zip *z, const char *name, const nas_i_buf *data) {
    if (data->oom) {
        z->out.oom = true;
        return;
    }
    if (z->out.n + data->n + 256 > 0xffffffffu || z->entries == 0xffff) {
        z->too_big = true;
        return;
    }
    const uint32_t crc = (uint32_t)crc32(0L, data->p, (uInt)data->n);
    const uint32_t size = (uint32_t)data->n, off = (uint32_t)z->out.n;
    const uint16_t name_len = (uint16_t)strlen(name);
    nas_i_buf *o = &z->out;
    nas_i_buf_u32(o, 0x04034b50); /* local file header */
    nas_i_buf_u16(o, 20);         /* version needed: 2.0 */
    nas_i_buf_u16(o, 0);          /* flags */
    nas_i_buf_u16(o, 0);          /* method: stored */
    nas_i_buf_u16(o, DOS_TIME);
    nas_i_buf_u16(o, DOS_DATE);
    nas_i_buf_u32(o, crc);
    nas_i_buf_u32(o, size); /* compressed */
    nas_i_buf_u32(o, size); /* uncompressed */
    nas_i_buf_u16(o, name_len);
    nas_i_buf_u16(o, 0); /* extra */
    nas_i_buf_put(o, name, name_len);
    nas_i_buf_put(o, data->p, data->n);
    nas_i_buf *d = &z->dir;
    nas_i_buf_u32(d, 0x02014b50); /* central directory header */
    nas_i_buf_u16(d, 20);         /* made by: 2.0, MS-DOS attributes */
    nas_i_buf_u16(d, 20);
    nas_i_buf_u16(d, 0);
    nas_i_buf_u16(d, 0);
    nas_i_buf_u16(d, DOS_TIME);
    nas_i_buf_u16(d, DOS_DATE);
    nas_i_buf_u32(d, crc);
    nas_i_buf_u32(d, size);
    nas_i_buf_u32(d, size);
    nas_i_buf_u16(d, name_len);
    nas_i_buf_u16(d, 0); /* extra */
    nas_i_buf_u16(d, 0); /* comment */
    nas_i_buf_u16(d, 0); /* disk */
    nas_i_buf_u16(d, 0); /* internal attributes */
    nas_i_buf_u32(d, 0); /* external attributes */
    nas_i_buf_u32(d, off);
    nas_i_buf_put(d, name, name_len);
    z->entries++;
}

static void zip_array(zip *z, const char *name, int ndim, const int64_t *dims, const float *data) {
    char file[2 * NAS_NET_SLOT_MAX + 16];
    snprintf(file, sizeof file, "%s.npy", name);
    nas_i_buf b = {0};
    npy(&b, ndim, dims, data);
    zip_add(z, file, &b);
    nas_i_buf_free(&b);
}

nas_status nas_export_npz(const nas_export_model *em, void **bytes, size_t *n) {
    *bytes = NULL;
    *n = 0;
    if (!em || !em->net.nodes || !em->m.net) {
        return nas_error(NAS_EINVAL, "npz: no model to export");
    }
    const nas_net *net = &em->net;
    zip z;
    memset(&z, 0, sizeof z);
    for (int s = 0; s < net->n_slots; s++) {
        const nas_net_slot *sl = &net->slots[s];
        zip_array(&z, sl->name, sl->ndim, sl->shape, em->m.params.tensors[s]->data);
    }
    for (int v = 0; v < net->n_nodes; v++) {
        const nas_net_node *nd = &net->nodes[v];
        if (nd->op != NAS_NET_BN) {
            continue;
        }
        char name[NAS_NET_NAME_MAX + 16];
        const int64_t C = nd->shape[0];
        const float *mean = em->m.running + nd->bn_offset;
        snprintf(name, sizeof name, "%s.running_mean", nd->name);
        zip_array(&z, name, 1, &C, mean);
        snprintf(name, sizeof name, "%s.running_var", nd->name);
        zip_array(&z, name, 1, &C, mean + C);
    }
    const int64_t c = em->norm.c;
    zip_array(&z, "input.mean", 1, &c, em->norm.mean);
    zip_array(&z, "input.std", 1, &c, em->norm.std);
    nas_status st = NAS_OK;
    if (z.too_big) {
        st = nas_error(NAS_EUNSUPPORTED, "npz: the weights exceed 4 GiB or 65535 arrays (no "
                                         "zip64)");
        goto cleanup;
    }
    const uint32_t dir_off = (uint32_t)z.out.n, dir_size = (uint32_t)z.dir.n;
    nas_i_buf_put(&z.out, z.dir.p, z.dir.n);
    nas_i_buf_u32(&z.out, 0x06054b50); /* end of central directory */
    nas_i_buf_u16(&z.out, 0);
    nas_i_buf_u16(&z.out, 0);
    nas_i_buf_u16(&z.out, z.entries);
    nas_i_buf_u16(&z.out, z.entries);
    nas_i_buf_u32(&z.out, dir_size);
    nas_i_buf_u32(&z.out, dir_off);
    nas_i_buf_u16(&z.out, 0); /* comment length */
    if (z.out.oom || z.dir.oom) {
        st = nas_error(NAS_ENOMEM, "npz: out of memory");
        goto cleanup;
    }
    *bytes = z.out.p;
    *n = z.out.n;
    z.out.p = NULL;
cleanup:
    nas_i_buf_free(&z.out);
    nas_i_buf_free(&z.dir);
    return st;
}
