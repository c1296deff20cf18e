/*
 * `ghnas export` and `ghnas predict`: a trained model of a results store (or an architecture
 * with GHN-predicted weights) written as ONNX / .npz, or run on image files.
 */
#pragma once

/* argv[0] is "export" / "predict". Return an exit code (NAS_EXIT_*). */
int nas_cli_export(int argc, char **argv);
int nas_cli_predict(int argc, char **argv);
