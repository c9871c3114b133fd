/* test_install.c — `make install PREFIX=...` on a temporary prefix: the
 * installed binary, run from elsewhere, finds its model, its ONNX Runtime
 * and its default config; the systemd unit passes `systemd-analyze verify`
 * where Debian's systemd is present. Run from the top of the checkout. */
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"

static int run(const char *cmd) { return system(cmd); }

TEST(an_installed_assetd_finds_everything_from_anywhere)
{
    char prefix[] = "/tmp/assetd-install-XXXXXX", cmd[4096], photo[2200], cwd[1024];
    REQUIRE(mkdtemp(prefix) != NULL);
    REQUIRE(getcwd(cwd, sizeof cwd) != NULL);
    const char *td = getenv("ASSETD_TESTDATA") ? getenv("ASSETD_TESTDATA") : "deps/testdata";
    snprintf(photo, sizeof photo, "%s%s/rocket.jpg", td[0] == '/' ? "" : cwd, td[0] == '/' ? td : "/deps/testdata");
    snprintf(cmd, sizeof cmd, "make -s install PREFIX=%s/usr/local >/dev/null", prefix);
    REQUIRE(run(cmd) == 0);
    /* a copied layout, a different working directory, no checkout around;
     * the int8 ranges this machine's setup measured are found by content
     * in a fresh cache (the installed model is the same file) */
    snprintf(cmd, sizeof cmd,
             "mkdir %s/cache && cp deps/model-cache/calib-*.txt %s/cache/ && ls %s/usr/local/lib/assetd/calibration | "
             "grep -q .jpg",
             prefix, prefix, prefix);
    CHECK(run(cmd) == 0);
    snprintf(cmd, sizeof cmd,
             "cd / && env -u ASSETD_CONFIG %s/usr/local/bin/assetd remove --model-cache-dir %s/cache %s %s/out.png "
             "2>%s/err.txt",
             prefix, prefix, photo, prefix, prefix);
    int rc = run(cmd);
    char path[2400];
    snprintf(path, sizeof path, "%s/out.png", prefix);
    struct stat st;
    CHECKF(rc == 0 && stat(path, &st) == 0 && st.st_size > 1000, "rc %d", rc);
    snprintf(path, sizeof path, "%s/usr/local/etc/assetd/assetd.conf", prefix);
    CHECK(stat(path, &st) == 0);
    /* the installed binary reads its installed config: help shows the value */
    snprintf(cmd, sizeof cmd, "cd / && env -u ASSETD_CONFIG %s/usr/local/bin/assetd help | grep -q 'models'", prefix);
    CHECK(run(cmd) == 0);
    snprintf(cmd, sizeof cmd, "%s/usr/local/bin/assetd --version | grep -q '^assetd '", prefix);
    CHECK(run(cmd) == 0);
    if (run("command -v systemd-analyze >/dev/null 2>&1") == 0) {
        snprintf(cmd, sizeof cmd, "systemd-analyze verify %s/usr/local/lib/systemd/system/assetd.service", prefix);
        CHECK(run(cmd) == 0);
        snprintf(cmd, sizeof cmd,
                 "grep -q '^ProtectSystem=strict' %s/usr/local/lib/systemd/system/assetd.service && "
                 "grep -q '^NoNewPrivileges=yes' %s/usr/local/lib/systemd/system/assetd.service && "
                 "grep -q '^User=assetd' %s/usr/local/lib/systemd/system/assetd.service && "
                 "grep -q 'ASSETD_DATA_DIR=/var/lib/assetd' %s/usr/local/lib/systemd/system/assetd.service",
                 prefix, prefix, prefix, prefix);
        CHECK(run(cmd) == 0);
    } else {
        printf("    systemd-analyze absent: the unit is not verified here\n");
    }
    snprintf(cmd, sizeof cmd, "make -s uninstall PREFIX=%s/usr/local >/dev/null && rm -rf %s", prefix, prefix);
    CHECK(run(cmd) == 0);
}
