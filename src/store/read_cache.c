/* read_cache.c — the local copies of a remote store's blobs: see
 * read_cache.h. The index is a chained hash of the addresses (their first
 * 64 bits are already uniform) and one recency list, head the most
 * recently used; a copy's cost is its disk blocks (st_blocks), so a bound
 * of a gigabyte is a gigabyte of disk however small the blobs are. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/read_cache.h"

typedef struct entry {
    char sha[65];
    int64_t bytes;
    struct entry *prev, *next; /* recency: head the most recent */
    struct entry *chain;       /* the bucket's next */
} entry;

struct ad_read_cache {
    pthread_mutex_t lock;
    char dir[PATH_MAX - 80];
    int64_t max_bytes, max_entries;
    int64_t bytes, entries;
    entry **buckets;
    size_t nbuckets; /* a power of two */
    entry *head, *tail;
    int learned; /* folders 00..ff learned from the disk so far */
};

static int is_sha(const char *s)
{
    for (int i = 0; i < 64; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    return s[64] == '\0';
}

static size_t bucket_of(const ad_read_cache *c, const char *sha)
{
    uint64_t h = 0;
    for (int i = 0; i < 16; i++)
        h = h << 4 | (uint64_t)(sha[i] <= '9' ? sha[i] - '0' : sha[i] - 'a' + 10);
    return (size_t)(h & (c->nbuckets - 1));
}

static void copy_path(const ad_read_cache *c, const char *sha, char *out, size_t len)
{
    snprintf(out, len, "%s/%.2s/%s", c->dir, sha, sha);
}

static entry *find(const ad_read_cache *c, const char *sha)
{
    for (entry *e = c->buckets[bucket_of(c, sha)]; e; e = e->chain)
        if (memcmp(e->sha, sha, 64) == 0)
            return e;
    return NULL;
}

static void list_out(ad_read_cache *c, entry *e)
{
    if (e->prev)
        e->prev->next = e->next;
    else
        c->head = e->next;
    if (e->next)
        e->next->prev = e->prev;
    else
        c->tail = e->prev;
    e->prev = e->next = NULL;
}

static void push_head(ad_read_cache *c, entry *e)
{
    e->prev = NULL;
    e->next = c->head;
    if (c->head)
        c->head->prev = e;
    c->head = e;
    if (c->tail == NULL)
        c->tail = e;
}

static void push_tail(ad_read_cache *c, entry *e)
{
    e->next = NULL;
    e->prev = c->tail;
    if (c->tail)
        c->tail->next = e;
    c->tail = e;
    if (c->head == NULL)
        c->head = e;
}

/* A new entry for sha of bytes, at the head (a use) or the tail (learned
 * from the disk: older than anything used in this run). NULL without
 * memory. */
static entry *add(ad_read_cache *c, const char *sha, int64_t bytes, int at_head)
{
    entry *e = calloc(1, sizeof *e);
    if (e == NULL)
        return NULL;
    memcpy(e->sha, sha, 65);
    e->bytes = bytes;
    size_t b = bucket_of(c, sha);
    e->chain = c->buckets[b];
    c->buckets[b] = e;
    if (at_head)
        push_head(c, e);
    else
        push_tail(c, e);
    c->bytes += bytes;
    c->entries++;
    return e;
}

static void forget(ad_read_cache *c, entry *e)
{
    for (entry **p = &c->buckets[bucket_of(c, e->sha)]; *p; p = &(*p)->chain)
        if (*p == e) {
            *p = e->chain;
            break;
        }
    list_out(c, e);
    c->bytes -= e->bytes;
    c->entries--;
    free(e);
}

/* The least recently used copies go until both bounds hold. */
static void evict(ad_read_cache *c)
{
    while (c->tail && (c->bytes > c->max_bytes || c->entries > c->max_entries)) {
        char p[PATH_MAX];
        copy_path(c, c->tail->sha, p, sizeof p);
        unlink(p);
        forget(c, c->tail);
    }
}

static int64_t blocks_of(const struct stat *st) { return (int64_t)st->st_blocks * 512; }

/* Learn the next folder of copies an earlier run left. */
static void learn_one(ad_read_cache *c)
{
    char sub[PATH_MAX];
    snprintf(sub, sizeof sub, "%s/%02x", c->dir, c->learned++);
    DIR *d = opendir(sub);
    if (d == NULL)
        return;
    struct dirent *x;
    while ((x = readdir(d)) != NULL) {
        struct stat st;
        if (!is_sha(x->d_name) || find(c, x->d_name))
            continue;
        if (fstatat(dirfd(d), x->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode))
            continue;
        if (add(c, x->d_name, blocks_of(&st), 0) == NULL) {
            unlinkat(dirfd(d), x->d_name, 0); /* not tracked, not kept */
        }
    }
    closedir(d);
}

ad_status ad_read_cache_open(const char *dir, int64_t max_bytes, int64_t max_entries, ad_read_cache **out, ad_err *err)
{
    *out = NULL;
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        return ad_err_set(err, AD_EIO, "cannot create %s: %s", dir, strerror(errno));
    ad_read_cache *c = calloc(1, sizeof *c);
    if (c == NULL)
        return ad_err_set(err, AD_ENOMEM, "out of memory");
    snprintf(c->dir, sizeof c->dir, "%s", dir);
    c->max_bytes = max_bytes > 0 ? max_bytes : 0;
    c->max_entries = max_entries > 0 ? max_entries : 0;
    /* about two entries a bucket when full, within reason */
    c->nbuckets = 1024;
    while ((int64_t)c->nbuckets * 2 < c->max_entries && c->nbuckets < (1u << 22))
        c->nbuckets *= 2;
    c->buckets = calloc(c->nbuckets, sizeof *c->buckets);
    if (c->buckets == NULL) {
        free(c);
        return ad_err_set(err, AD_ENOMEM, "out of memory");
    }
    pthread_mutex_init(&c->lock, NULL);
    *out = c;
    return AD_OK;
}

void ad_read_cache_close(ad_read_cache *c)
{
    if (c == NULL)
        return;
    while (c->head)
        forget(c, c->head);
    free(c->buckets);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

int ad_read_cache_open_copy(ad_read_cache *c, const char *sha)
{
    char p[PATH_MAX];
    if (!is_sha(sha))
        return -1;
    copy_path(c, sha, p, sizeof p);
    int fd = open(p, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    pthread_mutex_lock(&c->lock);
    entry *e = find(c, sha);
    if (e) {
        list_out(c, e);
        push_head(c, e);
    } else {
        /* a copy an earlier run left, not learned yet: known from now on */
        struct stat st;
        if (fstat(fd, &st) == 0 && add(c, sha, blocks_of(&st), 1))
            evict(c); /* the copy itself may go: the descriptor keeps it */
    }
    pthread_mutex_unlock(&c->lock);
    return fd;
}

void ad_read_cache_keep(ad_read_cache *c, const char *tmp, const char *sha)
{
    char dir[PATH_MAX], p[PATH_MAX];
    struct stat st;
    if (!is_sha(sha) || c->max_bytes == 0 || c->max_entries == 0) {
        unlink(tmp);
        return;
    }
    snprintf(dir, sizeof dir, "%s/%.2s", c->dir, sha);
    mkdir(dir, 0700);
    copy_path(c, sha, p, sizeof p);
    if (rename(tmp, p) != 0) {
        unlink(tmp);
        return;
    }
    int64_t bytes = stat(p, &st) == 0 ? blocks_of(&st) : 0;
    pthread_mutex_lock(&c->lock);
    entry *e = find(c, sha);
    if (e) {
        c->bytes += bytes - e->bytes;
        e->bytes = bytes;
        list_out(c, e);
        push_head(c, e);
    } else if (add(c, sha, bytes, 1) == NULL) {
        unlink(p);
    }
    if (c->learned < 256)
        learn_one(c);
    evict(c);
    pthread_mutex_unlock(&c->lock);
}

void ad_read_cache_drop(ad_read_cache *c, const char *sha)
{
    char p[PATH_MAX];
    if (!is_sha(sha))
        return;
    copy_path(c, sha, p, sizeof p);
    pthread_mutex_lock(&c->lock);
    entry *e = find(c, sha);
    if (e)
        forget(c, e);
    unlink(p);
    pthread_mutex_unlock(&c->lock);
}

void ad_read_cache_usage(ad_read_cache *c, int64_t *bytes, int64_t *entries)
{
    pthread_mutex_lock(&c->lock);
    *bytes = c->bytes;
    *entries = c->entries;
    pthread_mutex_unlock(&c->lock);
}
