/* test_config.c — config/: the settings table, its precedence (default <
 * file < environment < flag), its errors, and secrets. */
#include <stdlib.h>
#include <unistd.h>

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
