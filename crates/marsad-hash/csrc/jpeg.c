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
 * - a suspending data source over the whole file: data that ends before the
 *   last scanline suspends the decoder, which is reported as truncated,
 *   exactly where Pillow raises "image file is truncated"; a file that ends
 *   after its last scanline but before its EOI marker decodes, as in Pillow;
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
    int too_many;
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

static void source_init(j_decompress_ptr cinfo) { (void)cinfo; }
static void source_term(j_decompress_ptr cinfo) { (void)cinfo; }

/* The whole file is in the buffer: asking for more means it is truncated. */
static boolean source_fill(j_decompress_ptr cinfo) {
    (void)cinfo;
    return FALSE;
}

static void source_skip(j_decompress_ptr cinfo, long count) {
    struct jpeg_source_mgr *src = cinfo->src;
    if (count <= 0) {
        return;
    }
    if ((size_t)count > src->bytes_in_buffer) {
        src->next_input_byte += src->bytes_in_buffer;
        src->bytes_in_buffer = 0;
    } else {
        src->next_input_byte += count;
        src->bytes_in_buffer -= (size_t)count;
    }
}

int marsad_jpeg_decode(const uint8_t *data, size_t len, long max_memory, int max_scans,
                       marsad_jpeg_alloc alloc, void *ctx, char *msg, size_t msg_len) {
    struct jpeg_decompress_struct cinfo;
    struct marsad_error err;
    struct marsad_progress progress;
    struct jpeg_source_mgr source;
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

    source.next_input_byte = data;
    source.bytes_in_buffer = len;
    source.init_source = source_init;
    source.fill_input_buffer = source_fill;
    source.skip_input_data = source_skip;
    source.resync_to_restart = jpeg_resync_to_restart;
    source.term_source = source_term;
    cinfo.src = &source;

    int header;
    do {
        header = jpeg_read_header(&cinfo, FALSE);
    } while (header == JPEG_HEADER_TABLES_ONLY);
    if (header == JPEG_SUSPENDED) {
        jpeg_destroy_decompress(&cinfo);
        return MARSAD_JPEG_TRUNCATED;
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

    if (!jpeg_start_decompress(&cinfo)) {
        jpeg_destroy_decompress(&cinfo);
        return MARSAD_JPEG_TRUNCATED;
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
        if (jpeg_read_scanlines(&cinfo, &row, 1) != 1) {
            jpeg_destroy_decompress(&cinfo);
            return MARSAD_JPEG_TRUNCATED;
        }
    }
    /* Pillow ignores a suspension here: every scanline is there. */
    (void)jpeg_finish_decompress(&cinfo);
    jpeg_destroy_decompress(&cinfo);
    return status;
}
