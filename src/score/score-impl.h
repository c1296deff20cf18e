/*
 * Internals shared by the files of src/score: the registry's constructors, one per scorer family.
 */
#pragma once

#include "ghnas/score.h"

/* params / flops (size.c): need no inputs. */
nas_status nas_i_score_make_size(nas_scorer *out, const nas_score_entry *e,
                                 const nas_score_inputs *in);
/* ghn (ghn.c): in->ghn. */
nas_status nas_i_score_make_ghn(nas_scorer *out, const nas_score_entry *e,
                                const nas_score_inputs *in);
/* the zero-cost proxies (proxy.c): in->data. */
nas_status nas_i_score_make_proxy(nas_scorer *out, const nas_score_entry *e,
                                  const nas_score_inputs *in);
/* ranker (ranker.c): in->ranker, plus in->ghn / in->data as the model's features need. */
nas_status nas_i_score_make_ranker(nas_scorer *out, const nas_score_entry *e,
                                   const nas_score_inputs *in);
