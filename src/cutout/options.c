/* options.c — the declaration table (base/decl.h) and what derives from
 * it; the two types of option no other table has, colours and margins,
 * are a parser (text -> its field) and a printer (field -> text) here. */
#include "cutout/options.h"

#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/hex.h"
#include "base/sha256.h"

#define O(field_, type_, choices_, min_, max_, def_, help_)                                         \
    {                                                                                               \
        .name = #field_, .type = type_, .choices = choices_, .min = min_, .max = max_, .def = def_, \
        .offset = offsetof(ad_cutout_options, field_), .help = help_                                \
    }

static int parse_color(const char *s, void *field);
static int print_color(const void *field, char *buf, size_t len);
static int parse_margin(const char *s, void *field);
static int print_margin(const void *field, char *buf, size_t len);
static int parse_roi(const char *s, void *field);
static int print_roi(const void *field, char *buf, size_t len);
static int parse_scale(const char *s, void *field);
static int print_scale(const void *field, char *buf, size_t len);
static int parse_position(const char *s, void *field);
static int print_position(const void *field, char *buf, size_t len);

/* ---- presets: the rows of AD_PRESETS (options.h) */

#define PRESET_ROW(e, name_, side_, mirrored_, curve_, grid_, help_) \
    [AD_PRESET_##e] = {                                              \
        .name = #name_, .help = help_, .side_setting = side_, .mirrored = mirrored_, .curve = curve_, .grid = grid_},
static const ad_preset_def presets[AD_PRESET_COUNT] = {AD_PRESETS(PRESET_ROW)};
#undef PRESET_ROW

/* "default|fast|best|reference" and "default: ...; fast: ...", from the rows */
#define PRESET_CHOICE(e, name, side, mirrored, curve, grid, help) "|" #name
#define PRESET_HELP_ROW(e, name, side, mirrored, curve, grid, help) "; " #name ": " help
#define PRESET_CHOICES (&(AD_PRESETS(PRESET_CHOICE))[1]) /* past the first "|" */
#define PRESET_HELP (&(AD_PRESETS(PRESET_HELP_ROW))[2])  /* past the first "; " */

const ad_preset_def *ad_cutout_preset(int preset)
{
    return preset >= 0 && preset < AD_PRESET_COUNT ? &presets[preset] : NULL;
}

/* the names of the colour table below, for refusals and help */
#define COLOR_NAMES                                                                                             \
    "black, white, red, green, blue, yellow, cyan, aqua, magenta, fuchsia, gray, grey, silver, maroon, olive, " \
    "lime, navy, purple, teal, orange, transparent"

static const ad_option_decl decls[] = {
    O(preset, AD_DECL_ENUM, PRESET_CHOICES, 0, 0, "default", PRESET_HELP),
    O(channels, AD_DECL_ENUM, "rgba|alpha", 0, 0, "rgba",
      "rgba: the cut-out (original pixels, the mask as alpha); alpha: the 8-bit mask as a grey image"),
    O(format, AD_DECL_ENUM, "png|webp|jpg", 0, 0, "png",
      "png; webp (lossless, keeps alpha); jpg (quality 90, no alpha: flattened onto bg_color, white when none)"),
    {.name = "bg_color",
     .type = AD_DECL_CUSTOM,
     .def = "",
     .offset = offsetof(ad_cutout_options, bg_color),
     .pattern = "^(#?([0-9a-fA-F]{3,4}|[0-9a-fA-F]{6}|[0-9a-fA-F]{8})|[a-zA-Z]+)$",
     .expects = "hex (RGB, RGBA, RRGGBB or RRGGBBAA, # optional) or a colour name (" COLOR_NAMES ")",
     .parse = parse_color,
     .print = print_color,
     .help = "flatten onto this colour: hex RGB, RGBA, RRGGBB or RRGGBBAA (a leading # is optional) or a CSS name "
             "(white, black, ...)"},
    O(crop, AD_DECL_BOOL, NULL, 0, 0, "false", "true: crop to the subject's box (plus crop_margin)"),
    {.name = "crop_margin",
     .type = AD_DECL_CUSTOM,
     .def = "0",
     .offset = offsetof(ad_cutout_options, crop_margin),
     .pattern = "^[0-9]+(px|%)?([ ,]+[0-9]+(px|%)?){0,3}$",
     .expects = "1 to 4 values, each pixels (0-10000, e.g. 30 or 30px) or a percentage (0-100%, e.g. 10%)",
     .parse = parse_margin,
     .print = print_margin,
     .help = "with crop=true: 1, 2, 3 or 4 values as in CSS (top right bottom left), each pixels (30 or 30px, at "
             "most 10000) or a percentage of the subject's box (10%, at most 100%); beyond the image it is "
             "transparent"},
    O(max_side, AD_DECL_INT, NULL, 0, 65535, "0",
      "shrink the result (never enlarge) to fit max_side x max_side pixels; 0 keeps the size"),
    O(clear_transparent, AD_DECL_BOOL, NULL, 0, 0, "false",
      "true: set the colour of fully transparent pixels to 0 (smaller files; the original colour there is lost)"),
    O(foreground, AD_DECL_ENUM, "auto|on|off", 0, 0, "auto",
      "estimate the subject's own colour where the mask is soft (hair, fur), so no halo of the old background "
      "shows: auto = on when the result is flattened (bg_color, or jpg), off otherwise"),
    {.name = "roi",
     .type = AD_DECL_CUSTOM,
     .def = "0% 0% 100% 100%",
     .offset = offsetof(ad_cutout_options, roi),
     .pattern = "^[0-9]+(px|%)?([ ,]+[0-9]+(px|%)?){3}$",
     .expects = "x1 y1 x2 y2, each pixels (0-100000) or a percentage (0-100%), x1 < x2 and y1 < y2 when alike",
     .parse = parse_roi,
     .print = print_roi,
     .help = "region of interest (remove.bg's): only what lies in the rectangle x1 y1 x2 y2 (pixels, or % of the "
             "original's width and height) can be the subject; outside it is background"},
    O(semitransparency, AD_DECL_BOOL, NULL, 0, 0, "true",
      "false: a hard mask (alpha 0 or 255, cut at half), no soft edges or see-through parts"),
    {.name = "scale",
     .type = AD_DECL_CUSTOM,
     .def = "original",
     .offset = offsetof(ad_cutout_options, scale),
     .pattern = "^(original|[0-9]{1,3}%)$",
     .expects = "original or a percentage from 10% to 100%",
     .parse = parse_scale,
     .print = print_scale,
     .help = "scale the subject to fit this share of the canvas (10%-100%; implies position=center unless given), "
             "or original"},
    {.name = "position",
     .type = AD_DECL_CUSTOM,
     .def = "original",
     .offset = offsetof(ad_cutout_options, position),
     .pattern = "^(original|center|[0-9]{1,3}%( [0-9]{1,3}%)?)$",
     .expects = "original, center, or one or two percentages (horizontal, vertical)",
     .parse = parse_position,
     .print = print_position,
     .help = "move the subject on the canvas: center, or x% (and y%) of the room around it; original keeps it"},
};
#define NDECLS (int)(sizeof decls / sizeof decls[0])

const ad_option_decl *ad_cutout_option_decls(int *n)
{
    *n = NDECLS;
    return decls;
}

/* ---- colours */

static const struct {
    const char *name;
    uint32_t rgba;
} colors[] = {
    {"black", 0x000000ff},       {"white", 0xffffffff},   {"red", 0xff0000ff},   {"green", 0x008000ff},
    {"blue", 0x0000ffff},        {"yellow", 0xffff00ff},  {"cyan", 0x00ffffff},  {"aqua", 0x00ffffff},
    {"magenta", 0xff00ffff},     {"fuchsia", 0xff00ffff}, {"gray", 0x808080ff},  {"grey", 0x808080ff},
    {"silver", 0xc0c0c0ff},      {"maroon", 0x800000ff},  {"olive", 0x808000ff}, {"lime", 0x00ff00ff},
    {"navy", 0x000080ff},        {"purple", 0x800080ff},  {"teal", 0x008080ff},  {"orange", 0xffa500ff},
    {"transparent", 0x00000000},
};

const char *ad_cutout_color_names(void) { return COLOR_NAMES; }

static int parse_color(const char *s, void *field)
{
    ad_option_color *c = field;
    for (size_t i = 0; i < sizeof colors / sizeof colors[0]; i++)
        if (strcasecmp(s, colors[i].name) == 0) {
            uint32_t v = colors[i].rgba;
            *c = (ad_option_color){1, (uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
            return 1;
        }
    if (*s == '#')
        s++;
    size_t n = strlen(s);
    if (n != 3 && n != 4 && n != 6 && n != 8)
        return 0;
    int d[8];
    for (size_t i = 0; i < n; i++)
        if ((d[i] = ad_hex_value(s[i])) < 0)
            return 0;
    uint8_t ch[4] = {0, 0, 0, 255};
    if (n <= 4)
        for (size_t i = 0; i < n; i++)
            ch[i] = (uint8_t)(d[i] * 17);
    else
        for (size_t i = 0; i < n / 2; i++)
            ch[i] = (uint8_t)(d[2 * i] * 16 + d[2 * i + 1]);
    *c = (ad_option_color){1, ch[0], ch[1], ch[2], ch[3]};
    return 1;
}

static int print_color(const void *field, char *buf, size_t len)
{
    const ad_option_color *c = field;
    return c->set ? snprintf(buf, len, "%02x%02x%02x%02x", c->r, c->g, c->b, c->a) : snprintf(buf, len, "none");
}

/* ---- lengths: "10", "10px", "5%", "10px 5%", "1,2,3,4": up to max
 * values, each pixels (at most max_px) or a percentage (at most 100);
 * the count, or 0 when malformed */

static int parse_lengths(const char *s, int max, long max_px, int *v, int *pc)
{
    int n = 0;
    const char *p = s;
    while (*p) {
        while (*p == ' ' || *p == ',')
            p++;
        if (!*p)
            break;
        if (n == max || !isdigit((unsigned char)*p))
            return 0;
        char *end;
        errno = 0;
        long x = strtol(p, &end, 10);
        p = end;
        int percent = 0;
        if (*p == '%')
            percent = 1, p++;
        else if (strncmp(p, "px", 2) == 0)
            p += 2;
        if (errno || x > (percent ? 100 : max_px) || (*p && *p != ' ' && *p != ','))
            return 0;
        v[n] = (int)x, pc[n] = percent, n++;
    }
    return n;
}

/* ---- margins: 1 to 4 lengths, as in CSS */

static int parse_margin(const char *s, void *field)
{
    ad_option_margin *m = field;
    int v[4], pc[4], n = parse_lengths(s, 4, 10000, v, pc);
    if (n == 0)
        return 0;
    /* CSS: 1 -> all; 2 -> vertical, horizontal; 3 -> top, horizontal, bottom */
    static const int from[5][4] = {{0}, {0, 0, 0, 0}, {0, 1, 0, 1}, {0, 1, 2, 1}, {0, 1, 2, 3}};
    for (int i = 0; i < 4; i++) {
        m->v[i] = v[from[n][i]];
        m->percent[i] = pc[from[n][i]];
    }
    return 1;
}

static int print_margin(const void *field, char *buf, size_t len)
{
    const ad_option_margin *m = field;
    return snprintf(buf, len, "%d%s,%d%s,%d%s,%d%s", m->v[0], m->percent[0] ? "%" : "px", m->v[1],
                    m->percent[1] ? "%" : "px", m->v[2], m->percent[2] ? "%" : "px", m->v[3],
                    m->percent[3] ? "%" : "px");
}

/* ---- roi: "x1 y1 x2 y2", four lengths */

static int parse_roi(const char *s, void *field)
{
    ad_option_box *b = field;
    if (parse_lengths(s, 4, 100000, b->v, b->percent) != 4)
        return 0;
    for (int i = 0; i < 2; i++) /* an empty rectangle, when the units compare */
        if (b->percent[i] == b->percent[i + 2] && b->v[i] >= b->v[i + 2])
            return 0;
    return 1;
}

static int print_roi(const void *field, char *buf, size_t len)
{
    const ad_option_box *b = field;
    return snprintf(buf, len, "%d%s,%d%s,%d%s,%d%s", b->v[0], b->percent[0] ? "%" : "px", b->v[1],
                    b->percent[1] ? "%" : "px", b->v[2], b->percent[2] ? "%" : "px", b->v[3],
                    b->percent[3] ? "%" : "px");
}

/* ---- scale: "original" or "10%".."100%" */

static int percent_value(const char *s, int min, int *out)
{
    char *end;
    errno = 0;
    long x = strtol(s, &end, 10);
    if (errno || !isdigit((unsigned char)*s) || *end != '%' || end[1] || x < min || x > 100)
        return 0;
    *out = (int)x;
    return 1;
}

static int parse_scale(const char *s, void *field)
{
    int *v = field;
    if (strcmp(s, "original") == 0) {
        *v = 0;
        return 1;
    }
    return percent_value(s, 10, v);
}

static int print_scale(const void *field, char *buf, size_t len)
{
    int v = *(const int *)field;
    return v ? snprintf(buf, len, "%d%%", v) : snprintf(buf, len, "original");
}

/* ---- position: "original", "center", "x%", "x% y%" */

static int parse_position(const char *s, void *field)
{
    ad_option_position *p = field;
    memset(p, 0, sizeof *p);
    if (strcmp(s, "original") == 0)
        return 1;
    if (strcmp(s, "center") == 0) {
        *p = (ad_option_position){1, 50, 50};
        return 1;
    }
    char a[16], b[16];
    int n = sscanf(s, "%15s %15s", a, b);
    size_t sl = strlen(s);
    if (n < 1 || sl > 9 || s[0] == ' ' || s[sl - 1] == ' ')
        return 0;
    p->set = 1;
    if (!percent_value(a, 0, &p->x))
        return 0;
    if (n == 2)
        return percent_value(b, 0, &p->y);
    p->y = p->x;
    return 1;
}

static int print_position(const void *field, char *buf, size_t len)
{
    const ad_option_position *p = field;
    return p->set ? snprintf(buf, len, "%d%%,%d%%", p->x, p->y) : snprintf(buf, len, "original");
}

void ad_cutout_options_default(ad_cutout_options *o)
{
    memset(o, 0, sizeof *o); /* padding too: the key hashes the bytes */
    ad_decl_defaults(decls, NDECLS, o);
}

const ad_option_decl *ad_cutout_option_find(const char *name, int api_only)
{
    for (int i = 0; i < NDECLS; i++)
        if (strcmp(decls[i].name, name) == 0 && (!api_only || !(decls[i].flags & AD_DECL_CLI_ONLY)))
            return &decls[i];
    return NULL;
}

ad_status ad_cutout_option_set(ad_cutout_options *o, const char *name, const char *value, int api_only, ad_err *err)
{
    const ad_option_decl *d = ad_cutout_option_find(name, api_only);
    if (d == NULL)
        return ad_err_set(err, AD_ENOTFOUND, "unknown option '%s'", name);
    return ad_decl_set(d, o, value, err);
}

ad_status ad_cutout_options_check(const ad_cutout_options *o, const char **param, ad_err *err)
{
    ad_cutout_options def;
    ad_cutout_options_default(&def);
    if (!o->crop && memcmp(&o->crop_margin, &def.crop_margin, sizeof def.crop_margin) != 0) {
        *param = "crop_margin";
        return ad_err_set(err, AD_EINVAL, "crop_margin is only allowed with crop=true");
    }
    if (o->channels == AD_CHANNELS_ALPHA && o->bg_color.set) {
        *param = "bg_color";
        return ad_err_set(err, AD_EINVAL, "bg_color does not apply to channels=alpha (the mask alone)");
    }
    if (o->channels == AD_CHANNELS_ALPHA && o->foreground == AD_FG_ON) {
        *param = "foreground";
        return ad_err_set(err, AD_EINVAL, "foreground=on does not apply to channels=alpha (the mask alone)");
    }
    if (o->clear_transparent &&
        (o->channels == AD_CHANNELS_ALPHA || o->format == AD_FORMAT_JPG || (o->bg_color.set && o->bg_color.a == 255))) {
        *param = "clear_transparent";
        return ad_err_set(err, AD_EINVAL, "clear_transparent applies only to a result with transparency");
    }
    return AD_OK;
}

int ad_cutout_options_plain(const ad_cutout_options *o)
{
    ad_cutout_options def;
    ad_cutout_options_default(&def);
    def.preset = o->preset;     /* the matte, not the output */
    def.channels = o->channels; /* both layouts have a streamed path */
    return memcmp(&def, o, sizeof def) == 0;
}

int ad_cutout_options_estimate_fg(const ad_cutout_options *o)
{
    if (o->channels == AD_CHANNELS_ALPHA)
        return 0;
    return o->foreground == AD_FG_ON ||
           (o->foreground == AD_FG_AUTO && (o->bg_color.set || o->format == AD_FORMAT_JPG));
}

void ad_cutout_options_key(const ad_cutout_options *o, char out[65]) { ad_sha256_hex(o, sizeof *o, out); }

void ad_cutout_options_describe(const ad_cutout_options *o, char *buf, size_t len)
{
    size_t at = 0;
    buf[0] = '\0';
    for (int i = 0; i < NDECLS && at + 1 < len; i++) {
        if (i)
            buf[at++] = ' ', buf[at] = '\0';
        int n = ad_decl_describe(&decls[i], o, buf + at, len - at);
        at += n > 0 ? (size_t)n : 0;
    }
    if (at >= len)
        buf[len - 1] = '\0';
}

void ad_cutout_option_describe(const ad_cutout_options *o, const char *name, char *buf, size_t len)
{
    const ad_option_decl *d = ad_cutout_option_find(name, 0);
    buf[0] = '\0';
    if (d != NULL)
        ad_decl_describe(d, o, buf, len);
}

const char *ad_cutout_content_type(const ad_cutout_options *o)
{
    return o->format == AD_FORMAT_WEBP ? "image/webp" : o->format == AD_FORMAT_JPG ? "image/jpeg" : "image/png";
}

int ad_cutout_preset_side(const ad_config *cfg, int preset)
{
    const ad_preset_def *p = ad_cutout_preset(preset);
    long long side = p ? ad_config_int(cfg, p->side_setting) : -1;
    return side > 0 ? (int)side : (int)cfg->model_side;
}

void ad_cutout_model_id(const ad_config *cfg, const char *precision, int side, char *buf, size_t len)
{
    snprintf(buf, len, "%s-%s/%s/%d", cfg->model, precision, cfg->ort_profile, side);
}
