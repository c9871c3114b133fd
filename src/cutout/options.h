/* options.h — what a caller may ask of a cut-out, declared once in a table
 * (as libvips declares an operation's arguments): each option's name, type,
 * default and help. From the declaration come parsing from a query
 * parameter (api/) or a command-line flag (cli/), the refusal naming the
 * option, the help text, and the cache key: the key hashes the whole
 * struct, so an option added later can never be answered with a result
 * cached for other options.
 *
 * The vocabulary is remove.bg's where it has one (channels, bg_color, crop,
 * crop_margin, format). With every option at its default the result is the
 * spec's: an RGBA PNG the size of the (oriented) original, its pixels
 * unchanged, the mask as alpha. */
#ifndef AD_CUTOUT_OPTIONS_H
#define AD_CUTOUT_OPTIONS_H

#include <stddef.h>
#include <stdint.h>

#include "base/decl.h"
#include "base/err.h"
#include "config/config.h"
#include "matte/matte.h"

/* The presets, one row each — the one place a preset is declared; its enum
 * value, the option's choices and help, the model side it runs at, its
 * passes, curve and sampling grid (ad_cutout_preset), the model it opens
 * and the id the cache key and X-Model name all come from the row:
 *   X(ENUM, name, side setting (config.c), mirrored second pass, contrast
 *     curve, sampling grid (matte.h), help) */
#define AD_PRESETS(X)                                                                                                 \
    X(DEFAULT, default, "model_side", 0, 1, AD_MATTE_GRID_CENTRED, "one model pass and a contrast curve on the mask") \
    X(FAST, fast, "model_side_fast", 0, 1, AD_MATTE_GRID_CENTRED,                                                     \
      "one pass at a smaller model side (--model-side-fast, 640 by default), then the curve")                         \
    X(BEST, best, "model_side_best", 1, 1, AD_MATTE_GRID_CENTRED,                                                     \
      "a second pass on the mirrored image, combined (the larger counts for more), then the curve (about "            \
      "twice the time; at --model-side-best)")                                                                        \
    X(REFERENCE, reference, "model_side", 0, 0, AD_MATTE_GRID_REFERENCE,                                              \
      "the reference pipeline's mask (one pass on its sampling grid, no curve)")

typedef enum {
#define AD_PRESET_ENUM(e, name, side, mirrored, curve, grid, help) AD_PRESET_##e,
    AD_PRESETS(AD_PRESET_ENUM)
#undef AD_PRESET_ENUM
        AD_PRESET_COUNT
} ad_preset;

/* A preset's row. side_setting names the integer setting whose value is
 * the model's input side. */
typedef struct {
    const char *name, *help;
    const char *side_setting;
    int mirrored; /* a second pass on the mirrored image, combined as a soft maximum */
    int curve;    /* the contrast curve on the mask (ad_matte_curve) */
    ad_matte_grid grid;
} ad_preset_def;

/* The row of preset (an ad_preset), or NULL for a value out of range. */
const ad_preset_def *ad_cutout_preset(int preset);
typedef enum { AD_CHANNELS_RGBA, AD_CHANNELS_ALPHA } ad_channels;
typedef enum { AD_FORMAT_PNG, AD_FORMAT_WEBP, AD_FORMAT_JPG } ad_format;
typedef enum { AD_FG_AUTO, AD_FG_ON, AD_FG_OFF } ad_foreground;

/* A colour to flatten onto; set = 0: none. */
typedef struct {
    int set;
    uint8_t r, g, b, a;
} ad_option_color;

/* crop_margin, CSS order: top, right, bottom, left; each in pixels or a
 * percentage of the subject's box (of its height for top/bottom, of its
 * width for left/right). */
typedef struct {
    int v[4];
    int percent[4];
} ad_option_margin;

/* roi, remove.bg's region of interest: x1 y1 x2 y2, each in pixels or a
 * percentage of the (oriented) original's width or height. */
typedef struct {
    int v[4];
    int percent[4];
} ad_option_box;

/* position: where the subject goes on the canvas (set = 0: where it is). */
typedef struct {
    int set;
    int x, y; /* percent of the room left around the subject */
} ad_option_position;

/* Initialise with ad_cutout_options_default: the key hashes every byte. */
typedef struct {
    int preset;   /* ad_preset: model passes and matte curve */
    int channels; /* ad_channels: the RGBA cut-out, or the 8-bit mask alone */
    int format;   /* ad_format */
    ad_option_color bg_color;
    int crop; /* crop to the subject's box */
    ad_option_margin crop_margin;
    int max_side;          /* shrink the result to fit max_side x max_side; 0: keep */
    int clear_transparent; /* colour 0 where alpha is 0 (smaller files) */
    int foreground;        /* ad_foreground: estimate the subject's colour at soft edges */
    ad_option_box roi;     /* only this region may be the subject; outside it is background */
    int semitransparency;  /* 0: the mask made hard (alpha 0 or 255) */
    int scale;             /* the subject scaled to fit this percentage of the canvas; 0: as it is */
    ad_option_position position;
} ad_cutout_options;

/* An option is a row of base/decl.h's type: name, type, choices or range,
 * default, its field in ad_cutout_options, help. Rows flagged
 * AD_DECL_CLI_ONLY are flags of `assetd remove` only. */
typedef ad_decl ad_option_decl;

/* Every declared option; *n gets the count. */
const ad_option_decl *ad_cutout_option_decls(int *n);

/* The option called name (with api_only: only one the API accepts), or
 * NULL. */
const ad_option_decl *ad_cutout_option_find(const char *name, int api_only);

void ad_cutout_options_default(ad_cutout_options *o);

/* Set the option called name from text. AD_ENOTFOUND when no option has
 * that name (or, with api_only, none the API accepts); AD_EINVAL naming the
 * option and what it accepts. */
ad_status ad_cutout_option_set(ad_cutout_options *o, const char *name, const char *value, int api_only, ad_err *err);

/* The rules between options (crop_margin needs crop, ...), once all are
 * set. AD_EINVAL with *param naming the option at fault. */
ad_status ad_cutout_options_check(const ad_cutout_options *o, const char **param, ad_err *err);

/* Is every option that shapes the output at its default (so the result is
 * the spec's RGBA PNG or the bare mask, made in one streamed pass)? */
int ad_cutout_options_plain(const ad_cutout_options *o);

/* Is the foreground colour estimated (foreground=on, or auto with a
 * bg_color)? */
int ad_cutout_options_estimate_fg(const ad_cutout_options *o);

/* The options as a cache key: SHA-256 hex of the whole struct. */
void ad_cutout_options_key(const ad_cutout_options *o, char out[65]);

/* The media type of a result made with these options. */
const char *ad_cutout_content_type(const ad_cutout_options *o);

/* The model side a preset runs at: its row's side setting (fast and best
 * on sessions of their own when it is not model_side's value). */
int ad_cutout_preset_side(const ad_config *cfg, int preset);

/* The id of the model a preset runs on, for the cut-out cache key and
 * X-Model: "medium-int8/fast/896" (model, precision, profile, side). */
void ad_cutout_model_id(const ad_config *cfg, const char *precision, int side, char *buf, size_t len);

/* "preset=default channels=rgba ..." for logs, into buf. */
void ad_cutout_options_describe(const ad_cutout_options *o, char *buf, size_t len);

/* The one option called name, as describe writes it ("preset=best"), into
 * buf; "" when there is no such option. */
void ad_cutout_option_describe(const ad_cutout_options *o, const char *name, char *buf, size_t len);

/* The named colours bg_color accepts (CSS level 1 and a few more), for
 * help: "black, white, ...". */
const char *ad_cutout_color_names(void);

#endif
