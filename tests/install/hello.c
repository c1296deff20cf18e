/*
 * A program built against an installed ghnas only (tests/install/test_install.sh): pkg-config
 * against libghnas.so and libghnas.a, and the CMake package (project/). It scores one
 * architecture with the params and synflow scorers through the job layer, which touches every
 * dependency (jansson for the space file, igraph for the graph, OpenBLAS and OpenMP for the
 * network, the data set for synflow's batch), and reports a bad space file as an error.
 *   hello SPACE ARCH   prints "params N synflow X"
 */
#include <ghnas.h>

#include <stdio.h>

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: hello SPACE ARCH\n");
        return 2;
    }
    const char *archs[] = {argv[2]};
    nas_job_score_params p = nas_job_score_defaults();
    p.space = argv[1];
    p.scorers = "params,synflow";
    p.archs = archs;
    p.n_archs = 1;
    p.threads = 1;
    nas_job_score_result res;
    if (nas_job_score(&p, &res) != NAS_OK) {
        fprintf(stderr, "hello: %s\n", nas_errmsg());
        return 1;
    }
    printf("params %.0f synflow %.6g\n", res.items[0].value[0], res.items[0].value[1]);
    nas_job_score_result_free(&res);
    return 0;
}
