/*
 * `ghnas spaces`: list the built-in search spaces, show one, count its members (all, valid, or
 * distinct under the published or igraph canonical rule), sample random architectures, and check
 * an architecture string. The work is src/space's (nas_space_count, nas_arch_sample_text,
 * nas_arch_inspect), the printing report.c's.
 */
#include "cmd_spaces.h"

#include "cli.h"
#include "report.h"

#include <stdint.h>
#include <stdio.h>
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
    nas_canon_kind k;
    if (nas_canon_kind_from_name(value, &k) != NAS_OK || k == NAS_CANON_TEXT) {
        return nas_error(NAS_EINVAL, "%s: '%s' is not igraph or published", opt, value);
    }
    *(nas_canon_kind *)field = k;
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
    "$" NAS_SPACES_DIR_ENV ", else the source tree's search_spaces/ for a ghnas run from its\n"
    "build tree, else the installed share/ghnas/search_spaces; `ghnas --version` prints it)\n"
    "or the path of a .json file.\n"
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

/* ---- actions -------------------------------------------------------------------------------- */

static int do_count(const nas_space *sp, const spaces_params *p) {
    nas_canon_kind kind = p->canonical != NAS_CANON_TEXT ? p->canonical
                          : p->unique                    ? NAS_CANON_PUBLISHED
                                                         : NAS_CANON_TEXT;
    nas_progress prog;
    bool show = !p->quiet && nas_space_count_is_slow(sp, kind, p->valid);
    uint64_t n = 0;
    nas_status st = nas_space_count(sp, kind, p->valid, show ? &prog : NULL, &n);
    if (st != NAS_OK) {
        return nas_cli_fail(st);
    }
    printf("%llu\n", (unsigned long long)n);
    return NAS_EXIT_OK;
}

static int do_sample(const nas_space *sp, const spaces_params *p) {
    int64_t seed = p->seed;
    if (seed < 0) {
        seed = (int64_t)(nas_time_now() * 1e6) ^ (int64_t)getpid();
        seed = seed < 0 ? -seed : seed;
    }
    nas_rng rng;
    nas_rng_seed(&rng, (uint64_t)seed);
    char text[NAS_ARCH_STR_MAX];
    for (int64_t i = 0; i < p->n; i++) {
        nas_status st = nas_arch_sample_text(sp, &rng, text, sizeof text);
        if (st != NAS_OK) {
            return nas_cli_fail(st);
        }
        printf("%s\n", text);
    }
    return NAS_EXIT_OK;
}

static int do_check(const nas_space *sp, const char *arch) {
    nas_arch_info info;
    nas_status st = nas_arch_inspect(sp, arch, &info);
    if (st != NAS_OK) {
        return nas_cli_fail(st);
    }
    nas_cli_print_arch_info(&info);
    return NAS_EXIT_OK;
}

/* ---- entry ---------------------------------------------------------------------------------- */

enum { LIST, SHOW, COUNT, SAMPLE, CHECK, N_ACTIONS };

static const nas_cli_action actions[N_ACTIONS] = {
    {"list", 0}, {"show", 0}, {"count", FOR_COUNT}, {"sample", FOR_SAMPLE}, {"check", 0}};
static const int n_args[N_ACTIONS] = {0, 1, 1, 1, 2}; /* after the action, NAME included */

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
    int a = nas_cli_action_find("spaces", action, actions, N_ACTIONS);
    if (a < 0) {
        return NAS_EXIT_USAGE;
    }
    if ((rc = nas_cli_action_check_opts(&spec, &args, &actions[a])) >= 0) {
        return rc;
    }
    if (a != LIST && args.n_pos < 2) {
        return nas_cli_usage_error(
            "spaces", "%s: needs a space NAME (a built-in name or a .json path)", action);
    }
    if (a == CHECK && args.n_pos != 3) {
        return nas_cli_usage_error(
            "spaces", "check: needs exactly one ARCH string, got %d arguments", args.n_pos - 2);
    }
    if (args.n_pos > 1 + n_args[a]) {
        return nas_cli_usage_error("spaces", "%s: unexpected argument '%s'", action,
                                   args.pos[1 + n_args[a]]);
    }
    if (a == LIST) {
        return nas_cli_print_spaces() ? NAS_EXIT_OK : NAS_EXIT_FAILURE;
    }
    nas_space sp;
    nas_status st = nas_space_load(&sp, args.pos[1]);
    if (st != NAS_OK) {
        return nas_cli_fail(st);
    }
    switch (a) {
        case SHOW:
            nas_cli_print_space(&sp);
            return NAS_EXIT_OK;
        case COUNT:
            return do_count(&sp, &p);
        case SAMPLE:
            return do_sample(&sp, &p);
        default:
            return do_check(&sp, args.pos[2]);
    }
}
