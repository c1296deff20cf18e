/*
 * Small services over a space for its users: the names of the canonical rules, drawing valid
 * members and member texts, inspecting an architecture text (canonical text, validity, keys) and
 * whether counting a space is slow enough to deserve a progress line.
 */
#include "space-impl.h"

#include <stdio.h>
#include <string.h>

static const char *const canon_names[] = {"text", "published", "igraph"};

const char *nas_canon_kind_name(nas_canon_kind k) {
    return (unsigned)k < sizeof canon_names / sizeof canon_names[0] ? canon_names[k] : "text";
}

nas_status nas_canon_kind_from_name(const char *name, nas_canon_kind *out) {
    for (int k = 0; k < (int)(sizeof canon_names / sizeof canon_names[0]); k++) {
        if (name && strcmp(name, canon_names[k]) == 0) {
            *out = (nas_canon_kind)k;
            return NAS_OK;
        }
    }
    return nas_error(NAS_EINVAL, "unknown canonical form '%s' (text, published, igraph)",
                     name ? name : "(null)");
}

nas_status nas_arch_sample_valid(const nas_space *sp, nas_rng *rng, int max_tries, nas_arch *out) {
    for (int tries = 0; max_tries <= 0 || tries < max_tries; tries++) {
        NAS_CHECK(nas_arch_sample(sp, rng, out));
        if (nas_arch_is_valid(sp, out)) {
            return NAS_OK;
        }
    }
    return nas_error(NAS_ENOTFOUND, "%s: no valid member in %d random draws", sp->name, max_tries);
}

nas_status nas_arch_sample_text(const nas_space *sp, nas_rng *rng, char *buf, size_t cap) {
    nas_arch a;
    NAS_CHECK(nas_arch_sample(sp, rng, &a));
    return nas_arch_encode(sp, &a, buf, cap);
}

nas_status nas_arch_inspect(const nas_space *sp, const char *text, nas_arch_info *out) {
    memset(out, 0, sizeof *out);
    nas_arch a;
    NAS_CHECK(nas_arch_decode(sp, text, &a));
    NAS_CHECK(nas_arch_encode(sp, &a, out->text, sizeof out->text));
    out->valid = nas_arch_is_valid(sp, &a);
    out->has_published = nas_space_default_canon(sp) == NAS_CANON_PUBLISHED;
    if (out->has_published) {
        NAS_CHECK(
            nas_arch_canon_key(sp, &a, NAS_CANON_PUBLISHED, out->published, sizeof out->published));
    }
    return nas_arch_canon_key(sp, &a, NAS_CANON_IGRAPH, out->igraph, sizeof out->igraph);
}

bool nas_space_count_is_slow(const nas_space *sp, nas_canon_kind kind, bool valid_only) {
    uint64_t size = 0;
    return nas_space_size(sp, &size) == NAS_OK && size >= NAS_SPACE_COUNT_SLOW &&
           (kind != NAS_CANON_TEXT || valid_only);
}
