/*
 * Image folders (DIR/CLASS/IMAGE, or DIR/train/CLASS/IMAGE with DIR/test/CLASS/IMAGE).
 */
#include "data-impl.h"

#include <dirent.h>
#include <string.h>

bool nas_i_folder_detect(const char *dir) {
    (void)dir;
    return false;
}

nas_status nas_i_folder_load(nas_dataset *out, const nas_data_desc *d, const char *split) {
    (void)split;
    memset(out, 0, sizeof *out);
    return nas_error(NAS_EUNSUPPORTED, "%s: image folders are not read yet", d->spec);
}
