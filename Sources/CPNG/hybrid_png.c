#include "hybrid_png.h"

#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What the libpng callbacks reach: the input, the error text and the jump back. */
typedef struct {
    const uint8_t *data;
    size_t size, offset;
    char *error;
    size_t error_size;
    /* libpng says why a header is invalid in a warning just before its error. */
    char warning[160];
    jmp_buf jump;
} reader;

static void on_error(png_structp png, png_const_charp message) {
    reader *r = png_get_error_ptr(png);
    if (r->warning[0]) snprintf(r->error, r->error_size, "%s (%s)", message, r->warning);
    else snprintf(r->error, r->error_size, "%s", message);
    longjmp(r->jump, 1);
}

static void on_warning(png_structp png, png_const_charp message) {
    reader *r = png_get_error_ptr(png);
    if (!r->warning[0]) snprintf(r->warning, sizeof r->warning, "%s", message);
}

static void on_read(png_structp png, png_bytep out, png_size_t n) {
    reader *r = png_get_io_ptr(png);
    if (n > r->size - r->offset) png_error(png, "the file ends before the image does (truncated)");
    memcpy(out, r->data + r->offset, n);
    r->offset += n;
}

int hybrid_png_decode(const uint8_t *data, size_t size, uint64_t max_pixels, hybrid_png_image *image,
                      char *error, size_t error_size) {
    memset(image, 0, sizeof *image);
    if (error_size) error[0] = 0;
    if (size < 8 || png_sig_cmp(data, 0, 8) != 0) {
        snprintf(error, error_size, "not a PNG file (no PNG signature)");
        return 1;
    }
    reader r = {data, size, 0, error, error_size, {0}};
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &r, on_error, on_warning);
    if (!png) {
        snprintf(error, error_size, "libpng could not start");
        return 1;
    }
    png_infop info = png_create_info_struct(png);
    /* volatile: these change between setjmp and a longjmp back to it. */
    void *volatile pixels = NULL;
    png_bytep *volatile rows = NULL;
    if (!info || setjmp(r.jump)) {
        free(pixels);
        free(rows);
        png_destroy_read_struct(&png, &info, NULL);
        if (!error[0]) snprintf(error, error_size, "libpng could not read the file");
        return 1;
    }
    png_set_read_fn(png, &r, on_read);
    png_set_user_limits(png, 0x7fffffff, 0x7fffffff);
    png_read_info(png, info);
    png_uint_32 width, height;
    int depth, color, interlace;
    png_get_IHDR(png, info, &width, &height, &depth, &color, &interlace, NULL, NULL);
    if ((uint64_t)width * height > max_pixels) {
        snprintf(error, error_size, "is %ux%u, more than the %llu pixels an image may have", (unsigned)width, (unsigned)height,
                 (unsigned long long)max_pixels);
        longjmp(r.jump, 1);
    }
    if (color == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
    if (color == PNG_COLOR_TYPE_GRAY && depth < 8) png_set_expand_gray_1_2_4_to_8(png);
    if (png_get_valid(png, info, PNG_INFO_tRNS)) png_set_tRNS_to_alpha(png);
    if (depth == 16) png_set_swap(png);   /* PNG is big-endian; x86-64 and arm64 are little */
    if (interlace != PNG_INTERLACE_NONE) png_set_interlace_handling(png);
    png_read_update_info(png, info);
    uint32_t channels = png_get_channels(png, info), bits = png_get_bit_depth(png, info);
    size_t rowbytes = png_get_rowbytes(png, info);
    if ((bits != 8 && bits != 16) || channels < 1 || channels > 4 || rowbytes != (size_t)width * channels * (bits / 8)) {
        snprintf(error, error_size, "has an unsupported layout (%u channels of %u bits)", channels, bits);
        longjmp(r.jump, 1);
    }
    pixels = malloc(rowbytes * height);
    rows = malloc(sizeof(png_bytep) * height);
    if (!pixels || !rows) {
        snprintf(error, error_size, "is %ux%u, too large for this machine's memory", (unsigned)width, (unsigned)height);
        longjmp(r.jump, 1);
    }
    for (png_uint_32 y = 0; y < height; y++) rows[y] = (png_bytep)pixels + y * rowbytes;
    png_read_image(png, rows);
    png_read_end(png, NULL);
    free(rows);
    png_destroy_read_struct(&png, &info, NULL);
    image->width = width;
    image->height = height;
    image->channels = channels;
    image->bit_depth = bits;
    image->pixels = pixels;
    return 0;
}

void hybrid_png_free(hybrid_png_image *image) {
    free(image->pixels);
    image->pixels = NULL;
}
