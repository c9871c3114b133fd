/* store_env.h — for the store suites: which kinds of store to run against
 * (sqlite always; postgres when ASSETD_TEST_PG_URL and
 * ASSETD_TEST_S3_ENDPOINT name the servers scripts/test.sh started), and a
 * fresh, isolated store of a kind: a temporary data dir, and for postgres a
 * new schema (search_path) and a new bucket, so suites never see each
 * other's rows or blobs. */
#ifndef AD_TESTS_STORE_ENV_H
#define AD_TESTS_STORE_ENV_H

/* each suite uses some of these */
#pragma GCC diagnostic ignored "-Wunused-function"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/id.h"
#include "store/store.h"

typedef struct {
    const char *kind;
    char dir[64];
    char ns[40];   /* schema and bucket name ("" for sqlite) */
    char url[512]; /* database URL with the schema */
} test_store_env;

/* The kinds to test; returns their count (1 or 2). */
static int test_kinds(const char *kinds[2])
{
    int n = 0;
    kinds[n++] = "sqlite";
    if (getenv("ASSETD_TEST_PG_URL") && getenv("ASSETD_TEST_S3_ENDPOINT"))
        kinds[n++] = "postgres";
    return n;
}

/* A new schema of the test database: its name (also usable as a bucket
 * name) into ns, a URL that uses it into url. */
static void test_pg_schema(char ns[40], char url[512])
{
    char id[AD_ID_LEN + 1];
    ad_id_new(id, NULL);
    snprintf(ns, 40, "t%.20s", id);
    const char *base = getenv("ASSETD_TEST_PG_URL");
    PGconn *c = PQconnectdb(base);
    char sql[96];
    snprintf(sql, sizeof sql, "CREATE SCHEMA %s", ns);
    PGresult *r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK)
        printf("    schema: %s\n", PQerrorMessage(c));
    PQclear(r);
    PQfinish(c);
    snprintf(url, 512, "%s%coptions=-csearch_path%%3D%s", base, strchr(base, '?') ? '&' : '?', ns);
}

/* The S3 settings of the test servers, for a bucket named bucket. */
static void test_s3_config(ad_store_config *c, const char *bucket)
{
    c->s3_endpoint = getenv("ASSETD_TEST_S3_ENDPOINT");
    c->s3_bucket = bucket;
    c->s3_access_key = getenv("ASSETD_TEST_S3_ACCESS_KEY") ? getenv("ASSETD_TEST_S3_ACCESS_KEY") : "AK";
    c->s3_secret_key = getenv("ASSETD_TEST_S3_SECRET_KEY") ? getenv("ASSETD_TEST_S3_SECRET_KEY") : "SK";
}

static ad_store *test_store_open(test_store_env *e, int64_t grace_ms, int64_t pin_ttl_ms, int exclusive)
{
    ad_store_config c = {.data_dir = e->dir, .gc_grace_ms = grace_ms, .pin_ttl_ms = pin_ttl_ms, .exclusive = exclusive};
    ad_store *s = NULL;
    ad_err err = AD_ERR_INIT;
    if (strcmp(e->kind, "postgres") == 0) {
        c.database_url = e->url;
        test_s3_config(&c, e->ns);
    }
    if (ad_store_kind_parts(e->kind, &c.meta, &c.blobs, NULL, &err) != AD_OK || ad_store_open(&c, &s, &err) != AD_OK)
        printf("    open %s: %s\n", e->kind, err.msg);
    return s;
}

/* A new, empty store of kind: e is filled for reopening it. */
static ad_store *test_store_new(const char *kind, test_store_env *e, int64_t grace_ms, int exclusive)
{
    memset(e, 0, sizeof *e);
    e->kind = kind;
    snprintf(e->dir, sizeof e->dir, "/tmp/assetd-store-XXXXXX");
    if (mkdtemp(e->dir) == NULL)
        return NULL;
    if (strcmp(kind, "postgres") == 0)
        test_pg_schema(e->ns, e->url);
    return test_store_open(e, grace_ms, 0, exclusive);
}

#endif
