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

static void usage(FILE *out) {
    fprintf(
        out,
        "usage: ghnas spaces list\n"
        "       ghnas spaces show NAME\n"
        "       ghnas spaces count NAME [--unique | --canonical igraph|published] [--valid] "
        "[-q]\n"
        "       ghnas spaces sample NAME [-n K] [--seed S]\n"
        "       ghnas spaces check NAME ARCH\n"
        "\n"
        "Search spaces are JSON files: NAME is a built-in space (see `list`; the directory is\n"
        "$%s or the source tree's search_spaces/) or the path of a .json file.\n"
        "\n"
        "actions:\n"
        "  list     built-in spaces: name, kind, number of architectures, description\n"
        "  show     ops, structure, choices and skeleton defaults of a space\n"
        "  count    print the number of architectures (alone on stdout)\n"
        "           --unique            distinct under the published rule (NB201 "
        "to_unique_str,\n"
        "                               NB101 hash_module): nb201 6466, nb101 423624\n"
        "           --canonical igraph  distinct BLISS canonical forms of the pruned op-level DAG\n"
        "           --canonical published  same as --unique\n"
        "           --valid             only architectures whose output depends on the input\n"
        "           -q, --quiet         no progress line on stderr\n"
        "  sample   print K uniformly random architectures, one per line\n"
        "           -n K                how many (default 1)\n"
        "           --seed S            RNG seed (default: from the clock)\n"
        "  check    decode ARCH, then print its canonical text, validity and keys\n"
        "\n"
        "options:\n"
        "  -h, --help  this help\n",
        NAS_SPACES_DIR_ENV);
}

/* A bad command line: "ghnas: error: spaces <what> (see ghnas spaces --help)", exit 2. */
static int usage_error(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;

static int usage_error(const char *fmt, ...) {
    char what[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return nas_cli_fail(nas_error(NAS_EINVAL, "spaces %s (see ghnas spaces --help)", what));
}

/* ---- list ----------------------------------------------------------------------------------- */

static int do_list(int argc, char **argv) {
    if (argc > 0) {
        return usage_error("list: unexpected argument '%s'", argv[0]);
    }
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

static int do_count(const nas_space *sp, int argc, char **argv) {
    nas_canon_kind kind = NAS_CANON_TEXT;
    bool valid = false, quiet = false;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--unique") == 0) {
            kind = NAS_CANON_PUBLISHED;
        } else if (strcmp(argv[i], "--canonical") == 0) {
            if (i + 1 >= argc) {
                return usage_error("count: %s needs a value (igraph or published)", argv[i]);
            }
            i++;
            if (strcmp(argv[i], "igraph") == 0) {
                kind = NAS_CANON_IGRAPH;
            } else if (strcmp(argv[i], "published") == 0) {
                kind = NAS_CANON_PUBLISHED;
            } else {
                return usage_error("count: --canonical: '%s' is not igraph or published", argv[i]);
            }
        } else if (strcmp(argv[i], "--valid") == 0) {
            valid = true;
        } else if (strcmp(argv[i], "-q") == 0 || strcmp(argv[i], "--quiet") == 0) {
            quiet = true;
        } else {
            return usage_error("count: unknown option '%s'", argv[i]);
        }
    }
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

static int do_sample(const nas_space *sp, int argc, char **argv) {
    long n = 1, seed = -1;
    for (int i = 0; i < argc; i++) {
        nas_status st;
        if (strcmp(argv[i], "-n") == 0 || strcmp(argv[i], "--seed") == 0) {
            if (i + 1 >= argc) {
                return usage_error("sample: %s needs a value", argv[i]);
            }
            if (argv[i][1] == 'n') {
                st = nas_cli_parse_long("-n", argv[i + 1], 1, 10000000, &n);
            } else {
                st = nas_cli_parse_long("--seed", argv[i + 1], 0, LONG_MAX, &seed);
            }
            if (st != NAS_OK) {
                return nas_cli_fail(st);
            }
            i++;
        } else {
            return usage_error("sample: unknown option '%s'", argv[i]);
        }
    }
    if (seed < 0) {
        seed = (long)(nas_time_now() * 1e6) ^ (long)getpid();
        if (seed < 0) {
            seed = -seed;
        }
    }
    nas_rng rng;
    nas_rng_seed(&rng, (uint64_t)seed);
    char text[NAS_ARCH_STR_MAX];
    for (long i = 0; i < n; i++) {
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

static int do_check(const nas_space *sp, int argc, char **argv) {
    if (argc != 1) {
        return usage_error("check: needs exactly one ARCH string, got %d arguments", argc);
    }
    nas_arch a;
    nas_status st = nas_arch_decode(sp, argv[0], &a);
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
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            usage(stdout);
            return NAS_EXIT_OK;
        }
    }
    if (argc < 2) {
        usage(stderr);
        return NAS_EXIT_USAGE;
    }
    const char *action = argv[1];
    if (strcmp(action, "list") == 0) {
        return do_list(argc - 2, argv + 2);
    }
    bool known = strcmp(action, "show") == 0 || strcmp(action, "count") == 0 ||
                 strcmp(action, "sample") == 0 || strcmp(action, "check") == 0;
    if (!known) {
        return usage_error("unknown action '%s' (list, show, count, sample, check)", action);
    }
    if (argc < 3 || argv[2][0] == '-') {
        return usage_error("%s: needs a space NAME (a built-in name or a .json path)", action);
    }
    nas_space sp;
    nas_status st = nas_space_load(&sp, argv[2]);
    if (st != NAS_OK) {
        return nas_cli_fail(st);
    }
    if (strcmp(action, "show") == 0) {
        if (argc > 3) {
            return usage_error("show: unexpected argument '%s'", argv[3]);
        }
        return do_show(&sp);
    }
    if (strcmp(action, "count") == 0) {
        return do_count(&sp, argc - 3, argv + 3);
    }
    if (strcmp(action, "sample") == 0) {
        return do_sample(&sp, argc - 3, argv + 3);
    }
    return do_check(&sp, argc - 3, argv + 3);
}
