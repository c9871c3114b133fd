/* test_matte.c — the pixel arithmetic around the model: rounding, the
 * reference's bilinear sampling, normalisation, quantisation, compose. */
#include "harness.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "matte/foreground.h"
#include "matte/mask_blob.h"
#include "matte/matte.h"

TEST(round_is_half_up_like_math_round)
{
    CHECK(ad_matte_round_u8(0.0) == 0);
    CHECK(ad_matte_round_u8(0.5) == 1);
    CHECK(ad_matte_round_u8(1.5) == 2);
    CHECK(ad_matte_round_u8(2.4999) == 2);
    CHECK(ad_matte_round_u8(0.49999999999999994) == 0); /* floor(v + 0.5) would say 1 */
    CHECK(ad_matte_round_u8(254.5) == 255);
    CHECK(ad_matte_round_u8(255.0) == 255);
}

TEST(resize_same_size_is_identity)
{
    uint8_t src[5 * 3 * 2], dst[5 * 3 * 2];
    for (int i = 0; i < 30; i++)
        src[i] = (uint8_t)(i * 37);
    ad_matte_resize_rows(src, 5, 3, 2, dst, 5, 3, 0, 3, AD_MATTE_GRID_REFERENCE);
    CHECK(memcmp(src, dst, sizeof src) == 0);
}

TEST(resize_uses_asymmetric_coordinates_and_clamps_the_edge)
{
    /* 2 -> 4 wide: x*0.5 = 0, .5, 1, 1.5 (the last clamps to column 1) */
    uint8_t src[2] = {0, 100}, dst[4];
    ad_matte_resize_rows(src, 2, 1, 1, dst, 4, 1, 0, 1, AD_MATTE_GRID_REFERENCE);
    CHECK(dst[0] == 0 && dst[1] == 50 && dst[2] == 100 && dst[3] == 100);
    /* 4 -> 2: samples columns 0 and 2, no averaging (as the reference) */
    uint8_t s4[4] = {10, 200, 30, 250}, d2[2];
    ad_matte_resize_rows(s4, 4, 1, 1, d2, 2, 1, 0, 1, AD_MATTE_GRID_REFERENCE);
    CHECK(d2[0] == 10 && d2[1] == 30);
    /* 3 -> 2: x = 0, 1.5 -> (200 + 31) / 2 = 115.5 -> 116 (half up) */
    uint8_t s3[3] = {9, 200, 31}, d3[2];
    ad_matte_resize_rows(s3, 3, 1, 1, d3, 2, 1, 0, 1, AD_MATTE_GRID_REFERENCE);
    CHECK(d3[0] == 9 && d3[1] == 116);
}

/* The presets' grid samples pixel centres: (x + 0.5) * scale - 0.5, clamped
 * to the edges, so the photo does not shift to the top left and the last
 * column is reached; the same size is still the identity. */
TEST(resize_on_the_centred_grid)
{
    /* 2 -> 4 wide: -0.25 (clamps to 0), 0.25, 0.75, 1.25 (clamps to 1) */
    uint8_t src[2] = {0, 100}, dst[4];
    ad_matte_resize_rows(src, 2, 1, 1, dst, 4, 1, 0, 1, AD_MATTE_GRID_CENTRED);
    CHECKF(dst[0] == 0 && dst[1] == 25 && dst[2] == 75 && dst[3] == 100, "%d %d %d %d", dst[0], dst[1], dst[2], dst[3]);
    /* 4 -> 2: x = 0.5 and 2.5, each the mean of two columns */
    uint8_t s4[4] = {10, 200, 30, 250}, d2[2];
    ad_matte_resize_rows(s4, 4, 1, 1, d2, 2, 1, 0, 1, AD_MATTE_GRID_CENTRED);
    CHECK(d2[0] == 105 && d2[1] == 140);
    uint8_t sq[5 * 3 * 2], dq[5 * 3 * 2];
    for (int i = 0; i < 30; i++)
        sq[i] = (uint8_t)(i * 37);
    ad_matte_resize_rows(sq, 5, 3, 2, dq, 5, 3, 0, 3, AD_MATTE_GRID_CENTRED);
    CHECK(memcmp(sq, dq, sizeof sq) == 0);
    /* the mask's scaler on the same grid: a 2 x 1 mask to 4 x 2 */
    uint8_t m[2] = {0, 255}, row[4];
    ad_matte_scaler sc;
    ad_err err = AD_ERR_INIT;
    REQUIRE(ad_matte_scaler_init(&sc, m, 2, 1, 4, 2, AD_MATTE_GRID_CENTRED, &err) == AD_OK);
    ad_matte_scaler_row(&sc, 1, row, 1);
    CHECKF(row[0] == 0 && row[1] == 64 && row[2] == 191 && row[3] == 255, "%d %d %d %d", row[0], row[1], row[2],
           row[3]);
    ad_matte_scaler_cleanup(&sc);
}

TEST(resize_rows_split_equals_whole)
{
    enum { SW = 37, SH = 23, DW = 64, DH = 50 };
    uint8_t src[SW * SH * 3], a[DW * DH * 3], b[DW * DH * 3];
    for (int i = 0; i < SW * SH * 3; i++)
        src[i] = (uint8_t)((i * 7919) >> 3);
    ad_matte_resize_rows(src, SW, SH, 3, a, DW, DH, 0, DH, AD_MATTE_GRID_REFERENCE);
    ad_matte_resize_rows(src, SW, SH, 3, b, DW, DH, 0, 17, AD_MATTE_GRID_REFERENCE);
    ad_matte_resize_rows(src, SW, SH, 3, b, DW, DH, 17, DH, AD_MATTE_GRID_REFERENCE);
    CHECK(memcmp(a, b, sizeof a) == 0);
}

TEST(prepare_input_normalises_planar_rgb)
{
    ad_pixmap rgb;
    ad_err err = AD_ERR_INIT;
    REQUIRE(ad_pixmap_init(&rgb, 3, 2, 3, &err) == AD_OK);
    for (int i = 0; i < 6; i++) {
        rgb.data[3 * i] = 255;
        rgb.data[3 * i + 1] = 0;
        rgb.data[3 * i + 2] = 128;
    }
    const int side = 8;
    float t[3 * 8 * 8];
    REQUIRE(ad_matte_prepare_input(&rgb, side, AD_MATTE_GRID_REFERENCE, t, &err) == AD_OK);
    for (int i = 0; i < side * side; i++) {
        CHECK(t[i] == 0.49609375f);            /* (255 - 128) / 256 */
        CHECK(t[i + side * side] == -0.5f);    /* (0 - 128) / 256 */
        CHECK(t[i + 2 * side * side] == 0.0f); /* (128 - 128) / 256 */
    }
    ad_pixmap grey = {0};
    REQUIRE(ad_pixmap_init(&grey, 2, 2, 1, &err) == AD_OK);
    ad_err e2 = AD_ERR_INIT;
    CHECK(ad_matte_prepare_input(&grey, side, AD_MATTE_GRID_REFERENCE, t, &e2) == AD_EINVAL);
    ad_pixmap_cleanup(&grey);
    ad_pixmap_cleanup(&rgb);
}

TEST(quantise_floors_in_double_and_clamps)
{
    float p[7] = {0.0f, 1.0f, 0.5f, -0.1f, 1.2f, 0.999f, 0.003921569f};
    uint8_t m[7];
    ad_matte_quantise(p, 7, m);
    CHECK(m[0] == 0);
    CHECK(m[1] == 255);
    CHECK(m[2] == 127); /* 127.5 floors */
    CHECK(m[3] == 0);
    CHECK(m[4] == 255);
    CHECK(m[5] == 254);
    /* 0.003921569f * 255 in double is 1.0000001 -> 1; in float it would be
     * computed differently near integers, the reason for doubles */
    CHECK(m[6] == 1);
}

TEST(compose_keeps_rgb_and_takes_alpha_from_the_upscaled_mask)
{
    enum { W = 9, H = 7 };
    ad_pixmap rgb, out;
    ad_err err = AD_ERR_INIT;
    REQUIRE(ad_pixmap_init(&rgb, W, H, 3, &err) == AD_OK);
    REQUIRE(ad_pixmap_init(&out, W, H, 4, &err) == AD_OK);
    for (int i = 0; i < W * H * 3; i++)
        rgb.data[i] = (uint8_t)(i * 13);
    /* 2x2 mask: left column opaque, right transparent */
    uint8_t mask[4] = {255, 0, 255, 0};
    REQUIRE(ad_matte_compose(&rgb, mask, 2, 2, &out, AD_MATTE_GRID_REFERENCE, 3, &err) == AD_OK);
    uint8_t ref[W];
    uint8_t one[2] = {255, 0};
    ad_matte_resize_rows(one, 2, 1, 1, ref, W, 1, 0, 1, AD_MATTE_GRID_REFERENCE);
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            const uint8_t *o = out.data + (y * W + x) * 4, *i = rgb.data + (y * W + x) * 3;
            CHECK(o[0] == i[0] && o[1] == i[1] && o[2] == i[2]);
            CHECK(o[3] == ref[x]);
        }
    CHECK(out.data[3] == 255);             /* x = 0 */
    CHECK(out.data[(W - 1) * 4 + 3] == 0); /* x = 8 samples 1.78 -> clamps to column 1 */
    ad_pixmap_cleanup(&rgb);
    ad_pixmap_cleanup(&out);
}

TEST(upscale_threads_do_not_change_the_result)
{
    enum { MW = 16, MH = 16, W = 301, H = 203 };
    uint8_t mask[MW * MH];
    for (int i = 0; i < MW * MH; i++)
        mask[i] = (uint8_t)(i * 31);
    ad_pixmap a, b;
    ad_err err = AD_ERR_INIT;
    REQUIRE(ad_pixmap_init(&a, W, H, 1, &err) == AD_OK);
    REQUIRE(ad_pixmap_init(&b, W, H, 1, &err) == AD_OK);
    REQUIRE(ad_matte_upscale(mask, MW, MH, &a, AD_MATTE_GRID_REFERENCE, 1, &err) == AD_OK);
    REQUIRE(ad_matte_upscale(mask, MW, MH, &b, AD_MATTE_GRID_REFERENCE, 7, &err) == AD_OK);
    CHECK(memcmp(a.data, b.data, W * H) == 0);
    uint8_t ref[W * H];
    ad_matte_resize_rows(mask, MW, MH, 1, ref, W, H, 0, H, AD_MATTE_GRID_REFERENCE);
    CHECK(memcmp(a.data, ref, W * H) == 0);
    ad_pixmap_cleanup(&a);
    ad_pixmap_cleanup(&b);
}

TEST(scaler_rejects_bad_sizes)
{
    ad_matte_scaler s;
    ad_err err = AD_ERR_INIT;
    uint8_t m[1] = {0};
    CHECK(ad_matte_scaler_init(&s, m, 1, 1, 0, 5, AD_MATTE_GRID_REFERENCE, &err) == AD_EINVAL);
    ad_matte_scaler_cleanup(&s);
}

/* The presets' arithmetic: the curve leans to the subject (0.378 is its
 * midpoint), keeps 0 and 1 and sharpens the rest, but leaves the tails one
 * 8-bit level per doubling; the mirrored pass comes back to the right
 * columns and is combined as a soft maximum. */
TEST(curve_and_mirrored_combination)
{
    const double lean = exp(0.5);
    float p[7] = {0.0f, 0.25f, (float)(1.0 / (1.0 + lean)), 0.75f, 1.0f, 0.45f, 0.004f};
    ad_matte_curve(p, 7);
    CHECK(p[0] == 0.0f && p[4] == 1.0f);
    CHECKF(p[2] > 0.4999f && p[2] < 0.5001f, "the midpoint: %f", p[2]);
    /* 0.25 leans to 0.3547, smoothstep x4 takes that to 0.0309 */
    CHECKF(p[1] > 0.0308f && p[1] < 0.0309f, "0.25: %f", p[1]);
    /* 0.45 leans to 0.574: 0.8278 after four smoothsteps */
    CHECKF(p[5] > 0.8277f && p[5] < 0.8279f, "0.45: %f", p[5]);
    /* 0.75 leans to 0.846: four smoothsteps would give 0.99999, the tail
     * holds it at 1 - log2(15.39) / 255 */
    CHECKF(p[3] > 0.9839f && p[3] < 0.9841f, "0.75: %f", p[3]);
    uint8_t q[7];
    ad_matte_quantise(p, 7, q);
    CHECK(q[6] == 0); /* below 1 % after the lean: background */
    /* in the tail each doubling (of the leaned probability) is a level of
     * its own, in order (at 0.35 the smoothsteps are steeper again) */
    float tail[6];
    for (int i = 0; i < 6; i++) {
        double l = 0.011 * (1 << i);
        tail[i] = (float)(l / (l + lean * (1.0 - l)));
    }
    uint8_t tq[6];
    ad_matte_curve(tail, 6);
    ad_matte_quantise(tail, 6, tq);
    for (int i = 1; i < 6; i++)
        CHECKF(i < 5 ? tq[i] == tq[i - 1] + 1 : tq[i] > tq[i - 1], "level %d: %d after %d", i, tq[i], tq[i - 1]);
    float t[2 * 3 * 3];
    for (int i = 0; i < 18; i++)
        t[i] = (float)i;
    ad_matte_flip_planes(t, 2, 3);
    CHECK(t[0] == 2 && t[1] == 1 && t[2] == 0 && t[9] == 11 && t[17] == 15);
    /* 3 x 3 maps; flipped is the mirrored pass, so its row is read backwards */
    float prob[9] = {0.9f, 0.5f, 0.6f, 0, 0, 0, 0, 0, 0}, flipped[9] = {0.2f, 0.5f, 0.0f, 0, 0, 0, 0, 0, 0};
    ad_matte_combine_mirrored(prob, flipped, 3);
    /* ((0.9^4 + 0^4) / 2)^(1/4) = 0.7568: a miss does not halve the finding */
    CHECKF(prob[0] > 0.7567f && prob[0] < 0.7569f, "0.9 and 0: %f", prob[0]);
    CHECKF(prob[1] > 0.4999f && prob[1] < 0.5001f, "agreement: %f", prob[1]);
    /* 0.6 and 0.2: 0.5061, near the larger (the mean would be 0.4) */
    CHECKF(prob[2] > 0.506f && prob[2] < 0.5062f, "0.6 and 0.2: %f", prob[2]);
    CHECK(prob[3] == 0.0f && prob[8] == 0.0f);
}

/* Foreground estimation on a synthetic picture whose truth is known: a
 * textured subject F over a different background B, mixed by a soft alpha
 * (a ramp and hair-like strands). The estimate must be much nearer F than
 * the mixed pixels are, where alpha is soft, and opaque pixels must keep
 * their colour exactly. */
TEST(foreground_estimation_recovers_the_subject_colour)
{
    const int w = 240, h = 160;
    ad_pixmap img, est;
    ad_err e = AD_ERR_INIT;
    REQUIRE(ad_pixmap_init(&img, w, h, 3, &e) == AD_OK && ad_pixmap_init(&est, w, h, 3, &e) == AD_OK);
    uint8_t *alpha = malloc((size_t)w * h);
    float *F = malloc(sizeof(float) * 3 * w * h);
    REQUIRE(alpha && F);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            size_t i = (size_t)y * w + x;
            /* subject: warm, textured; background: a cold gradient */
            float f[3] = {0.85f - 0.2f * ((x / 7 + y / 5) % 2), 0.45f + 0.1f * ((x + y) % 3) / 2.0f, 0.2f};
            float b[3] = {0.1f, 0.3f + 0.5f * (float)y / h, 0.9f};
            float a = x < 80 ? 1.0f : x > 160 ? 0.0f : 1.0f - (float)(x - 80) / 80.0f;
            if (x > 100 && x < 200 && (x % 9 == 0 || x % 9 == 1)) /* strands */
                a = a > 0.55f ? a : 0.55f;
            alpha[i] = (uint8_t)(a * 255.0f + 0.5f);
            a = alpha[i] / 255.0f;
            for (int k = 0; k < 3; k++) {
                F[3 * i + k] = f[k];
                img.data[3 * i + k] = (uint8_t)((a * f[k] + (1 - a) * b[k]) * 255.0f + 0.5f);
            }
        }
    REQUIRE(ad_matte_foreground(&img, alpha, &est, 2, &e) == AD_OK);
    double err_mixed = 0, err_est = 0;
    long soft = 0, opaque_changed = 0;
    for (size_t i = 0; i < (size_t)w * h; i++) {
        if (alpha[i] == 255) {
            opaque_changed += memcmp(img.data + 3 * i, est.data + 3 * i, 3) != 0;
            continue;
        }
        if (alpha[i] < 26) /* barely there: any colour is fine */
            continue;
        soft++;
        for (int k = 0; k < 3; k++) {
            err_mixed += fabs(img.data[3 * i + k] / 255.0 - F[3 * i + k]);
            err_est += fabs(est.data[3 * i + k] / 255.0 - F[3 * i + k]);
        }
    }
    err_mixed /= (double)soft * 3;
    err_est /= (double)soft * 3;
    printf("    soft pixels %ld: colour error %.4f as mixed, %.4f estimated\n", soft, err_mixed, err_est);
    CHECK(soft > 1000 && opaque_changed == 0);
    CHECK(err_est < err_mixed * 0.35);
    /* a wrong shape is refused */
    ad_pixmap grey = {w, h, 1, NULL};
    ad_err e2 = AD_ERR_INIT;
    CHECK(ad_matte_foreground(&grey, alpha, &est, 1, &e2) == AD_EINVAL);
    free(alpha);
    free(F);
    ad_pixmap_cleanup(&img);
    ad_pixmap_cleanup(&est);
}

TEST(a_stored_mask_round_trips_and_any_damage_is_refused)
{
    enum { W = 96, H = 64 };
    uint8_t mask[W * H];
    for (int i = 0; i < W * H; i++)
        mask[i] = (uint8_t)(i % W < 40 ? 0 : i % W > 50 ? 255 : (i % W - 40) * 25);
    void *blob;
    size_t len;
    ad_err e = AD_ERR_INIT;
    REQUIRE(ad_mask_blob_encode(mask, W, H, &blob, &len, &e) == AD_OK);
    CHECK(len < sizeof mask / 4); /* runs deflate well */
    uint8_t *back = NULL;
    REQUIRE(ad_mask_blob_decode(blob, len, W, H, &back, &e) == AD_OK);
    CHECK(memcmp(back, mask, sizeof mask) == 0);
    free(back);
    /* another size, a flipped byte anywhere, a cut: refused, nothing made */
    ad_err e1 = AD_ERR_INIT;
    CHECK(ad_mask_blob_decode(blob, len, W, W, &back, &e1) == AD_EINVAL && back == NULL);
    int refused = 0;
    for (size_t at = 0; at < len; at++) {
        uint8_t *b = blob;
        b[at] ^= 0x01;
        ad_err e2 = AD_ERR_INIT;
        if (ad_mask_blob_decode(blob, len, W, H, &back, &e2) == AD_EINVAL && back == NULL)
            refused++;
        else
            free(back);
        b[at] ^= 0x01;
    }
    CHECKF(refused == (int)len, "%d of %zu flipped bytes refused", refused, len);
    ad_err e3 = AD_ERR_INIT;
    CHECK(ad_mask_blob_decode(blob, len - 1, W, H, &back, &e3) == AD_EINVAL && back == NULL);
    ad_err e4 = AD_ERR_INIT;
    void *none = NULL;
    CHECK(ad_mask_blob_encode(mask, 0, H, &none, &len, &e4) == AD_EINVAL && none == NULL);
    free(blob);
}
