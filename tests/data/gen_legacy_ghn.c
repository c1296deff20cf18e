/*
 * Writes tests/data/legacy_ghn_v2.ckpt with the GHN checkpoint writer of ghnas 802109c (format
 * "GHNASGHN" version 2). Built once against that commit's libghnas.a; kept for the record.
 * The GHN is the tests' tiny config (classes 4) initialised from seed 5; the trainer state is
 * filled with fixed values the test checks.
 */
#include "ghnas/ghn.h"

#include <stdio.h>
#include <string.h>

int main(int argc, char **argv) {
    nas_ghn_config c = nas_ghn_config_default();
    c.hid = 8;
    c.dec_hid = 12;
    c.chunk_out = 3;
    c.chunk_in = 2;
    c.chunk_k = 3;
    c.n_pos = 2;
    c.s_max = 4;
    c.decoder = NAS_GHN_DECODER_CHUNK;
    c.classes = 4;
    nas_ghn_train_config tc = nas_ghn_train_defaults();
    tc.steps = 3;
    tc.meta_batch = 3;
    tc.batch_size = 16;
    tc.n_widths = 2;
    tc.widths[0] = 3;
    tc.widths[1] = 4;
    tc.N = 1;
    tc.lr = 3e-3f;
    tc.warmup_steps = 2;
    tc.threads = 1;
    tc.seed = 7;
    nas_ghn g;
    nas_ghn_trainer tr;
    if (nas_ghn_init(&g, &c, 5) != NAS_OK || nas_ghn_trainer_init(&tr, &g, &tc) != NAS_OK) {
        fprintf(stderr, "%s\n", nas_errmsg());
        return 1;
    }
    for (int64_t i = 0; i < g.n_seen; i++) {
        g.seen[i] = (unsigned char)(i % 3 == 0);
    }
    snprintf(tr.data.space, sizeof tr.data.space, "nb201");
    snprintf(tr.data.dataset, sizeof tr.data.dataset, "synthetic");
    tr.data.n_val = 123;
    tr.data.split_seed = 99;
    tr.data.norm.c = 1;
    tr.data.norm.mean[0] = 0.25f;
    tr.data.norm.std[0] = 0.5f;
    tr.data.eval_batch = 50;
    tr.data.in_c = 1;
    tr.data.in_h = 8;
    tr.data.in_w = 8;
    tr.step = 3;
    tr.skipped = 1;
    tr.archs = 9;
    tr.seconds = 1.5;
    tr.last_loss = 1.25;
    tr.last_acc = 0.375;
    tr.opt.step = 2;
    for (int64_t i = 0; i < tr.opt.state_numel; i++) {
        tr.opt.state[i] = (float)(i % 17) * 0.125f;
    }
    printf("numel %lld state %lld seen %lld\n", (long long)g.params.numel,
           (long long)tr.opt.state_numel, (long long)g.n_seen);
    nas_status st = nas_ghn_save(&g, &tr, argv[1]);
    if (st == NAS_OK && argc > 2) {
        st = nas_ghn_save(&g, NULL, argv[2]);
    }
    if (st != NAS_OK) {
        fprintf(stderr, "%s\n", nas_errmsg());
    }
    return st == NAS_OK ? 0 : 1;
}
