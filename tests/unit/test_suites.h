/*
 * Declarations of every Check suite (generated from suites.def) and shared test helpers.
 */
#pragma once

#include <check.h>

#define NAS_SUITE(name) Suite *nas_test_##name##_suite(void);
#include "suites.def"
#undef NAS_SUITE
