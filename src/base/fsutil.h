/* fsutil.h — durable file operations: whole-file reads and atomic writes that
 * survive a crash (temp file in the same directory, fsync, rename, fsync of the
 * directory). A reader sees the old file or the new one, never a mix, and a
 * failed write leaves no partial file behind. */
#ifndef AD_BASE_FSUTIL_H
#define AD_BASE_FSUTIL_H

#include <stddef.h>

#include "base/err.h"

/* Read a whole file into a new malloc'd buffer (caller frees *out). Fails with
 * AD_ENOTFOUND, AD_EIO, or AD_ETOOBIG when larger than max_len bytes. */
ad_status ad_file_read(const char *path, size_t max_len, void **out, size_t *out_len, ad_err *err);

/* A file's identity by content, cheaply: SHA-256 (hex) of its first and
 * last MiB, into out; "-" when it cannot be read. The same bytes give the
 * same identity wherever they are copied (an installed file, an image's
 * layer), whatever their path, inode or time stamps. */
void ad_file_ends_sha256(const char *path, char out[65]);

/* Write len bytes to path atomically and durably, created with mode (the
 * umask applies). On failure the temporary file is removed and path is
 * untouched. */
ad_status ad_file_write_atomic(const char *path, const void *data, size_t len, int mode, ad_err *err);

/* The steps of an atomic write, for bytes that arrive in pieces: a new
 * temporary file beside path (name into tmp, named "<path>.tmp.<random>",
 * which start-up sweeps recognise), writes, then publish: fsync, close,
 * rename to path, fsync of the directory. publish closes fd and removes tmp
 * on failure; a caller giving up before publish closes and unlinks. */
ad_status ad_file_tmp_open(const char *path, int mode, char tmp[4096], int *fd, ad_err *err);
ad_status ad_file_write_all(int fd, const void *data, size_t len, ad_err *err);
ad_status ad_file_publish(int fd, const char *tmp, const char *path, ad_err *err);

/* fsync the directory holding path (after a rename or unlink in it). */
ad_status ad_dir_sync_for(const char *path, ad_err *err);

#endif
