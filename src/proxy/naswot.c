/*
 * naswot (Mellor et al., nas-without-training v2): the binary activation codes of every ReLU
 * node for each sample of the batch (BN with batch statistics), the kernel
 * K = sum over ReLU nodes of c c^T + (1 - c)(1 - c)^T, i.e. K[i][j] = number of units on which
 * samples i and j agree, accumulated exactly in integers from bit-packed codes, and
 * score = log|det K| in double precision (-inf when K is singular).
 */
#include "proxy-impl.h"

#include <math.h>
#include <string.h>

static int popcount64(uint64_t v) {
#if defined(__GNUC__)
    return __builtin_popcountll(v);
#else
    v = v - ((v >> 1) & 0x5555555555555555u);
    v = (v & 0x3333333333333333u) + ((v >> 2) & 0x3333333333333333u);
    v = (v + (v >> 4)) & 0x0F0F0F0F0F0F0F0Fu;
    return (int)((v * 0x0101010101010101u) >> 56);
#endif
}

void nas_i_naswot_accumulate(const uint64_t *codes, int n, int64_t words, int64_t units,
                             int64_t *K) {
    for (int i = 0; i < n; i++) {
        const uint64_t *ci = codes + (size_t)i * (size_t)words;
        K[(size_t)i * (size_t)n + (size_t)i] += units;
        for (int j = i + 1; j < n; j++) {
            const uint64_t *cj = codes + (size_t)j * (size_t)words;
            int64_t differ = 0;
            for (int64_t k = 0; k < words; k++) {
                differ += popcount64(ci[k] ^ cj[k]);
            }
            K[(size_t)i * (size_t)n + (size_t)j] += units - differ;
            K[(size_t)j * (size_t)n + (size_t)i] += units - differ;
        }
    }
}

/* Pack [n, units] floats into [n, words] bits (1 = positive). */
static void pack_codes(const float *v, int n, int64_t units, int64_t words, uint64_t *codes) {
    memset(codes, 0, (size_t)n * (size_t)words * sizeof *codes);
    for (int i = 0; i < n; i++) {
        const float *vi = v + (size_t)i * (size_t)units;
        uint64_t *ci = codes + (size_t)i * (size_t)words;
        for (int64_t u = 0; u < units; u++) {
            if (vi[u] > 0.0f) {
                ci[u >> 6] |= (uint64_t)1 << (u & 63);
            }
        }
    }
}

nas_status nas_i_proxy_naswot(const nas_net *net, const float *const *w, const float *x, int batch,
                              double *value) {
    nas_tape t;
    NAS_CHECK(nas_tape_init(&t));
    nas_tape_set_record(&t, false); /* codes only: nothing to differentiate */
    nas_status st = NAS_OK;
    size_t nn = (size_t)batch * (size_t)batch;
    nas_tensor **outs = nas_calloc((size_t)net->n_nodes, sizeof *outs); /* [n_nodes] */
    int64_t *K = nas_calloc(nn, sizeof *K);                             /* [batch, batch] */
    double *Kd = nas_malloc(nn * sizeof *Kd);                           /* [batch, batch] */
    uint64_t *codes = NULL;                                             /* [batch, words] */
    if (!outs || !K || !Kd) {
        st = nas_error(NAS_ENOMEM, "naswot: out of memory");
        goto cleanup;
    }
    nas_i_proxy_forward(&t, net, w, x, batch, false, false, NULL, NULL, outs);
    NAS_TRY(nas_tape_status(&t));
    int64_t max_units = 0;
    int n_relu = 0;
    for (int v = 0; v < net->n_nodes; v++) {
        if (net->nodes[v].op == NAS_NET_RELU) {
            int64_t u = outs[v]->numel / batch;
            max_units = u > max_units ? u : max_units;
            n_relu++;
        }
    }
    if (n_relu == 0) {
        st = nas_error(NAS_EINVAL, "naswot: net %s has no ReLU node", net->arch);
        goto cleanup;
    }
    codes = nas_malloc((size_t)batch * (size_t)((max_units + 63) / 64) * sizeof *codes);
    if (!codes) {
        st = nas_error(NAS_ENOMEM, "naswot: out of memory for the codes");
        goto cleanup;
    }
    for (int v = 0; v < net->n_nodes; v++) {
        if (net->nodes[v].op != NAS_NET_RELU) {
            continue;
        }
        int64_t units = outs[v]->numel / batch, words = (units + 63) / 64;
        pack_codes(outs[v]->data, batch, units, words, codes);
        nas_i_naswot_accumulate(codes, batch, words, units, K);
    }
    for (size_t i = 0; i < nn; i++) {
        Kd[i] = (double)K[i];
    }
    double ld;
    int sign;
    nas_i_slogdet(Kd, batch, &ld, &sign);
    *value = ld;
cleanup:
    nas_free(outs);
    nas_free(K);
    nas_free(Kd);
    nas_free(codes);
    nas_tape_free(&t);
    return st;
}
