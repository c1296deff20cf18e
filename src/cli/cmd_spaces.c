/*
 * `ghnas spaces`: list the built-in search spaces, show one, count its members (all, valid, or
 * distinct under the published or igraph canonical rule), sample random architectures, and check
 * an architecture string.
 */
#include "cmd_spaces.h"

#include "cli.h"
#include "ghnas/space.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Options, and which action they belong to. */
enum { FOR_COUNT = 1, FOR_SAMPLE = 2 };

typedef struct spaces_params {
    bool unique, valid, quiet;
    nas_canon_kind canonical; /* NAS_CANON_TEXT = not given */
    int64_t n, seed;          /* seed < 0: from the clock */
} spaces_params;

#define OFF(f) offsetof(spaces_params, f)

static nas_status parse_canonical(const char *opt, const char *value, void *field) {
    if (strcmp(value, "igraph") == 0) {
        *(nas_canon_kind *)field = NAS_CANON_IGRAPH;
    } else if (strcmp(value, "published") == 0) {
        *(nas_canon_kind *)field = NAS_CANON_PUBLISHED;
    } else {
        return nas_error(NAS_EINVAL, "%s: '%s' is not igraph or published", opt, value);
    }
    return NAS_OK;
}

static const nas_cli_opt opts[] = {
    {"unique", 0, NAS_CLI_FLAG, OFF(unique), NULL,
     "count: distinct under the published rule (NB201 to_unique_str,\nNB101 hash_module): nb201 "
     "6466, nb101 423624",
     .bits = FOR_COUNT},
    {"canonical", 0, NAS_CLI_CUSTOM, OFF(canonical), "K",
     "count: igraph = distinct BLISS canonical forms of the pruned\nop-level DAG; published = same "
     "as --unique",
     .parse = parse_canonical, .bits = FOR_COUNT},
    {"valid", 0, NAS_CLI_FLAG, OFF(valid), NULL,
     "count: only architectures whose output depends on the input", .bits = FOR_COUNT},
    {"quiet", 'q', NAS_CLI_FLAG, OFF(quiet), NULL, "count: no progress line on stderr",
     .bits = FOR_COUNT},
    {"count", 'n', NAS_CLI_I64, OFF(n), "K", "sample: how many (default %D)", .min = 1,
     .max = 10000000, .bits = FOR_SAMPLE},
    {"seed", 0, NAS_CLI_I64, OFF(seed), "S", "sample: RNG seed (default: from the clock)", .min = 0,
     .max = INT64_MAX, .bits = FOR_SAMPLE},
};

static const nas_cli_spec spec = {
    "spaces",
    "usage: ghnas spaces list\n"
    "       ghnas spaces show NAME\n"
    "       ghnas spaces count NAME [--unique | --canonical igraph|published] [--valid] [-q]\n"
    "       ghnas spaces sample NAME [-n K] [--seed S]\n"
    "       ghnas spaces check NAME ARCH\n"
    "\n"
    "Search spaces are JSON files: NAME is a built-in space (see `list`; the directory is\n"
    "$" NAS_SPACES_DIR_ENV " or the source tree's search_spaces/) or the path of a .json file.\n"
    "\n"
    "actions:\n"
    "  list     built-in spaces: name, kind, number of architectures, description\n"
    "  show     ops, structure, choices and skeleton defaults of a space\n"
    "  count    print the number of architectures (alone on stdout)\n"
    "  sample   print K uniformly random architectures, one per line\n"
    "  check    decode ARCH, then print its canonical text, validity and keys\n",
    opts,
    (int)(sizeof opts / sizeof opts[0]),
    NULL,
    -1,
    false};

/* ---- list ----------------------------------------------------------------------------------- */

static int do_list(void) {
    char names[64][64];
    int n = 0;
    nas_status st = nas_space_list(names, 64, &n);
    if (st != NAS_OK) {
        return nas_cli_fail(st);
    }
    int rc = NAS_EXIT_OK;
    printf("%-12s %-11s %22s  %s\n", "name", "kind", "architectures", "description");
    for (int i = 0; i < n && i < 64; i++) {
        nas_space sp;
        st = nas_space_load(&sp, names[i]);
        if (st != NAS_OK) {
            printf("%-12s %-11s %22s  (cannot be loaded; see stderr)\n", names[i], "?", "?");
            fflush(stdout);
            fprintf(stderr, "ghnas: error: %s\n", nas_errmsg());
            rc = NAS_EXIT_FAILURE;
            continue;
        }
        uint64_t size = 0;
        char sz[32];
        if (nas_space_size(&sp, &size) == NAS_OK) {
            snprintf(sz, sizeof sz, "%llu", (unsigned long long)size);
        } else {
            snprintf(sz, sizeof sz, ">2^64");
        }
        char desc[72];
        snprintf(desc, sizeof desc, "%s", sp.description);
        if (strlen(sp.description) >= sizeof desc) {
            memcpy(desc + sizeof desc - 4, "...", 4);
        }
        printf("%-12s %-11s %22s  %s\n", sp.name, nas_space_kind_name(sp.kind), sz, desc);
    }
    return rc;
}

/* ---- show ----------------------------------------------------------------------------------- */

static void print_choices(const char *what, const int *v, int n) {
    printf("    %-10s", what);
    for (int i = 0; i < n; i++) {
        printf("%s%d", i ? ", " : "", v[i]);
    }
    printf("\n");
}

static int do_show(const nas_space *sp) {
    uint64_t size = 0;
    bool size_ok = nas_space_size(sp, &size) == NAS_OK;
    printf("name          %s\n", sp->name);
    printf("file          %s\n", sp->path);
    printf("kind          %s\n", nas_space_kind_name(sp->kind));
    if (sp->description[0]) {
        printf("description   %s\n", sp->description);
    }
    if (size_ok) {
        printf("architectures %llu\n", (unsigned long long)size);
    } else {
        printf("architectures more than 2^64\n");
    }
    printf("canonical     %s\n",
           nas_space_default_canon(sp) == NAS_CANON_PUBLISHED
               ? (sp->kind == NAS_SPACE_NB201 ? "published (NB201 to_unique_str)"
                                              : "published (NB101 hash_module)")
               : "igraph (BLISS canonical form of the op-level DAG)");
    if (sp->n_ops > 0) {
        printf("ops          ");
        for (int i = 0; i < sp->n_ops; i++) {
            printf(" %d:%s", i, nas_cell_op_name(sp->ops[i]));
        }
        printf("\n");
    }
    switch (sp->kind) {
        case NAS_SPACE_NB201:
            printf("cell          %d nodes, %d edges (every i->j, i<j, carries one op)\n",
                   sp->nodes, sp->nodes * (sp->nodes - 1) / 2);
            break;
        case NAS_SPACE_NB101:
            printf("cell          at most %d vertices and %d edges, ops on interior vertices\n",
                   sp->max_vertices, sp->max_edges);
            printf("graphs        ");
            for (int v = 2; v <= sp->max_vertices; v++) {
                printf("%sV=%d: %llu", v > 2 ? ", " : "", v,
                       (unsigned long long)sp->nb101_graphs[v]);
            }
            printf(" (unlabelled full DAGs)\n");
            break;
        case NAS_SPACE_DARTS:
            printf("cells         normal + reduce; %d intermediate nodes x %d inputs, output = "
                   "concat\n",
                   sp->nodes, sp->inputs_per_node);
            break;
        case NAS_SPACE_MACRO:
            printf("block         inverted_residual\n");
            for (int i = 0; i < sp->n_stages; i++) {
                const nas_macro_stage_space *s = &sp->stages[i];
                printf("stage %d       stride %d\n", i, s->stride);
                print_choices("depth", s->depth, s->n_depth);
                print_choices("width", s->width, s->n_width);
                print_choices("kernel", s->kernel, s->n_kernel);
                print_choices("expansion", s->expansion, s->n_expansion);
            }
            break;
        default:
            break;
    }
    if (sp->n_skeleton > 0) {
        printf("skeleton     ");
        for (int i = 0; i < sp->n_skeleton; i++) {
            const nas_skeleton_entry *e = &sp->skeleton[i];
            if (e->is_string) {
                printf(" %s=%s", e->key, e->text);
            } else {
                printf(" %s=%ld", e->key, e->value);
            }
        }
        printf("\n");
    }
    return NAS_EXIT_OK;
}

/* ---- count ---------------------------------------------------------------------------------- */

static int do_count(const nas_space *sp, const spaces_params *p) {
    nas_canon_kind kind = p->canonical != NAS_CANON_TEXT ? p->canonical
                          : p->unique                    ? NAS_CANON_PUBLISHED
                                                         : NAS_CANON_TEXT;
    bool valid = p->valid, quiet = p->quiet;
    uint64_t size = 0;
    nas_progress prog;
    bool show = !quiet && nas_space_size(sp, &size) == NAS_OK && size >= 200000 &&
                (kind != NAS_CANON_TEXT || valid);
    uint64_t n = 0;
    nas_status st = nas_space_count(sp, kind, valid, show ? &prog : NULL, &n);
    if (st != NAS_OK) {
        return nas_cli_fail(st);
    }
    printf("%llu\n", (unsigned long long)n);
    return NAS_EXIT_OK;
}

/* ---- sample --------------------------------------------------------------------------------- */

static int do_sample(const nas_space *sp, const spaces_params *p) {
    int64_t n = p->n, seed = p->seed;
    if (seed < 0) {
        seed = (int64_t)(nas_time_now() * 1e6) ^ (int64_t)getpid();
        if (seed < 0) {
            seed = -seed;
        }
    }
    nas_rng rng;
    nas_rng_seed(&rng, (uint64_t)seed);
    char text[NAS_ARCH_STR_MAX];
    for (int64_t i = 0; i < n; i++) {
        nas_arch a;
        nas_status st = nas_arch_sample(sp, &rng, &a);
        if (st == NAS_OK) {
            st = nas_arch_encode(sp, &a, text, sizeof text);
        }
        if (st != NAS_OK) {
            return nas_cli_fail(st);
        }
        printf("%s\n", text);
    }
    return NAS_EXIT_OK;
}

/* ---- check ---------------------------------------------------------------------------------- */

static int do_check(const nas_space *sp, const char *arch) {
    nas_arch a;
    nas_status st = nas_arch_decode(sp, arch, &a);
    if (st != NAS_OK) {
        return nas_cli_fail(st);
    }
    char text[NAS_ARCH_STR_MAX], key[NAS_CANON_KEY_MAX];
    NAS_ASSERT(nas_arch_encode(sp, &a, text, sizeof text) == NAS_OK);
    printf("arch       %s\n", text);
    printf("valid      %s\n", nas_arch_is_valid(sp, &a) ? "yes" : "no");
    if (nas_space_default_canon(sp) == NAS_CANON_PUBLISHED) {
        st = nas_arch_canon_key(sp, &a, NAS_CANON_PUBLISHED, key, sizeof key);
        if (st != NAS_OK) {
            return nas_cli_fail(st);
        }
        printf("published  %s\n", key);
    }
    st = nas_arch_canon_key(sp, &a, NAS_CANON_IGRAPH, key, sizeof key);
    if (st != NAS_OK) {
        return nas_cli_fail(st);
    }
    printf("igraph     %s\n", key);
    return NAS_EXIT_OK;
}

/* ---- entry ---------------------------------------------------------------------------------- */

int nas_cli_spaces(int argc, char **argv) {
    spaces_params p = {false, false, false, NAS_CANON_TEXT, 1, -1}, def = p;
    nas_cli_args args;
    int rc = nas_cli_parse(&spec, argc, argv, &p, &def, &args);
    if (rc >= 0) {
        return rc;
    }
    if (args.n_pos < 1) {
        nas_cli_help(&spec, &def, stderr);
        return NAS_EXIT_USAGE;
    }
    const char *action = args.pos[0];
    static const struct {
        const char *name;
        int n_args;    /* arguments after the action (the space NAME included) */
        unsigned opts; /* options that apply */
    } actions[] = {{"list", 0, 0},
                   {"show", 1, 0},
                   {"count", 1, FOR_COUNT},
                   {"sample", 1, FOR_SAMPLE},
                   {"check", 2, 0}};
    int a = -1;
    for (int i = 0; i < (int)(sizeof actions / sizeof actions[0]); i++) {
        a = strcmp(action, actions[i].name) == 0 ? i : a;
    }
    if (a < 0) {
        return nas_cli_usage_error(
            "spaces", "unknown action '%s' (list, show, count, sample, check)", action);
    }
    for (int k = 0; k < spec.n_opts; k++) {
        if (args.as[k][0] && !(opts[k].bits & actions[a].opts)) {
            return nas_cli_usage_error("spaces", "%s: option %s does not apply", action,
                                       args.as[k]);
        }
    }
    if (a > 0 && args.n_pos < 2) {
        return nas_cli_usage_error(
            "spaces", "%s: needs a space NAME (a built-in name or a .json path)", action);
    }
    if (a == 4 && args.n_pos != 3) {
        return nas_cli_usage_error(
            "spaces", "check: needs exactly one ARCH string, got %d arguments", args.n_pos - 2);
    }
    if (args.n_pos > 1 + actions[a].n_args) {
        return nas_cli_usage_error("spaces", "%s: unexpected argument '%s'", action,
                                   args.pos[1 + actions[a].n_args]);
    }
    if (a == 0) {
        return do_list();
    }
    nas_space sp;
    nas_status st = nas_space_load(&sp, args.pos[1]);
    if (st != NAS_OK) {
        return nas_cli_fail(st);
    }
    switch (a) {
        case 1:
            return do_show(&sp);
        case 2:
            return do_count(&sp, &p);
        case 3:
            return do_sample(&sp, &p);
        default:
            return do_check(&sp, args.pos[2]);
    }
}
