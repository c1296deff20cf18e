/*
 * ghnas: the umbrella header. Includes every public module header, bottom layer first, so a
 * program using the library needs just
 *
 *     #include <ghnas.h>
 *
 * and links libghnas (CMake target ghnas_lib). See README.md ("Using the library") for a short
 * search written against the job layer (include/ghnas/job.h).
 */
#pragma once

#include "ghnas/core.h"
#include "ghnas/container.h"
#include "ghnas/tensor.h"
#include "ghnas/data.h"
#include "ghnas/space.h"
#include "ghnas/store.h"
#include "ghnas/nn.h"
#include "ghnas/train.h"
#include "ghnas/net.h"
#include "ghnas/ghn.h"
#include "ghnas/export.h"
#include "ghnas/plot.h"
#include "ghnas/proxy.h"
#include "ghnas/score.h"
#include "ghnas/rank.h"
#include "ghnas/eval.h"
#include "ghnas/search.h"
#include "ghnas/job.h"
