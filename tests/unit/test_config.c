/* test_config.c — config/: the settings table, its precedence (default <
 * file < environment < flag), its errors, and secrets. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "calib/model_open.h"
#include "config/config.h"
#include "harness.h"

TEST(precedence_is_default_env_flag)
{
    setenv("ASSETD_MODEL_DIR", "/env/models", 1);
    setenv("ASSETD_ORT_THREADS", "3", 1);
    char a0[] = "assetd", a1[] = "serve", a2[] = "--ort-threads", a3[] = "5", a4[] = "--model=small", a5[] = "x";
    char *argv[] = {a0, a1, a2, a3, a4, a5, NULL};
    int argc = 6;
    ad_config c;
    ad_err e = AD_ERR_INIT;
    CHECK(ad_config_load(&c, &argc, argv, &e) == AD_OK);
    CHECK(strcmp(c.model_dir, "/env/models") == 0); /* env over default */
    CHECK(c.ort_threads == 5);                      /* flag over env */
    CHECK(strcmp(c.model, "small") == 0);
    CHECK(c.max_pixels == 100000000); /* default */
    CHECK(argc == 3 && strcmp(argv[1], "serve") == 0 && strcmp(argv[2], "x") == 0);
    ad_config_cleanup(&c);
    unsetenv("ASSETD_MODEL_DIR");
    unsetenv("ASSETD_ORT_THREADS");
}

TEST(errors_name_the_setting)
{
    char a0[] = "assetd", a1[] = "--ort-threads", a2[] = "lots";
    char *argv[] = {a0, a1, a2, NULL};
    int argc = 3;
    ad_config c;
    ad_err e = AD_ERR_INIT;
    CHECK(ad_config_load(&c, &argc, argv, &e) == AD_EINVAL);
    CHECK(strstr(e.msg, "ort_threads") != NULL);
    ad_config_cleanup(&c);
    char b1[] = "--model", b2[] = "huge";
    char *argv2[] = {a0, b1, b2, NULL};
    argc = 3;
    ad_err e2 = AD_ERR_INIT;
    CHECK(ad_config_load(&c, &argc, argv2, &e2) == AD_EINVAL);
    CHECK(strstr(e2.msg, "huge") != NULL);
    ad_config_cleanup(&c);
    char c1[] = "--max-pixels", c2[] = "0";
    char *argv3[] = {a0, c1, c2, NULL};
    argc = 3;
    ad_err e3 = AD_ERR_INIT;
    CHECK(ad_config_load(&c, &argc, argv3, &e3) == AD_EINVAL); /* below range */
    ad_config_cleanup(&c);
}

TEST(a_config_file_sits_between_defaults_and_the_environment)
{
    char path[] = "/tmp/assetd-config-XXXXXX";
    int fd = mkstemp(path);
    REQUIRE(fd >= 0);
    const char *text = "# a deployment's settings\n"
                       "listen = 0.0.0.0:9000\n"
                       "--queue-depth = 3\n"
                       "ort-threads=2\n"
                       "data_dir = \"/var/lib/assetd\"\n"
                       "api_key = file-key-0123456789abcdef\n";
    REQUIRE(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
    close(fd);
    setenv("ASSETD_ORT_THREADS", "4", 1);
    char a0[] = "assetd", a1[] = "--config", a3[] = "--queue-depth", a4[] = "9";
    char *argv[] = {a0, a1, path, a3, a4, NULL};
    int argc = 5;
    ad_config c;
    ad_err e = AD_ERR_INIT;
    CHECK(ad_config_load(&c, &argc, argv, &e) == AD_OK);
    CHECK(strcmp(c.listen, "0.0.0.0:9000") == 0);      /* file over default */
    CHECK(c.ort_threads == 4);                         /* environment over file */
    CHECK(c.queue_depth == 9);                         /* flag over file */
    CHECK(strcmp(c.data_dir, "/var/lib/assetd") == 0); /* quotes taken off */
    CHECK(strcmp(c.api_key, "file-key-0123456789abcdef") == 0);
    CHECK(argc == 1);
    ad_config_cleanup(&c);
    unsetenv("ASSETD_ORT_THREADS");
    /* an unknown name is refused with its line */
    FILE *f = fopen(path, "w");
    REQUIRE(f != NULL);
    fputs("listen = 127.0.0.1:1\nlisten_port = 80\n", f);
    fclose(f);
    char *argv2[] = {a0, a1, path, NULL};
    argc = 3;
    ad_err e2 = AD_ERR_INIT;
    CHECK(ad_config_load(&c, &argc, argv2, &e2) == AD_EINVAL);
    CHECK(strstr(e2.msg, "line 2") != NULL && strstr(e2.msg, "listen_port") != NULL);
    ad_config_cleanup(&c);
    unlink(path);
    char missing[] = "/nonexistent/assetd.conf";
    char *argv3[] = {a0, a1, missing, NULL};
    argc = 3;
    ad_err e3 = AD_ERR_INIT;
    CHECK(ad_config_load(&c, &argc, argv3, &e3) == AD_EINVAL && strstr(e3.msg, "assetd.conf") != NULL);
    ad_config_cleanup(&c);
}

TEST(secrets_are_never_printed_by_help)
{
    setenv("ASSETD_API_KEY", "do-not-print-0123456789", 1);
    char buf[16384] = "";
    FILE *f = fmemopen(buf, sizeof buf - 1, "w");
    REQUIRE(f != NULL);
    ad_config_print_help(f);
    fclose(f);
    CHECK(strstr(buf, "--api-key") != NULL && strstr(buf, "secret") != NULL);
    CHECK(strstr(buf, "do-not-print") == NULL);
    CHECK(strstr(buf, "--config") != NULL && strstr(buf, "--gc-grace") != NULL);
    unsetenv("ASSETD_API_KEY");
}

/* Issue 34: the int8 model's weight bits follow the CPU unless forced, and
 * the precision named in ids and metrics says which (int8 / int8-w7). */
TEST(int8_weights_follow_the_cpu_unless_forced)
{
    static const struct {
        const char *value;
        int bits; /* 0: the CPU's (8 with VNNI, 7 without) */
    } rows[] = {{"auto", 0}, {"8", 8}, {"7", 7}};
    const int cpu = ad_model_cpu_has_vnni() ? 8 : 7;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        char a0[] = "assetd", a1[] = "--int8-weights", a2[8];
        snprintf(a2, sizeof a2, "%s", rows[i].value);
        char *argv[] = {a0, a1, a2, NULL};
        int argc = 3;
        ad_config c;
        ad_err e = AD_ERR_INIT;
        REQUIRE(ad_config_load(&c, &argc, argv, &e) == AD_OK);
        int want = rows[i].bits ? rows[i].bits : cpu;
        CHECKF(ad_calib_weight_bits(&c) == want, "%s: %d bits", rows[i].value, ad_calib_weight_bits(&c));
        CHECK(strcmp(ad_calib_precision(&c), want == 8 ? "int8" : "int8-w7") == 0);
        ad_config_cleanup(&c);
    }
    /* the environment forces it too (how the test command is run on the
     * 7-bit path on a VNNI machine) */
    setenv("ASSETD_INT8_WEIGHTS", "7", 1);
    char b0[] = "assetd";
    char *argv2[] = {b0, NULL};
    int argc = 1;
    ad_config c;
    ad_err e = AD_ERR_INIT;
    REQUIRE(ad_config_load(&c, &argc, argv2, &e) == AD_OK);
    CHECK(strcmp(ad_calib_precision(&c), "int8-w7") == 0);
    ad_config_cleanup(&c);
    unsetenv("ASSETD_INT8_WEIGHTS");
    /* anything else is refused, naming the setting */
    char d0[] = "assetd", d1[] = "--int8-weights", d2[] = "6";
    char *argv3[] = {d0, d1, d2, NULL};
    argc = 3;
    ad_err e3 = AD_ERR_INIT;
    CHECK(ad_config_load(&c, &argc, argv3, &e3) == AD_EINVAL && strstr(e3.msg, "int8_weights") != NULL);
    ad_config_cleanup(&c);
}
