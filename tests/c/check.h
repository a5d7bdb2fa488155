/* One-line-per-check bookkeeping shared by the C test programs (test_convtrack.c,
 * test_feed.c, test_boundary.c, test_sources.c, test_cookies.c): `check(ok, fmt, ...)` prints
 * "ok   - ..." or "FAIL - ..." and counts; and the outbox helpers they share. */
#ifndef CONVTRACK_TESTS_CHECK_H
#define CONVTRACK_TESTS_CHECK_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "convtrack.h"

static int passed = 0;
static int failed = 0;

static bool check(bool ok, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    printf("%s - ", ok ? "ok  " : "FAIL");
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
    fflush(stdout);
    if (ok) {
        passed++;
    } else {
        failed++;
    }
    return ok;
}

/* The calling thread's last error message; caller frees. Never NULL. */
static inline char *last_error(void) {
    size_t n = convtrack_last_error_message(NULL, 0);
    char *buf = malloc(n + 1);
    if (buf == NULL) {
        abort();
    }
    size_t n2 = convtrack_last_error_message(buf, n + 1);
    if (n2 != n) {
        buf[0] = '\0';
    }
    buf[n] = '\0';
    return buf;
}

/* A string literal as the (ptr, len) pair the ABI takes. */
#define S(lit) (lit), (sizeof(lit) - 1)
/* A C string as a (ptr, len) pair. */
#define Z(str) (str), strlen(str)

/* Settings for a tracker with its outbox at `path` (data controls on), plus `extra` keys
 * (each followed by a comma, e.g. "\"unknown_consent\":\"hold\","). */
static inline void outbox_settings(char *buf, size_t n, const char *path, const char *extra) {
    snprintf(buf, n,
             "{\"pixel_id\":\"1234567890\",\"access_token\":\"EAAB-test\",\"data_controls\":true,%s"
             "\"outbox_path\":\"%s\"}",
             extra, path);
}

/* Removes an outbox and the -wal/-shm/-journal files SQLite may leave next to it. */
static inline void remove_outbox(const char *path) {
    const char *suffixes[] = {"", "-wal", "-shm", "-journal"};
    for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
        char f[300];
        snprintf(f, sizeof f, "%s%s", path, suffixes[i]);
        remove(f);
    }
}

#endif
