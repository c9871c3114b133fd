/* secrets.c — the secrets that sign delivery URLs, for serve: the
 * setting's list, else the embedded store's own secret, made on its first
 * start and kept beside its data (0600), so that URLs outlive restarts. A
 * store shared by instances must be given them: each instance making its
 * own would sign URLs the others refuse. */
#include <stdlib.h>
#include <string.h>

#include "base/fsutil.h"
#include "base/hmac.h"
#include "cli/cli.h"

#define MIN_SECRET 16

void ad_cli_secrets_free(char **v, int n)
{
    for (int i = 0; v && i < n; i++) {
        /* not left in freed memory */
        memset(v[i], 0, strlen(v[i]));
        free(v[i]);
    }
    free(v);
}

static ad_status add(char ***v, int *n, const char *s, size_t len, ad_err *err)
{
    char **g = realloc(*v, sizeof *g * (size_t)(*n + 1));
    if (g == NULL)
        return ad_err_set(err, AD_ENOMEM, "out of memory");
    *v = g;
    if ((g[*n] = strndup(s, len)) == NULL)
        return ad_err_set(err, AD_ENOMEM, "out of memory");
    (*n)++;
    return AD_OK;
}

ad_status ad_cli_delivery_secrets(const ad_config *cfg, int shared_store, char ***out, int *n, ad_err *err)
{
    ad_status rc = AD_OK;
    *out = NULL;
    *n = 0;
    if (cfg->delivery_secrets[0]) {
        for (const char *p = cfg->delivery_secrets; *p && rc == AD_OK;) {
            p += strspn(p, " ,");
            size_t len = strcspn(p, ",");
            while (len > 0 && p[len - 1] == ' ')
                len--;
            if (len == 0)
                break;
            if (len < MIN_SECRET)
                rc = ad_err_set(err, AD_EINVAL, "--delivery-secrets: each secret needs %d characters or more",
                                MIN_SECRET);
            else
                rc = add(out, n, p, len, err);
            p += strcspn(p, ",");
        }
        if (rc == AD_OK && *n == 0)
            rc = ad_err_set(err, AD_EINVAL, "--delivery-secrets names no secret");
        goto out;
    }
    if (shared_store) {
        rc = ad_err_set(err, AD_EINVAL,
                        "--store %s needs --delivery-secrets (every instance must sign delivery URLs alike)",
                        cfg->store);
        goto out;
    }
    char path[4200];
    void *text = NULL;
    size_t len = 0;
    snprintf(path, sizeof path, "%s/delivery-secret", cfg->data_dir);
    if (ad_file_read(path, 1024, &text, &len, NULL) == AD_OK) {
        while (len > 0 && (((char *)text)[len - 1] == '\n' || ((char *)text)[len - 1] == '\r'))
            len--;
        if (len >= MIN_SECRET)
            rc = add(out, n, text, len, err);
        else
            rc = ad_err_set(err, AD_EINVAL, "%s: too short to be a secret (remove it to have a new one made)", path);
        memset(text, 0, len);
        free(text);
        goto out;
    }
    /* the first start: a new secret, 256 random bits */
    uint8_t raw[32];
    char hex[65], line[66];
    if (!ad_random_bytes(raw, sizeof raw)) {
        rc = ad_err_set(err, AD_EIO, "no random bytes for the delivery secret");
        goto out;
    }
    for (size_t i = 0; i < sizeof raw; i++)
        snprintf(hex + 2 * i, 3, "%02x", raw[i]);
    memset(raw, 0, sizeof raw);
    snprintf(line, sizeof line, "%s\n", hex);
    if ((rc = ad_file_write_atomic(path, line, strlen(line), 0600, err)) == AD_OK)
        rc = add(out, n, hex, 64, err);
    memset(hex, 0, sizeof hex);
    memset(line, 0, sizeof line);
out:
    if (rc != AD_OK) {
        ad_cli_secrets_free(*out, *n);
        *out = NULL;
        *n = 0;
    }
    return rc;
}

void ad_cli_origin(const ad_config *cfg, int port, char *buf, size_t len)
{
    char host[256];
    /* the address listened on (a wildcard means this machine) */
    snprintf(host, sizeof host, "%s", cfg->listen);
    char *colon = strrchr(host, ':');
    if (colon)
        *colon = '\0';
    if (strcmp(host, "0.0.0.0") == 0 || strcmp(host, "") == 0)
        snprintf(host, sizeof host, "127.0.0.1");
    else if (strcmp(host, "[::]") == 0)
        snprintf(host, sizeof host, "[::1]");
    snprintf(buf, len, "http://%s:%d", host, port);
}
