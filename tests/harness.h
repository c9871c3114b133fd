/* harness.h — a tiny unit-test harness: TEST(name) defines and registers a
 * test, CHECK* record failures without stopping the test, SKIP() skips it.
 * Each binary ends with "RESULT passed=N failed=M skipped=K" for
 * scripts/test.sh to add up, and exits non-zero on any failure. */
#ifndef AD_TESTS_HARNESS_H
#define AD_TESTS_HARNESS_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef void (*test_fn)(void);
static struct {
    const char *name;
    test_fn run;
} test_list[256];
static int test_count;
static int test_failed_now, test_skipped_now;

#define TEST(fn)                                                 \
    static void fn(void);                                        \
    __attribute__((constructor)) static void register_##fn(void) \
    {                                                            \
        test_list[test_count].name = #fn;                        \
        test_list[test_count++].run = fn;                        \
    }                                                            \
    static void fn(void)

#define CHECK(cond)                                                             \
    do {                                                                        \
        if (!(cond)) {                                                          \
            printf("    %s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond); \
            test_failed_now = 1;                                                \
        }                                                                       \
    } while (0)

#define CHECKF(cond, ...)                                                       \
    do {                                                                        \
        if (!(cond)) {                                                          \
            printf("    %s:%d: CHECK(%s) failed: ", __FILE__, __LINE__, #cond); \
            printf(__VA_ARGS__);                                                \
            printf("\n");                                                       \
            test_failed_now = 1;                                                \
        }                                                                       \
    } while (0)

/* Stop the current test when a precondition failed. */
#define REQUIRE(cond)                                                             \
    do {                                                                          \
        if (!(cond)) {                                                            \
            printf("    %s:%d: REQUIRE(%s) failed\n", __FILE__, __LINE__, #cond); \
            test_failed_now = 1;                                                  \
            return;                                                               \
        }                                                                         \
    } while (0)

#define SKIP(...)                \
    do {                         \
        printf("    skipped: "); \
        printf(__VA_ARGS__);     \
        printf("\n");            \
        test_skipped_now = 1;    \
        return;                  \
    } while (0)

/* Optional per-binary setup, run before the tests (define HARNESS_SETUP). */
#ifdef HARNESS_SETUP
static void HARNESS_SETUP(void);
#endif

int main(int argc, char **argv)
{
    int passed = 0, failed = 0, skipped = 0;
    const char *only = argc > 1 ? argv[1] : NULL;
#ifdef HARNESS_SETUP
    HARNESS_SETUP();
#endif
    for (int i = 0; i < test_count; i++) {
        if (only && strcmp(only, test_list[i].name) != 0)
            continue;
        test_failed_now = test_skipped_now = 0;
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        test_list[i].run();
        clock_gettime(CLOCK_MONOTONIC, &t1);
        /* a test's seconds, where there are any: where the suite's time goes */
        double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
        char took[32] = "";
        if (secs >= 1.0)
            snprintf(took, sizeof took, " (%.1f s)", secs);
        if (test_failed_now) {
            failed++;
            printf("FAIL %s%s\n", test_list[i].name, took);
        } else if (test_skipped_now) {
            skipped++;
            printf("skip %s%s\n", test_list[i].name, took);
        } else {
            passed++;
            printf("ok   %s%s\n", test_list[i].name, took);
        }
        fflush(stdout);
    }
    printf("RESULT passed=%d failed=%d skipped=%d\n", passed, failed, skipped);
    return failed ? 1 : 0;
}

#endif
