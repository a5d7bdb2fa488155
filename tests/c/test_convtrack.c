/*
 * C conformance test for the convtrack C ABI (include/convtrack.h): the
 * contract of DESIGN.md "C ABI", one printed line per check. Every function's
 * success path, NULL for every pointer argument, invalid UTF-8, malformed JSON,
 * out-params untouched on failure and on DROPPED, last-error semantics,
 * messages free of PII/token, free(NULL), hostile pixel input, threads, the
 * health check and the test event (against a one-shot HTTP server on loopback).
 * (tests/c/test_abi.c is the companion that also drives delivery.)
 *
 * Built with -std=c11 -Wall -Wextra -Werror and run under AddressSanitizer,
 * LeakSanitizer and UBSan by tests/c/run.sh. Prints one line per check and
 * ends with "N passed, M failed"; exits 1 on any failure.
 *
 * Usage: test_convtrack [path/to/tests/vectors/event_ids.json]
 */
#define _POSIX_C_SOURCE 200809L

#include "convtrack.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

/* ------------------------------------------------------------------------ */
/* Check bookkeeping                                                         */
/* ------------------------------------------------------------------------ */

#include "check.h"

static const char *status_str(convtrack_status s) { return convtrack_status_name(s); }

/* Sentinels for "out-param untouched" checks: a pointer value that no
 * successful call could ever write. */
static char out_sentinel_storage;
#define OUT_SENTINEL ((char *)&out_sentinel_storage)
#define TRACKER_SENTINEL ((convtrack_tracker *)(void *)&out_sentinel_storage)

/* After a check of an untouched out-param: if a call wrongly succeeded, release
 * what it returned and restore the sentinel so later checks stay independent. */
#define RESET_OUT(o)                                                                                         \
    do {                                                                                                     \
        if ((o) != OUT_SENTINEL) {                                                                           \
            convtrack_string_free(o);                                                                        \
            (o) = OUT_SENTINEL;                                                                              \
        }                                                                                                    \
    } while (0)
#define RESET_TRACKER(t)                                                                                     \
    do {                                                                                                     \
        if ((t) != TRACKER_SENTINEL) {                                                                       \
            convtrack_tracker_free(t);                                                                       \
            (t) = TRACKER_SENTINEL;                                                                          \
        }                                                                                                    \
    } while (0)

/* Checks a failure: expected status, out-param untouched, message non-empty,
 * message mentions `needle` (if given) and never `forbidden` (if given). */
static void expect_fail(const char *what, convtrack_status got, convtrack_status want, const void *out_after,
                        const void *out_before, const char *needle, const char *forbidden) {
    check(got == want, "%s: status %s (want %s)", what, status_str(got), status_str(want));
    check(out_after == out_before, "%s: out-param untouched", what);
    char *msg = last_error();
    check(msg[0] != '\0', "%s: last error message non-empty (\"%s\")", what, msg);
    if (needle != NULL) {
        check(strstr(msg, needle) != NULL, "%s: message names \"%s\"", what, needle);
    }
    if (forbidden != NULL) {
        check(strstr(msg, forbidden) == NULL, "%s: message does not contain the secret/PII value", what);
    }
    free(msg);
}

/* ------------------------------------------------------------------------ */
/* A tiny JSON reader: just enough to walk objects/arrays and decode strings */
/* ------------------------------------------------------------------------ */

static const char *ws(const char *p) {
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') {
        p++;
    }
    return p;
}

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static bool read_hex4(const char *p, unsigned *out) {
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        int h = hexval(p[i]);
        if (h < 0) return false;
        v = v * 16 + (unsigned)h;
    }
    *out = v;
    return true;
}

static size_t put_utf8(char *dst, unsigned cp) {
    if (cp < 0x80) {
        dst[0] = (char)cp;
        return 1;
    } else if (cp < 0x800) {
        dst[0] = (char)(0xC0 | (cp >> 6));
        dst[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    } else if (cp < 0x10000) {
        dst[0] = (char)(0xE0 | (cp >> 12));
        dst[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        dst[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    dst[0] = (char)(0xF0 | (cp >> 18));
    dst[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    dst[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    dst[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* Decodes the JSON string starting at `p` (which must point at '"').
 * Returns a malloc'd NUL-terminated string (or NULL on malformed input) and
 * sets *end to the character after the closing quote. */
static char *json_string(const char *p, const char **end) {
    if (*p != '"') return NULL;
    p++;
    size_t cap = 16;
    for (const char *q = p; *q && *q != '"'; q++) {
        cap++;
        if (*q == '\\' && q[1]) q++, cap++;
    }
    char *out = malloc(cap * 2 + 8);
    if (out == NULL) abort();
    size_t n = 0;
    while (*p != '"') {
        if (*p == '\0') {
            free(out);
            return NULL;
        }
        if (*p != '\\') {
            out[n++] = *p++;
            continue;
        }
        p++;
        switch (*p) {
        case '"': out[n++] = '"'; break;
        case '\\': out[n++] = '\\'; break;
        case '/': out[n++] = '/'; break;
        case 'b': out[n++] = '\b'; break;
        case 'f': out[n++] = '\f'; break;
        case 'n': out[n++] = '\n'; break;
        case 'r': out[n++] = '\r'; break;
        case 't': out[n++] = '\t'; break;
        case 'u': {
            unsigned cp;
            if (!read_hex4(p + 1, &cp)) {
                free(out);
                return NULL;
            }
            p += 4;
            if (cp >= 0xD800 && cp <= 0xDBFF && p[1] == '\\' && p[2] == 'u') {
                unsigned lo;
                if (read_hex4(p + 3, &lo) && lo >= 0xDC00 && lo <= 0xDFFF) {
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                    p += 6;
                }
            }
            n += put_utf8(out + n, cp);
            break;
        }
        default:
            free(out);
            return NULL;
        }
        p++;
    }
    out[n] = '\0';
    if (end != NULL) *end = p + 1;
    return out;
}

/* Skips one JSON value starting at `p`; returns the position after it, or NULL. */
static const char *json_skip(const char *p) {
    p = ws(p);
    if (*p == '"') {
        p++;
        while (*p && *p != '"') {
            if (*p == '\\' && p[1]) p++;
            p++;
        }
        return *p ? p + 1 : NULL;
    }
    if (*p == '{' || *p == '[') {
        int depth = 0;
        do {
            if (*p == '\0') return NULL;
            if (*p == '"') {
                p = json_skip(p);
                if (p == NULL) return NULL;
                continue;
            }
            if (*p == '{' || *p == '[') depth++;
            if (*p == '}' || *p == ']') depth--;
            p++;
        } while (depth > 0);
        return p;
    }
    while (*p && *p != ',' && *p != '}' && *p != ']' && *p != ' ' && *p != '\n' && *p != '\r' && *p != '\t') {
        p++;
    }
    return p;
}

/* Returns a pointer to the value of member `key` of the object at `obj`
 * (direct members only), or NULL. */
static const char *json_member(const char *obj, const char *key) {
    if (obj == NULL) return NULL;
    const char *p = ws(obj);
    if (*p != '{') return NULL;
    p = ws(p + 1);
    while (*p == '"') {
        const char *after;
        char *k = json_string(p, &after);
        if (k == NULL) return NULL;
        p = ws(after);
        if (*p != ':') {
            free(k);
            return NULL;
        }
        p = ws(p + 1);
        bool match = strcmp(k, key) == 0;
        free(k);
        if (match) return p;
        p = json_skip(p);
        if (p == NULL) return NULL;
        p = ws(p);
        if (*p == ',') p = ws(p + 1);
    }
    return NULL;
}

/* Element `i` of the array at `arr`, or NULL. */
static const char *json_index(const char *arr, size_t i) {
    if (arr == NULL) return NULL;
    const char *p = ws(arr);
    if (*p != '[') return NULL;
    p = ws(p + 1);
    for (size_t k = 0; *p && *p != ']'; k++) {
        if (k == i) return p;
        p = json_skip(p);
        if (p == NULL) return NULL;
        p = ws(p);
        if (*p == ',') p = ws(p + 1);
    }
    return NULL;
}

/* The string member `key` of the object at `obj`, decoded; caller frees. NULL if absent/not a string. */
static char *json_get_string(const char *obj, const char *key) {
    const char *v = json_member(obj, key);
    if (v == NULL || *v != '"') return NULL;
    return json_string(v, NULL);
}

/* The integer member `key` of the object at `obj`, or -1 if absent or not a non-negative integer. */
static long json_get_int(const char *obj, const char *key) {
    const char *v = json_member(obj, key);
    if (v == NULL || *v < '0' || *v > '9') return -1;
    return strtol(v, NULL, 10);
}

static char *read_file(const char *path, size_t *len_out) {
    FILE *f = fopen(path, "rb");
    if (f == NULL) return NULL;
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    if (buf == NULL) abort();
    for (;;) {
        if (n + 1024 + 1 > cap) {
            cap *= 2;
            char *nb = realloc(buf, cap);
            if (nb == NULL) abort();
            buf = nb;
        }
        size_t r = fread(buf + n, 1, cap - n - 1, f);
        if (r == 0) break;
        n += r;
    }
    fclose(f);
    buf[n] = '\0';
    if (len_out != NULL) *len_out = n;
    return buf;
}

/* ------------------------------------------------------------------------ */
/* Shared fixtures                                                           */
/* ------------------------------------------------------------------------ */

static const char SETTINGS_OFF[] = "{\"pixel_id\":\"1234567890\"}";
static const char SETTINGS_ON[] = "{\"pixel_id\":\"1234567890\",\"access_token\":\"EAAB-test\",\"data_controls\":true}";

static const char HOSTILE_TITLE_JSON[] = "</script><script>alert(1)</script>";

static const char PURCHASE_EVENT[] =
    "{\"event_name\":\"Purchase\",\"order_id\":\"1001\","
    "\"event_source_url\":\"https://shop.example/thanks\",\"currency\":\"EUR\",\"value\":\"59.90\","
    "\"items\":[{\"id\":\"SKU-1\",\"quantity\":2,\"price\":\"19.95\","
    "\"title\":\"</script><script>alert(1)</script>\"}],"
    "\"customer\":{\"email\":\"  John.Smith@Example.COM \",\"country\":\"GB\"},"
    "\"browser\":{\"ip\":\"203.0.113.7\",\"user_agent\":\"Mozilla/5.0 (X11; Linux x86_64)\","
    "\"fbp\":\"fb.1.1700000000000.123\"},"
    "\"consent\":{\"marketing\":\"granted\"}}";

static const char EMAIL_SHA256[] = "8e621e3d0368631d263d07a351fa8d34fba0d17c15fbcdec11a5f58008d022a0";

static bool is_lower_hex(const char *s, size_t n) {
    if (strlen(s) != n) return false;
    for (size_t i = 0; i < n; i++) {
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) return false;
    }
    return true;
}

static convtrack_tracker *new_tracker(const char *settings) {
    convtrack_tracker *t = NULL;
    convtrack_status s = convtrack_tracker_new(Z(settings), &t);
    if (s != CONVTRACK_STATUS_OK || t == NULL) {
        char *msg = last_error();
        fprintf(stderr, "tracker_new failed: %s %s\n", status_str(s), msg);
        free(msg);
        return NULL;
    }
    return t;
}

/* ------------------------------------------------------------------------ */
/* Tests                                                                     */
/* ------------------------------------------------------------------------ */

static void test_version_and_status_names(void) {
    char want[64];
    snprintf(want, sizeof want, "%d.%d.%d", CONVTRACK_VERSION_MAJOR, CONVTRACK_VERSION_MINOR,
             CONVTRACK_VERSION_PATCH);
    const char *v = convtrack_version();
    check(v != NULL && strcmp(v, want) == 0, "convtrack_version() \"%s\" equals the version macros \"%s\"",
          v ? v : "(null)", want);
    check(convtrack_version() == v, "convtrack_version() is a static string (same pointer twice)");

#define NAME_CASE(x) {x, #x}
    static const struct {
        convtrack_status status;
        const char *name;
    } names[] = {
        NAME_CASE(CONVTRACK_STATUS_OK),
        NAME_CASE(CONVTRACK_STATUS_DROPPED),
        NAME_CASE(CONVTRACK_STATUS_NULL_POINTER),
        NAME_CASE(CONVTRACK_STATUS_INVALID_UTF8),
        NAME_CASE(CONVTRACK_STATUS_INVALID_ARGUMENT),
        NAME_CASE(CONVTRACK_STATUS_INVALID_JSON),
        NAME_CASE(CONVTRACK_STATUS_UNKNOWN_FIELD),
        NAME_CASE(CONVTRACK_STATUS_WRONG_TYPE),
        NAME_CASE(CONVTRACK_STATUS_MISSING_FIELD),
        NAME_CASE(CONVTRACK_STATUS_INVALID_VALUE),
        NAME_CASE(CONVTRACK_STATUS_TOO_LARGE),
        NAME_CASE(CONVTRACK_STATUS_EVENT_TIME_OUT_OF_RANGE),
        NAME_CASE(CONVTRACK_STATUS_INVALID_SETTING),
        NAME_CASE(CONVTRACK_STATUS_STORAGE),
        NAME_CASE(CONVTRACK_STATUS_NOT_CONFIGURED),
        NAME_CASE(CONVTRACK_STATUS_PANIC),
        NAME_CASE(CONVTRACK_STATUS_INTERNAL),
    };
#undef NAME_CASE
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        const char *got = convtrack_status_name(names[i].status);
        check(got != NULL && strcmp(got, names[i].name) == 0, "convtrack_status_name(%d) == \"%s\"",
              (int)names[i].status, names[i].name);
    }
    /* Fixed numbers, never renumbered. */
    check(CONVTRACK_STATUS_OK == 0 && CONVTRACK_STATUS_DROPPED == 1 && CONVTRACK_STATUS_NULL_POINTER == 100 &&
              CONVTRACK_STATUS_INVALID_UTF8 == 101 && CONVTRACK_STATUS_INVALID_ARGUMENT == 102 &&
              CONVTRACK_STATUS_INVALID_JSON == 200 && CONVTRACK_STATUS_UNKNOWN_FIELD == 201 &&
              CONVTRACK_STATUS_WRONG_TYPE == 202 && CONVTRACK_STATUS_MISSING_FIELD == 203 &&
              CONVTRACK_STATUS_INVALID_VALUE == 204 && CONVTRACK_STATUS_TOO_LARGE == 205 &&
              CONVTRACK_STATUS_EVENT_TIME_OUT_OF_RANGE == 206 && CONVTRACK_STATUS_INVALID_SETTING == 300 &&
              CONVTRACK_STATUS_STORAGE == 400 && CONVTRACK_STATUS_NOT_CONFIGURED == 401 &&
              CONVTRACK_STATUS_PANIC == 900 && CONVTRACK_STATUS_INTERNAL == 901,
          "status values have their fixed numbers");
    /* Any number is safe: unknown values have a name too. */
    check(strcmp(convtrack_status_name(42), "CONVTRACK_STATUS_UNKNOWN") == 0, "convtrack_status_name(42) is UNKNOWN");
    check(strcmp(convtrack_status_name(0xFFFFFFFFu), "CONVTRACK_STATUS_UNKNOWN") == 0, "convtrack_status_name(UINT32_MAX) is UNKNOWN");
}

static void test_normalize_and_hash(void) {
    char *out = NULL;
    convtrack_status s = convtrack_normalize(S("email"), S("  John.Smith@Example.COM "), NULL, 0, &out);
    check(s == CONVTRACK_STATUS_OK && out != NULL && strcmp(out, "john.smith@example.com") == 0,
          "convtrack_normalize(email) -> \"john.smith@example.com\" (%s)", status_str(s));
    check(convtrack_last_error_message(NULL, 0) == 0, "last error message is 0 after a successful normalize");
    convtrack_string_free(out);

    out = NULL;
    s = convtrack_normalize(S("em"), S("  John.Smith@Example.COM "), S(""), &out);
    check(s == CONVTRACK_STATUS_OK && out != NULL && strcmp(out, "john.smith@example.com") == 0,
          "convtrack_normalize(em alias, empty country) -> same");
    convtrack_string_free(out);

    out = NULL;
    s = convtrack_hash(S("email"), S("  John.Smith@Example.COM "), NULL, 0, &out);
    check(s == CONVTRACK_STATUS_OK && out != NULL && strcmp(out, EMAIL_SHA256) == 0,
          "convtrack_hash(email) == sha256(\"john.smith@example.com\")");
    check(out != NULL && is_lower_hex(out, 64), "convtrack_hash output is 64 lowercase hex digits");
    convtrack_string_free(out);

    out = NULL;
    s = convtrack_hash(S("email"), S("8E621E3D0368631D263D07A351FA8D34FBA0D17C15FBCDEC11A5F58008D022A0"), NULL, 0,
                       &out);
    check(s == CONVTRACK_STATUS_OK && out != NULL && strcmp(out, EMAIL_SHA256) == 0,
          "convtrack_hash passes an existing SHA-256 digest through, lowercased");
    convtrack_string_free(out);

    /* DROPPED: success without output; out untouched and no error message. */
    const char *fields[] = {"email", "phone", "first_name", "city", "zip"};
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        out = OUT_SENTINEL;
        s = convtrack_normalize(Z(fields[i]), S("   "), NULL, 0, &out);
        check(s == CONVTRACK_STATUS_DROPPED, "convtrack_normalize(%s, \"   \") -> DROPPED (%s)", fields[i],
              status_str(s));
        check(out == OUT_SENTINEL, "convtrack_normalize(%s) DROPPED leaves out-param untouched", fields[i]);
        check(convtrack_last_error_message(NULL, 0) == 0, "DROPPED sets no error message");
        out = OUT_SENTINEL;
        s = convtrack_hash(Z(fields[i]), S(""), NULL, 0, &out);
        check(s == CONVTRACK_STATUS_DROPPED && out == OUT_SENTINEL,
              "convtrack_hash(%s, \"\") -> DROPPED, out-param untouched (%s)", fields[i], status_str(s));
    }

    /* Unknown field name. */
    out = OUT_SENTINEL;
    s = convtrack_normalize(S("shoe_size"), S("42"), NULL, 0, &out);
    expect_fail("convtrack_normalize(unknown field)", s, CONVTRACK_STATUS_INVALID_ARGUMENT, out, OUT_SENTINEL,
                "field", NULL); RESET_OUT(out);
    out = OUT_SENTINEL;
    s = convtrack_hash(S("shoe_size"), S("42"), NULL, 0, &out);
    expect_fail("convtrack_hash(unknown field)", s, CONVTRACK_STATUS_INVALID_ARGUMENT, out, OUT_SENTINEL, NULL,
                NULL); RESET_OUT(out);
}

static void test_event_id_vectors(const char *vectors_path) {
    size_t len = 0;
    char *json = read_file(vectors_path, &len);
    if (!check(json != NULL, "read golden vectors from %s", vectors_path)) {
        return;
    }
    const char *arr = json_member(json, "vectors");
    check(arr != NULL && *arr == '[', "vectors file has a \"vectors\" array");
    size_t count = 0;
    for (size_t i = 0;; i++) {
        const char *v = json_index(arr, i);
        if (v == NULL) break;
        count++;
        char *pixel = json_get_string(v, "pixel_id");
        char *name = json_get_string(v, "event_name");
        char *order = json_get_string(v, "order_id");
        char *want = json_get_string(v, "event_id");
        if (!check(pixel && name && order && want, "vector %zu has four string fields", i)) {
            free(pixel), free(name), free(order), free(want);
            continue;
        }
        char *out = NULL;
        convtrack_status s = convtrack_event_id(Z(pixel), Z(name), Z(order), &out);
        check(s == CONVTRACK_STATUS_OK && out != NULL && strcmp(out, want) == 0,
              "convtrack_event_id(\"%s\", \"%s\", \"%s\") == %s (got %s, %s)", pixel, name, order, want,
              out ? out : "(none)", status_str(s));
        convtrack_string_free(out);
        free(pixel), free(name), free(order), free(want);
    }
    check(count >= 9, "read %zu golden vectors (at least 9)", count);
    free(json);

    /* Length is honoured: the bytes after len are not read (no NUL needed). */
    char buf[] = "1234567890XXXX";
    char *out = NULL;
    convtrack_status s = convtrack_event_id(buf, 10, S("Purchase"), "1001XXXX", 4, &out);
    check(s == CONVTRACK_STATUS_OK && out && strcmp(out, "ct1-d7e9cc60fe81416f8532add11d64ae24") == 0,
          "convtrack_event_id honours (ptr, len): non-NUL-terminated inputs");
    convtrack_string_free(out);

    /* Invalid pixel id. */
    out = OUT_SENTINEL;
    s = convtrack_event_id(S("not-digits"), S("Purchase"), S("1001"), &out);
    check(s != CONVTRACK_STATUS_OK && s != CONVTRACK_STATUS_DROPPED, "convtrack_event_id(bad pixel id) fails (%s)",
          status_str(s));
    check(out == OUT_SENTINEL, "convtrack_event_id(bad pixel id): out-param untouched");
    char *msg = last_error();
    check(strstr(msg, "pixel_id") != NULL, "convtrack_event_id(bad pixel id): message names pixel_id (\"%s\")",
          msg);
    free(msg);
}

static void test_null_pointers(void) {
    char *out = OUT_SENTINEL;
    convtrack_status s;

    s = convtrack_normalize(NULL, 5, S("x@y.z"), NULL, 0, &out);
    expect_fail("normalize(field=NULL)", s, CONVTRACK_STATUS_NULL_POINTER, out, OUT_SENTINEL, "field", NULL); RESET_OUT(out);
    s = convtrack_normalize(S("email"), NULL, 5, NULL, 0, &out);
    expect_fail("normalize(value=NULL)", s, CONVTRACK_STATUS_NULL_POINTER, out, OUT_SENTINEL, "value", NULL); RESET_OUT(out);
    s = convtrack_normalize(S("email"), S("x@y.z"), NULL, 0, NULL);
    expect_fail("normalize(out=NULL)", s, CONVTRACK_STATUS_NULL_POINTER, NULL, NULL, "out", NULL);

    s = convtrack_hash(NULL, 5, S("x@y.z"), NULL, 0, &out);
    expect_fail("hash(field=NULL)", s, CONVTRACK_STATUS_NULL_POINTER, out, OUT_SENTINEL, "field", NULL); RESET_OUT(out);
    s = convtrack_hash(S("email"), NULL, 5, NULL, 0, &out);
    expect_fail("hash(value=NULL)", s, CONVTRACK_STATUS_NULL_POINTER, out, OUT_SENTINEL, "value", NULL); RESET_OUT(out);
    s = convtrack_hash(S("email"), S("x@y.z"), NULL, 0, NULL);
    expect_fail("hash(out=NULL)", s, CONVTRACK_STATUS_NULL_POINTER, NULL, NULL, "out", NULL);

    s = convtrack_event_id(NULL, 10, S("Purchase"), S("1001"), &out);
    expect_fail("event_id(pixel_id=NULL)", s, CONVTRACK_STATUS_NULL_POINTER, out, OUT_SENTINEL, "pixel_id", NULL); RESET_OUT(out);
    s = convtrack_event_id(S("1234567890"), NULL, 8, S("1001"), &out);
    expect_fail("event_id(event_name=NULL)", s, CONVTRACK_STATUS_NULL_POINTER, out, OUT_SENTINEL, "event_name",
                NULL); RESET_OUT(out);
    s = convtrack_event_id(S("1234567890"), S("Purchase"), NULL, 4, &out);
    expect_fail("event_id(order_id=NULL)", s, CONVTRACK_STATUS_NULL_POINTER, out, OUT_SENTINEL, "order_id", NULL); RESET_OUT(out);
    s = convtrack_event_id(S("1234567890"), S("Purchase"), S("1001"), NULL);
    expect_fail("event_id(out=NULL)", s, CONVTRACK_STATUS_NULL_POINTER, NULL, NULL, "out", NULL);

    convtrack_tracker *t = TRACKER_SENTINEL;
    s = convtrack_tracker_new(NULL, 10, &t);
    expect_fail("tracker_new(settings=NULL)", s, CONVTRACK_STATUS_NULL_POINTER, t, TRACKER_SENTINEL,
                "settings", NULL); RESET_TRACKER(t);
    s = convtrack_tracker_new(S(SETTINGS_OFF), NULL);
    expect_fail("tracker_new(out=NULL)", s, CONVTRACK_STATUS_NULL_POINTER, NULL, NULL, "out", NULL);

    convtrack_tracker *tr = new_tracker(SETTINGS_OFF);
    if (!check(tr != NULL, "tracker for NULL-pointer build checks")) return;
    s = convtrack_tracker_build(NULL, S(PURCHASE_EVENT), NULL, 0, &out);
    expect_fail("tracker_build(tracker=NULL)", s, CONVTRACK_STATUS_NULL_POINTER, out, OUT_SENTINEL, "tracker",
                NULL); RESET_OUT(out);
    s = convtrack_tracker_build(tr, NULL, 10, NULL, 0, &out);
    expect_fail("tracker_build(event_json=NULL)", s, CONVTRACK_STATUS_NULL_POINTER, out, OUT_SENTINEL, "event",
                NULL); RESET_OUT(out);
    s = convtrack_tracker_build(tr, S(PURCHASE_EVENT), NULL, 0, NULL);
    expect_fail("tracker_build(out=NULL)", s, CONVTRACK_STATUS_NULL_POINTER, NULL, NULL, "out", NULL);
    /* options_json is optional: NULL and length 0 both mean "defaults". */
    out = NULL;
    s = convtrack_tracker_build(tr, S(PURCHASE_EVENT), NULL, 123, &out);
    check(s == CONVTRACK_STATUS_OK && out != NULL, "tracker_build(options_json=NULL) uses defaults (%s)",
          status_str(s));
    convtrack_string_free(out);
    out = NULL;
    s = convtrack_tracker_build(tr, S(PURCHASE_EVENT), "garbage", 0, &out);
    check(s == CONVTRACK_STATUS_OK && out != NULL, "tracker_build(options_json len 0) uses defaults (%s)",
          status_str(s));
    convtrack_string_free(out);
    convtrack_tracker_free(tr);

    /* last_error_message with NULL buffer is the documented length-only query. */
    check(convtrack_last_error_message(NULL, 0) == 0, "last_error_message(NULL, 0) == 0 after success");
}

static void test_invalid_utf8(void) {
    static const char bad[] = "\xff\xfe"
                              "abc";
    char *out = OUT_SENTINEL;
    convtrack_status s;

    s = convtrack_normalize(S(bad), S("x@y.z"), NULL, 0, &out);
    expect_fail("normalize(field invalid UTF-8)", s, CONVTRACK_STATUS_INVALID_UTF8, out, OUT_SENTINEL, "field",
                NULL); RESET_OUT(out);
    s = convtrack_normalize(S("email"), S("a\xc3(b@example.com"), NULL, 0, &out);
    expect_fail("normalize(value invalid UTF-8)", s, CONVTRACK_STATUS_INVALID_UTF8, out, OUT_SENTINEL, "value",
                NULL); RESET_OUT(out);
    s = convtrack_normalize(S("phone"), S("07700 900123"), S(bad), &out);
    expect_fail("normalize(country invalid UTF-8)", s, CONVTRACK_STATUS_INVALID_UTF8, out, OUT_SENTINEL,
                "country", NULL); RESET_OUT(out);
    s = convtrack_hash(S("email"), S("\xed\xa0\x80@example.com"), NULL, 0, &out); /* surrogate */
    expect_fail("hash(value surrogate bytes)", s, CONVTRACK_STATUS_INVALID_UTF8, out, OUT_SENTINEL, "value",
                NULL); RESET_OUT(out);
    s = convtrack_event_id(S("1234567890"), S("Purchase"), S("10\xc0\xaf"), &out); /* overlong */
    expect_fail("event_id(order_id invalid UTF-8)", s, CONVTRACK_STATUS_INVALID_UTF8, out, OUT_SENTINEL,
                "order_id", NULL); RESET_OUT(out);
    s = convtrack_event_id(S("1234567890"), S("Purch\x80se"), S("1001"), &out);
    expect_fail("event_id(event_name invalid UTF-8)", s, CONVTRACK_STATUS_INVALID_UTF8, out, OUT_SENTINEL,
                "event_name", NULL); RESET_OUT(out);

    convtrack_tracker *t = TRACKER_SENTINEL;
    s = convtrack_tracker_new(S("{\"pixel_id\":\"12\xff\"}"), &t);
    expect_fail("tracker_new(settings invalid UTF-8)", s, CONVTRACK_STATUS_INVALID_UTF8, t, TRACKER_SENTINEL,
                "settings", NULL); RESET_TRACKER(t);

    convtrack_tracker *tr = new_tracker(SETTINGS_OFF);
    if (!check(tr != NULL, "tracker for UTF-8 build checks")) return;
    s = convtrack_tracker_build(tr, S("{\"event_name\":\"Purchase\",\"order_id\":\"\xff\"}"), NULL, 0, &out);
    expect_fail("tracker_build(event invalid UTF-8)", s, CONVTRACK_STATUS_INVALID_UTF8, out, OUT_SENTINEL,
                "event", NULL); RESET_OUT(out);
    s = convtrack_tracker_build(tr, S(PURCHASE_EVENT), S("{\"nonce\":\"\xff\"}"), &out);
    expect_fail("tracker_build(options invalid UTF-8)", s, CONVTRACK_STATUS_INVALID_UTF8, out, OUT_SENTINEL,
                "options", NULL); RESET_OUT(out);
    convtrack_tracker_free(tr);
}

static void test_settings_errors(void) {
    convtrack_tracker *t = TRACKER_SENTINEL;
    convtrack_status s;

    s = convtrack_tracker_new(S("{\"pixel_id\":"), &t);
    expect_fail("tracker_new(truncated JSON)", s, CONVTRACK_STATUS_INVALID_JSON, t, TRACKER_SENTINEL, "settings",
                NULL); RESET_TRACKER(t);
    s = convtrack_tracker_new(S("not json"), &t);
    expect_fail("tracker_new(not JSON)", s, CONVTRACK_STATUS_INVALID_JSON, t, TRACKER_SENTINEL, NULL, NULL); RESET_TRACKER(t);
    s = convtrack_tracker_new(S(""), &t);
    expect_fail("tracker_new(empty string)", s, CONVTRACK_STATUS_INVALID_JSON, t, TRACKER_SENTINEL, NULL, NULL); RESET_TRACKER(t);
    s = convtrack_tracker_new(S("{}"), &t);
    expect_fail("tracker_new(no pixel_id)", s, CONVTRACK_STATUS_INVALID_SETTING, t, TRACKER_SENTINEL, "pixel_id",
                NULL); RESET_TRACKER(t);
    s = convtrack_tracker_new(S("{\"pixel_id\":\"abc\"}"), &t);
    expect_fail("tracker_new(non-numeric pixel_id)", s, CONVTRACK_STATUS_INVALID_SETTING, t, TRACKER_SENTINEL,
                "pixel_id", NULL); RESET_TRACKER(t);
    s = convtrack_tracker_new(S("{\"pixel_id\":1234567890}"), &t);
    expect_fail("tracker_new(pixel_id as number)", s, CONVTRACK_STATUS_INVALID_SETTING, t, TRACKER_SENTINEL,
                "pixel_id", NULL); RESET_TRACKER(t);
    s = convtrack_tracker_new(S("{\"pixel_id\":\"1234567890\",\"data_controls\":true}"), &t);
    expect_fail("tracker_new(data_controls without access_token)", s, CONVTRACK_STATUS_INVALID_SETTING, t,
                TRACKER_SENTINEL, "access_token", NULL); RESET_TRACKER(t);
    s = convtrack_tracker_new(S("{\"pixel_id\":\"1234567890\",\"data_control\":true}"), &t);
    expect_fail("tracker_new(misspelt setting)", s, CONVTRACK_STATUS_INVALID_SETTING, t, TRACKER_SENTINEL,
                "data_control", NULL); RESET_TRACKER(t);
    s = convtrack_tracker_new(S("[\"pixel_id\"]"), &t);
    expect_fail("tracker_new(array instead of object)", s, CONVTRACK_STATUS_INVALID_SETTING, t, TRACKER_SENTINEL,
                NULL, NULL); RESET_TRACKER(t);
    /* A bad token must not be echoed. */
    s = convtrack_tracker_new(S("{\"pixel_id\":\"1234567890\",\"access_token\":\"EAAB secret-token-sentinel\"}"), &t);
    expect_fail("tracker_new(access_token with a space)", s, CONVTRACK_STATUS_INVALID_SETTING, t, TRACKER_SENTINEL,
                "access_token", "secret-token-sentinel"); RESET_TRACKER(t);
}

static void test_event_errors(void) {
    convtrack_tracker *tr = new_tracker(SETTINGS_ON);
    if (!check(tr != NULL, "tracker (data controls on) for event error checks")) return;
    char *out = OUT_SENTINEL;
    convtrack_status s;

    s = convtrack_tracker_build(tr, S("{\"event_name\":\"Purchase\",\"order_id\":\"1001\""), NULL, 0, &out);
    expect_fail("build(truncated event JSON)", s, CONVTRACK_STATUS_INVALID_JSON, out, OUT_SENTINEL, "event", NULL); RESET_OUT(out);
    s = convtrack_tracker_build(tr, S("{event_name: Purchase}"), NULL, 0, &out);
    expect_fail("build(malformed event JSON)", s, CONVTRACK_STATUS_INVALID_JSON, out, OUT_SENTINEL, NULL, NULL); RESET_OUT(out);
    s = convtrack_tracker_build(tr, S(PURCHASE_EVENT), S("{\"now\":"), &out);
    expect_fail("build(malformed options JSON)", s, CONVTRACK_STATUS_INVALID_JSON, out, OUT_SENTINEL, "options",
                NULL); RESET_OUT(out);
    s = convtrack_tracker_build(tr, S(PURCHASE_EVENT), S("{\"later\":1}"), &out);
    expect_fail("build(unknown option)", s, CONVTRACK_STATUS_UNKNOWN_FIELD, out, OUT_SENTINEL, "later", NULL); RESET_OUT(out);

    s = convtrack_tracker_build(tr, S("{\"event_name\":\"Purchase\",\"order_id\":\"1001\",\"colour\":\"red\"}"),
                                NULL, 0, &out);
    expect_fail("build(unknown key)", s, CONVTRACK_STATUS_UNKNOWN_FIELD, out, OUT_SENTINEL, "colour", NULL); RESET_OUT(out);
    s = convtrack_tracker_build(tr, S("{\"event_name\":\"Purchase\",\"value\":\"10.00\",\"currency\":\"EUR\"}"),
                                NULL, 0, &out);
    expect_fail("build(Purchase without order_id)", s, CONVTRACK_STATUS_MISSING_FIELD, out, OUT_SENTINEL,
                "order_id", NULL); RESET_OUT(out);
    s = convtrack_tracker_build(tr, S("{\"order_id\":\"1001\"}"), NULL, 0, &out);
    expect_fail("build(no event_name)", s, CONVTRACK_STATUS_MISSING_FIELD, out, OUT_SENTINEL, "event_name", NULL); RESET_OUT(out);
    s = convtrack_tracker_build(
        tr, S("{\"event_name\":\"Purchase\",\"order_id\":\"1001\",\"currency\":\"EUR\",\"value\":\"NaN\"}"), NULL,
        0, &out);
    expect_fail("build(value \"NaN\")", s, CONVTRACK_STATUS_INVALID_VALUE, out, OUT_SENTINEL, "value", NULL); RESET_OUT(out);
    s = convtrack_tracker_build(tr, S("{\"event_name\":\"Purchase\",\"order_id\":true,\"currency\":\"EUR\",\"value\":\"1\"}"), NULL, 0, &out);
    expect_fail("build(order_id as boolean)", s, CONVTRACK_STATUS_WRONG_TYPE, out, OUT_SENTINEL, "order_id", NULL); RESET_OUT(out);
    s = convtrack_tracker_build(tr, S("{\"event_name\":\"Purchase\",\"order_id\":\"1001\",\"currency\":\"EUR\",\"value\":\"1\",\"event_time\":1000}"),
                                NULL, 0, &out);
    expect_fail("build(event_time in 1970)", s, CONVTRACK_STATUS_EVENT_TIME_OUT_OF_RANGE, out, OUT_SENTINEL,
                "event_time", NULL); RESET_OUT(out);
    s = convtrack_tracker_build(tr, S("[1,2,3]"), NULL, 0, &out);
    expect_fail("build(event is an array)", s, CONVTRACK_STATUS_WRONG_TYPE, out, OUT_SENTINEL, NULL, NULL); RESET_OUT(out);

    /* PII sentinel: never echoed in a message. */
    const char *pii = "sentinel.pii@example.com";
    s = convtrack_tracker_build(
        tr, S("{\"event_name\":\"Purchase\",\"order_id\":\"1001\",\"shopper\":\"sentinel.pii@example.com\"}"), NULL,
        0, &out);
    expect_fail("build(PII as an unknown key's value)", s, CONVTRACK_STATUS_UNKNOWN_FIELD, out, OUT_SENTINEL,
                "shopper", pii); RESET_OUT(out);
    s = convtrack_tracker_build(
        tr, S("{\"event_name\":\"Purchase\",\"order_id\":\"1001\",\"customer\":{\"email\":{\"v\":\"sentinel.pii@example.com\"}}}"),
        NULL, 0, &out);
    expect_fail("build(customer.email wrong type, PII inside)", s, CONVTRACK_STATUS_WRONG_TYPE, out, OUT_SENTINEL,
                "customer.email", pii); RESET_OUT(out);
    s = convtrack_tracker_build(
        tr, S("{\"event_name\":\"Purchase\",\"order_id\":\"1001\",\"customer\":{\"email\":[\"sentinel.pii@example.com\",7]}}"),
        NULL, 0, &out);
    expect_fail("build(customer.email list with a number)", s, CONVTRACK_STATUS_WRONG_TYPE, out, OUT_SENTINEL,
                "customer.email", pii); RESET_OUT(out);
    s = convtrack_tracker_build(
        tr, S("{\"event_name\":\"Purchase\",\"order_id\":\"1001\",\"customer\":{\"email\":\"sentinel.pii@example.com\""),
        NULL, 0, &out);
    expect_fail("build(truncated JSON after PII)", s, CONVTRACK_STATUS_INVALID_JSON, out, OUT_SENTINEL, NULL, pii); RESET_OUT(out);
    s = convtrack_tracker_build(
        tr, S("{\"event_name\":\"Purchase\",\"order_id\":\"1001\",\"customer\":{\"sentinel.pii@example.com\":\"x\"}}"),
        NULL, 0, &out);
    check(s == CONVTRACK_STATUS_UNKNOWN_FIELD && out == OUT_SENTINEL,
          "build(PII as an unknown customer key) -> UNKNOWN_FIELD, out untouched (%s)", status_str(s));
    RESET_OUT(out);

    /* 10 MB title: rejected as too large, no crash. */
    const size_t big = 10u * 1024u * 1024u;
    const char *head = "{\"event_name\":\"Purchase\",\"order_id\":\"1001\",\"items\":[{\"id\":\"SKU-1\",\"title\":\"";
    const char *tail = "\"}]}";
    size_t hl = strlen(head), tl = strlen(tail);
    char *huge = malloc(hl + big + tl + 1);
    if (huge == NULL) abort();
    memcpy(huge, head, hl);
    memset(huge + hl, 'A', big);
    memcpy(huge + hl + big, tail, tl + 1);
    s = convtrack_tracker_build(tr, huge, hl + big + tl, NULL, 0, &out);
    expect_fail("build(10 MB item title)", s, CONVTRACK_STATUS_TOO_LARGE, out, OUT_SENTINEL, NULL, "AAAAAAAA"); RESET_OUT(out);
    /* Just over the per-text limit but well under the input limit: names the field. */
    size_t mid = 100u * 1024u;
    memset(huge + hl, 'A', mid);
    memcpy(huge + hl + mid, tail, tl + 1);
    s = convtrack_tracker_build(tr, huge, hl + mid + tl, NULL, 0, &out);
    expect_fail("build(100 KB item title)", s, CONVTRACK_STATUS_TOO_LARGE, out, OUT_SENTINEL, "title", "AAAAAAAA"); RESET_OUT(out);
    free(huge);

    convtrack_tracker_free(tr);
}

static void test_last_error_message(void) {
    convtrack_tracker *t = TRACKER_SENTINEL;
    convtrack_status s = convtrack_tracker_new(S("{\"pixel_id\":\"abc\"}"), &t);
    check(s == CONVTRACK_STATUS_INVALID_SETTING, "set up a failure for last_error_message checks");

    size_t n = convtrack_last_error_message(NULL, 0);
    check(n > 8, "last_error_message(NULL, 0) returns the full length (%zu)", n);
    check(convtrack_last_error_message(NULL, 64) == n, "last_error_message(NULL, 64) is a length-only query too");
    check(convtrack_last_error_message(NULL, 0) == n, "reading the message does not clear it");

    char guard_buf[4] = {'X', 'X', 'X', 'X'};
    check(convtrack_last_error_message(guard_buf, 0) == n && guard_buf[0] == 'X',
          "last_error_message(buf, 0) returns the length and writes nothing");

    char *full = malloc(n + 1);
    if (full == NULL) abort();
    memset(full, 'X', n + 1);
    size_t r = convtrack_last_error_message(full, n + 1);
    check(r == n && full[n] == '\0' && strlen(full) == n, "exact-size buffer holds the whole message");
    check(strstr(full, "pixel_id") != NULL && strstr(full, "abc") == NULL,
          "message names pixel_id and not the value (\"%s\")", full);

    char small[9];
    memset(small, 'X', sizeof small);
    r = convtrack_last_error_message(small, sizeof small);
    check(r == n, "small buffer: still returns the full length");
    check(small[8] == '\0' && strlen(small) == 8 && memcmp(small, full, 8) == 0,
          "small buffer: truncated to len-1 bytes and NUL-terminated");

    char one[2] = {'X', 'Y'};
    r = convtrack_last_error_message(one, 1);
    check(r == n && one[0] == '\0' && one[1] == 'Y', "len 1: writes only the NUL");
    free(full);

    /* The message is per thread: a success clears it. */
    char *out = NULL;
    s = convtrack_event_id(S("1234567890"), S("Purchase"), S("1001"), &out);
    check(s == CONVTRACK_STATUS_OK, "a successful call after a failure");
    convtrack_string_free(out);
    check(convtrack_last_error_message(NULL, 0) == 0, "last_error_message returns 0 after a successful call");
    char buf[32];
    check(convtrack_last_error_message(buf, sizeof buf) == 0, "...also with a buffer");
}

static void test_free_null(void) {
    convtrack_string_free(NULL);
    check(true, "convtrack_string_free(NULL) is a no-op");
    convtrack_tracker_free(NULL);
    check(true, "convtrack_tracker_free(NULL) is a no-op");
}

static void test_build_success(void) {
    /* Data controls off: pixel only. */
    convtrack_tracker *off = TRACKER_SENTINEL;
    convtrack_status s = convtrack_tracker_new(S(SETTINGS_OFF), &off);
    check(s == CONVTRACK_STATUS_OK && off != NULL && off != TRACKER_SENTINEL,
          "convtrack_tracker_new({pixel_id}) -> OK, writes the out-param");
    check(convtrack_last_error_message(NULL, 0) == 0, "no error message after tracker_new success");

    char *want_id = NULL;
    s = convtrack_event_id(S("1234567890"), S("Purchase"), S("1001"), &want_id);
    check(s == CONVTRACK_STATUS_OK && want_id != NULL, "event id for (1234567890, Purchase, 1001)");
    if (want_id == NULL) {
        convtrack_tracker_free(off);
        return;
    }

    char *out = NULL;
    s = convtrack_tracker_build(off, S(PURCHASE_EVENT), NULL, 0, &out);
    check(s == CONVTRACK_STATUS_OK && out != NULL, "build(Purchase) with data controls off -> OK (%s)",
          status_str(s));
    if (out != NULL) {
        const char *schema = json_member(out, "schema");
        check(schema != NULL && strncmp(schema, "1", 1) == 0, "result schema is 1");
        char *eid = json_get_string(out, "event_id");
        check(eid && strcmp(eid, want_id) == 0, "result event_id equals convtrack_event_id (%s)", eid ? eid : "-");
        char *server = json_get_string(out, "server");
        char *reason = json_get_string(out, "reason");
        check(server && strcmp(server, "blocked") == 0 && reason && strcmp(reason, "data_controls_off") == 0,
              "data controls off: server blocked, reason data_controls_off");
        const char *payload = json_member(out, "payload");
        check(payload != NULL && strncmp(payload, "null", 4) == 0, "data controls off: payload is null");
        char *html = json_get_string(out, "pixel_html");
        check(html && strstr(html, want_id) != NULL, "pixel_html contains the event id");
        check(html && strstr(html, "</script><script>") == NULL,
              "pixel_html never contains the raw hostile title \"%s\"", HOSTILE_TITLE_JSON);
        check(strstr(out, "</script><script>") == NULL, "result JSON never contains the raw hostile title");
        check(html && strstr(html, "</script>") != NULL, "pixel_html has its own closing </script> tag");
        check(html && strstr(html, "John.Smith") == NULL && strstr(html, "john.smith") == NULL,
              "pixel_html carries no raw email");
        free(eid), free(server), free(reason), free(html);
        convtrack_string_free(out);
    }

    /* Options: nonce and fixed now. */
    out = NULL;
    s = convtrack_tracker_build(off, S("{\"event_name\":\"Purchase\",\"order_id\":\"1001\",\"currency\":\"EUR\",\"value\":\"1\",\"event_time\":1700000000}"),
                                S("{\"now\":1700000100,\"nonce\":\"r4nd0m\"}"), &out);
    check(s == CONVTRACK_STATUS_OK && out != NULL, "build with options {now, nonce} -> OK (%s)", status_str(s));
    if (out != NULL) {
        char *html = json_get_string(out, "pixel_html");
        check(html && strstr(html, "nonce=\"r4nd0m\"") != NULL, "pixel_html carries the CSP nonce");
        const char *et = json_member(out, "event_time");
        check(et && strncmp(et, "1700000000", 10) == 0, "event_time honoured relative to options.now");
        free(html);
        convtrack_string_free(out);
    }
    convtrack_tracker_free(off);

    /* Data controls on, consent granted: server payload with hashed email. */
    convtrack_tracker *on = new_tracker(SETTINGS_ON);
    if (!check(on != NULL, "convtrack_tracker_new(data controls on) -> OK")) {
        convtrack_string_free(want_id);
        return;
    }
    out = NULL;
    s = convtrack_tracker_build(on, S(PURCHASE_EVENT), NULL, 0, &out);
    check(s == CONVTRACK_STATUS_OK && out != NULL, "build(Purchase) with data controls on -> OK (%s)",
          status_str(s));
    if (out != NULL) {
        char *server = json_get_string(out, "server");
        check(server && strcmp(server, "send") == 0, "data controls on + consent granted: server send");
        const char *payload = json_member(out, "payload");
        char *peid = json_get_string(payload, "event_id");
        check(peid && strcmp(peid, want_id) == 0, "payload.event_id equals the event id");
        const char *ud = json_member(payload, "user_data");
        const char *em0 = json_index(json_member(ud, "em"), 0);
        char *em = em0 && *em0 == '"' ? json_string(em0, NULL) : NULL;
        check(em && strcmp(em, EMAIL_SHA256) == 0, "payload.user_data.em[0] == sha256(normalized email)");
        char *ua = json_get_string(ud, "client_user_agent");
        check(ua && strcmp(ua, "Mozilla/5.0 (X11; Linux x86_64)") == 0, "payload carries client_user_agent");
        check(strstr(out, "John.Smith") == NULL && strstr(out, "john.smith@example.com") == NULL,
              "result JSON carries no raw email");
        check(strstr(out, "EAAB-test") == NULL, "result JSON does not carry the access token");
        free(server), free(peid), free(em), free(ua);
        convtrack_string_free(out);
    }
    convtrack_tracker_free(on);
    convtrack_string_free(want_id);
}

/* Many builds on one tracker from several threads. */
#define N_THREADS 4
#define N_BUILDS 200

struct thread_arg {
    const convtrack_tracker *tracker;
    int index;
    int ok;
    int bad;
};

static void *build_thread(void *p) {
    struct thread_arg *a = p;
    for (int i = 0; i < N_BUILDS; i++) {
        char order[64], event[512];
        snprintf(order, sizeof order, "T%d-%d", a->index, i);
        snprintf(event, sizeof event,
                 "{\"event_name\":\"Purchase\",\"order_id\":\"%s\",\"currency\":\"EUR\",\"value\":\"%d.50\","
                 "\"event_source_url\":\"https://shop.example/thanks\",\"browser\":{\"user_agent\":\"UA/%d\"},"
                 "\"customer\":{\"email\":\"shopper%d@example.com\"},\"consent\":{\"marketing\":\"granted\"}}",
                 order, i, a->index, i);
        char *out = NULL, *want = NULL;
        convtrack_status s = convtrack_tracker_build(a->tracker, Z(event), NULL, 0, &out);
        convtrack_status s2 = convtrack_event_id(S("1234567890"), S("Purchase"), Z(order), &want);
        char *msg = s == CONVTRACK_STATUS_OK ? NULL : last_error();
        char *got = out ? json_get_string(out, "event_id") : NULL;
        if (s == CONVTRACK_STATUS_OK && s2 == CONVTRACK_STATUS_OK && got && want && strcmp(got, want) == 0 &&
            convtrack_last_error_message(NULL, 0) == 0) {
            a->ok++;
        } else {
            if (a->bad == 0) {
                fprintf(stderr, "thread %d build %d: %s / %s: %s\n", a->index, i, status_str(s), status_str(s2),
                        msg ? msg : "");
            }
            a->bad++;
        }
        free(msg);
        free(got);
        convtrack_string_free(out);
        convtrack_string_free(want);
        /* Errors are per thread: fail on odd iterations and check our own message. */
        if (i % 50 == 1) {
            char *o2 = OUT_SENTINEL;
            s = convtrack_tracker_build(a->tracker, S("{\"event_name\":\"Purchase\"}"), NULL, 0, &o2);
            char msg[128];
            convtrack_last_error_message(msg, sizeof msg);
            if (s != CONVTRACK_STATUS_MISSING_FIELD || o2 != OUT_SENTINEL || strstr(msg, "order_id") == NULL) {
                a->bad++;
            }
        }
    }
    return NULL;
}

static void test_threads(void) {
    convtrack_tracker *tr = new_tracker(SETTINGS_ON);
    if (!check(tr != NULL, "tracker for the multi-threaded build")) return;
    pthread_t th[N_THREADS];
    struct thread_arg args[N_THREADS];
    int started = 0;
    for (int i = 0; i < N_THREADS; i++) {
        args[i] = (struct thread_arg){.tracker = tr, .index = i, .ok = 0, .bad = 0};
        if (pthread_create(&th[i], NULL, build_thread, &args[i]) == 0) started++;
        else break;
    }
    for (int i = 0; i < started; i++) pthread_join(th[i], NULL);
    int ok = 0, bad = 0;
    for (int i = 0; i < started; i++) {
        ok += args[i].ok;
        bad += args[i].bad;
    }
    check(started == N_THREADS && ok == N_THREADS * N_BUILDS && bad == 0,
          "%d threads x %d builds on one tracker: %d ok, %d bad", N_THREADS, N_BUILDS, ok, bad);
    convtrack_tracker_free(tr);
}

/* Delivery functions: the outbox path is a fresh temporary directory; nothing is
 * sent (flush is only exercised for its argument checks; tests/c/test_abi.c
 * covers delivery against a refusing endpoint). */
static void test_track_and_status(void) {
    char dir[] = "/tmp/convtrack-c-conformance.XXXXXX";
    if (!check(mkdtemp(dir) != NULL, "temporary outbox directory")) return;
    char path[256], settings[512];
    snprintf(path, sizeof path, "%s/outbox.sqlite3", dir);
    outbox_settings(settings, sizeof settings, path, "");

    convtrack_tracker *tr = new_tracker(settings);
    if (check(tr != NULL, "convtrack_tracker_new with outbox_path -> OK")) {
        char *out = NULL;
        convtrack_status s = convtrack_tracker_track(tr, S(PURCHASE_EVENT), NULL, 0, &out);
        check(s == CONVTRACK_STATUS_OK && out != NULL, "convtrack_tracker_track(Purchase) -> OK (%s)", status_str(s));
        char *server = out ? json_get_string(out, "server") : NULL;
        check(server && strcmp(server, "queued") == 0, "track: server \"queued\" (%s)", server ? server : "-");
        free(server);
        convtrack_string_free(out);

        out = NULL;
        s = convtrack_tracker_status(tr, &out);
        check(s == CONVTRACK_STATUS_OK && out != NULL, "convtrack_tracker_status -> OK (%s)", status_str(s));
        check(out && strstr(out, "EAAB-test") == NULL && strstr(out, "john.smith") == NULL,
              "status JSON carries neither the token nor the email");
        convtrack_string_free(out);

        /* Error paths: out-params untouched. */
        out = OUT_SENTINEL;
        s = convtrack_tracker_track(NULL, S(PURCHASE_EVENT), NULL, 0, &out);
        expect_fail("track(tracker=NULL)", s, CONVTRACK_STATUS_NULL_POINTER, out, OUT_SENTINEL, "tracker", NULL); RESET_OUT(out);
        s = convtrack_tracker_track(tr, NULL, 4, NULL, 0, &out);
        expect_fail("track(event_json=NULL)", s, CONVTRACK_STATUS_NULL_POINTER, out, OUT_SENTINEL, "event", NULL); RESET_OUT(out);
        s = convtrack_tracker_track(tr, S(PURCHASE_EVENT), NULL, 0, NULL);
        expect_fail("track(out=NULL)", s, CONVTRACK_STATUS_NULL_POINTER, NULL, NULL, "out", NULL);
        s = convtrack_tracker_track(tr, S("{\"event_name\":\"Purchase\",\"order_id\":\"9\",\"shopper\":\"sentinel.pii@example.com\"}"),
                                    NULL, 0, &out);
        expect_fail("track(unknown key with PII)", s, CONVTRACK_STATUS_UNKNOWN_FIELD, out, OUT_SENTINEL, "shopper",
                    "sentinel.pii"); RESET_OUT(out);
        s = convtrack_tracker_track(tr, S("{\"event_name\":\"Purchase\",\"order_id\":\"\xff\"}"), NULL, 0, &out);
        expect_fail("track(invalid UTF-8)", s, CONVTRACK_STATUS_INVALID_UTF8, out, OUT_SENTINEL, "event", NULL); RESET_OUT(out);
        s = convtrack_tracker_status(NULL, &out);
        expect_fail("status(tracker=NULL)", s, CONVTRACK_STATUS_NULL_POINTER, out, OUT_SENTINEL, "tracker", NULL); RESET_OUT(out);
        s = convtrack_tracker_status(tr, NULL);
        expect_fail("status(out=NULL)", s, CONVTRACK_STATUS_NULL_POINTER, NULL, NULL, "out", NULL);
        s = convtrack_tracker_flush(NULL, 10, &out);
        expect_fail("flush(tracker=NULL)", s, CONVTRACK_STATUS_NULL_POINTER, out, OUT_SENTINEL, "tracker", NULL); RESET_OUT(out);
        convtrack_tracker_free(tr);
    }

    /* track without an outbox: NOT_CONFIGURED, out untouched, message names outbox_path. */
    tr = new_tracker(SETTINGS_ON);
    if (check(tr != NULL, "tracker without outbox_path")) {
        char *out = OUT_SENTINEL;
        convtrack_status s = convtrack_tracker_track(tr, S(PURCHASE_EVENT), NULL, 0, &out);
        expect_fail("track without outbox_path", s, CONVTRACK_STATUS_NOT_CONFIGURED, out, OUT_SENTINEL, "outbox_path",
                    NULL); RESET_OUT(out);
        convtrack_tracker_free(tr);
    }

    remove_outbox(path);
    check(rmdir(dir) == 0, "outbox directory cleaned up (no unexpected files left)");
}

/* A one-shot HTTP server on loopback standing in for Meta: accepts one request,
 * keeps its head and body (up to 4 KB), answers `reply` (a full HTTP response). */
struct one_shot {
    int fd;
    int port;
    const char *reply;
    char request[4096];
    pthread_t thread;
};

static void *one_shot_serve(void *arg) {
    struct one_shot *o = arg;
    int c = accept(o->fd, NULL, NULL);
    if (c < 0) return NULL;
    size_t n = 0;
    for (;;) {
        ssize_t r = read(c, o->request + n, sizeof o->request - 1 - n);
        if (r <= 0) break;
        n += (size_t)r;
        o->request[n] = '\0';
        char *head_end = strstr(o->request, "\r\n\r\n");
        if (head_end == NULL) continue;
        const char *cl = strstr(o->request, "ontent-Length: ");
        size_t want = cl && cl < head_end ? (size_t)strtoul(cl + 15, NULL, 10) : 0;
        if (n >= (size_t)(head_end + 4 - o->request) + want || n == sizeof o->request - 1) break;
    }
    ssize_t w = write(c, o->reply, strlen(o->reply));
    (void)w;
    close(c);
    return NULL;
}

static bool one_shot_start(struct one_shot *o, const char *reply) {
    memset(o, 0, sizeof *o);
    o->reply = reply;
    o->fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (o->fd < 0 || bind(o->fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(o->fd, 1) != 0 ||
        getsockname(o->fd, (struct sockaddr *)&a, &len) != 0) {
        return false;
    }
    o->port = ntohs(a.sin_port);
    return pthread_create(&o->thread, NULL, one_shot_serve, o) == 0;
}

/* Unblocks a one-shot server nobody called (a failed set-up), so that one_shot_join returns. */
static void one_shot_poke(struct one_shot *o) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons((uint16_t)o->port);
    if (fd >= 0) {
        if (connect(fd, (struct sockaddr *)&a, sizeof a) == 0) shutdown(fd, SHUT_WR);
        char buf[256];
        while (read(fd, buf, sizeof buf) > 0) {
        }
        close(fd);
    }
}

static void one_shot_join(struct one_shot *o) {
    pthread_join(o->thread, NULL);
    close(o->fd);
}

static void test_health_and_test_event(void) {
    char settings[512];
    struct one_shot o;
    convtrack_status s;
    char *out;

    /* The health check: the right request (GET, path, token in the header), the answer as JSON. */
    if (check(one_shot_start(&o, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 36\r\n"
                                 "Connection: close\r\n\r\n{\"id\":\"1234567890\",\"name\":\"C pixel\"}"),
              "one-shot server started")) {
        snprintf(settings, sizeof settings,
                 "{\"pixel_id\":\"1234567890\",\"access_token\":\"EAAB-test\",\"api_version\":\"v24.0\","
                 "\"endpoint\":\"http://127.0.0.1:%d\"}", o.port);
        convtrack_tracker *tr = new_tracker(settings);
        out = NULL;
        s = tr ? convtrack_tracker_check_online(tr, &out) : CONVTRACK_STATUS_INTERNAL;
        one_shot_join(&o);
        check(s == CONVTRACK_STATUS_OK && out != NULL, "check_online -> OK (%s)", status_str(s));
        check(strncmp(o.request, "GET /v24.0/1234567890?fields=id,name HTTP/1.1\r\n", 47) == 0,
              "check_online: GET /v24.0/1234567890?fields=id,name");
        check(strstr(o.request, "\r\nAuthorization: Bearer EAAB-test\r\n") != NULL && strstr(o.request, "access_token") == NULL,
              "check_online: the token in the Authorization header, never in the URL");
        check(out && strcmp(out, "{\"ok\":true,\"status\":200,\"pixel\":{\"id\":\"1234567890\",\"name\":\"C pixel\"},\"error\":null}") == 0,
              "check_online: %s", out ? out : "-");
        convtrack_string_free(out);

        out = OUT_SENTINEL;
        s = convtrack_tracker_check_online(tr, NULL);
        expect_fail("check_online(out=NULL)", s, CONVTRACK_STATUS_NULL_POINTER, NULL, NULL, "out", NULL);
        s = convtrack_tracker_check_online(NULL, &out);
        expect_fail("check_online(tracker=NULL)", s, CONVTRACK_STATUS_NULL_POINTER, out, OUT_SENTINEL, "tracker", NULL); RESET_OUT(out);
        /* Neither an argument nor a setting: NOT_CONFIGURED naming test_event_code, nothing sent. */
        s = convtrack_tracker_send_test_event(tr, NULL, 0, &out);
        expect_fail("send_test_event(no code)", s, CONVTRACK_STATUS_NOT_CONFIGURED, out, OUT_SENTINEL, "test_event_code", NULL); RESET_OUT(out);
        s = convtrack_tracker_send_test_event(tr, S("not a code!"), &out);
        expect_fail("send_test_event(bad code)", s, CONVTRACK_STATUS_INVALID_VALUE, out, OUT_SENTINEL, "test_event_code", NULL); RESET_OUT(out);
        s = convtrack_tracker_send_test_event(tr, "X", SIZE_MAX, &out);
        expect_fail("send_test_event(len=SIZE_MAX)", s, CONVTRACK_STATUS_INVALID_ARGUMENT, out, OUT_SENTINEL, "code", NULL); RESET_OUT(out);
        convtrack_tracker_free(tr);
    }

    /* Without api_version the Graph version is the default, v27.0: the request line says it. */
    if (check(one_shot_start(&o, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 36\r\n"
                                 "Connection: close\r\n\r\n{\"id\":\"1234567890\",\"name\":\"C pixel\"}"),
              "one-shot server started")) {
        snprintf(settings, sizeof settings,
                 "{\"pixel_id\":\"1234567890\",\"access_token\":\"EAAB-test\",\"endpoint\":\"http://127.0.0.1:%d\"}",
                 o.port);
        convtrack_tracker *tr = new_tracker(settings);
        out = NULL;
        s = tr ? convtrack_tracker_check_online(tr, &out) : CONVTRACK_STATUS_INTERNAL;
        if (tr == NULL) one_shot_poke(&o);
        one_shot_join(&o);
        check(s == CONVTRACK_STATUS_OK && out && strstr(out, "\"ok\":true"), "check_online(no api_version) -> ok (%s)",
              status_str(s));
        check(strncmp(o.request, "GET /v27.0/1234567890?fields=id,name HTTP/1.1\r\n", 47) == 0,
              "default api_version: GET /v27.0/1234567890?fields=id,name (%.40s)", o.request);
        convtrack_string_free(out);
        convtrack_tracker_free(tr);
    }

    /* The test event: one PageView, the code, no customer data; Meta's answer as JSON. */
    if (check(one_shot_start(&o, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 21\r\n"
                                 "Connection: close\r\n\r\n{\"events_received\":1}"),
              "one-shot server started")) {
        snprintf(settings, sizeof settings,
                 "{\"pixel_id\":\"1234567890\",\"access_token\":\"EAAB-test\",\"api_version\":\"v24.0\","
                 "\"endpoint\":\"http://127.0.0.1:%d\"}", o.port);
        convtrack_tracker *tr = new_tracker(settings);
        out = NULL;
        s = tr ? convtrack_tracker_send_test_event(tr, S("CTEST42"), &out) : CONVTRACK_STATUS_INTERNAL;
        one_shot_join(&o);
        check(s == CONVTRACK_STATUS_OK && out != NULL, "send_test_event -> OK (%s)", status_str(s));
        check(strncmp(o.request, "POST /v24.0/1234567890/events HTTP/1.1\r\n", 40) == 0, "send_test_event: POST /v24.0/1234567890/events");
        check(strstr(o.request, "\"test_event_code\":\"CTEST42\"") != NULL && strstr(o.request, "\"event_name\":\"PageView\"") != NULL,
              "send_test_event: a PageView with the test code");
        check(strstr(o.request, "\"user_data\":{\"client_user_agent\":\"convtrack test event\"}") != NULL &&
                  strstr(o.request, "custom_data") == NULL,
              "send_test_event: no customer data");
        char *code = out ? json_get_string(out, "test_event_code") : NULL;
        char *id = out ? json_get_string(out, "event_id") : NULL;
        check(out && strstr(out, "\"ok\":true") && code && strcmp(code, "CTEST42") == 0 && id && strncmp(id, "test-", 5) == 0,
              "send_test_event: %s", out ? out : "-");
        free(code);
        free(id);
        convtrack_string_free(out);
        convtrack_tracker_free(tr);
    }

    /* Nothing listens: an answer with ok=false, not an error. Without a token: NOT_CONFIGURED. */
    convtrack_tracker *tr = new_tracker("{\"pixel_id\":\"1234567890\",\"access_token\":\"EAAB-test\",\"endpoint\":\"http://127.0.0.1:9\","
                                        "\"request_timeout_ms\":500,\"test_event_code\":\"CTEST\"}");
    if (check(tr != NULL, "tracker with an endpoint nobody answers")) {
        out = NULL;
        s = convtrack_tracker_check_online(tr, &out);
        check(s == CONVTRACK_STATUS_OK && out && strstr(out, "\"ok\":false") && strstr(out, "cannot reach Meta") &&
                  strstr(out, "\"status\":null") && strstr(out, "EAAB-test") == NULL,
              "check_online(endpoint down): %s", out ? out : "-");
        convtrack_string_free(out);
        out = NULL;
        s = convtrack_tracker_send_test_event(tr, NULL, 0, &out);
        check(s == CONVTRACK_STATUS_OK && out && strstr(out, "\"ok\":false") && strstr(out, "\"test_event_code\":\"CTEST\""),
              "send_test_event(endpoint down, code from the setting): %s", out ? out : "-");
        convtrack_string_free(out);
        convtrack_tracker_free(tr);
    }
    tr = new_tracker(SETTINGS_OFF);
    if (check(tr != NULL, "tracker without a token")) {
        out = OUT_SENTINEL;
        s = convtrack_tracker_check_online(tr, &out);
        expect_fail("check_online(no token)", s, CONVTRACK_STATUS_NOT_CONFIGURED, out, OUT_SENTINEL, "access_token", NULL); RESET_OUT(out);
        convtrack_tracker_free(tr);
    }
}

/* The merchant's controls: a switch-off discards what is queued and blocks new
 * events; a switch-on needs the legal acknowledgement; dead letters and resume. */
static void test_controls(void) {
    char dir[] = "/tmp/convtrack-c-controls.XXXXXX";
    if (!check(mkdtemp(dir) != NULL, "temporary outbox directory")) return;
    char path[256], settings[1024];
    snprintf(path, sizeof path, "%s/outbox.sqlite3", dir);
    outbox_settings(settings, sizeof settings, path, "");
    convtrack_tracker *tr = new_tracker(settings);
    if (!check(tr != NULL, "controls: tracker with outbox")) return;
    char *out = NULL;
    convtrack_status s = convtrack_tracker_track(tr, S(PURCHASE_EVENT), NULL, 0, &out);
    check(s == CONVTRACK_STATUS_OK && out && strstr(out, "\"queued\""), "controls: order queued");
    convtrack_string_free(out);

    out = NULL;
    s = convtrack_tracker_set_controls(tr, S("{\"actor\":\"c-admin\",\"data_controls\":false}"), &out);
    check(s == CONVTRACK_STATUS_OK && out != NULL, "set_controls(off) -> OK (%s)", status_str(s));
    check(out && strstr(out, "\"discarded\":1") && strstr(out, "\"changed_by\":\"c-admin\""),
          "set_controls(off): the queued order is discarded and the actor recorded (%s)", out ? out : "-");
    check(out && strstr(out, "EAAB-test") == NULL, "controls JSON carries no token");
    convtrack_string_free(out);

    out = NULL;
    s = convtrack_tracker_track(tr, S(PURCHASE_EVENT), NULL, 0, &out);
    check(s == CONVTRACK_STATUS_OK && out && strstr(out, "\"blocked\"") && strstr(out, "data_controls_off"),
          "track after switch-off: blocked, data_controls_off");
    convtrack_string_free(out);

    out = OUT_SENTINEL;
    s = convtrack_tracker_set_controls(tr, S("{\"actor\":\"c-admin\",\"data_controls\":true}"), &out);
    expect_fail("set_controls(on, no legal_ack)", s, CONVTRACK_STATUS_INVALID_ARGUMENT, out, OUT_SENTINEL, "legal_ack", NULL);
    RESET_OUT(out);
    s = convtrack_tracker_set_controls(tr, S("{\"data_controls\":false}"), &out);
    expect_fail("set_controls(no actor)", s, CONVTRACK_STATUS_MISSING_FIELD, out, OUT_SENTINEL, "actor", NULL); RESET_OUT(out);
    s = convtrack_tracker_set_controls(tr, S("{\"actor\":\"a\",\"dataControls\":true}"), &out);
    expect_fail("set_controls(unknown key)", s, CONVTRACK_STATUS_UNKNOWN_FIELD, out, OUT_SENTINEL, "dataControls", NULL);
    RESET_OUT(out);
    s = convtrack_tracker_set_controls(tr, S("{\"actor\":\"a\",\"mode\":\"everything\"}"), &out);
    expect_fail("set_controls(bad mode)", s, CONVTRACK_STATUS_INVALID_ARGUMENT, out, OUT_SENTINEL, "mode", NULL); RESET_OUT(out);
    s = convtrack_tracker_set_controls(tr, NULL, 5, &out);
    expect_fail("set_controls(request=NULL)", s, CONVTRACK_STATUS_NULL_POINTER, out, OUT_SENTINEL, "request_json", NULL);
    RESET_OUT(out);
    s = convtrack_tracker_set_controls(tr, S("{\"actor\":\"a\",\"data_controls\":false}"), NULL);
    expect_fail("set_controls(out=NULL)", s, CONVTRACK_STATUS_NULL_POINTER, NULL, NULL, "out", NULL);

    out = NULL;
    s = convtrack_tracker_set_controls(tr, S("{\"actor\":\"c-admin\",\"data_controls\":true,\"legal_ack\":true}"), &out);
    check(s == CONVTRACK_STATUS_OK && out && strstr(out, "\"data_controls\":true") && strstr(out, "\"legal_ack\":true"),
          "set_controls(on, legal_ack) -> on, acknowledged");
    convtrack_string_free(out);
    out = NULL;
    s = convtrack_tracker_controls(tr, &out);
    check(s == CONVTRACK_STATUS_OK && out && strstr(out, "\"source\":\"outbox\"") && strstr(out, "\"history\":[{"),
          "controls -> the state and its history");
    convtrack_string_free(out);

    out = NULL;
    s = convtrack_tracker_dead_letters(tr, 10, &out);
    check(s == CONVTRACK_STATUS_OK && out && strcmp(out, "[]") == 0, "dead_letters -> [] (%s)", out ? out : "-");
    convtrack_string_free(out);
    uint64_t n = 99;
    s = convtrack_tracker_retry_dead_letters(tr, NULL, 0, &n);
    check(s == CONVTRACK_STATUS_OK && n == 0, "retry_dead_letters(all) -> 0");
    n = 99;
    s = convtrack_tracker_discard_dead_letters(tr, S("[1,2]"), &n);
    check(s == CONVTRACK_STATUS_OK && n == 0, "discard_dead_letters([1,2]) -> 0");
    s = convtrack_tracker_discard_dead_letters(tr, S("[\"x\"]"), &n);
    expect_fail("discard_dead_letters([\"x\"])", s, CONVTRACK_STATUS_WRONG_TYPE, NULL, NULL, "ids[0]", NULL);
    s = convtrack_tracker_retry_dead_letters(tr, S("[1"), NULL);
    expect_fail("retry_dead_letters(bad JSON)", s, CONVTRACK_STATUS_INVALID_JSON, NULL, NULL, "ids", NULL);
    s = convtrack_tracker_retry_dead_letters(tr, "[1]", (size_t)-1, NULL);
    expect_fail("retry_dead_letters((size_t)-1)", s, CONVTRACK_STATUS_INVALID_ARGUMENT, NULL, NULL, "ids_json", NULL);
    n = 99;
    s = convtrack_tracker_set_consent(tr, S("{\"event_ids\":[\"ct1-unknown\"],\"marketing\":\"granted\"}"), &n);
    check(s == CONVTRACK_STATUS_OK && n == 0, "set_consent(an id that is not held) -> 0");
    n = 77;
    s = convtrack_tracker_set_consent(tr, S("{\"event_ids\":[\"x\"],\"marketing\":\"maybe\"}"), &n);
    expect_fail("set_consent(marketing=maybe)", s, CONVTRACK_STATUS_INVALID_ARGUMENT, NULL, NULL, "marketing", NULL);
    check(n == 77, "set_consent(marketing=maybe): count untouched");
    s = convtrack_tracker_set_consent(tr, S("{\"event_ids\":\"x\",\"marketing\":\"granted\"}"), &n);
    expect_fail("set_consent(event_ids not a list)", s, CONVTRACK_STATUS_WRONG_TYPE, NULL, NULL, "event_ids", NULL);
    check(convtrack_tracker_resume(tr) == CONVTRACK_STATUS_OK, "resume -> OK");
    convtrack_tracker_free(tr);

    /* Consent hold: unanswered events are held; the shopper's answer releases one ("granted") and
     * drops the other ("denied": counted, never sent). The endpoint is a one-shot server on loopback
     * that sees what the flush sends. */
    check(convtrack_tracker_resume(NULL) == CONVTRACK_STATUS_NULL_POINTER, "resume(NULL) -> NULL_POINTER");
    char hold_path[300];
    snprintf(hold_path, sizeof hold_path, "%s-hold", path);
    struct one_shot meta;
    if (!check(one_shot_start(&meta, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 21\r\n"
                                     "Connection: close\r\n\r\n{\"events_received\":1}"),
               "controls: one-shot server started")) return;
    char extra[128];
    snprintf(extra, sizeof extra, "\"unknown_consent\":\"hold\",\"endpoint\":\"http://127.0.0.1:%d\",", meta.port);
    outbox_settings(settings, sizeof settings, hold_path, extra);
    tr = new_tracker(settings);
    if (!check(tr != NULL, "controls: hold tracker")) {
        one_shot_poke(&meta);
        one_shot_join(&meta);
        return;
    }
    /* PURCHASE_EVENT with consent "unknown", once as order 1001 and once as order 1002. */
    char unanswered[sizeof PURCHASE_EVENT + 16], unanswered2[sizeof PURCHASE_EVENT + 16];
    const char *at = strstr(PURCHASE_EVENT, "\"granted\"");
    snprintf(unanswered, sizeof unanswered, "%.*s\"unknown\"%s", (int)(at - PURCHASE_EVENT), PURCHASE_EVENT, at + 9);
    unanswered[sizeof unanswered - 1] = '\0';
    strcpy(unanswered2, unanswered);
    char *order = strstr(unanswered2, "\"order_id\":\"1001\"");
    if (order != NULL) order[15] = '2';
    out = NULL;
    s = convtrack_tracker_track(tr, unanswered, strlen(unanswered), NULL, 0, &out);
    char *server = out ? json_get_string(out, "server") : NULL;
    char *event_id = out ? json_get_string(out, "event_id") : NULL;
    check(s == CONVTRACK_STATUS_OK && server && strcmp(server, "held") == 0, "track(consent unknown) -> held (%s)",
          server ? server : "-");
    convtrack_string_free(out);
    free(server);
    out = NULL;
    s = convtrack_tracker_track(tr, unanswered2, strlen(unanswered2), NULL, 0, &out);
    server = out ? json_get_string(out, "server") : NULL;
    char *denied_id = out ? json_get_string(out, "event_id") : NULL;
    check(s == CONVTRACK_STATUS_OK && server && strcmp(server, "held") == 0 && denied_id && event_id &&
              strcmp(denied_id, event_id) != 0,
          "track(another order, consent unknown) -> held, its own event id");
    convtrack_string_free(out);
    free(server);

    char request[256];
    snprintf(request, sizeof request, "{\"event_ids\":[\"%s\"],\"marketing\":\"denied\"}", denied_id ? denied_id : "");
    n = 0;
    s = convtrack_tracker_set_consent(tr, request, strlen(request), &n);
    check(s == CONVTRACK_STATUS_OK && n == 1, "set_consent(denied) drops the held event (%s, %llu)", status_str(s),
          (unsigned long long)n);
    out = NULL;
    s = convtrack_tracker_status(tr, &out);
    const char *hold = json_member(json_member(out, "counters"), "hold");
    check(s == CONVTRACK_STATUS_OK && json_get_int(json_member(out, "queue"), "held") == 1 &&
              json_get_int(hold, "dropped") == 1 && json_get_int(hold, "held") == 2 && json_get_int(json_member(out, "queue"), "depth") == 0,
          "status after denied: one still held, hold.dropped 1, nothing queued");
    convtrack_string_free(out);
    snprintf(request, sizeof request, "{\"event_ids\":[\"%s\"],\"marketing\":\"granted\"}", denied_id ? denied_id : "");
    n = 99;
    s = convtrack_tracker_set_consent(tr, request, strlen(request), &n);
    check(s == CONVTRACK_STATUS_OK && n == 0, "set_consent(granted) after denied -> 0: a dropped hold cannot come back");

    snprintf(request, sizeof request, "{\"event_ids\":[\"%s\"],\"marketing\":\"granted\"}", event_id ? event_id : "");
    n = 0;
    s = convtrack_tracker_set_consent(tr, request, strlen(request), &n);
    check(s == CONVTRACK_STATUS_OK && n == 1, "set_consent(granted) releases the held event");
    out = NULL;
    s = convtrack_tracker_status(tr, &out);
    check(s == CONVTRACK_STATUS_OK && out && strstr(out, "\"held\":0") && strstr(out, "\"released\":1"),
          "status: nothing held, one released");
    convtrack_string_free(out);

    out = NULL;
    s = convtrack_tracker_flush(tr, 5000, &out);
    one_shot_join(&meta);
    check(s == CONVTRACK_STATUS_OK && json_get_int(out, "sent") == 1, "flush -> the released event sent (%s)", out ? out : "-");
    convtrack_string_free(out);
    check(strlen(meta.request) < sizeof meta.request - 1 && event_id && strstr(meta.request, event_id) != NULL &&
              denied_id && strstr(meta.request, denied_id) == NULL,
          "Meta got the released event and never the denied one");
    check(strncmp(meta.request, "POST /v27.0/1234567890/events HTTP/1.1\r\n", 40) == 0,
          "flush without api_version: POST /v27.0/1234567890/events");
    free(event_id);
    free(denied_id);
    convtrack_tracker_free(tr);

    remove_outbox(path);
    remove_outbox(hold_path);
    check(rmdir(dir) == 0, "controls: outbox directory cleaned up");
}

/* A shop integration counts a request it served without tracking into the outbox that
 * every worker process shares; the reason is a short code, never a value. */
static void test_count_degraded(void) {
    char dir[] = "/tmp/convtrack-c-degraded.XXXXXX";
    if (!check(mkdtemp(dir) != NULL, "temporary outbox directory")) return;
    char path[256], settings[1024];
    snprintf(path, sizeof path, "%s/outbox.sqlite3", dir);
    outbox_settings(settings, sizeof settings, path, "");
    convtrack_tracker *a = new_tracker(settings);
    convtrack_tracker *b = new_tracker(settings);
    if (!check(a != NULL && b != NULL, "count_degraded: two trackers on one outbox")) return;
    convtrack_status s = convtrack_tracker_count_degraded(a, S("invalid_value"));
    check(s == CONVTRACK_STATUS_OK, "count_degraded(invalid_value) -> OK (%s)", status_str(s));
    s = convtrack_tracker_count_degraded(b, S("invalid_value"));
    check(s == CONVTRACK_STATUS_OK, "count_degraded from the second handle -> OK");
    s = convtrack_tracker_count_degraded(a, S("sentinel@example.com"));
    expect_fail("count_degraded(a value, not a code)", s, CONVTRACK_STATUS_INVALID_ARGUMENT, NULL, NULL, "reason", "sentinel");
    s = convtrack_tracker_count_degraded(a, "", 0);
    expect_fail("count_degraded(empty)", s, CONVTRACK_STATUS_INVALID_ARGUMENT, NULL, NULL, "reason", NULL);
    s = convtrack_tracker_count_degraded(a, NULL, 3);
    expect_fail("count_degraded(NULL)", s, CONVTRACK_STATUS_NULL_POINTER, NULL, NULL, "reason", NULL);
    s = convtrack_tracker_count_degraded(NULL, S("storage"));
    check(s == CONVTRACK_STATUS_NULL_POINTER, "count_degraded(tracker=NULL) -> NULL_POINTER");
    char *out = NULL;
    s = convtrack_tracker_status(b, &out);
    check(s == CONVTRACK_STATUS_OK && out && strstr(out, "\"degraded\":{\"invalid_value\":2}"),
          "status: both handles' counts in one figure (%s)", out && strstr(out, "degraded") ? strstr(out, "degraded") : "-");
    convtrack_string_free(out);
    convtrack_tracker_free(a);
    convtrack_tracker_free(b);
    /* Without an outbox: nothing to count into, and no error (the shop keeps its own count). */
    convtrack_tracker *pure = new_tracker("{\"pixel_id\":\"1234567890\"}");
    check(pure && convtrack_tracker_count_degraded(pure, S("storage")) == CONVTRACK_STATUS_OK, "count_degraded without an outbox -> OK");
    convtrack_tracker_free(pure);
    remove_outbox(path);
    rmdir(dir);
}

int main(int argc, char **argv) {
    const char *vectors = argc > 1 ? argv[1] : "tests/vectors/event_ids.json";

    test_version_and_status_names();
    test_normalize_and_hash();
    test_event_id_vectors(vectors);
    test_null_pointers();
    test_invalid_utf8();
    test_settings_errors();
    test_event_errors();
    test_last_error_message();
    test_free_null();
    test_build_success();
    test_threads();
    test_track_and_status();
    test_health_and_test_event();
    test_controls();
    test_count_degraded();

    printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
