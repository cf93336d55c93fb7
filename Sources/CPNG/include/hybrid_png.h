/* PNG decoding for hybrid's image folders, over libpng, behind one C call so that libpng's
 * longjmp error handling never crosses Swift frames.
 *
 * hybrid_png_decode reads a whole PNG held in memory. Palette images become RGB, grey images
 * of 1, 2 or 4 bits become 8-bit grey, a tRNS chunk becomes an alpha channel; 8- and 16-bit
 * samples are kept as they are (16-bit in host byte order). The header is checked against
 * max_pixels before any pixel memory is allocated. On success it returns 0, fills *image and
 * hands over image->pixels (width * height * channels samples of bit_depth / 8 bytes each,
 * row-major, channels interleaved), which the caller frees with hybrid_png_free. On failure it
 * returns nonzero, allocates nothing and writes a sentence into error (NUL-terminated). */
#ifndef HYBRID_PNG_H
#define HYBRID_PNG_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint32_t width, height;
    uint32_t channels;   /* 1 grey, 2 grey + alpha, 3 RGB, 4 RGBA */
    uint32_t bit_depth;  /* 8 or 16 */
    void *pixels;
} hybrid_png_image;

int hybrid_png_decode(const uint8_t *data, size_t size, uint64_t max_pixels, hybrid_png_image *image,
                      char *error, size_t error_size);

void hybrid_png_free(hybrid_png_image *image);

#endif
