/*
 * The scorer registry: the one table of scorers (name, stored name, direction, needs,
 * constructor, help), lookup by name, the name list for messages, and nas_score_make, which
 * checks that the inputs an entry needs are there before calling its constructor.
 */
#include "score-impl.h"

#include <stdio.h>
#include <string.h>

static const nas_score_entry registry[] = {
    {"params", "params", false, NAS_SCORE_NEEDS_NONE, nas_i_score_make_size,
     "parameter count of the compiled net (no GHN, no data)"},
    {"flops", "flops", false, NAS_SCORE_NEEDS_NONE, nas_i_score_make_size,
     "FLOPs per image, 2 x multiply-accumulates (no GHN, no data)"},
    {"ghn", "ghn_acc", true, NAS_SCORE_NEEDS_GHN, nas_i_score_make_ghn,
     "validation accuracy with GHN-predicted weights, no training (needs a trained GHN)"},
    {"ghn_loss", "ghn_loss", false, NAS_SCORE_NEEDS_GHN, nas_i_score_make_ghn,
     "validation cross-entropy with GHN-predicted weights (needs a trained GHN)"},
    {"ghn_bn", "ghn_bn_acc", true, NAS_SCORE_NEEDS_GHN, nas_i_score_make_ghn,
     "validation accuracy with GHN-predicted weights, BN recalibrated on training images"},
    {"ghn_bn_loss", "ghn_bn_loss", false, NAS_SCORE_NEEDS_GHN, nas_i_score_make_ghn,
     "validation cross-entropy with GHN-predicted weights, BN recalibrated on training images"},
    {"grad_norm", "grad_norm", true, NAS_SCORE_NEEDS_DATA, nas_i_score_make_proxy,
     "zero-cost proxy: sum of the weight-gradient norms on one training batch"},
    {"snip", "snip", true, NAS_SCORE_NEEDS_DATA, nas_i_score_make_proxy,
     "zero-cost proxy: sum of |weight x gradient| on one training batch"},
    {"synflow", "synflow", true, NAS_SCORE_NEEDS_DATA, nas_i_score_make_proxy,
     "zero-cost proxy: synaptic flow of |weights| on an all-ones input"},
    {"jacob_cov", "jacob_cov", true, NAS_SCORE_NEEDS_DATA, nas_i_score_make_proxy,
     "zero-cost proxy: correlation of the input Jacobians of one training batch"},
    {"naswot", "naswot", true, NAS_SCORE_NEEDS_DATA, nas_i_score_make_proxy,
     "zero-cost proxy: log|det| of the ReLU-code kernel of one training batch"},
    {"ranker", "ranker", true, NAS_SCORE_NEEDS_RANKER, nas_i_score_make_ranker,
     "validation accuracy predicted by a ranker fitted on the store's trainings (ghnas rank)"},
};

#define N_REGISTRY ((int)(sizeof registry / sizeof registry[0]))

const nas_score_entry *nas_score_registry(int *n) {
    if (n) {
        *n = N_REGISTRY;
    }
    return registry;
}

size_t nas_score_names(char *buf, size_t cap) {
    size_t len = 0;
    if (buf && cap > 0) {
        buf[0] = '\0';
    }
    for (int i = 0; i < N_REGISTRY; i++) {
        const char *sep = i ? ", " : "";
        if (buf && len < cap) {
            snprintf(buf + len, cap - len, "%s%s", sep, registry[i].name);
        }
        len += strlen(sep) + strlen(registry[i].name);
    }
    return len;
}

nas_status nas_score_find(const char *name, const nas_score_entry **out) {
    *out = NULL;
    for (int i = 0; name && i < N_REGISTRY; i++) {
        if (strcmp(name, registry[i].name) == 0) {
            *out = &registry[i];
            return NAS_OK;
        }
    }
    char names[256];
    nas_score_names(names, sizeof names);
    return nas_error(NAS_ENOTFOUND, "unknown scorer '%s' (known: %s)", name ? name : "(null)",
                     names);
}

nas_status nas_score_make(nas_scorer *out, const char *name, const nas_score_inputs *in) {
    if (!out) {
        return nas_error(NAS_EINVAL, "scorer %s: output is NULL", name ? name : "(null)");
    }
    memset(out, 0, sizeof *out);
    const nas_score_entry *e = NULL;
    NAS_CHECK(nas_score_find(name, &e));
    if ((e->needs & NAS_SCORE_NEEDS_GHN) && (!in || !in->ghn.ghn)) {
        return nas_error(NAS_EINVAL, "scorer '%s' needs a trained GHN and its data (inputs.ghn)",
                         e->name);
    }
    if ((e->needs & NAS_SCORE_NEEDS_DATA) && (!in || !in->data.ds)) {
        return nas_error(NAS_EINVAL,
                         "scorer '%s' needs a data set to draw a batch from "
                         "(inputs.data)",
                         e->name);
    }
    if ((e->needs & NAS_SCORE_NEEDS_RANKER) && (!in || !in->ranker.model)) {
        return nas_error(NAS_EINVAL,
                         "scorer '%s' needs a fitted ranker (fit one with `ghnas rank DB`)",
                         e->name);
    }
    return e->make(out, e, in);
}

void nas_scorer_free(nas_scorer *sc) {
    if (!sc) {
        return;
    }
    if (sc->ctx_free && sc->ctx) {
        sc->ctx_free(sc->ctx);
    }
    memset(sc, 0, sizeof *sc);
}

bool nas_score_known(const char *name) {
    int n = 0;
    const nas_score_entry *reg = nas_score_registry(&n);
    for (int i = 0; name && i < n; i++) {
        if (strcmp(reg[i].name, name) == 0) {
            return true;
        }
    }
    return false;
}

nas_status nas_score_parse_list(const char *opt, const char *list, char *buf, size_t buf_cap,
                                const char **names, int cap, int *n) {
    *n = 0;
    if (strlen(list) >= buf_cap) {
        return nas_error(NAS_EINVAL, "%s: the list is too long", opt);
    }
    snprintf(buf, buf_cap, "%s", list);
    int pos = 0;
    for (char *tok = buf, *next = NULL; tok; tok = next) {
        pos++;
        char *comma = strchr(tok, ',');
        next = comma ? comma + 1 : NULL;
        if (comma) {
            *comma = '\0';
        }
        while (*tok == ' ') {
            tok++;
        }
        size_t len = strlen(tok);
        while (len > 0 && tok[len - 1] == ' ') {
            tok[--len] = '\0';
        }
        if (len == 0) { /* "a,,b", ",a", "a," are typos, not lists */
            return nas_error(NAS_EINVAL, "%s: entry %d of '%s' is empty", opt, pos, list);
        }
        const nas_score_entry *e = NULL;
        if (nas_score_find(tok, &e) != NAS_OK) {
            return nas_error_wrap(NAS_EINVAL, "%s", opt);
        }
        bool seen = false;
        for (int k = 0; k < *n; k++) {
            seen = seen || strcmp(names[k], tok) == 0;
        }
        if (seen) {
            continue;
        }
        if (*n >= cap) {
            return nas_error(NAS_EINVAL, "%s: more than %d scorers", opt, cap);
        }
        names[(*n)++] = tok;
    }
    if (*n == 0) {
        return nas_error(NAS_EINVAL, "%s: no scorer named", opt);
    }
    return NAS_OK;
}
