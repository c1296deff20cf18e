/*
 * The schema of the results store as SQL steps: step 1 creates version 1 (DESIGN.md §7), each
 * later step migrates the previous version forward inside the opening writer's transaction.
 * Steps are append-only: a released step is never edited, a change is a new step.
 *
 * Adjustments to DESIGN.md §7, with reasons:
 *   - architectures.canonical_hash holds nas_arch_canon_key text (NB201's unique string, NB101's
 *     md5 fingerprint, or the igraph md5): identity within a space, whatever the rule.
 *   - scores.recipe: the scoring recipe (validation subset, batch, seed) must match for a stored
 *     score to be reused, besides the GHN (runs.ghn_id) and the scorer name.
 *   - scores.seq: the candidate's number within its run (best-so-far curves, resume checks).
 *   - trainings.epochs_done, checkpoint, updated_at and UNIQUE(run, arch, init, recipe): evaluate
 *     resumes a training from its last epoch instead of starting a duplicate.
 *   - Times are UTC text "YYYY-MM-DD HH:MM:SS" (SQLite's datetime('now')), which sqlite3,
 *     Python and pandas parse; durations are REAL seconds.
 *   - No JSON functions in constraints or views, so SQLite builds without JSON1 read every file.
 *     Views use window functions (SQLite >= 3.25).
 *
 * Version 2 (migration step 2) adds what ranking and resuming need:
 *   - scorers(name, higher_is_better, description): the direction of every scorer (back-filled
 *     from v1 scores: names with loss/err and params/flops/latency are lower-is-better);
 *   - runs.scorer: the primary objective a run ranks by (back-filled with its most frequent);
 *   - run_state(run_id, rng, n_done, state_json, updated_at): the resume point committed with
 *     every batch; updated_at is the run's heartbeat;
 *   - the index scores_rank(run_id, scorer, value) for leaderboards;
 *   - leaderboard / pareto views that honour the direction, and pareto_flops.
 *
 * Version 3 (migration step 3) adds rankers(id, name, space, dataset, ghn_id, model, features,
 * n_labels, labels_json, recipe_json, cv_tau, cv_rho, seconds, created_at, checkpoint): the
 * learned rankers fitted by `ghnas rank` (rank.h), with the GHN and labels they depend on.
 *
 * Version 4 (migration step 4) keeps trained models:
 *   - trained_weights(training_id, format, n_params, bytes, weights, created_at): the final
 *     weights and BatchNorm statistics of a finished training (with its network configuration
 *     and input normalisation; layout in include/ghnas/export.h), written in the transaction
 *     that finishes the training; deleted with it (ON DELETE CASCADE) or by
 *     `ghnas query DB drop-weights`. Trainings finished before v4 have no row (their weights
 *     were never kept). Self-contained: it only adds a table.
 *
 * Version 5 (migration step 5) identifies data sets by content (issue 16): runs, ghn_models and
 * rankers get data_fingerprint (nas_data_fingerprint: 16 hex digits of the loaded training split,
 * NULL = unknown, every row made before v5). The reuse lookups (the newest GHN or ranker of a space
 * and data set, stored scores) take a row only when its fingerprint is the job's or unknown, and
 * `search --resume` / `evaluate` refuse a run whose data changed since.
 */
#include "store-impl.h"

static const char schema_v1[] =
    "CREATE TABLE ghn_models (\n"
    "    id          INTEGER PRIMARY KEY,\n"
    "    space       TEXT NOT NULL,\n"
    "    dataset     TEXT NOT NULL,\n"
    "    config_json TEXT NOT NULL DEFAULT '{}',\n"
    "    steps       INTEGER NOT NULL DEFAULT 0,\n"
    "    train_loss  REAL,\n"
    "    val_acc     REAL,\n"
    "    seconds     REAL,\n"
    "    created_at  TEXT NOT NULL DEFAULT (datetime('now')),\n"
    "    checkpoint  BLOB NOT NULL\n"
    ");\n"
    "CREATE TABLE runs (\n"
    "    id          INTEGER PRIMARY KEY,\n"
    "    name        TEXT NOT NULL DEFAULT '',\n"
    "    kind        TEXT NOT NULL,\n"
    "    status      TEXT NOT NULL DEFAULT 'running'\n"
    "                CHECK (status IN ('running', 'finished', 'interrupted', 'failed')),\n"
    "    space       TEXT NOT NULL,\n"
    "    dataset     TEXT NOT NULL,\n"
    "    config_json TEXT NOT NULL DEFAULT '{}',\n"
    "    seed        INTEGER NOT NULL DEFAULT 0,\n"
    "    ghn_id      INTEGER REFERENCES ghn_models(id),\n"
    "    started_at  TEXT NOT NULL DEFAULT (datetime('now')),\n"
    "    finished_at TEXT,\n"
    "    host        TEXT NOT NULL DEFAULT '',\n"
    "    version     TEXT NOT NULL DEFAULT ''\n"
    ");\n"
    "CREATE TABLE architectures (\n"
    "    id             INTEGER PRIMARY KEY,\n"
    "    space          TEXT NOT NULL,\n"
    "    canonical_hash TEXT NOT NULL,\n"
    "    arch           TEXT NOT NULL,\n"
    "    n_params       INTEGER,\n"
    "    flops          INTEGER,\n"
    "    n_nodes        INTEGER,\n"
    "    graph_json     TEXT,\n"
    "    UNIQUE (space, canonical_hash)\n"
    ");\n"
    "CREATE TABLE scores (\n"
    "    run_id     INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,\n"
    "    arch_id    INTEGER NOT NULL REFERENCES architectures(id),\n"
    "    scorer     TEXT NOT NULL,\n"
    "    value      REAL,\n"
    "    recipe     TEXT NOT NULL DEFAULT '',\n"
    "    seq        INTEGER,\n"
    "    aux_json   TEXT,\n"
    "    seconds    REAL,\n"
    "    created_at TEXT NOT NULL DEFAULT (datetime('now')),\n"
    "    PRIMARY KEY (run_id, arch_id, scorer)\n"
    ") WITHOUT ROWID;\n"
    "CREATE INDEX scores_by_arch ON scores(arch_id, scorer);\n"
    "CREATE TABLE trainings (\n"
    "    id          INTEGER PRIMARY KEY,\n"
    "    run_id      INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,\n"
    "    arch_id     INTEGER NOT NULL REFERENCES architectures(id),\n"
    "    recipe_json TEXT NOT NULL DEFAULT '{}',\n"
    "    init        TEXT NOT NULL DEFAULT 'scratch',\n"
    "    epochs      INTEGER NOT NULL,\n"
    "    epochs_done INTEGER NOT NULL DEFAULT 0,\n"
    "    train_acc   REAL,\n"
    "    val_acc     REAL,\n"
    "    test_acc    REAL,\n"
    "    curve_json  TEXT NOT NULL DEFAULT '[]',\n"
    "    seconds     REAL NOT NULL DEFAULT 0,\n"
    "    status      TEXT NOT NULL DEFAULT 'running'\n"
    "                CHECK (status IN ('running', 'finished', 'interrupted', 'failed')),\n"
    "    checkpoint  BLOB,\n"
    "    created_at  TEXT NOT NULL DEFAULT (datetime('now')),\n"
    "    updated_at  TEXT NOT NULL DEFAULT (datetime('now')),\n"
    "    UNIQUE (run_id, arch_id, init, recipe_json)\n"
    ");\n"
    "CREATE INDEX trainings_by_arch ON trainings(arch_id);\n"
    "CREATE VIEW leaderboard AS\n"
    "SELECT s.run_id, s.scorer,\n"
    "       row_number() OVER (PARTITION BY s.run_id, s.scorer\n"
    "                          ORDER BY s.value DESC, s.arch_id) AS rank,\n"
    "       s.arch_id, s.value, a.n_params, a.flops, a.arch, s.seq, s.created_at\n"
    "FROM scores s JOIN architectures a ON a.id = s.arch_id\n"
    "WHERE s.value IS NOT NULL;\n"
    "CREATE VIEW pareto AS\n"
    "SELECT s.run_id, s.scorer, s.arch_id, s.value, a.n_params, a.flops, a.arch\n"
    "FROM scores s JOIN architectures a ON a.id = s.arch_id\n"
    "WHERE s.value IS NOT NULL AND a.n_params IS NOT NULL AND NOT EXISTS (\n"
    "    SELECT 1 FROM scores s2 JOIN architectures a2 ON a2.id = s2.arch_id\n"
    "    WHERE s2.run_id = s.run_id AND s2.scorer = s.scorer AND s2.value IS NOT NULL\n"
    "      AND a2.n_params <= a.n_params AND s2.value >= s.value\n"
    "      AND (a2.n_params < a.n_params OR s2.value > s.value));\n";

/* The dominance test of the v2 Pareto views, for one cost column. */
#define PARETO_VIEW(name, cost)                                                                    \
    "CREATE VIEW " name " AS\n"                                                                    \
    "SELECT s.run_id, s.scorer, s.arch_id, s.value, a.n_params, a.flops, a.arch\n"                 \
    "FROM scores s JOIN architectures a ON a.id = s.arch_id\n"                                     \
    "LEFT JOIN scorers d ON d.name = s.scorer\n"                                                   \
    "WHERE s.value IS NOT NULL AND a." cost " IS NOT NULL AND NOT EXISTS (\n"                      \
    "    SELECT 1 FROM scores s2 JOIN architectures a2 ON a2.id = s2.arch_id\n"                    \
    "    WHERE s2.run_id = s.run_id AND s2.scorer = s.scorer AND s2.value IS NOT NULL\n"           \
    "      AND a2." cost " <= a." cost "\n"                                                        \
    "      AND (CASE WHEN coalesce(d.higher_is_better, 1) THEN s2.value >= s.value\n"              \
    "                ELSE s2.value <= s.value END)\n"                                              \
    "      AND (a2." cost " < a." cost " OR s2.value <> s.value));\n"

static const char migrate_v2[] =
    "CREATE TABLE scorers (\n"
    "    name             TEXT PRIMARY KEY,\n"
    "    higher_is_better INTEGER NOT NULL DEFAULT 1 CHECK (higher_is_better IN (0, 1)),\n"
    "    description      TEXT NOT NULL DEFAULT ''\n"
    ");\n"
    "INSERT INTO scorers (name, higher_is_better)\n"
    "    SELECT DISTINCT scorer,\n"
    "           CASE WHEN scorer LIKE '%loss%' OR scorer LIKE '%err%'\n"
    "                     OR scorer IN ('params', 'n_params', 'flops', 'latency') THEN 0\n"
    "                ELSE 1 END\n"
    "    FROM scores;\n"
    "ALTER TABLE runs ADD COLUMN scorer TEXT NOT NULL DEFAULT '';\n"
    "UPDATE runs SET scorer = coalesce((SELECT s.scorer FROM scores s WHERE s.run_id = runs.id\n"
    "                                   GROUP BY s.scorer ORDER BY count(*) DESC, s.scorer\n"
    "                                   LIMIT 1), '');\n"
    "CREATE TABLE run_state (\n"
    "    run_id     INTEGER PRIMARY KEY REFERENCES runs(id) ON DELETE CASCADE,\n"
    "    rng        TEXT NOT NULL,\n"
    "    n_done     INTEGER NOT NULL,\n"
    "    state_json TEXT NOT NULL DEFAULT '{}',\n"
    "    updated_at TEXT NOT NULL DEFAULT (datetime('now'))\n"
    ");\n"
    "CREATE INDEX scores_rank ON scores(run_id, scorer, value);\n"
    "DROP VIEW leaderboard;\n"
    "DROP VIEW pareto;\n"
    "CREATE VIEW leaderboard AS\n"
    "SELECT s.run_id, s.scorer,\n"
    "       row_number() OVER (PARTITION BY s.run_id, s.scorer\n"
    "                          ORDER BY CASE WHEN coalesce(d.higher_is_better, 1)\n"
    "                                        THEN -s.value ELSE s.value END, s.arch_id) AS rank,\n"
    "       s.arch_id, s.value, a.n_params, a.flops, a.arch, s.seq, s.created_at\n"
    "FROM scores s JOIN architectures a ON a.id = s.arch_id\n"
    "LEFT JOIN scorers d ON d.name = s.scorer\n"
    "WHERE s.value IS NOT NULL;\n" PARETO_VIEW("pareto", "n_params")
        PARETO_VIEW("pareto_flops", "flops");

/* v3: learned rankers (rank.h) fitted on the store's trainings, with what they depend on. */
static const char migrate_v3[] = "CREATE TABLE rankers (\n"
                                 "    id          INTEGER PRIMARY KEY,\n"
                                 "    name        TEXT NOT NULL DEFAULT '',\n"
                                 "    space       TEXT NOT NULL,\n"
                                 "    dataset     TEXT NOT NULL,\n"
                                 "    ghn_id      INTEGER REFERENCES ghn_models(id),\n"
                                 "    model       TEXT NOT NULL,\n"
                                 "    features    TEXT NOT NULL DEFAULT '',\n"
                                 "    n_labels    INTEGER NOT NULL,\n"
                                 "    labels_json TEXT NOT NULL DEFAULT '[]',\n"
                                 "    recipe_json TEXT NOT NULL DEFAULT '{}',\n"
                                 "    cv_tau      REAL,\n"
                                 "    cv_rho      REAL,\n"
                                 "    seconds     REAL,\n"
                                 "    created_at  TEXT NOT NULL DEFAULT (datetime('now')),\n"
                                 "    checkpoint  BLOB NOT NULL\n"
                                 ");\n";

/* v4: the final weights of finished trainings (kept weights, export.h). */
static const char migrate_v4[] =
    "CREATE TABLE trained_weights (\n"
    "    training_id INTEGER PRIMARY KEY REFERENCES trainings(id) ON DELETE CASCADE,\n"
    "    format      TEXT NOT NULL,\n"
    "    n_params    INTEGER NOT NULL,\n"
    "    bytes       INTEGER NOT NULL,\n"
    "    weights     BLOB NOT NULL,\n"
    "    created_at  TEXT NOT NULL DEFAULT (datetime('now'))\n"
    ");\n";

/* v5: the content fingerprint of the data set behind runs, GHNs and rankers (NULL = unknown). */
static const char migrate_v5[] = "ALTER TABLE runs ADD COLUMN data_fingerprint TEXT;\n"
                                 "ALTER TABLE ghn_models ADD COLUMN data_fingerprint TEXT;\n"
                                 "ALTER TABLE rankers ADD COLUMN data_fingerprint TEXT;\n";

static const char *const steps[NAS_STORE_SCHEMA_VERSION + 1] = {NULL,       schema_v1,  migrate_v2,
                                                                migrate_v3, migrate_v4, migrate_v5};

const char *nas_store_schema_step(int version) {
    if (version < 1 || version > NAS_STORE_SCHEMA_VERSION) {
        return NULL;
    }
    return steps[version];
}
