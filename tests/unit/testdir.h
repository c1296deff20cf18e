/*
 * Temporary directories for the unit suites: a fixture's setup creates an empty one under /tmp,
 * its teardown removes it with everything in it (read-only entries included).
 */
#pragma once

/* The current test's directory ("" outside a test). */
extern char test_tmpdir[256];

/* Create /tmp/ghnas-test-<suite>-XXXXXX (mode 0777, so unprivileged children can work in it). */
void test_tmpdir_create(const char *suite);
/* Remove test_tmpdir and its contents; no-op when none exists. */
void test_tmpdir_remove(void);
/* test_tmpdir/name into buf[512]; returns buf. */
char *test_tpath(char *buf, const char *name);
