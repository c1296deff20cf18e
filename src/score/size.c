/*
 * The data-free scorers: the parameter count and the FLOPs of a compiled candidate (both computed
 * by the compiler, src/net), and nas_scorer_builtin, which makes them by name.
 */
#include "score-impl.h"

#include <stdio.h>
#include <string.h>

static nas_status score_params(const nas_scorer *sc, const nas_net *net, nas_score_value *out) {
    (void)sc;
    out->value = (double)net->n_params;
    return NAS_OK;
}

static nas_status score_flops(const nas_scorer *sc, const nas_net *net, nas_score_value *out) {
    (void)sc;
    out->value = (double)net->flops;
    return NAS_OK;
}

nas_status nas_i_score_make_size(nas_scorer *out, const nas_score_entry *e,
                                 const nas_score_inputs *in) {
    (void)in;
    memset(out, 0, sizeof *out);
    if (strcmp(e->name, "params") == 0) {
        out->fn = score_params;
    } else if (strcmp(e->name, "flops") == 0) {
        out->fn = score_flops;
    } else {
        return nas_error(NAS_EINTERNAL, "scorer '%s' is not a size scorer", e->name);
    }
    snprintf(out->name, sizeof out->name, "%s", e->stored);
    out->higher_is_better = e->higher_is_better;
    return NAS_OK;
}

nas_status nas_scorer_builtin(nas_scorer *out, const char *name) {
    memset(out, 0, sizeof *out);
    int n = 0;
    const nas_score_entry *reg = nas_score_registry(&n);
    for (int i = 0; name && i < n; i++) {
        const nas_score_entry *e = &reg[i];
        if (strcmp(name, e->name) != 0 && strcmp(name, e->stored) != 0) {
            continue;
        }
        if (e->needs == NAS_SCORE_NEEDS_NONE) {
            return e->make(out, e, NULL);
        }
        if (e->needs & NAS_SCORE_NEEDS_GHN) {
            return nas_error(NAS_EINVAL,
                             "scorer '%s' needs a trained GHN and data (nas_scorer_ghn)", name);
        }
        break; /* needs data: not a built-in */
    }
    char names[256];
    nas_score_names(names, sizeof names);
    return nas_error(NAS_ENOTFOUND,
                     "no data-free scorer '%s' (make scorers that need data with "
                     "nas_score_make; the scorers: %s)",
                     name ? name : "(null)", names);
}
