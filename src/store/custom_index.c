/* custom_index.c — custom data as index entries. See custom_index.h. */
#include "store/custom_index.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/sha256.h"

#define MAX_DEPTH 8

typedef struct {
    ad_custom_entry *v;
    int n, cap;
    int oom;
} entries;

static void text_key(const char *s, size_t len, char key[AD_CUSTOM_KEY_MAX + 1], char tag[2])
{
    if (len <= AD_CUSTOM_KEY_MAX) {
        memcpy(key, s, len);
        key[len] = '\0';
        strcpy(tag, "s");
        return;
    }
    ad_sha256_hex(s, len, key);
    strcpy(tag, "h");
}

static void number_key(double d, char key[AD_CUSTOM_KEY_MAX + 1])
{
    if (d == 0)
        d = 0; /* -0 is 0 */
    snprintf(key, AD_CUSTOM_KEY_MAX + 1, "%.17g", d);
}

static void add(entries *e, const char *path, json_t *v)
{
    if (e->n == e->cap) {
        int cap = e->cap ? e->cap * 2 : 16;
        ad_custom_entry *g = realloc(e->v, sizeof *g * (size_t)cap);
        if (g == NULL) {
            e->oom = 1;
            return;
        }
        e->v = g;
        e->cap = cap;
    }
    ad_custom_entry *x = &e->v[e->n];
    snprintf(x->path, sizeof x->path, "%s", path);
    if (json_is_string(v)) {
        text_key(json_string_value(v), json_string_length(v), x->key, x->tag);
    } else if (json_is_number(v)) {
        number_key(json_number_value(v), x->key);
        strcpy(x->tag, "n");
    } else if (json_is_boolean(v)) {
        strcpy(x->key, json_is_true(v) ? "true" : "false");
        strcpy(x->tag, "b");
    } else if (json_is_null(v)) {
        strcpy(x->key, "null");
        strcpy(x->tag, "z");
    } else {
        return; /* arrays are not entered */
    }
    e->n++;
}

static void walk(entries *e, json_t *obj, char *path, size_t len, int depth)
{
    const char *k;
    json_t *v;
    json_object_foreach(obj, k, v)
    {
        size_t kl = strlen(k);
        if (kl == 0 || strchr(k, '.') || len + (len ? 1 : 0) + kl > AD_CUSTOM_PATH_MAX)
            continue;
        size_t at = len;
        if (len)
            path[at++] = '.';
        memcpy(path + at, k, kl + 1);
        if (json_is_object(v)) {
            if (depth < MAX_DEPTH)
                walk(e, v, path, at + kl, depth + 1);
        } else {
            add(e, path, v);
        }
        path[len] = '\0';
    }
}

ad_status ad_custom_index_entries(const char *json, ad_custom_entry **out, int *n, ad_err *err)
{
    *out = NULL;
    *n = 0;
    json_t *root = json_loads(json ? json : "{}", 0, NULL);
    if (!json_is_object(root)) {
        json_decref(root);
        return ad_err_set(err, AD_EINVAL, "custom data is not a JSON object");
    }
    entries e = {0};
    char path[AD_CUSTOM_PATH_MAX + 1] = "";
    walk(&e, root, path, 0, 1);
    json_decref(root);
    if (e.oom) {
        free(e.v);
        return ad_err_set(err, AD_ENOMEM, "out of memory");
    }
    *out = e.v;
    *n = e.n;
    return AD_OK;
}

static int probe_add(ad_custom_probe out[4], int n, const char *key, const char *tag)
{
    for (int i = 0; i < n; i++)
        if (strcmp(out[i].key, key) == 0) {
            strcat(out[i].tags, tag);
            return n;
        }
    snprintf(out[n].key, sizeof out[n].key, "%s", key);
    snprintf(out[n].tags, sizeof out[n].tags, "%s", tag);
    return n + 1;
}

int ad_custom_index_probes(const char *value, ad_custom_probe out[4])
{
    char key[AD_CUSTOM_KEY_MAX + 1], tag[2];
    text_key(value, strlen(value), key, tag);
    int n = probe_add(out, 0, key, tag);
    /* a number read as a number: JSON's grammar, not strtod's (no hex,
     * no "inf", no spaces) */
    json_t *num = json_loads(value, JSON_DECODE_ANY, NULL);
    if (json_is_number(num)) {
        number_key(json_number_value(num), key);
        n = probe_add(out, n, key, "n");
    }
    json_decref(num);
    if (strcmp(value, "true") == 0 || strcmp(value, "false") == 0)
        n = probe_add(out, n, value, "b");
    if (strcmp(value, "null") == 0)
        n = probe_add(out, n, "null", "z");
    return n;
}

int ad_custom_index_path_ok(const char *path)
{
    size_t len = strlen(path);
    if (len == 0 || len > AD_CUSTOM_PATH_MAX || path[0] == '.' || path[len - 1] == '.' || strstr(path, ".."))
        return 0;
    int dots = 0;
    for (const char *p = path; *p; p++)
        dots += *p == '.';
    return dots < MAX_DEPTH;
}
