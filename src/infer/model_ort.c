/* model_ort.c — ad_model on ONNX Runtime's C API, loaded with dlopen. */
#include "infer/model.h"

#include <cpuid.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/fsutil.h"
#include "base/parallel.h"
#include "base/sha256.h"
#include "infer/isnet_graph.h"
#include "infer/onnx_model.h"
#include "infer/quantize.h"
#include "onnxruntime_c_api.h"

/* We only call functions that exist since API 16 (ORT 1.16), so any ORT from
 * then on can be dropped in; we ask for the newest the library offers. */
#define MIN_API_VERSION 16

struct ad_model {
    void *lib;
    const OrtApi *ort;
    OrtEnv *env;
    OrtSession *session;
    OrtMemoryInfo *meminfo;
    int side;
    int from_cache;          /* the session came from the optimised-model cache */
    const char *ort_version; /* static, ORT's */
    char **probe_names;      /* probe precision: the activations output */
    int nprobe;
};

static ad_status take_status(const OrtApi *ort, OrtStatus *st, ad_err *err, const char *what)
{
    if (st == NULL)
        return AD_OK;
    ad_err_set(err, AD_EBACKEND, "onnxruntime: %s: %s", what, ort->GetErrorMessage(st));
    ort->ReleaseStatus(st);
    return AD_EBACKEND;
}

#define ORT_TRY(call, what)                                           \
    do {                                                              \
        if ((rc = take_status(m->ort, (call), err, (what))) != AD_OK) \
            goto out;                                                 \
    } while (0)

void ad_model_config_defaults(ad_model_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->intra_threads = 0;
    cfg->spin = 0;
    cfg->profile = AD_MODEL_LEAN;
    cfg->provider = "cpu";
    cfg->side = AD_MODEL_EXPORT_SIDE;
    cfg->precision = AD_PRECISION_FP32;
    cfg->weight_bits = 8;
}

int ad_model_cpu_has_vnni(void)
{
    /* CPUID leaf 7: sub-leaf 0 ECX bit 11 is AVX512_VNNI, sub-leaf 1 EAX
     * bit 4 AVX-VNNI (read directly: older compilers' cpu-feature builtins
     * do not know the second). */
    unsigned a, b, c, d;
    if (__get_cpuid_count(7, 0, &a, &b, &c, &d) && (c & (1u << 11)))
        return 1;
    return __get_cpuid_count(7, 1, &a, &b, &c, &d) && (a & (1u << 4));
}

int ad_model_probe_names(const ad_model *m, const char *const **names)
{
    *names = (const char *const *)m->probe_names;
    return m->nprobe;
}

int ad_model_side(const ad_model *m) { return m->side; }

int ad_model_from_cache(const ad_model *m) { return m->from_cache; }

const char *ad_model_runtime_version(const ad_model *m) { return m->ort_version; }

/* Check one input/output's name and dims against what the pipeline assumes. */
static ad_status check_io(ad_model *m, int is_input, const char *want_name, const int64_t *want, size_t ndims,
                          ad_err *err)
{
    ad_status rc = AD_OK;
    OrtAllocator *alloc = NULL;
    OrtTypeInfo *ti = NULL;
    char *name = NULL;
    size_t count = 0, idx;
    ORT_TRY(m->ort->GetAllocatorWithDefaultOptions(&alloc), "allocator");
    ORT_TRY(is_input ? m->ort->SessionGetInputCount(m->session, &count)
                     : m->ort->SessionGetOutputCount(m->session, &count),
            "io count");
    for (idx = 0; idx < count; idx++) {
        ORT_TRY(is_input ? m->ort->SessionGetInputName(m->session, idx, alloc, &name)
                         : m->ort->SessionGetOutputName(m->session, idx, alloc, &name),
                "io name");
        int match = strcmp(name, want_name) == 0;
        OrtStatus *fst = m->ort->AllocatorFree(alloc, name);
        if (fst)
            m->ort->ReleaseStatus(fst);
        name = NULL;
        if (match)
            break;
    }
    if (idx == count) {
        rc = ad_err_set(err, AD_EBACKEND, "model has no %s named '%s'", is_input ? "input" : "output", want_name);
        goto out;
    }
    ORT_TRY(is_input ? m->ort->SessionGetInputTypeInfo(m->session, idx, &ti)
                     : m->ort->SessionGetOutputTypeInfo(m->session, idx, &ti),
            "type info");
    const OrtTensorTypeAndShapeInfo *tinfo;
    ORT_TRY(m->ort->CastTypeInfoToTensorInfo(ti, &tinfo), "tensor info");
    ONNXTensorElementDataType et;
    size_t nd = 0;
    int64_t dims[8];
    ORT_TRY(m->ort->GetTensorElementType(tinfo, &et), "element type");
    ORT_TRY(m->ort->GetDimensionsCount(tinfo, &nd), "dims count");
    if (et != ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT || nd != ndims) {
        rc = ad_err_set(err, AD_EBACKEND, "model %s '%s' is not float32 with %zu dims", is_input ? "input" : "output",
                        want_name, ndims);
        goto out;
    }
    ORT_TRY(m->ort->GetDimensions(tinfo, dims, nd), "dims");
    for (size_t i = 0; i < nd; i++) {
        /* -1 is a symbolic dim; accept it. */
        if (dims[i] != want[i] && dims[i] != -1) {
            rc = ad_err_set(err, AD_EBACKEND, "model %s '%s' dim %zu is %lld, expected %lld",
                            is_input ? "input" : "output", want_name, i, (long long)dims[i], (long long)want[i]);
            goto out;
        }
    }
out:
    if (ti)
        m->ort->ReleaseTypeInfo(ti);
    return rc;
}

/* The optimised-model cache. At ORT_ENABLE_ALL, ORT spends ~0.3 s of every
 * start rewriting the graph (casts folded, NCHWc layout); the result depends
 * on the model file, the side, the profile, the ORT build and the CPU (the
 * NCHWc block size follows its vector width), so it is saved once per
 * machine under a name hashing all of these and loaded with optimisations
 * off. Any failure here only costs the time saved: the cache is skipped. */
static void cache_name(const ad_model *m, const ad_model_config *cfg, const struct stat *st, char *buf, size_t len)
{
    char key[2048], cpu[1024] = "", line[4096];
    FILE *f = fopen("/proc/cpuinfo", "r");
    size_t used = 0;
    while (f && fgets(line, sizeof line, f) && used < sizeof cpu - 1) {
        if (strncmp(line, "model name", 10) == 0 || strncmp(line, "flags", 5) == 0) {
            used += (size_t)snprintf(cpu + used, sizeof cpu - used, "%.500s", line);
            if (strncmp(line, "flags", 5) == 0)
                break; /* the first CPU is enough */
        }
    }
    if (f)
        fclose(f);
    struct stat lib = {0};
    stat(cfg->ort_library, &lib);
    /* int8: the ranges decide the graph; hash their bytes. */
    char ranges[65] = "-";
    void *rbuf = NULL;
    size_t rlen = 0;
    ad_err ignored = AD_ERR_INIT;
    if (cfg->precision == AD_PRECISION_INT8 && cfg->ranges_path &&
        ad_file_read(cfg->ranges_path, 1 << 24, &rbuf, &rlen, &ignored) == AD_OK)
        ad_sha256_hex(rbuf, rlen, ranges);
    free(rbuf);
    /* the model and the runtime by content, not by path, inode or time:
     * a copy of the same files (make install, an image's layer) finds the
     * graph prepared for them */
    char model_ends[65], lib_ends[65];
    ad_file_ends_sha256(cfg->model_path, model_ends);
    ad_file_ends_sha256(cfg->ort_library, lib_ends);
    snprintf(key, sizeof key, "v2|q%d|%lld|%s|%d|%d|%s|%lld|%s|%s|%d|%d|%s", AD_QUANT_VERSION, (long long)st->st_size,
             model_ends, cfg->side, (int)cfg->profile, m->ort_version, (long long)lib.st_size, lib_ends, cpu,
             (int)cfg->precision, cfg->weight_bits, ranges);
    char hex[65];
    ad_sha256_hex(key, strlen(key), hex);
    snprintf(buf, len, "%s/isnet-%s%d-%.16s.onnx", cfg->cache_dir, cfg->precision == AD_PRECISION_INT8 ? "int8-" : "",
             cfg->side, hex);
}

/* The fp32 graph, quantised (int8) or with its activations as outputs
 * (probe), from the re-targeted export; replaces *graph. */
static ad_status derive_graph(ad_model *m, const ad_model_config *cfg, uint8_t **graph, size_t *len, ad_err *err)
{
    ad_onnx_model om;
    ad_qranges ranges = {0};
    ad_status rc;
    uint8_t *out = NULL;
    size_t out_len = 0;
    if ((rc = ad_onnx_read(*graph, *len, &om, err)) != AD_OK)
        return rc;
    if ((rc = ad_quant_to_fp32(&om, err)) != AD_OK || (rc = ad_onnx_prune(&om, err)) != AD_OK)
        goto out;
    if (cfg->precision == AD_PRECISION_PROBE) {
        if ((rc = ad_quant_plan(&om, &m->probe_names, &m->nprobe, err)) != AD_OK)
            goto out;
        for (int i = 0; i < m->nprobe; i++)
            if (ad_onnx_add_output(&om, m->probe_names[i], AD_ONNX_FLOAT)) {
                rc = ad_err_set(err, AD_ENOMEM, "out of memory");
                goto out;
            }
    } else {
        if (cfg->ranges_path == NULL) {
            rc = ad_err_set(err, AD_EINVAL, "int8 needs calibrated ranges");
            goto out;
        }
        if ((rc = ad_qranges_read(cfg->ranges_path, &ranges, err)) != AD_OK)
            goto out;
        if ((rc = ad_quant_qdq(&om, &ranges, cfg->weight_bits, err)) != AD_OK)
            goto out;
    }
    if ((rc = ad_onnx_write(&om, &out, &out_len, err)) != AD_OK)
        goto out;
    free(*graph);
    *graph = out;
    *len = out_len;
out:
    ad_qranges_free(&ranges);
    ad_onnx_free(&om);
    return rc;
}

/* Make the session: from the cache when it holds this model, else from the
 * re-targeted file (saving the optimised graph for the next start). */
static ad_status create_session(ad_model *m, const ad_model_config *cfg, OrtSessionOptions *opts, const struct stat *st,
                                ad_err *err)
{
    ad_status rc = AD_OK;
    void *file = NULL;
    uint8_t *graph = NULL;
    size_t file_len = 0, graph_len = 0;
    char cached[4096] = "", tmp[4200] = "";
    OrtStatus *os;
    if (cfg->cache_dir && *cfg->cache_dir && cfg->profile == AD_MODEL_FAST && cfg->precision != AD_PRECISION_PROBE)
        cache_name(m, cfg, st, cached, sizeof cached);
    if (*cached && access(cached, R_OK) == 0) {
        ORT_TRY(m->ort->SetSessionGraphOptimizationLevel(opts, ORT_DISABLE_ALL), "optimisation level");
        if ((os = m->ort->CreateSession(m->env, cached, opts, &m->session)) == NULL) {
            m->from_cache = 1;
            return AD_OK;
        }
        m->ort->ReleaseStatus(os);
        unlink(cached); /* unreadable: rebuilt below */
        ORT_TRY(m->ort->SetSessionGraphOptimizationLevel(opts, ORT_ENABLE_ALL), "optimisation level");
    }

    if ((rc = ad_file_read(cfg->model_path, (size_t)1 << 32, &file, &file_len, err)) != AD_OK)
        goto out;
    ad_err why = AD_ERR_INIT;
    if ((rc = ad_isnet_retarget(file, file_len, cfg->side, &graph, &graph_len, NULL, &why)) != AD_OK) {
        ad_err_set(err, rc, "%s: %s", cfg->model_path, why.msg);
        goto out;
    }
    free(file);
    file = NULL;
    if (cfg->precision != AD_PRECISION_FP32 && (rc = derive_graph(m, cfg, &graph, &graph_len, err)) != AD_OK)
        goto out;
    if (*cached && (mkdir(cfg->cache_dir, 0755) == 0 || errno == EEXIST)) {
        snprintf(tmp, sizeof tmp, "%s.tmp%ld", cached, (long)getpid());
        if ((os = m->ort->SetOptimizedModelFilePath(opts, tmp)) != NULL) {
            m->ort->ReleaseStatus(os);
            *tmp = '\0';
        }
    }
    ORT_TRY(m->ort->CreateSessionFromArray(m->env, graph, graph_len, opts, &m->session), "load model");
    if (*tmp) {
        /* Durable before visible, like every other file we publish. */
        int fd = open(tmp, O_RDONLY);
        int ok = fd >= 0 && fsync(fd) == 0;
        if (fd >= 0)
            close(fd);
        ad_err ignored = AD_ERR_INIT;
        if (ok && rename(tmp, cached) == 0) {
            ad_dir_sync_for(cached, &ignored);
            *tmp = '\0';
            /* Swap to a session made from the cache now: the one that ran
             * the optimiser keeps ~300 MB more resident for its whole life
             * (measured: 1.17 vs 0.85 GB peak per inference at 896). */
            OrtSession *lean = NULL;
            ORT_TRY(m->ort->SetSessionGraphOptimizationLevel(opts, ORT_DISABLE_ALL), "optimisation level");
            ORT_TRY(m->ort->SetOptimizedModelFilePath(opts, ""), "optimised model path");
            free(graph);
            graph = NULL;
            if ((os = m->ort->CreateSession(m->env, cached, opts, &lean)) == NULL) {
                m->ort->ReleaseSession(m->session);
                m->session = lean;
                m->from_cache = 1;
            } else {
                m->ort->ReleaseStatus(os);
            }
        }
    }
out:
    if (*tmp)
        unlink(tmp);
    free(file);
    free(graph);
    return rc;
}

ad_status ad_model_open(const ad_model_config *cfg, ad_model **out, ad_err *err)
{
    ad_status rc = AD_OK;
    OrtSessionOptions *opts = NULL;
    ad_model *m = calloc(1, sizeof *m);
    *out = NULL;
    if (m == NULL)
        return ad_err_set(err, AD_ENOMEM, "out of memory");
    if (cfg->provider && strcmp(cfg->provider, "cpu") != 0) {
        rc = ad_err_set(err, AD_EINVAL, "unknown execution provider '%s' (known: cpu)", cfg->provider);
        goto out;
    }
    struct stat st;
    if (stat(cfg->model_path, &st) != 0) {
        rc = ad_err_set(err, AD_ENOTFOUND, "model file %s not found (run scripts/setup.sh)", cfg->model_path);
        goto out;
    }
    if ((rc = ad_isnet_check_side(cfg->side, err)) != AD_OK)
        goto out;
    m->side = cfg->side;

    m->lib = dlopen(cfg->ort_library, RTLD_NOW | RTLD_LOCAL);
    if (m->lib == NULL) {
        rc = ad_err_set(err, AD_EBACKEND, "cannot load ONNX Runtime: %s", dlerror());
        goto out;
    }
    const OrtApiBase *(*get_base)(void) = (const OrtApiBase *(*)(void))dlsym(m->lib, "OrtGetApiBase");
    if (get_base == NULL) {
        rc = ad_err_set(err, AD_EBACKEND, "%s is not ONNX Runtime (no OrtGetApiBase)", cfg->ort_library);
        goto out;
    }
    for (int v = ORT_API_VERSION; v >= MIN_API_VERSION && m->ort == NULL; v--)
        m->ort = get_base()->GetApi((uint32_t)v);
    if (m->ort == NULL) {
        rc = ad_err_set(err, AD_EBACKEND, "ONNX Runtime %s is older than API %d", get_base()->GetVersionString(),
                        MIN_API_VERSION);
        goto out;
    }
    m->ort_version = get_base()->GetVersionString();
    ORT_TRY(m->ort->CreateEnv(ORT_LOGGING_LEVEL_ERROR, "assetd", &m->env), "create env");
    ORT_TRY(m->ort->CreateSessionOptions(&opts), "session options");
    int threads = cfg->intra_threads > 0 ? cfg->intra_threads : ad_cpu_count();
    ORT_TRY(m->ort->SetIntraOpNumThreads(opts, threads), "intra threads");
    ORT_TRY(m->ort->SetInterOpNumThreads(opts, 1), "inter threads");
    ORT_TRY(m->ort->SetSessionExecutionMode(opts, ORT_SEQUENTIAL), "execution mode");
    /* "fast" adds the NCHWc layout transform (ORT_ENABLE_ALL): ~25% faster
     * convolutions for ~450 MB more of reordered weights and buffers. */
    ORT_TRY(m->ort->SetSessionGraphOptimizationLevel(opts, cfg->profile == AD_MODEL_FAST ? ORT_ENABLE_ALL
                                                                                         : ORT_ENABLE_EXTENDED),
            "optimisation level");
    ORT_TRY(m->ort->AddSessionConfigEntry(opts, "session.intra_op.allow_spinning", cfg->spin ? "1" : "0"), "spinning");
    /* The memory pattern pre-plans one block for all activations: +0.8 GB
     * peak for no measured speed. The arena stays on: without it every run
     * maps and faults in ~1 GB afresh, 40% slower. */
    ORT_TRY(m->ort->DisableMemPattern(opts), "mem pattern");
    if ((rc = create_session(m, cfg, opts, &st, err)) != AD_OK)
        goto out;
    ORT_TRY(m->ort->CreateCpuMemoryInfo(OrtDeviceAllocator, OrtMemTypeDefault, &m->meminfo), "memory info");

    const int64_t in_dims[4] = {1, 3, m->side, m->side};
    const int64_t out_dims[4] = {1, 1, m->side, m->side};
    if ((rc = check_io(m, 1, "input", in_dims, 4, err)) != AD_OK)
        goto out;
    if ((rc = check_io(m, 0, "output", out_dims, 4, err)) != AD_OK)
        goto out;
    *out = m;
    m = NULL;
out:
    if (opts)
        (*out ? (*out)->ort : m->ort)->ReleaseSessionOptions(opts);
    ad_model_close(m);
    return rc;
}

ad_status ad_model_run(ad_model *m, const float *input, float *output, ad_err *err)
{
    ad_status rc = AD_OK;
    OrtValue *in = NULL, *res = NULL;
    const int64_t in_dims[4] = {1, 3, m->side, m->side};
    const int64_t out_dims[4] = {1, 1, m->side, m->side};
    const size_t plane = (size_t)m->side * m->side;
    /* ORT does not write through an input value; the cast drops const only. */
    ORT_TRY(m->ort->CreateTensorWithDataAsOrtValue(m->meminfo, (void *)input, 3 * plane * sizeof(float), in_dims, 4,
                                                   ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT, &in),
            "input tensor");
    ORT_TRY(m->ort->CreateTensorWithDataAsOrtValue(m->meminfo, output, plane * sizeof(float), out_dims, 4,
                                                   ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT, &res),
            "output tensor");
    /* Fetch only "output": the graph has 11 more side outputs we never read. */
    const char *in_names[1] = {"input"};
    const char *out_names[1] = {"output"};
    ORT_TRY(m->ort->Run(m->session, NULL, in_names, (const OrtValue *const *)&in, 1, out_names, 1, &res), "run");
out:
    if (in)
        m->ort->ReleaseValue(in);
    if (res)
        m->ort->ReleaseValue(res);
    return rc;
}

ad_status ad_model_probe(ad_model *m, const float *input, ad_model_probe_fn fn, void *user, ad_err *err)
{
    ad_status rc = AD_OK;
    OrtValue *in = NULL, **outs = NULL;
    const int64_t in_dims[4] = {1, 3, m->side, m->side};
    const size_t plane = (size_t)m->side * m->side;
    if (m->nprobe == 0)
        return ad_err_set(err, AD_EINVAL, "not a probe session");
    if ((outs = calloc((size_t)m->nprobe, sizeof *outs)) == NULL)
        return ad_err_set(err, AD_ENOMEM, "out of memory");
    ORT_TRY(m->ort->CreateTensorWithDataAsOrtValue(m->meminfo, (void *)input, 3 * plane * sizeof(float), in_dims, 4,
                                                   ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT, &in),
            "input tensor");
    const char *in_names[1] = {"input"};
    ORT_TRY(m->ort->Run(m->session, NULL, in_names, (const OrtValue *const *)&in, 1,
                        (const char *const *)m->probe_names, (size_t)m->nprobe, outs),
            "run");
    for (int i = 0; i < m->nprobe; i++) {
        OrtTensorTypeAndShapeInfo *info = NULL;
        size_t n = 0;
        float *data = NULL;
        ORT_TRY(m->ort->GetTensorTypeAndShape(outs[i], &info), "output shape");
        OrtStatus *st = m->ort->GetTensorShapeElementCount(info, &n);
        m->ort->ReleaseTensorTypeAndShapeInfo(info);
        ORT_TRY(st, "output size");
        ORT_TRY(m->ort->GetTensorMutableData(outs[i], (void **)&data), "output data");
        fn(user, i, data, n);
        m->ort->ReleaseValue(outs[i]);
        outs[i] = NULL;
    }
out:
    if (in)
        m->ort->ReleaseValue(in);
    for (int i = 0; i < m->nprobe; i++)
        if (outs[i])
            m->ort->ReleaseValue(outs[i]);
    free(outs);
    return rc;
}

void ad_model_close(ad_model *m)
{
    if (m == NULL)
        return;
    for (int i = 0; i < m->nprobe; i++)
        free(m->probe_names[i]);
    free(m->probe_names);
    if (m->ort) {
        if (m->meminfo)
            m->ort->ReleaseMemoryInfo(m->meminfo);
        if (m->session)
            m->ort->ReleaseSession(m->session);
        if (m->env)
            m->ort->ReleaseEnv(m->env);
    }
    /* The library stays loaded: ORT keeps process-wide state (thread pools,
     * logging) that does not survive dlclose reliably. */
    free(m);
}
