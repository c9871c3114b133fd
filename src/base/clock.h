/* clock.h — monotonic time for measurements and deadlines. */
#ifndef AD_BASE_CLOCK_H
#define AD_BASE_CLOCK_H

#include <time.h>

static inline double ad_clock_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

#endif
