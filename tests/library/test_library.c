/*
 * The library without the command line: a program that includes only <ghnas.h> runs a small
 * params-scored search through the job layer (nas_job_search with nas_job_search_defaults())
 * into a temporary results store, and checks that the run finished with the expected number of
 * candidates, both in the job's result and in the store (read back through nas_job_query).
 * Exit 0 = pass.
 */
#include <ghnas.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BUDGET 24

static int fail(const char *what) {
    fprintf(stderr, "test_library: %s: %s\n", what, nas_errmsg());
    return 1;
}

/* Read the run back through the query job: its scores (an SQL count) and its top 5. */
static int check_store(const char *path, int64_t run_id) {
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM scores WHERE run_id = %lld", (long long)run_id);
    nas_job_query_params q = nas_job_query_defaults();
    q.db = path;
    q.action = NAS_QUERY_SQL;
    q.arg = sql;
    nas_job_query_result r;
    if (nas_job_query(&q, &r) != NAS_OK) {
        return fail("nas_job_query sql");
    }
    int64_t n = nas_store_table_at(&r.tables[0], 0, 0)->i;
    nas_job_query_result_free(&r);
    if (n != BUDGET) {
        fprintf(stderr, "test_library: the store holds %lld scores, expected %d\n", (long long)n,
                BUDGET);
        return 1;
    }
    q.action = NAS_QUERY_TOP;
    q.arg = NULL;
    q.run = run_id;
    q.k = 5;
    if (nas_job_query(&q, &r) != NAS_OK) {
        return fail("nas_job_query top");
    }
    n = r.tables[0].n_rows;
    nas_job_query_result_free(&r);
    if (n != 5) {
        fprintf(stderr, "test_library: top 5 gave %lld rows\n", (long long)n);
        return 1;
    }
    return 0;
}

int main(void) {
    char dir[] = "/tmp/ghnas-library-XXXXXX";
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    char path[64];
    snprintf(path, sizeof path, "%s/lib.db", dir);

    nas_job_search_params p = nas_job_search_defaults();
    p.db = path;
    p.space = "nb201";
    p.strategy = "random";
    p.scorer = "params";
    p.budget = BUDGET;
    p.eval_top = 0; /* no closing training: no data set needed */
    p.threads = 2;
    p.quiet = true;
    nas_job_search_result res;
    int rc = 0;
    if (nas_job_search(&p, &res) != NAS_OK) {
        rc = fail("nas_job_search");
    } else if (res.search.status != NAS_RUN_FINISHED || res.search.n_results != BUDGET ||
               res.search.n_scored != BUDGET || strcmp(res.scorer, "params") != 0) {
        fprintf(stderr, "test_library: run %lld: status %d, %lld results, %lld scored, scorer %s\n",
                (long long)res.search.run_id, (int)res.search.status,
                (long long)res.search.n_results, (long long)res.search.n_scored, res.scorer);
        rc = 1;
    } else {
        rc = check_store(path, res.search.run_id);
    }
    nas_job_search_result_free(&res);
    char side[96];
    static const char *const suffix[] = {"", "-wal", "-shm"};
    for (int i = 0; i < 3; i++) {
        snprintf(side, sizeof side, "%s%s", path, suffix[i]);
        unlink(side);
    }
    rmdir(dir);
    if (rc == 0) {
        printf("test_library: %d candidates scored and stored through nas_job_search\n", BUDGET);
    }
    return rc;
}
