/*
 * Internals shared by the files of src/data: class-name lists, the CIFAR and IDX pieces the
 * data-source layer (open.c) calls, the image-folder loader (folder.c) and the image decoders
 * and resize (decode.c) that both the folder loader and nas_data_read_images use.
 */
#pragma once

#include "ghnas/data.h"

#include <stdio.h>

/* ---- class names --------------------------------------------------------------------------- */

/* A heap copy of names[0..n) (each nas_strdup'ed); NULL names gives NULL. NAS_ENOMEM otherwise. */
nas_status nas_i_names_copy(char ***out, char *const *names, int n);
/* Free names[0..n) and the array; NULL is fine. */
void nas_i_names_free(char **names, int n);
/* The non-empty lines of a text file (trailing blanks and \r dropped) as names; *n their count.
 * NAS_ENOTFOUND when the file does not exist. */
nas_status nas_i_names_read(const char *path, char ***out, int *n);

/* ---- IDX / CIFAR --------------------------------------------------------------------------- */

/* Largest label of an IDX labels file (magic 0x00000801, plain or gzip). */
nas_status nas_i_idx_max_label(const char *path, int *max_label);

/* CIFAR-100 binary files (records: coarse label, fine label, 3072 pixels); fine labels. */
nas_status nas_i_read_cifar100(nas_dataset *out, const char *const *paths, int n_paths,
                               const char *name);

/* ---- image folders ------------------------------------------------------------------------- */

/* One split of an image folder (see nas_data_load). */
nas_status nas_i_folder_load(nas_dataset *out, const nas_data_desc *d, const char *split);
/* Whether dir looks like an image folder: sub-folders (train/ and test/, or class folders)
 * of which at least one holds a file. */
bool nas_i_folder_detect(const char *dir);

/* ---- image files --------------------------------------------------------------------------- */

typedef enum nas_i_image_format {
    NAS_I_IMG_NONE = 0,
    NAS_I_IMG_PNG,
    NAS_I_IMG_JPEG,
} nas_i_image_format;

/* What a file's header says: its format, size and channels (1 grey, 3 colour; alpha dropped). */
typedef struct nas_i_image_info {
    nas_i_image_format format;
    int w, h, c;
} nas_i_image_info;

/* Format by the first bytes of a file (NAS_I_IMG_NONE when neither PNG nor JPEG). */
nas_i_image_format nas_i_image_sniff(const unsigned char *head, size_t n);
/* Read the header of a PNG or JPEG file: NAS_EFORMAT naming the file when it is neither, or its
 * header is damaged. */
nas_status nas_i_image_probe(const char *path, nas_i_image_info *info);
/* Decode a PNG or JPEG file into interleaved 8-bit pixels [h, w, c] (c as the probe says); *out
 * is nas_malloc'ed. info receives the header read now. */
nas_status nas_i_image_decode(const char *path, nas_i_image_info *info, uint8_t **out);
/* Place an interleaved [h, w, c] image into dst [dc, dh, dw] (planar): channels expanded
 * (grey -> RGB by copying; RGB -> grey not allowed, dc >= c), resized to dh x dw with pixman
 * (area-averaging box filter when shrinking, bilinear when growing) unless the sizes agree. */
nas_status nas_i_image_place(const char *path, const uint8_t *src, int c, int h, int w,
                             uint8_t *dst, int dc, int dh, int dw);
