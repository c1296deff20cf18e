/*
 * `ghnas train`: train the graph hypernetwork on a search space and an image dataset, with
 * checkpoints to save and resume (nas_job_train).
 */
#pragma once

/* argv[0] is "train". Returns an exit code (NAS_EXIT_*). */
int nas_cli_train(int argc, char **argv);
