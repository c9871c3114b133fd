/* test_cli.c — `assetd remove` end to end: the real binary, the real model,
 * real photographs from Debian packages (scripts/fetch-testdata.sh) and
 * variants made from them by build/tests/mkimage. Results are read back with
 * libvips and checked for behaviour: subject kept, background removed, size
 * and orientation right, original pixels untouched, clean errors. */
#include <stdarg.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define HARNESS_SETUP setup
#include "base/fsutil.h"
#include <time.h>

#include "harness.h"
#include "image/image.h"

static const char *bin, *photos, *mkimage;
static char tmp[] = "/tmp/assetd-cli-XXXXXX";
static char last_stderr[4096];

static const char *env_or(const char *name, const char *def)
{
    const char *v = getenv(name);
    return v && *v ? v : def;
}

static void setup(void)
{
    ad_err e = AD_ERR_INIT;
    bin = env_or("ASSETD_BIN", "build/assetd");
    photos = env_or("ASSETD_TESTDATA", "deps/testdata");
    mkimage = env_or("ASSETD_MKIMAGE", "build/tests/mkimage");
    if (ad_image_startup("test_cli", &e) != AD_OK || mkdtemp(tmp) == NULL) {
        printf("setup failed\n");
        exit(1);
    }
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* Run a shell command line; returns its exit status, keeps its stderr. */
static int run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int run(const char *fmt, ...)
{
    char cmd[8192], errpath[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    snprintf(errpath, sizeof errpath, "%s/stderr.txt", tmp);
    char full[9000];
    snprintf(full, sizeof full, "%s 2>%s", cmd, errpath);
    int st = system(full);
    last_stderr[0] = '\0';
    FILE *f = fopen(errpath, "r");
    if (f) {
        size_t n = fread(last_stderr, 1, sizeof last_stderr - 1, f);
        last_stderr[n] = '\0';
        fclose(f);
    }
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

static int exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

static int load(const char *path, ad_pixmap *pm)
{
    void *buf;
    size_t len;
    ad_err e = AD_ERR_INIT;
    memset(pm, 0, sizeof *pm);
    if (ad_file_read(path, 1u << 30, &buf, &len, &e) != AD_OK)
        return 0;
    int ok = ad_image_decode_raw(buf, len, pm, &e) == AD_OK;
    free(buf);
    return ok;
}

/* Mean alpha over a square of side 2r+1 around (x, y). */
static double alpha_at(const ad_pixmap *pm, int x, int y, int r)
{
    double sum = 0;
    int n = 0;
    for (int yy = y - r; yy <= y + r; yy++)
        for (int xx = x - r; xx <= x + r; xx++) {
            if (xx < 0 || yy < 0 || xx >= pm->width || yy >= pm->height)
                continue;
            sum += pm->data[((size_t)yy * pm->width + xx) * pm->bands + (pm->bands - 1)];
            n++;
        }
    return n ? sum / n : -1;
}

static char *path_in(const char *name)
{
    static char buf[8][600];
    static int k;
    k = (k + 1) % 8;
    snprintf(buf[k], sizeof buf[k], "%s/%s", tmp, name);
    return buf[k];
}

static char *photo(const char *name)
{
    static char buf[4][600];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", photos, name);
    return buf[k];
}

TEST(portrait_keeps_the_face_and_clears_the_corners)
{
    const char *out = path_in("astronaut.png");
    REQUIRE(run("%s remove %s %s", bin, photo("astronaut.png"), out) == 0);
    ad_pixmap pm, orig;
    REQUIRE(load(out, &pm));
    CHECK(pm.width == 512 && pm.height == 512 && pm.bands == 4);
    CHECKF(alpha_at(&pm, 225, 125, 6) > 240, "face alpha %.1f", alpha_at(&pm, 225, 125, 6));
    CHECKF(alpha_at(&pm, 10, 10, 6) < 5, "corner alpha %.1f", alpha_at(&pm, 10, 10, 6));
    CHECKF(alpha_at(&pm, 500, 10, 6) < 5, "corner alpha %.1f", alpha_at(&pm, 500, 10, 6));
    /* soft edges exist: some alpha strictly between 0 and 255 */
    int partial = 0;
    for (int i = 0; i < 512 * 512; i++)
        partial += pm.data[4 * i + 3] > 10 && pm.data[4 * i + 3] < 245;
    CHECK(partial > 200);
    /* the original pixels come through untouched (lossless) */
    REQUIRE(load(photo("astronaut.png"), &orig));
    int same = orig.bands == 3;
    for (int i = 0; same && i < 512 * 512; i++)
        same = memcmp(orig.data + 3 * i, pm.data + 4 * i, 3) == 0;
    CHECK(same);
    ad_pixmap_cleanup(&pm);
    ad_pixmap_cleanup(&orig);
}

TEST(second_portrait_jpeg)
{
    const char *out = path_in("grace.png");
    REQUIRE(run("%s remove %s %s", bin, photo("grace_hopper.jpg"), out) == 0);
    ad_pixmap pm;
    REQUIRE(load(out, &pm));
    CHECK(pm.width == 512 && pm.height == 600);
    CHECK(alpha_at(&pm, 260, 200, 8) > 240);
    CHECK(alpha_at(&pm, 10, 10, 6) < 5 && alpha_at(&pm, 500, 10, 6) < 5);
    ad_pixmap_cleanup(&pm);
}

TEST(exif_rotated_jpeg_gives_an_upright_cutout)
{
    const char *rot = path_in("rot6.jpg"), *out = path_in("rot6.png");
    REQUIRE(run("%s rot6 %s %s", mkimage, photo("grace_hopper.jpg"), rot) == 0);
    REQUIRE(run("%s remove %s %s", bin, rot, out) == 0);
    ad_pixmap pm;
    REQUIRE(load(out, &pm));
    /* stored 600x512, shown upright 512x600 with the face at the top */
    CHECK(pm.width == 512 && pm.height == 600);
    CHECKF(alpha_at(&pm, 260, 200, 8) > 240, "face %.1f", alpha_at(&pm, 260, 200, 8));
    CHECK(alpha_at(&pm, 10, 10, 6) < 5 && alpha_at(&pm, 500, 10, 6) < 5);
    CHECK(alpha_at(&pm, 256, 590, 6) > 240); /* shoulders at the bottom */
    ad_pixmap_cleanup(&pm);
}

static void grey_16bit_cmyk_palette_and_rgba_inputs_work_at_640(void)
{
    const char *kinds[] = {"grey", "grey16", "rgb16", "cmyk", "palette", "rgba"};
    const char *ext[] = {"png", "png", "png", "jpg", "png", "png"};
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        char in[64], out[64];
        snprintf(in, sizeof in, "in_%s.%s", kinds[i], ext[i]);
        snprintf(out, sizeof out, "out_%s.png", kinds[i]);
        REQUIRE(run("%s %s %s %s", mkimage, kinds[i], photo("astronaut.png"), path_in(in)) == 0);
        int rc = run("%s remove %s %s", bin, path_in(in), path_in(out));
        CHECKF(rc == 0, "%s: exit %d: %s", kinds[i], rc, last_stderr);
        ad_pixmap pm;
        if (rc != 0 || !load(path_in(out), &pm))
            continue;
        CHECKF(pm.width == 512 && pm.height == 512 && pm.bands == 4, "%s size", kinds[i]);
        /* the rgba input has alpha 0 on its left half, where the face is:
         * the model must ignore the input's alpha */
        CHECKF(alpha_at(&pm, 225, 125, 6) > 200, "%s face %.1f", kinds[i], alpha_at(&pm, 225, 125, 6));
        CHECKF(alpha_at(&pm, 500, 10, 6) < 10, "%s corner %.1f", kinds[i], alpha_at(&pm, 500, 10, 6));
        ad_pixmap_cleanup(&pm);
    }
}

/* What is tested is the input's reading / the flags, not the mask's detail:
 * at the fast preset's prepared side each model pass costs ~60%. */
TEST(grey_16bit_cmyk_palette_and_rgba_inputs_work)
{
    setenv("ASSETD_MODEL_SIDE", "640", 1);
    grey_16bit_cmyk_palette_and_rgba_inputs_work_at_640();
    unsetenv("ASSETD_MODEL_SIDE");
}

TEST(mask_option_writes_the_alpha_alone)
{
    const char *cut = path_in("m_cut.png"), *mask = path_in("m_mask.png");
    REQUIRE(run("%s remove %s %s", bin, photo("chelsea.png"), cut) == 0);
    REQUIRE(run("%s remove --mask %s %s", bin, photo("chelsea.png"), mask) == 0);
    ad_pixmap c, m;
    REQUIRE(load(cut, &c));
    REQUIRE(load(mask, &m));
    CHECK(m.bands == 1 && m.width == c.width && m.height == c.height);
    int same = 1;
    for (int i = 0; same && i < m.width * m.height; i++)
        same = m.data[i] == c.data[4 * i + 3];
    CHECK(same);
    ad_pixmap_cleanup(&c);
    ad_pixmap_cleanup(&m);
}

/* The output options as flags (issue 13): the same table as the API. */
static void output_options_are_flags_at_640(void)
{
    const char *jpg = path_in("o.jpg"), *crop = path_in("o_crop.png"), *red = path_in("o_red.png");
    REQUIRE(run("%s remove --format jpg %s %s", bin, photo("grace_hopper.jpg"), jpg) == 0);
    ad_pixmap pm;
    REQUIRE(load(jpg, &pm));
    CHECK(pm.bands == 3 && pm.width == 512 && pm.data[0] > 240 && pm.data[1] > 240); /* white where it was cut */
    ad_pixmap_cleanup(&pm);
    REQUIRE(run("%s remove --crop true --crop_margin 5px --max_side 200 %s %s", bin, photo("grace_hopper.jpg"), crop) ==
            0);
    REQUIRE(load(crop, &pm));
    CHECKF(pm.bands == 4 && (pm.width == 200 || pm.height == 200) && pm.width <= 200, "%dx%d", pm.width, pm.height);
    ad_pixmap_cleanup(&pm);
    REQUIRE(run("%s remove --bg_color red --preset best %s %s", bin, photo("grace_hopper.jpg"), red) == 0);
    REQUIRE(load(red, &pm));
    CHECK(pm.bands == 3 && pm.data[0] == 255 && pm.data[1] == 0 && pm.data[2] == 0);
    ad_pixmap_cleanup(&pm);
    /* the mask alone, cleared colour, the estimated colour: each changes the file */
    const char *plain = path_in("o_plain.png"), *alpha = path_in("o_alpha.png"), *clear = path_in("o_clear.png"),
               *fg = path_in("o_fg.png");
    REQUIRE(run("%s remove %s %s", bin, photo("grace_hopper.jpg"), plain) == 0);
    REQUIRE(run("%s remove --channels alpha %s %s", bin, photo("grace_hopper.jpg"), alpha) == 0);
    REQUIRE(run("%s remove --clear_transparent true %s %s", bin, photo("grace_hopper.jpg"), clear) == 0);
    REQUIRE(run("%s remove --foreground on %s %s", bin, photo("grace_hopper.jpg"), fg) == 0);
    ad_pixmap pp, pa, pc, pf;
    REQUIRE(load(plain, &pp) && load(alpha, &pa) && load(clear, &pc) && load(fg, &pf));
    CHECK(pa.bands == 1 && pa.data[0] == pp.data[3]);
    long cleared = 0, kept_opaque = 0, opaque = 0, changed_soft = 0;
    for (size_t i = 0; i < (size_t)pp.width * pp.height; i++) {
        uint8_t a = pp.data[4 * i + 3];
        if (a == 0)
            cleared += pc.data[4 * i] == 0 && pc.data[4 * i + 1] == 0 && pc.data[4 * i + 2] == 0;
        if (a == 255)
            opaque++, kept_opaque += memcmp(pf.data + 4 * i, pp.data + 4 * i, 4) == 0;
        if (a > 0 && a < 255)
            changed_soft += memcmp(pf.data + 4 * i, pp.data + 4 * i, 3) != 0;
    }
    CHECK(cleared > 10000 && kept_opaque == opaque && changed_soft > 100);
    ad_pixmap_cleanup(&pp);
    ad_pixmap_cleanup(&pa);
    ad_pixmap_cleanup(&pc);
    ad_pixmap_cleanup(&pf);
    /* a batch names its files after the format */
    const char *outdir = path_in("webp-batch");
    REQUIRE(run("%s remove --format webp -o %s %s %s", bin, outdir, photo("grace_hopper.jpg"), photo("rocket.jpg")) ==
            0);
    char p1[700], p2[700];
    snprintf(p1, sizeof p1, "%s/grace_hopper.webp", outdir);
    snprintf(p2, sizeof p2, "%s/rocket.webp", outdir);
    CHECK(exists(p1) && exists(p2));
    /* bad values and broken rules: exit 2 naming the option, nothing written */
    const char *none = path_in("o_none.png");
    CHECK(run("%s remove --format gif %s %s", bin, photo("rocket.jpg"), none) == 2 && strstr(last_stderr, "format"));
    CHECK(run("%s remove --crop_margin 10 %s %s", bin, photo("rocket.jpg"), none) == 2 &&
          strstr(last_stderr, "crop_margin"));
    CHECK(run("%s remove --bg_color nope %s %s", bin, photo("rocket.jpg"), none) == 2 &&
          strstr(last_stderr, "bg_color"));
    CHECK(run("%s remove --max_side %s %s", bin, photo("rocket.jpg"), none) != 0);
    CHECK(!exists(none));
    CHECK(run("%s remove --help | grep -q -- '--crop-margin'", bin) == 0);
}

/* What is tested is the input's reading / the flags, not the mask's detail:
 * at the fast preset's prepared side each model pass costs ~60%. */
TEST(output_options_are_flags)
{
    setenv("ASSETD_MODEL_SIDE", "640", 1);
    output_options_are_flags_at_640();
    unsetenv("ASSETD_MODEL_SIDE");
}

TEST(small_model_works_too)
{
    const char *out = path_in("small.png");
    REQUIRE(run("%s remove --model small %s %s", bin, photo("astronaut.png"), out) == 0);
    ad_pixmap pm;
    REQUIRE(load(out, &pm));
    CHECK(alpha_at(&pm, 225, 125, 6) > 200 && alpha_at(&pm, 500, 10, 6) < 10);
    ad_pixmap_cleanup(&pm);
    CHECK(run("%s remove --model huge %s %s", bin, photo("astronaut.png"), out) != 0);
    CHECK(strstr(last_stderr, "huge") != NULL);
}

/* A refused input: non-zero exit, one line naming the file, no output. */
static void check_refused(const char *in, const char *what)
{
    const char *out = path_in("refused.png");
    unlink(out);
    int rc = run("%s remove %s %s", bin, in, out);
    CHECKF(rc != 0, "%s: exit 0", what);
    CHECKF(strstr(last_stderr, in) != NULL, "%s: stderr does not name the file: %s", what, last_stderr);
    const char *nl = strchr(last_stderr, '\n');
    CHECKF(nl && nl[1] == '\0', "%s: not one line: %s", what, last_stderr);
    CHECKF(!exists(out), "%s: output left behind", what);
    /* no temporary files either */
    CHECK(run("ls %s | grep -q tmp", tmp) != 0);
}

static void bad_inputs_give_a_one_line_error_and_no_output_at_640(void)
{
    check_refused(path_in("does-not-exist.jpg"), "missing");
    const char *txt = path_in("notes.txt");
    REQUIRE(ad_file_write_atomic(txt, "just some text\n", 15, 0644, &(ad_err)AD_ERR_INIT) == AD_OK);
    check_refused(txt, "text file");
    const char *trunc = path_in("trunc.jpg");
    REQUIRE(run("%s truncate %s %s", mkimage, photo("rocket.jpg"), trunc) == 0);
    check_refused(trunc, "truncated jpeg");
    /* regression (issue 11): a frame header that claims more pixels than
     * the file holds was decoded with a grey fill and exit 0 */
    char *jpeg = NULL;
    size_t jl = 0;
    REQUIRE(ad_file_read(photo("rocket.jpg"), 1 << 24, (void **)&jpeg, &jl, &(ad_err)AD_ERR_INIT) == AD_OK);
    for (size_t i = 2; i + 9 < jl; i++)
        if ((unsigned char)jpeg[i] == 0xff && (unsigned char)jpeg[i + 1] == 0xc0) {
            jpeg[i + 5] = 0x27, jpeg[i + 6] = 0x10, jpeg[i + 7] = 0x27, jpeg[i + 8] = 0x10; /* 10000 x 10000 */
            break;
        }
    const char *corrupt = path_in("claims-10000.jpg");
    REQUIRE(ad_file_write_atomic(corrupt, jpeg, jl, 0644, &(ad_err)AD_ERR_INIT) == AD_OK);
    free(jpeg);
    check_refused(corrupt, "corrupt jpeg");
    const char *empty = path_in("empty.png");
    REQUIRE(ad_file_write_atomic(empty, "", 0, 0644, &(ad_err)AD_ERR_INIT) == AD_OK);
    check_refused(empty, "empty file");
    check_refused(tmp, "a folder");
    /* pixel limit */
    const char *out = path_in("limit.png");
    CHECK(run("%s remove --max-pixels 1000 %s %s", bin, photo("rocket.jpg"), out) != 0);
    CHECK(strstr(last_stderr, "pixel limit") != NULL && !exists(out));
    /* unwritable destination: error, nothing created */
    CHECK(run("%s remove %s %s/no/such/dir/out.png", bin, photo("rocket.jpg"), tmp) != 0);
    CHECK(strstr(last_stderr, "no/such/dir") != NULL);
}

/* The command line's behaviour is tested, not the mask's detail. */
TEST(bad_inputs_give_a_one_line_error_and_no_output)
{
    setenv("ASSETD_MODEL_SIDE", "640", 1);
    bad_inputs_give_a_one_line_error_and_no_output_at_640();
    unsetenv("ASSETD_MODEL_SIDE");
}

static void batch_mode_processes_all_and_reports_progress_at_640(void)
{
    const char *dir = path_in("batch");
    const char *bad = path_in("broken.jpg");
    REQUIRE(ad_file_write_atomic(bad, "\xff\xd8\xff garbage", 12, 0644, &(ad_err)AD_ERR_INIT) == AD_OK);
    int rc = run("%s remove -o %s %s %s %s", bin, dir, photo("coffee.png"), bad, photo("rocket.jpg"));
    CHECK(rc != 0); /* one input failed */
    char p[700];
    snprintf(p, sizeof p, "%s/coffee.png", dir);
    CHECK(exists(p));
    snprintf(p, sizeof p, "%s/rocket.png", dir);
    CHECK(exists(p));
    snprintf(p, sizeof p, "%s/broken.png", dir);
    CHECK(!exists(p));
    CHECKF(strstr(last_stderr, "[1/3]") && strstr(last_stderr, "[3/3]"), "%s", last_stderr);
    CHECK(strstr(last_stderr, "broken.jpg") != NULL);
    CHECK(strstr(last_stderr, "2 ok, 1 failed") != NULL);
}

/* The command line's behaviour is tested, not the mask's detail. */
TEST(batch_mode_processes_all_and_reports_progress)
{
    setenv("ASSETD_MODEL_SIDE", "640", 1);
    batch_mode_processes_all_and_reports_progress_at_640();
    unsetenv("ASSETD_MODEL_SIDE");
}

TEST(missing_model_is_a_clear_error)
{
    const char *out = path_in("nomodel.png");
    CHECK(run("%s remove --model-dir %s %s %s", bin, tmp, photo("rocket.jpg"), out) != 0);
    CHECK(strstr(last_stderr, "model") != NULL && !exists(out));
    const char *junk = path_in("isnet-medium.onnx");
    REQUIRE(ad_file_write_atomic(junk, "not a model", 11, 0644, &(ad_err)AD_ERR_INIT) == AD_OK);
    CHECK(run("%s remove --model-dir %s %s %s", bin, tmp, photo("rocket.jpg"), out) != 0);
    CHECKF(strstr(last_stderr, "isnet-medium.onnx: model: not an ONNX model") != NULL && !exists(out), "%s",
           last_stderr);
    unlink(junk);
}

/* Issue 15, item 5: a batch never overwrites its own outputs; a place that
 * cannot be written fails before the model is loaded, once; --help,
 * --version, -o without a value, and '-' for stdin / stdout. */
static void the_cli_behaves_as_a_cli_user_expects_at_640(void)
{
    const char *dir = path_in("dups");
    const char *copy = path_in("rocket.jpg");
    REQUIRE(run("cp %s %s", photo("rocket.jpg"), copy) == 0);
    CHECK(run("%s remove -o %s %s %s", bin, dir, copy, photo("rocket.jpg")) == 0);
    char p[700];
    snprintf(p, sizeof p, "%s/rocket.png", dir);
    CHECK(exists(p));
    snprintf(p, sizeof p, "%s/rocket-2.png", dir);
    CHECK(exists(p));
    CHECKF(strstr(last_stderr, "rocket-2.png") && strstr(last_stderr, "2 ok"), "%s", last_stderr);
    /* refused at once (no model load: well under a second), one message */
    const char *file = path_in("plain-file");
    REQUIRE(ad_file_write_atomic(file, "x", 1, 0644, &(ad_err)AD_ERR_INIT) == AD_OK);
    double t0 = now_ms();
    CHECK(run("%s remove -o %s %s", bin, file, photo("rocket.jpg")) != 0);
    CHECKF(now_ms() - t0 < 1000 && strstr(last_stderr, "not a folder"), "%.0f ms: %s", now_ms() - t0, last_stderr);
    const char *nl = strchr(last_stderr, '\n');
    CHECK(nl && nl[1] == '\0');
    t0 = now_ms();
    CHECK(run("%s remove %s %s/missing/out.png", bin, photo("rocket.jpg"), tmp) != 0);
    CHECKF(now_ms() - t0 < 1000 && strstr(last_stderr, "does not exist"), "%s", last_stderr);
    nl = strchr(last_stderr, '\n');
    CHECK(nl && nl[1] == '\0');
    CHECK(run("%s remove -o", bin) == 2 && strstr(last_stderr, "-o needs a folder"));
    CHECK(run("%s remove --help >/dev/null", bin) == 0);
    CHECK(run("%s remove --version >/dev/null", bin) == 0);
    CHECK(run("%s --version >/dev/null", bin) == 0);
    /* standard input to standard output */
    const char *out = path_in("from-stdin.png");
    CHECK(run("%s remove - - < %s > %s", bin, photo("rocket.jpg"), out) == 0);
    char *png = NULL;
    size_t len = 0;
    REQUIRE(ad_file_read(out, 1 << 26, (void **)&png, &len, &(ad_err)AD_ERR_INIT) == AD_OK);
    CHECK(len > 100 && memcmp(png, "\x89PNG", 4) == 0);
    free(png);
}

/* The command line's behaviour is tested, not the mask's detail. */
TEST(the_cli_behaves_as_a_cli_user_expects)
{
    setenv("ASSETD_MODEL_SIDE", "640", 1);
    the_cli_behaves_as_a_cli_user_expects_at_640();
    unsetenv("ASSETD_MODEL_SIDE");
}

/* Issue 25: a new user's first hour — dashed flags and --name=value, an
 * output whose extension contradicts --format, "-o out/", a missing
 * output, and exit codes listed in help; usage comes from the command
 * table. */
static void the_cli_takes_the_usual_forms_and_says_what_is_wrong_in_one_line_at_640(void)
{
    const char *dashed = path_in("dashed.png"), *under = path_in("under.png");
    REQUIRE(run("%s remove --bg-color red --max-side=100 %s %s", bin, photo("rocket.jpg"), dashed) == 0);
    REQUIRE(run("%s remove --bg_color=red --max_side 100 %s %s", bin, photo("rocket.jpg"), under) == 0);
    ad_pixmap a, b;
    REQUIRE(load(dashed, &a) && load(under, &b));
    CHECK(a.bands == 3 && (a.width == 100 || a.height == 100) && a.width <= 100 && a.height <= 100);
    CHECK(a.width == b.width && a.height == b.height && memcmp(a.data, b.data, (size_t)a.width * a.height * 3) == 0);
    ad_pixmap_cleanup(&a);
    ad_pixmap_cleanup(&b);
    /* the output's name and --format disagree: refused before any work */
    const char *png = path_in("mismatch.png");
    CHECK(run("%s remove --format jpg %s %s", bin, photo("rocket.jpg"), png) == 2);
    CHECKF(strstr(last_stderr, "jpg") && strstr(last_stderr, "png") && strstr(last_stderr, "--format"), "%s",
           last_stderr);
    CHECK(!exists(png));
    /* the name alone decides when --format is not given */
    const char *jpg = path_in("named.jpg");
    REQUIRE(run("%s remove %s %s", bin, photo("rocket.jpg"), jpg) == 0);
    char *bytes = NULL;
    size_t len = 0;
    REQUIRE(ad_file_read(jpg, 1 << 26, (void **)&bytes, &len, &(ad_err)AD_ERR_INIT) == AD_OK);
    CHECK(len > 3 && (unsigned char)bytes[0] == 0xff && (unsigned char)bytes[1] == 0xd8);
    free(bytes);
    /* a trailing slash on -o makes no double slash */
    char dir[700];
    snprintf(dir, sizeof dir, "%s/", path_in("slash-batch"));
    CHECK(run("%s remove -o %s %s", bin, dir, photo("rocket.jpg")) == 0);
    CHECKF(strstr(last_stderr, "//") == NULL && strstr(last_stderr, "slash-batch/rocket.png"), "%s", last_stderr);
    /* no output: one line saying what is missing, not the whole usage */
    CHECK(run("%s remove %s", bin, photo("rocket.jpg")) == 2);
    const char *nl = strchr(last_stderr, '\n');
    CHECKF(nl && nl[1] == '\0' && strstr(last_stderr, "missing OUTPUT"), "%s", last_stderr);
    CHECK(run("%s remove a.jpg b.jpg c.png", bin) == 2);
    nl = strchr(last_stderr, '\n');
    CHECKF(nl && nl[1] == '\0' && strstr(last_stderr, "-o DIR"), "%s", last_stderr);
    /* help lists the exit codes, each command from its row */
    CHECK(run("%s help | grep -q '^exit codes:'", bin) == 0);
    CHECK(run("%s help | grep -Eq '^  7 +an output or store that cannot be written'", bin) == 0);
    CHECK(run("%s help | grep -Eq '^  keys revoke ID +refuse the key'", bin) == 0);
    CHECK(run("%s keys --help | grep -q '^usage: assetd keys create'", bin) == 0);
    CHECK(run("%s keys frobnicate", bin) == 2 && strstr(last_stderr, "usage: assetd keys create"));
    CHECK(run("%s frobnicate", bin) == 2 && strstr(last_stderr, "unknown command 'frobnicate'"));
    /* and the exit code a bad input gets is the one help gives */
    CHECK(run("%s remove %s %s/missing/out.png", bin, photo("rocket.jpg"), tmp) == 7);
}

/* The command line's behaviour is tested, not the mask's detail. */
TEST(the_cli_takes_the_usual_forms_and_says_what_is_wrong_in_one_line)
{
    setenv("ASSETD_MODEL_SIDE", "640", 1);
    the_cli_takes_the_usual_forms_and_says_what_is_wrong_in_one_line_at_640();
    unsetenv("ASSETD_MODEL_SIDE");
}

/* Issue 15, item 7: help names real paths, not "@deps" placeholders, and
 * states the profiles' memory once (the README points at it). */
TEST(help_shows_the_paths_in_force)
{
    CHECK(run("%s help > %s/help.txt", bin, tmp) == 0);
    char p[700];
    snprintf(p, sizeof p, "%s/help.txt", tmp);
    char *text = NULL;
    size_t len = 0;
    REQUIRE(ad_file_read(p, 1 << 20, (void **)&text, &len, &(ad_err)AD_ERR_INIT) == AD_OK);
    char *t = realloc(text, len + 1);
    REQUIRE(t != NULL);
    t[len] = '\0';
    CHECK(strstr(t, "@deps") == NULL);
    CHECK(strstr(t, "deps/models") != NULL || strstr(t, "lib/assetd/models") != NULL);
    /* today's figures: int8's, the default precision (issue 25) */
    CHECK(strstr(t, "1.2 GB") == NULL && strstr(t, "0.9 GB peak at 896") == NULL && strstr(t, "~0.3 GB peak") != NULL);
    free(t);
}

/* Issue 12: `--store postgres` without its settings fails at start with one
 * line naming each one missing; an unreachable database is a clear error
 * and a non-zero exit, not a hang. */
TEST(the_postgres_store_names_what_it_is_missing)
{
    CHECK(run("env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY %s serve --store postgres --data-dir %s/pgdir "
              "--database-url postgres://u@127.0.0.1:1/db",
              bin, tmp) == 1);
    CHECKF(strstr(last_stderr, "needs --s3-endpoint, --s3-bucket, --s3-access-key, --s3-secret-key") != NULL, "%s",
           last_stderr);
    CHECK(run("timeout 20 %s serve --store postgres --data-dir %s/pgdir --database-url postgres://u@127.0.0.1:1/db "
              "--s3-endpoint http://127.0.0.1:1 --s3-bucket b --s3-access-key a --s3-secret-key s3cr3t-value",
              bin, tmp) == 1);
    CHECKF(strstr(last_stderr, "cannot connect") != NULL && strstr(last_stderr, "s3cr3t-value") == NULL, "%s",
           last_stderr);
}
