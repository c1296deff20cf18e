/*
 * The query job: read a results store -- its runs, a run's top architectures or Pareto front,
 * one architecture with its scores and trainings, the stored GHNs and rankers, a read-only SQL
 * statement --
 * as tables, or upgrade an old store's schema (the only action that writes).
 */
#include "job-impl.h"

#include <string.h>

static const char *const action_names[NAS_QUERY_COUNT] = {
    "runs", "top", "arch", "pareto", "ghns", "rankers", "sql", "upgrade", "check"};

const char *nas_job_query_action_name(nas_job_query_action a) {
    return (unsigned)a < NAS_QUERY_COUNT ? action_names[a] : "?";
}

nas_job_query_params nas_job_query_defaults(void) {
    nas_job_query_params p;
    memset(&p, 0, sizeof p);
    p.action = NAS_QUERY_RUNS;
    p.k = 10;
    p.by = NAS_PARETO_PARAMS;
    return p;
}

void nas_job_query_result_free(nas_job_query_result *res) {
    if (res) {
        for (int i = 0; i < NAS_JOB_QUERY_TABLES; i++) {
            nas_store_table_free(&res->tables[i]);
        }
        memset(res, 0, sizeof *res);
    }
}

/* The tables of a read action on an open store. */
static nas_status query(nas_store *db, const nas_job_query_params *p, nas_job_query_result *res) {
    nas_store_table *t = res->tables;
    res->n_tables = 1;
    switch (p->action) {
        case NAS_QUERY_RUNS:
            return nas_store_query_runs(db, &t[0]);
        case NAS_QUERY_TOP:
            return nas_store_query_top(db, p->run, p->scorer, p->k, &t[0]);
        case NAS_QUERY_ARCH:
            res->n_tables = 3;
            res->names[0] = "architecture";
            res->names[1] = "scores";
            res->names[2] = "trainings";
            return nas_store_query_arch(db, p->arg, &t[0], &t[1], &t[2]);
        case NAS_QUERY_PARETO:
            return nas_store_query_pareto(db, p->run, p->scorer, p->by, &t[0]);
        case NAS_QUERY_GHNS:
            return nas_store_query_ghns(db, &t[0]);
        case NAS_QUERY_RANKERS:
            return nas_store_query_rankers(db, &t[0]);
        case NAS_QUERY_SQL:
            return nas_store_query_sql(db, p->arg, &t[0]);
        default:
            res->n_tables = 0;
            return nas_error(NAS_EINVAL, "query: action %d is not one of %d", (int)p->action,
                             NAS_QUERY_COUNT);
    }
}

nas_status nas_job_query(const nas_job_query_params *p, nas_job_query_result *res) {
    memset(res, 0, sizeof *res);
    if (!p->db) {
        return nas_error(NAS_EINVAL, "query: no results store given");
    }
    if ((p->action == NAS_QUERY_ARCH || p->action == NAS_QUERY_SQL) && !p->arg) {
        return nas_error(NAS_EINVAL, "query: %s needs its argument",
                         nas_job_query_action_name(p->action));
    }
    const bool upgrade = p->action == NAS_QUERY_UPGRADE;
    nas_store *db = NULL;
    NAS_CHECK(nas_store_open(&db, p->db, upgrade ? 0u : (unsigned)NAS_STORE_READONLY));
    nas_status st = NAS_OK;
    if (p->action == NAS_QUERY_CHECK) {
        st = nas_store_check(db);
    } else if (upgrade) {
        nas_store_info info;
        nas_store_get_info(db, &info);
        res->found_version = info.found_version;
        res->version = info.version;
    } else {
        st = query(db, p, res);
    }
    nas_store_close(db);
    if (st != NAS_OK) {
        nas_job_query_result_free(res);
    }
    return st;
}
