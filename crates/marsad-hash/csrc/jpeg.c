/*
 * JPEG decoding through the system's libjpeg-turbo, with the settings and
 * error semantics of Pillow's JPEG decoder (src/libImaging/JpegDecode.c and
 * JpegImagePlugin.py), so that the pixels are the ones Pillow hands to
 * python-threatexchange:
 *
 * - default decompression parameters: accurate integer IDCT (JDCT_ISLOW) and
 *   fancy upsampling, as Pillow uses whenever `draft()` was not called;
 * - output colour space from the number of components, as Pillow's modes:
 *   1 -> grey, 3 -> RGB, 4 -> CMYK (YCCK converted by libjpeg); the caller
 *   inverts CMYK as Pillow's "CMYK;I" raw mode does (Adobe polarity);
 * - a suspending data source fed in Pillow's blocks (see below): a
 *   suspension with no data left is reported as truncated, exactly where
 *   Pillow raises "image file is truncated";
 * - warnings (corrupt entropy data, extraneous bytes) are ignored and
 *   decoding goes on, as in Pillow; errors stop it.
 *
 * Limits: the caller's allocation callback sees the size and the
 * coefficient memory a multi-scan image needs before anything is decoded,
 * libjpeg's own memory is capped by max_memory_to_use, and a progressive
 * image may have at most max_scans scans (a file of many tiny scans would
 * otherwise cost time without bound).
 *
 * Nothing here does I/O; the library is called on the caller's buffer.
 */
#include <setjmp.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <jpeglib.h>
#include <jerror.h>

enum {
    MARSAD_JPEG_OK = 0,
    MARSAD_JPEG_ERROR = 1,
    MARSAD_JPEG_TRUNCATED = 2,
    MARSAD_JPEG_REFUSED = 3,
    MARSAD_JPEG_UNSUPPORTED = 4,
    MARSAD_JPEG_TOO_MANY_SCANS = 5,
};

/* Returns where to write width * height * components bytes, or NULL to stop. */
typedef uint8_t *(*marsad_jpeg_alloc)(void *ctx, uint32_t width, uint32_t height, int components,
                                      uint64_t coefficient_bytes);

struct marsad_error {
    struct jpeg_error_mgr pub;
    jmp_buf jump;
    char *msg;
    size_t msg_len;
};

struct marsad_progress {
    struct jpeg_progress_mgr pub;
    int max_scans;
    volatile int too_many; /* set after setjmp, read after longjmp */
};

static void on_error(j_common_ptr cinfo) {
    struct marsad_error *err = (struct marsad_error *)cinfo->err;
    char buffer[JMSG_LENGTH_MAX];
    (*cinfo->err->format_message)(cinfo, buffer);
    if (err->msg_len > 0) {
        snprintf(err->msg, err->msg_len, "%s", buffer);
    }
    longjmp(err->jump, 1);
}

static void on_output(j_common_ptr cinfo) { (void)cinfo; }

static void on_progress(j_common_ptr cinfo) {
    struct marsad_progress *progress = (struct marsad_progress *)cinfo->progress;
    j_decompress_ptr dinfo = (j_decompress_ptr)cinfo;
    if (dinfo->input_scan_number > progress->max_scans) {
        progress->too_many = 1;
        ERREXIT(cinfo, JERR_NOT_COMPILED); /* any error: the flag says why */
    }
}

/*
 * The data source reproduces how Pillow feeds libjpeg: ImageFile.load reads
 * the file in blocks of 65536 bytes (decodermaxblock) and calls the decoder
 * with what it has not consumed plus the next block; the decoder suspends
 * (fill_input_buffer returns FALSE) when it needs more. Where a file ends
 * decides whether it decodes (a suspension at the very end of the data is
 * "image file is truncated"), and that depends on where the blocks end, so
 * the blocks are the same here: the whole file is in memory, and `fed` is
 * the end of what Pillow would have read so far.
 */
#define PILLOW_BLOCK 65536

struct marsad_source {
    struct jpeg_source_mgr pub;
    const uint8_t *data;
    size_t len;
    size_t fed;
    size_t skip; /* bytes still to skip, as Pillow's source->skip */
};

static void source_init(j_decompress_ptr cinfo) { (void)cinfo; }
static void source_term(j_decompress_ptr cinfo) { (void)cinfo; }

static boolean source_fill(j_decompress_ptr cinfo) {
    (void)cinfo;
    return FALSE; /* suspend: the caller feeds the next block */
}

static void source_skip(j_decompress_ptr cinfo, long count) {
    struct marsad_source *src = (struct marsad_source *)cinfo->src;
    if (count <= 0) {
        return;
    }
    if ((size_t)count > src->pub.bytes_in_buffer) {
        src->skip = (size_t)count - src->pub.bytes_in_buffer;
        src->pub.next_input_byte += src->pub.bytes_in_buffer;
        src->pub.bytes_in_buffer = 0;
    } else {
        src->pub.next_input_byte += count;
        src->pub.bytes_in_buffer -= (size_t)count;
        src->skip = 0;
    }
}

/* Feeds the next block after a suspension; 0 at the end of the data. */
static int source_feed(struct marsad_source *src) {
    for (;;) {
        if (src->fed >= src->len) {
            return 0;
        }
        size_t pos = (size_t)(src->pub.next_input_byte - src->data);
        src->fed = src->len - src->fed > PILLOW_BLOCK ? src->fed + PILLOW_BLOCK : src->len;
        src->pub.bytes_in_buffer = src->fed - pos;
        if (src->skip > 0) {
            size_t n = src->skip < src->pub.bytes_in_buffer ? src->skip : src->pub.bytes_in_buffer;
            src->pub.next_input_byte += n;
            src->pub.bytes_in_buffer -= n;
            src->skip -= n;
            if (src->skip > 0) {
                continue; /* Pillow returns and reads another block */
            }
        }
        return 1;
    }
}

int marsad_jpeg_decode(const uint8_t *data, size_t len, long max_memory, int max_scans,
                       marsad_jpeg_alloc alloc, void *ctx, char *msg, size_t msg_len) {
    struct jpeg_decompress_struct cinfo;
    struct marsad_error err;
    struct marsad_progress progress;
    struct marsad_source source;
    /* volatile: read after longjmp */
    volatile int status = MARSAD_JPEG_OK;

    memset(&cinfo, 0, sizeof cinfo);
    memset(&progress, 0, sizeof progress);
    if (msg_len > 0) {
        msg[0] = '\0';
    }
    cinfo.err = jpeg_std_error(&err.pub);
    err.pub.error_exit = on_error;
    err.pub.output_message = on_output;
    err.msg = msg;
    err.msg_len = msg_len;
    if (setjmp(err.jump)) {
        status = progress.too_many ? MARSAD_JPEG_TOO_MANY_SCANS : MARSAD_JPEG_ERROR;
        jpeg_destroy_decompress(&cinfo);
        return status;
    }
    jpeg_create_decompress(&cinfo);
    cinfo.mem->max_memory_to_use = max_memory;
    progress.pub.progress_monitor = on_progress;
    progress.max_scans = max_scans;
    cinfo.progress = &progress.pub;

    source.data = data;
    source.len = len;
    source.fed = len > PILLOW_BLOCK ? PILLOW_BLOCK : len;
    source.skip = 0;
    source.pub.next_input_byte = data;
    source.pub.bytes_in_buffer = source.fed;
    source.pub.init_source = source_init;
    source.pub.fill_input_buffer = source_fill;
    source.pub.skip_input_data = source_skip;
    source.pub.resync_to_restart = jpeg_resync_to_restart;
    source.pub.term_source = source_term;
    cinfo.src = &source.pub;

    int header;
    for (;;) {
        header = jpeg_read_header(&cinfo, FALSE);
        if (header == JPEG_HEADER_TABLES_ONLY) {
            continue;
        }
        if (header != JPEG_SUSPENDED) {
            break;
        }
        if (!source_feed(&source)) {
            jpeg_destroy_decompress(&cinfo);
            return MARSAD_JPEG_TRUNCATED;
        }
    }
    if (header != JPEG_HEADER_OK) {
        jpeg_destroy_decompress(&cinfo);
        if (msg_len > 0) {
            snprintf(msg, msg_len, "no image in the data");
        }
        return MARSAD_JPEG_ERROR;
    }
    /* Pillow's header parser accepts 8-bit samples in 1, 3 or 4 layers only. */
    if (cinfo.data_precision != 8 ||
        (cinfo.num_components != 1 && cinfo.num_components != 3 && cinfo.num_components != 4)) {
        if (msg_len > 0) {
            snprintf(msg, msg_len, "%d-bit samples in %d components", cinfo.data_precision,
                     cinfo.num_components);
        }
        jpeg_destroy_decompress(&cinfo);
        return MARSAD_JPEG_UNSUPPORTED;
    }
    switch (cinfo.num_components) {
    case 1:
        cinfo.out_color_space = JCS_GRAYSCALE;
        break;
    case 3:
        cinfo.out_color_space = JCS_RGB;
        break;
    default:
        cinfo.out_color_space = JCS_CMYK;
        break;
    }

    uint64_t coefficients = 0;
    if (jpeg_has_multiple_scans(&cinfo)) {
        for (int c = 0; c < cinfo.num_components; c++) {
            jpeg_component_info *comp = &cinfo.comp_info[c];
            coefficients += (uint64_t)comp->width_in_blocks * comp->height_in_blocks * DCTSIZE2 *
                            sizeof(JCOEF);
        }
    }
    int components = cinfo.num_components;
    uint32_t width = cinfo.image_width, height = cinfo.image_height;
    uint8_t *out = alloc(ctx, width, height, components, coefficients);
    if (out == NULL) {
        jpeg_destroy_decompress(&cinfo);
        return MARSAD_JPEG_REFUSED;
    }

    while (!jpeg_start_decompress(&cinfo)) {
        if (!source_feed(&source)) {
            jpeg_destroy_decompress(&cinfo);
            return MARSAD_JPEG_TRUNCATED;
        }
    }
    if (cinfo.output_width != width || cinfo.output_height != height ||
        cinfo.output_components != components) {
        jpeg_destroy_decompress(&cinfo);
        if (msg_len > 0) {
            snprintf(msg, msg_len, "decoder output does not match the header");
        }
        return MARSAD_JPEG_ERROR;
    }
    size_t stride = (size_t)width * (size_t)components;
    while (cinfo.output_scanline < height) {
        JSAMPROW row = out + (size_t)cinfo.output_scanline * stride;
        if (jpeg_read_scanlines(&cinfo, &row, 1) != 1 && !source_feed(&source)) {
            jpeg_destroy_decompress(&cinfo);
            return MARSAD_JPEG_TRUNCATED;
        }
    }
    /* Pillow ignores a suspension here: every scanline is there. */
    (void)jpeg_finish_decompress(&cinfo);
    jpeg_destroy_decompress(&cinfo);
    return status;
}
