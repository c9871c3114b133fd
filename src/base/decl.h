/* decl.h — a parameter declared once, as libvips declares an operation's
 * arguments: its name, type, range or choices, default and help, and where
 * its parsed value lives in the struct a table of declarations describes.
 * The cut-out's output options (cutout/options.c), each route's query
 * parameters (api/route.c) and the CLI's flags for them are such tables;
 * parsing, the refusal naming the parameter, help and the OpenAPI
 * description (api/openapi.c) all derive from the rows.
 *
 * A table is an array of ad_decl; a row's offset is into the struct the
 * caller passes as base (the table says which struct). */
#ifndef AD_BASE_DECL_H
#define AD_BASE_DECL_H

#include <stddef.h>

#include "base/err.h"

typedef enum {
    AD_DECL_ENUM,   /* one of choices "a|b|c", stored as its index (int) */
    AD_DECL_INT,    /* an integer from min to max (int); with choices, one of them */
    AD_DECL_BOOL,   /* true/false/1/0 (int) */
    AD_DECL_STRING, /* text of min..max bytes into char[size]; valid() may refuse it */
    AD_DECL_CUSTOM, /* parse() and print() of its own (a colour, a margin) */
} ad_decl_type;

typedef struct ad_decl {
    const char *name;
    ad_decl_type type;
    const char *choices;             /* ENUM; INT: the values allowed, "128|256|512" */
    long long min, max;              /* INT: the range; STRING: the length in bytes */
    const char *def;                 /* the default as text; "" for none (the field stays zero) */
    size_t offset;                   /* of the field in the described struct */
    size_t size;                     /* STRING: the size of its char array */
    const char *pattern;             /* STRING, CUSTOM: an ECMA-262 pattern for the API description, or NULL */
    const char *expects;             /* STRING, CUSTOM: what a refusal says the value must be */
    int (*valid)(const char *value); /* STRING: 0 refuses; NULL: any text */
    int (*parse)(const char *value, void *field);           /* CUSTOM: 0 refuses */
    int (*print)(const void *field, char *buf, size_t len); /* CUSTOM: as snprintf */
    /* AD_DECL_PREFIX: a family of parameters named name + a suffix
     * ("custom_data." + "dims.w"), each parsed into the one field; 0
     * refuses (and sets *why to a static sentence) */
    int (*parse_named)(const char *suffix, const char *value, void *field, const char **why);
    int flags; /* AD_DECL_* */
    const char *help;
} ad_decl;

enum {
    AD_DECL_CLI_ONLY = 1, /* a command-line flag only, not an API parameter */
    AD_DECL_PREFIX = 2,   /* name is a prefix: any parameter starting with it, repeatable (parse_named) */
};

/* The row called name, or NULL. */
const ad_decl *ad_decl_find(const ad_decl *t, int n, const char *name);
/* The AD_DECL_PREFIX row whose prefix starts name, or NULL. A prefix row
 * is named as documented, "custom_data.{path}": its prefix is what comes
 * before the '{' (ad_decl_prefix_len bytes). */
const ad_decl *ad_decl_find_prefix(const ad_decl *t, int n, const char *name);
size_t ad_decl_prefix_len(const ad_decl *d);

/* Parse value into d's field of base. AD_EINVAL with a sentence naming the
 * parameter and what it accepts. */
ad_status ad_decl_set(const ad_decl *d, void *base, const char *value, ad_err *err);

/* Every row's default into base (which the caller zeroed). */
void ad_decl_defaults(const ad_decl *t, int n, void *base);

/* "name=value" as the field of base holds it, into buf (snprintf's
 * return). */
int ad_decl_describe(const ad_decl *d, const void *base, char *buf, size_t len);

/* What a value of d looks like, for help: "one of a, b", "integer 0..9",
 * "true or false", or the row's expects. Static or d's own text. */
void ad_decl_kind(const ad_decl *d, char *buf, size_t len);

#endif
