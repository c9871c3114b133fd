/* config.c — the settings table and its loaders. */
#include "config/config.h"

#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/parallel.h"

/* T_SECRET: a string never printed (help shows "secret", logs never see it). */
typedef enum { T_STR, T_INT, T_SECRET } setting_type;

typedef struct {
    const char *name; /* snake_case; flag and env are derived */
    setting_type type;
    const char *def; /* "@deps/..." is relative to the deps folder beside the binary */
    long long min, max;
    size_t offset;
    const char *help;
} setting;

#define S(field, type, def, min, max, help)                           \
    {                                                                 \
#field, type, def, min, max, offsetof(ad_config, field), help \
    }

static const setting settings[] = {
    S(model, T_STR, "medium", 0, 0, "model variant: medium (fp16 weights) or small (uint8)"),
    S(model_dir, T_STR, "@deps/models", 0, 0, "folder holding isnet-<model>.onnx"),
    S(ort_library, T_STR, "@deps/onnxruntime/lib/libonnxruntime.so", 0, 0,
      "ONNX Runtime shared library (point at a GPU build to use one)"),
    S(ort_provider, T_STR, "cpu", 0, 0, "ONNX Runtime execution provider"),
    S(ort_profile, T_STR, "fast", 0, 0,
      "fast (NCHWc layout, the optimised model cached: ~1.0 s and ~0.3 GB peak per cut-out at 896, int8, 2 cores) "
      "or lean (~1.3 s; ~0.8 GB at int8, whose graph it rebuilds in memory at each start; ~0.65 GB at fp32, "
      "where fast takes ~0.85 GB; bench/cutout_bench measures both)"),
    S(ort_threads, T_INT, "0", 0, 256, "intra-op threads per inference (0: all cores)"),
    S(model_cache_dir, T_STR, "@deps/model-cache", 0, 0,
      "where the optimised model is kept between starts (\"\": rebuild it every start)"),
    S(model_side, T_INT, "896", 256, 2048, "side of the model's square input, pixels (multiple of 32)"),
    S(model_side_fast, T_INT, "640", 256, 2048,
      "model side for preset=fast (multiple of 32): a second session, opened on the first fast request"),
    S(model_side_best, T_INT, "896", 256, 2048,
      "model side for preset=best (multiple of 32); when it is not model_side, both of best's passes run on a "
      "session of their own, opened on the first best request (1024 scored better on binary product-like masks, "
      "worse on soft mattes: docs/engine.md)"),
    S(model_precision, T_STR, "int8", 0, 0,
      "medium model's arithmetic: int8 (statically quantised from the fp32 weights on this machine, calibrated once "
      "on the photos in calib_dir) or fp32; the small model is dynamically quantised and ignores this"),
    S(int8_weights, T_STR, "auto", 0, 0,
      "bits of the int8 model's weights: auto (8 where the CPU has VNNI, else 7: ORT's int8 kernels without VNNI "
      "add pairs of products in int16 and saturate at 8), 8 or 7 (7 on any CPU: how the tests prove the non-VNNI "
      "path on a VNNI machine)"),
    S(calib_dir, T_STR, "@deps/calibration", 0, 0, "photos the int8 model is calibrated on (scripts/setup.sh)"),
    S(max_pixels, T_INT, "100000000", 1, 1LL << 40, "largest image (width x height) processed"),
    S(config, T_STR, "", 0, 0,
      "a file of settings, one \"name = value\" per line (flag > environment > file > default)"),
    S(listen, T_STR, "127.0.0.1:8080", 0, 0, "address the server listens on (HOST:PORT)"),
    S(data_dir, T_STR, "./data", 0, 0, "folder of the embedded store (SQLite + blobs)"),
    S(store, T_STR, "sqlite", 0, 0,
      "store: sqlite (SQLite + files in data_dir, one server) or postgres (PostgreSQL + S3, many instances)"),
    S(database_url, T_SECRET, "", 0, 0, "postgres store: libpq URI, postgres://user@host:port/db?sslmode=..."),
    S(s3_endpoint, T_STR, "", 0, 0, "postgres store: the S3 endpoint, e.g. http://127.0.0.1:7480 (https works)"),
    S(s3_bucket, T_STR, "", 0, 0, "postgres store: the bucket of the blobs (created at start if missing)"),
    S(s3_region, T_STR, "us-east-1", 0, 0, "postgres store: the S3 region signed for"),
    S(s3_access_key, T_SECRET, "", 0, 0, "postgres store: S3 access key (else AWS_ACCESS_KEY_ID)"),
    S(s3_secret_key, T_SECRET, "", 0, 0, "postgres store: S3 secret key (else AWS_SECRET_ACCESS_KEY)"),
    S(blob_cache_mb, T_INT, "1024", 16, 1 << 24,
      "postgres store: MiB of disk the local copies of blobs kept for reads take (their blocks, not their bytes)"),
    S(blob_cache_entries, T_INT, "262144", 16, 1 << 26,
      "postgres store: local copies of blobs kept at most (each ~128 bytes of memory)"),
    S(store_timeout, T_INT, "5", 1, 3600,
      "postgres store: seconds a database statement or an object-store transfer may go without an answer; then it "
      "fails, and calls fail at once (503) until a probe finds the dependency back"),
    S(api_key, T_SECRET, "", 0, 0, "an API key to accept, stored hashed at start-up"),
    S(cors_origins, T_STR, "", 0, 0,
      "origins a browser may call the API from, comma-separated (\"*\": any; \"\": none, the default)"),
    S(http_threads, T_INT, "2", 1, 64, "HTTP I/O threads"),
    S(workers, T_INT, "0", 0, 64, "concurrent cut-outs (0: auto, one per 4 cores, at least 1)"),
    S(queue_depth, T_INT, "8", 0, 100000, "cut-outs that may wait; beyond that 503"),
    S(max_body, T_INT, "104857600", 1024, 1LL << 36, "largest request body, bytes"),
    S(max_body_memory, T_INT, "64", 1, 1 << 20,
      "MiB of request bodies held in memory at once (JSON bodies; uploads stream to disk); beyond it 503"),
    S(min_upload_rate, T_INT, "16384", 0, 1 << 30,
      "bytes/s a request body must average after its first 10 s, else the connection is closed (0: no floor)"),
    S(max_header, T_INT, "32768", 4096, 1 << 24, "request line + headers per connection, bytes"),
    S(max_connections, T_INT, "512", 1, 100000, "concurrent connections"),
    S(max_custom_data, T_INT, "65536", 2, 1 << 24, "largest custom_data JSON, bytes"),
    S(cache_mb, T_INT, "256", 0, 1 << 20, "finished cut-outs kept in memory, MiB (0: no cache)"),
    S(delivery_secrets, T_SECRET, "", 0, 0,
      "secrets that sign delivery URLs, comma-separated, 16+ characters each: the first signs, every one verifies "
      "(rotate: put a new one first, drop the old once its URLs may go); the embedded store makes one on first "
      "start (DATA_DIR/delivery-secret, 0600); a postgres store needs it (every instance signs alike)"),
    S(public_url, T_STR, "", 0, 0,
      "what delivery URLs start with, scheme://host[:port][/prefix] (default: http:// and the listen address)"),
    S(variant_store_mb, T_INT, "2048", 0, 1 << 24,
      "MiB of delivery variants kept in the store for every instance, least recently used out first (0: keep "
      "none, render each time)"),
    S(render_queue, T_INT, "32", 0, 100000,
      "delivery renders that may wait for a worker; beyond that 503 (a flood of new URLs cannot starve the API)"),
    S(mask_store_mb, T_INT, "4096", 0, 1 << 24,
      "MiB of model masks kept in the store, so a model pass happens once per image on every instance; least "
      "recently used out first (0: keep none)"),
    S(rate_limit, T_INT, "0", 0, 1000000,
      "requests a second each API key may make (0: no limit; counted by each instance); beyond it 429"),
    S(rate_burst, T_INT, "0", 0, 1000000, "requests a key may make at once before rate_limit applies (0: rate_limit)"),
    S(cutout_rate_limit, T_INT, "0", 0, 1000000,
      "cut-outs a second each key may ask for, a budget of its own beside rate_limit (0: no limit)"),
    S(cutout_rate_burst, T_INT, "0", 0, 1000000, "cut-outs a key may ask for at once (0: cutout_rate_limit)"),
    S(header_timeout, T_INT, "10", 1, 3600,
      "seconds a request's line and headers may take from their first byte; a client trickling them is answered "
      "408 and closed"),
    S(request_timeout, T_INT, "60", 1, 86400,
      "seconds a connection may stay idle, and a cut-out may wait for a worker"),
    S(job_attempts, T_INT, "5", 1, 1000, "attempts of a background save before it fails"),
    S(job_backoff_ms, T_INT, "500", 1, 3600000, "delay before the first retry; doubles each time"),
    S(job_retention_days, T_INT, "30", 0, 36500,
      "days a finished background job stays listed (GET /api/v1/jobs/:id and the list); 0 keeps them forever"),
    S(job_start_delay_ms, T_INT, "0", 0, 86400000, "run no background job until this long after start"),
    S(welcome, T_INT, "0", 0, 1,
      "serve: print a quick start (URL, API key, commands to paste); creates DATA_DIR/api-key (0600) when no key "
      "exists"),
    S(job_lease_ms, T_INT, "30000", 100, 86400000,
      "a claimed job is this instance's for this long, renewed while it runs; then any instance may take it"),
    S(metrics, T_INT, "1", 0, 1, "serve GET /metrics (Prometheus text, no API key) on the main listener: on or off"),
    S(gc_grace, T_INT, "60", 0, 30 * 86400, "seconds an unreferenced blob is kept before it is removed"),
    S(allow_private_urls, T_STR, "off", 0, 0,
      "requests made on a user's behalf (webhooks, remove.bg's image_url) may reach loopback, private, link-local "
      "and metadata addresses: off, on, or the networks allowed (10.0.0.0/8,fd00::/8)"),
    S(fetch_timeout, T_INT, "20", 1, 600, "seconds an image_url (remove.bg's API) may take to arrive"),
    S(webhook_max_attempts, T_INT, "100", 1, 10000,
      "attempts at delivering a webhook event before it is given up (retries back off 1 s, 2 s, 4 s ... 1 h)"),
    S(webhook_max_age, T_INT, "72", 1, 24 * 365, "hours a webhook event is retried before it is given up"),
    S(webhook_log_days, T_INT, "7", 1, 3650, "days webhook delivery attempts stay listed"),
};
#define NSETTINGS (sizeof settings / sizeof settings[0])

static char **str_slot(ad_config *cfg, const setting *s) { return (char **)((char *)cfg + s->offset); }
static long long *int_slot(ad_config *cfg, const setting *s) { return (long long *)((char *)cfg + s->offset); }

/* The folder of the running binary, into buf. 0 when unknown. */
static int exe_dir(char *buf, size_t len)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0)
        return 0;
    exe[n] = '\0';
    snprintf(buf, len, "%s", dirname(exe));
    return 1;
}

/* The deps folder: the one setup.sh fills at the top of the checkout
 * (build/assetd -> ./deps), found by walking up from the binary's folder
 * (tests and benchmarks live one level deeper), or, for an installed
 * binary, PREFIX/lib/assetd (make install). Any working directory works. */
static void deps_dir(char *buf, size_t len)
{
    char d[PATH_MAX], probe[PATH_MAX + 32];
    struct stat st;
    snprintf(buf, len, "deps");
    if (!exe_dir(d, sizeof d))
        return;
    snprintf(probe, sizeof probe, "%s/../lib/assetd/models", d);
    if (stat(probe, &st) == 0 && S_ISDIR(st.st_mode)) {
        if ((size_t)snprintf(buf, len, "%.4000s/../lib/assetd", d) >= len)
            snprintf(buf, len, "deps");
        return;
    }
    char *dir = d;
    for (int up = 0; up < 4; up++) {
        if ((size_t)snprintf(probe, sizeof probe, "%s/deps", dir) < sizeof probe && stat(probe, &st) == 0 &&
            S_ISDIR(st.st_mode)) {
            snprintf(buf, len, "%.4000s", probe);
            return;
        }
        dir = dirname(dir);
    }
}

static ad_status assign(ad_config *cfg, const setting *s, const char *value, const char *origin, ad_err *err)
{
    if (s->type != T_INT) {
        char *v;
        if (strncmp(value, "@deps/", 6) == 0) {
            char deps[PATH_MAX];
            deps_dir(deps, sizeof deps);
            if (asprintf(&v, "%s/%s", deps, value + 6) < 0)
                v = NULL;
        } else {
            v = strdup(value);
        }
        if (v == NULL)
            return ad_err_set(err, AD_ENOMEM, "out of memory");
        free(*str_slot(cfg, s));
        *str_slot(cfg, s) = v;
        return AD_OK;
    }
    /* switches (settings of range 0..1) also take words */
    if (s->min == 0 && s->max == 1) {
        static const char *const off[] = {"off", "false", "no"}, *const on[] = {"on", "true", "yes"};
        for (int i = 0; i < 3; i++)
            if (strcasecmp(value, off[i]) == 0 || strcasecmp(value, on[i]) == 0) {
                *int_slot(cfg, s) = strcasecmp(value, on[i]) == 0;
                return AD_OK;
            }
    }
    char *end;
    errno = 0;
    long long n = strtoll(value, &end, 10);
    if (errno || end == value || *end != '\0')
        return ad_err_set(err, AD_EINVAL, "%s: %s '%s' is not a number", origin, s->name, value);
    if (n < s->min || n > s->max)
        return ad_err_set(err, AD_EINVAL, "%s: %s %lld is outside %lld..%lld", origin, s->name, n, s->min, s->max);
    *int_slot(cfg, s) = n;
    return AD_OK;
}

static void env_name(const setting *s, char *buf, size_t len)
{
    snprintf(buf, len, "ASSETD_%s", s->name);
    for (char *p = buf + 7; *p; p++)
        if (*p >= 'a' && *p <= 'z')
            *p = (char)(*p - 'a' + 'A');
}

/* The setting a file's name denotes: snake_case, or the flag's spelling
 * with or without its dashes. */
static const setting *by_name(const char *name)
{
    char norm[64];
    while (*name == '-')
        name++;
    snprintf(norm, sizeof norm, "%s", name);
    for (char *p = norm; *p; p++)
        if (*p == '-')
            *p = '_';
    for (size_t i = 0; i < NSETTINGS; i++)
        if (strcmp(settings[i].name, norm) == 0)
            return &settings[i];
    return NULL;
}

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    char *e = s + strlen(s);
    while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' || e[-1] == '\n'))
        *--e = '\0';
    return s;
}

/* A config file: "name = value" per line (the flags' names, with or without
 * dashes), '#' starts a comment, a value may be "quoted". */
static ad_status load_file(ad_config *cfg, const char *path, ad_err *err)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return ad_err_set(err, AD_EINVAL, "config file %s: %s", path, strerror(errno));
    char line[4096], origin[4200];
    ad_status rc = AD_OK;
    for (int no = 1; rc == AD_OK && fgets(line, sizeof line, f); no++) {
        char *p = trim(line);
        if (*p == '#' || *p == '\0')
            continue;
        char *eq = strchr(p, '=');
        if (eq == NULL) {
            rc = ad_err_set(err, AD_EINVAL, "config file %s line %d: expected name = value", path, no);
            break;
        }
        *eq = '\0';
        char *name = trim(p), *value = trim(eq + 1);
        size_t vl = strlen(value);
        if (vl >= 2 && value[0] == '"' && value[vl - 1] == '"') {
            value[vl - 1] = '\0';
            value++;
        }
        const setting *s = by_name(name);
        if (s == NULL || strcmp(s->name, "config") == 0) {
            rc = ad_err_set(err, AD_EINVAL, "config file %s line %d: unknown setting '%s'", path, no, name);
            break;
        }
        snprintf(origin, sizeof origin, "%s line %d", path, no);
        rc = assign(cfg, s, value, origin, err);
    }
    fclose(f);
    return rc;
}

/* --config FILE (or --config=FILE) on the command line, else ASSETD_CONFIG,
 * else the installed default: PREFIX/etc/assetd/assetd.conf beside an
 * installed binary (/etc/assetd/assetd.conf for PREFIX=/usr), if present. */
static const char *config_path(int argc, char **argv, char *buf, size_t len)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
            return argv[i + 1];
        if (strncmp(argv[i], "--config=", 9) == 0)
            return argv[i] + 9;
    }
    const char *env = getenv("ASSETD_CONFIG");
    if (env)
        return *env ? env : NULL; /* ASSETD_CONFIG="" : no file at all */
    char d[PATH_MAX];
    struct stat st;
    if (!exe_dir(d, sizeof d))
        return NULL;
    if (strcmp(d, "/usr/bin") == 0)
        snprintf(buf, len, "/etc/assetd/assetd.conf");
    else
        snprintf(buf, len, "%.4000s/../etc/assetd/assetd.conf", d);
    return stat(buf, &st) == 0 && S_ISREG(st.st_mode) ? buf : NULL;
}

ad_status ad_config_deps_path(const char *rel, char *buf, size_t len)
{
    char deps[PATH_MAX];
    deps_dir(deps, sizeof deps);
    return (size_t)snprintf(buf, len, "%s/%s", deps, rel) < len ? AD_OK : AD_EINVAL;
}

ad_status ad_config_load(ad_config *cfg, int *argc, char **argv, ad_err *err)
{
    ad_status rc;
    memset(cfg, 0, sizeof *cfg);
    for (size_t i = 0; i < NSETTINGS; i++)
        if ((rc = assign(cfg, &settings[i], settings[i].def, "default", err)) != AD_OK)
            return rc;
    /* precedence: default < file < environment < command line */
    char default_file[PATH_MAX];
    const char *file = config_path(*argc, argv, default_file, sizeof default_file);
    if (file && (rc = load_file(cfg, file, err)) != AD_OK)
        return rc;
    for (size_t i = 0; i < NSETTINGS; i++) {
        char env[64];
        env_name(&settings[i], env, sizeof env);
        const char *v = getenv(env);
        if (v && (rc = assign(cfg, &settings[i], v, env, err)) != AD_OK)
            return rc;
    }
    int out = 1;
    for (int i = 1; i < *argc; i++) {
        const setting *hit = NULL;
        const char *value = NULL;
        for (size_t k = 0; k < NSETTINGS && !hit; k++) {
            char flag[64];
            ad_config_flag(settings[k].name, flag, sizeof flag);
            size_t fl = strlen(flag);
            if (strcmp(argv[i], flag) == 0) {
                if (i + 1 >= *argc)
                    return ad_err_set(err, AD_EINVAL, "%s needs a value", flag);
                hit = &settings[k];
                value = argv[++i];
            } else if (strncmp(argv[i], flag, fl) == 0 && argv[i][fl] == '=') {
                hit = &settings[k];
                value = argv[i] + fl + 1;
            }
        }
        if (hit == NULL) {
            argv[out++] = argv[i];
            continue;
        }
        if ((rc = assign(cfg, hit, value, "command line", err)) != AD_OK)
            return rc;
    }
    argv[out] = NULL;
    *argc = out;
    /* the AWS tools' variables, as every S3 client reads them */
    if (!cfg->s3_access_key[0] && getenv("AWS_ACCESS_KEY_ID") &&
        (rc = assign(cfg, by_name("s3_access_key"), getenv("AWS_ACCESS_KEY_ID"), "AWS_ACCESS_KEY_ID", err)) != AD_OK)
        return rc;
    if (!cfg->s3_secret_key[0] && getenv("AWS_SECRET_ACCESS_KEY") &&
        (rc = assign(cfg, by_name("s3_secret_key"), getenv("AWS_SECRET_ACCESS_KEY"), "AWS_SECRET_ACCESS_KEY", err)) !=
            AD_OK)
        return rc;
    if (strcmp(cfg->model, "medium") != 0 && strcmp(cfg->model, "small") != 0)
        return ad_err_set(err, AD_EINVAL, "model '%s' is unknown (known: medium, small)", cfg->model);
    if (strcmp(cfg->ort_profile, "lean") != 0 && strcmp(cfg->ort_profile, "fast") != 0)
        return ad_err_set(err, AD_EINVAL, "ort_profile '%s' is unknown (known: lean, fast)", cfg->ort_profile);
    if (strcmp(cfg->model_precision, "fp32") != 0 && strcmp(cfg->model_precision, "int8") != 0)
        return ad_err_set(err, AD_EINVAL, "model_precision '%s' is unknown (known: int8, fp32)", cfg->model_precision);
    if (strcmp(cfg->int8_weights, "auto") != 0 && strcmp(cfg->int8_weights, "8") != 0 &&
        strcmp(cfg->int8_weights, "7") != 0)
        return ad_err_set(err, AD_EINVAL, "int8_weights '%s' is unknown (known: auto, 8, 7)", cfg->int8_weights);
    if (cfg->model_side % 32 != 0)
        return ad_err_set(err, AD_EINVAL, "model_side %lld is not a multiple of 32", cfg->model_side);
    if (cfg->model_side_fast % 32 != 0)
        return ad_err_set(err, AD_EINVAL, "model_side_fast %lld is not a multiple of 32", cfg->model_side_fast);
    if (cfg->model_side_best % 32 != 0)
        return ad_err_set(err, AD_EINVAL, "model_side_best %lld is not a multiple of 32", cfg->model_side_best);
    return AD_OK;
}

void ad_config_concurrency(const ad_config *cfg, int *workers, int *threads)
{
    int cores = ad_cpu_count();
    int w = cfg->workers > 0 ? (int)cfg->workers : (cores / 4 > 1 ? cores / 4 : 1);
    int t = cfg->ort_threads > 0 ? (int)cfg->ort_threads : cores / w;
    *workers = w;
    *threads = t > 0 ? t : 1;
}

void ad_config_cleanup(ad_config *cfg)
{
    for (size_t i = 0; i < NSETTINGS; i++)
        if (settings[i].type != T_INT) {
            free(*str_slot(cfg, &settings[i]));
            *str_slot(cfg, &settings[i]) = NULL;
        }
}

ad_status ad_config_model_path(const ad_config *cfg, char *buf, size_t len, ad_err *err)
{
    if ((size_t)snprintf(buf, len, "%s/isnet-%s.onnx", cfg->model_dir, cfg->model) >= len)
        return ad_err_set(err, AD_EINVAL, "model path too long");
    return AD_OK;
}

long long ad_config_int(const ad_config *cfg, const char *name)
{
    const setting *s = by_name(name);
    if (s == NULL || s->type != T_INT)
        return -1;
    return *int_slot((ad_config *)cfg, s);
}

const char *ad_config_str(const ad_config *cfg, const char *name)
{
    const setting *s = by_name(name);
    if (s == NULL || s->type == T_INT)
        return NULL;
    return *str_slot((ad_config *)cfg, s);
}

void ad_config_flag(const char *name, char *buf, size_t len)
{
    snprintf(buf, len, "--%s", name);
    for (char *p = buf + 2; *p; p++)
        if (*p == '_')
            *p = '-';
}

void ad_config_print_help(FILE *f)
{
    for (size_t i = 0; i < NSETTINGS; i++) {
        char flag[64], env[64];
        ad_config_flag(settings[i].name, flag, sizeof flag);
        env_name(&settings[i], env, sizeof env);
        char resolved[PATH_MAX];
        const char *def = settings[i].def;
        /* "@deps/x" shown as the path it means on this installation */
        if (strncmp(def, "@deps/", 6) == 0 && ad_config_deps_path(def + 6, resolved, sizeof resolved) == AD_OK)
            def = resolved;
        if (settings[i].type == T_SECRET)
            fprintf(f, "  %-20s %-24s %s (secret: never printed)\n", flag, env, settings[i].help);
        else
            fprintf(f, "  %-20s %-24s %s (default: %s)\n", flag, env, settings[i].help, def[0] ? def : "none");
    }
}
