/* options.h — what a caller may ask of a cut-out, declared once in a table
 * (as libvips declares an operation's arguments): each option's name, type,
 * choices or range, default and help. From the declaration come parsing
 * from a query parameter (api/) or a command-line flag (cli/), the refusal
 * naming the option, the help text, and the cache key: the key hashes the
 * whole struct, so an option added later can never be answered with a
 * result cached for other options. */
#ifndef AD_CUTOUT_OPTIONS_H
#define AD_CUTOUT_OPTIONS_H

#include <stddef.h>

#include "base/err.h"

typedef enum { AD_CHANNELS_RGBA, AD_CHANNELS_ALPHA } ad_channels;

/* Initialise with ad_cutout_options_default: the key hashes every byte. */
typedef struct {
    int channels; /* ad_channels: the RGBA cut-out, or the 8-bit mask alone */
} ad_cutout_options;

typedef enum { AD_OPT_ENUM, AD_OPT_INT } ad_option_type;

typedef struct {
    const char *name; /* query parameter; the CLI flag is --name */
    ad_option_type type;
    const char *choices; /* AD_OPT_ENUM: "a|b|c", stored as the index */
    long long min, max;  /* AD_OPT_INT */
    const char *def;     /* default, as text */
    size_t offset;       /* of its int in ad_cutout_options */
    int api;             /* accepted on the HTTP API */
    const char *help;
} ad_option_decl;

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

/* The options as a cache key: SHA-256 hex of the whole struct. */
void ad_cutout_options_key(const ad_cutout_options *o, char out[65]);

/* The media type of a result made with these options. */
const char *ad_cutout_content_type(const ad_cutout_options *o);

/* "channels=rgba" pairs for logs, into buf. */
void ad_cutout_options_describe(const ad_cutout_options *o, char *buf, size_t len);

#endif
