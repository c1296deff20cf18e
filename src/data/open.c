/*
 * Opening a data set by name: the one table of the data sets the jobs (search, train, score,
 * evaluate) accept, so the name dispatch lives here once.
 */
#include "ghnas/data.h"

#include <string.h>

typedef struct data_entry {
    const char *name;
    nas_status (*load)(nas_dataset *out, const char *dir, const char *split);
} data_entry;

static const data_entry datasets[] = {
    {"fashion-mnist", nas_data_load_fashion_mnist},
    {"mnist", nas_data_load_mnist},
};

#define N_DATASETS (int)(sizeof datasets / sizeof datasets[0])

static const data_entry *find(const char *name) {
    for (int i = 0; name && i < N_DATASETS; i++) {
        if (strcmp(datasets[i].name, name) == 0) {
            return &datasets[i];
        }
    }
    return NULL;
}

bool nas_data_known(const char *name) {
    return find(name) != NULL;
}

const char *nas_data_names(void) {
    return "fashion-mnist, mnist";
}

nas_status nas_data_open(nas_dataset *out, const char *name, const char *dir, const char *split) {
    const data_entry *e = find(name);
    if (!e) {
        return nas_error(NAS_EINVAL, "unknown dataset '%s' (%s)", name ? name : "",
                         nas_data_names());
    }
    return e->load(out, dir, split);
}
