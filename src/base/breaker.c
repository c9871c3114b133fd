/* breaker.c — see breaker.h. */
#include <stdio.h>
#include <string.h>

#include "base/breaker.h"
#include "base/clock.h"

void ad_breaker_init(ad_breaker *b, double cooldown_ms)
{
    memset(b, 0, sizeof *b);
    pthread_mutex_init(&b->lock, NULL);
    b->cooldown_ms = cooldown_ms;
}

void ad_breaker_destroy(ad_breaker *b) { pthread_mutex_destroy(&b->lock); }

int ad_breaker_allow(ad_breaker *b)
{
    if (!__atomic_load_n(&b->open, __ATOMIC_ACQUIRE))
        return 1; /* the common case, without the lock */
    pthread_mutex_lock(&b->lock);
    int go = !b->open;
    if (b->open && !b->probing && ad_clock_ms() >= b->retry_at)
        go = b->probing = 1;
    pthread_mutex_unlock(&b->lock);
    return go;
}

void ad_breaker_ok(ad_breaker *b)
{
    if (!__atomic_load_n(&b->open, __ATOMIC_ACQUIRE))
        return;
    pthread_mutex_lock(&b->lock);
    __atomic_store_n(&b->open, 0, __ATOMIC_RELEASE);
    b->probing = 0;
    b->failures = 0;
    pthread_mutex_unlock(&b->lock);
}

void ad_breaker_release(ad_breaker *b)
{
    if (!__atomic_load_n(&b->open, __ATOMIC_ACQUIRE))
        return;
    pthread_mutex_lock(&b->lock);
    b->probing = 0;
    pthread_mutex_unlock(&b->lock);
}

void ad_breaker_fail(ad_breaker *b, const char *why)
{
    pthread_mutex_lock(&b->lock);
    __atomic_store_n(&b->open, 1, __ATOMIC_RELEASE);
    b->probing = 0;
    b->failures++;
    b->retry_at = ad_clock_ms() + b->cooldown_ms;
    snprintf(b->why, sizeof b->why, "%s", why ? why : "");
    pthread_mutex_unlock(&b->lock);
}

int ad_breaker_down(ad_breaker *b, char *why, size_t len)
{
    pthread_mutex_lock(&b->lock);
    int down = b->open;
    if (down && why)
        snprintf(why, len, "%s", b->why);
    pthread_mutex_unlock(&b->lock);
    return down;
}
