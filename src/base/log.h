/* log.h — one line per event on stderr: time, level, module, message (with
 * key=value pairs written by the caller). Only the front (cli/, http wiring,
 * job runner) logs; library-like modules return errors instead. */
#ifndef AD_BASE_LOG_H
#define AD_BASE_LOG_H

typedef enum { AD_LOG_DEBUG, AD_LOG_INFO, AD_LOG_WARN, AD_LOG_ERROR } ad_log_level;

/* Thread-safe: the line is written with one call. */
void ad_log(ad_log_level level, const char *module, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
