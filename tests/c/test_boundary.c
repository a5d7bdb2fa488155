/*
 * C checks of the edges of the C ABI itself (issue 14, item 6 and its family):
 *   - the length rule: a length above PTRDIFF_MAX ((size_t)-1 is SQLite's "NUL-terminated"
 *     habit) is never read as a real length, for every (ptr, len) pair of every function,
 *     optional ones included: CONVTRACK_STATUS_INVALID_ARGUMENT, out-params untouched, a
 *     message naming the parameter;
 *   - NULL with a non-zero length and non-NULL with length 0;
 *   - the output buffer of convtrack_last_error_message with such lengths;
 *   - calls from a pthread-key destructor, which glibc runs after the thread's Rust
 *     thread-locals are destroyed: every call returns a status, nothing aborts.
 * Run under ASan/LSan/UBSan by tests/c/run.sh; one line per check, exit 1 on any failure.
 */
#define _POSIX_C_SOURCE 200809L

#include "convtrack.h"

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"

static char sentinel_storage;
#define SENTINEL ((char *)&sentinel_storage)
#define TRACKER_SENTINEL ((convtrack_tracker *)(void *)&sentinel_storage)

static const char SETTINGS[] = "{\"pixel_id\":\"1234567890\",\"access_token\":\"EAAB-test\",\"data_controls\":true}";
static const char EVENT[] = "{\"event_name\":\"Purchase\",\"order_id\":\"1001\",\"currency\":\"EUR\",\"value\":\"9.50\","
                            "\"event_source_url\":\"https://shop.example/thanks\",\"browser\":{\"user_agent\":\"UA/1\"},"
                            "\"customer\":{\"email\":\"sentinel.pii@example.com\"},\"consent\":{\"marketing\":\"granted\"}}";

static convtrack_tracker *new_tracker(const char *settings) {
    convtrack_tracker *t = NULL;
    if (convtrack_tracker_new(Z(settings), &t) != CONVTRACK_STATUS_OK) {
        char *msg = last_error();
        fprintf(stderr, "tracker_new failed: %s\n", msg);
        free(msg);
        return NULL;
    }
    return t;
}

/* A rejected length: INVALID_ARGUMENT, every out-param untouched, and a message that names
 * the parameter and asks for the byte length. If a call wrongly succeeded, its output is
 * released so that the checks stay independent. */
static void expect_len_rejected(const char *what, convtrack_status got, char **outs, size_t n_outs,
                                const char *param) {
    check(got == CONVTRACK_STATUS_INVALID_ARGUMENT, "%s: status %s (want CONVTRACK_STATUS_INVALID_ARGUMENT)", what,
          convtrack_status_name(got));
    bool untouched = true;
    for (size_t i = 0; i < n_outs; i++) {
        if (outs[i] != SENTINEL) {
            untouched = false;
            convtrack_string_free(outs[i]);
            outs[i] = SENTINEL;
        }
    }
    check(untouched, "%s: out-param untouched", what);
    char *msg = last_error();
    char want[64];
    snprintf(want, sizeof want, "%s:", param);
    check(strncmp(msg, want, strlen(want)) == 0 && strstr(msg, "byte length") != NULL,
          "%s: message names %s and asks for the byte length (\"%s\")", what, param, msg);
    free(msg);
}

#define EXPECT1(what, call, param)                                                                            \
    do {                                                                                                      \
        char *o_ = SENTINEL;                                                                                  \
        char **out = &o_;                                                                                     \
        convtrack_status s_ = (call);                                                                         \
        expect_len_rejected(what, s_, out, 1, param);                                                         \
    } while (0)

static void test_length_rule(void) {
    const size_t lens[2] = {SIZE_MAX, (size_t)PTRDIFF_MAX + 1};
    const char *len_names[2] = {"(size_t)-1", "(size_t)PTRDIFF_MAX + 1"};
    char products[] = "{\"id\":\"1\"}\n";
    convtrack_tracker *tr = new_tracker(SETTINGS);
    if (!check(tr != NULL, "tracker for the length checks")) {
        return;
    }
    for (int k = 0; k < 2; k++) {
        const size_t L = lens[k];
        char what[160];
#define WHAT(fn, p) (snprintf(what, sizeof what, "%s(%s len %s)", fn, p, len_names[k]), what)
        /* A real, short string behind every pointer: the bad length alone must be caught. */
        EXPECT1(WHAT("normalize", "field"), convtrack_normalize("email", L, S("x@y.z"), NULL, 0, out), "field");
        EXPECT1(WHAT("normalize", "value"), convtrack_normalize(S("email"), "x@y.z", L, NULL, 0, out), "value");
        EXPECT1(WHAT("normalize", "country"), convtrack_normalize(S("phone"), S("07700 900123"), "GB", L, out),
                "country");
        EXPECT1(WHAT("normalize", "country=NULL"), convtrack_normalize(S("phone"), S("07700 900123"), NULL, L, out),
                "country");
        EXPECT1(WHAT("hash", "field"), convtrack_hash("email", L, S("x@y.z"), NULL, 0, out), "field");
        EXPECT1(WHAT("hash", "value"), convtrack_hash(S("email"), "x@y.z", L, NULL, 0, out), "value");
        EXPECT1(WHAT("hash", "country"), convtrack_hash(S("phone"), S("07700 900123"), "GB", L, out), "country");
        EXPECT1(WHAT("event_id", "pixel_id"), convtrack_event_id("1234567890", L, S("Purchase"), S("1"), out),
                "pixel_id");
        EXPECT1(WHAT("event_id", "event_name"), convtrack_event_id(S("1234567890"), "Purchase", L, S("1"), out),
                "event_name");
        EXPECT1(WHAT("event_id", "order_id"), convtrack_event_id(S("1234567890"), S("Purchase"), "1", L, out),
                "order_id");
        {
            convtrack_tracker *t = TRACKER_SENTINEL;
            convtrack_status s = convtrack_tracker_new(SETTINGS, L, &t);
            char *o = t == TRACKER_SENTINEL ? SENTINEL : NULL;
            if (t != TRACKER_SENTINEL) {
                convtrack_tracker_free(t);
            }
            expect_len_rejected(WHAT("tracker_new", "settings_json"), s, &o, 1, "settings_json");
        }
        EXPECT1(WHAT("tracker_build", "event_json"), convtrack_tracker_build(tr, EVENT, L, NULL, 0, out),
                "event_json");
        EXPECT1(WHAT("tracker_build", "options_json"), convtrack_tracker_build(tr, S(EVENT), "{}", L, out),
                "options_json");
        EXPECT1(WHAT("tracker_build", "options_json=NULL"), convtrack_tracker_build(tr, S(EVENT), NULL, L, out),
                "options_json");
        EXPECT1(WHAT("tracker_track", "event_json"), convtrack_tracker_track(tr, EVENT, L, NULL, 0, out),
                "event_json");
        EXPECT1(WHAT("tracker_track", "options_json"), convtrack_tracker_track(tr, S(EVENT), "{}", L, out),
                "options_json");
        EXPECT1(WHAT("tracker_page_snippet", "events_json"),
                convtrack_tracker_page_snippet(tr, "[]", L, NULL, 0, out), "events_json");
        EXPECT1(WHAT("tracker_page_snippet", "options_json"),
                convtrack_tracker_page_snippet(tr, S("[]"), "{}", L, out), "options_json");
        EXPECT1(WHAT("tracker_catalog_update", "product_json"),
                convtrack_tracker_catalog_update(tr, "{\"id\":\"1\"}", L, out), "product_json");
        EXPECT1(WHAT("tracker_catalog_delete", "product_id"), convtrack_tracker_catalog_delete(tr, "1", L, out),
                "product_id");
        {
            char *outs[2] = {SENTINEL, SENTINEL};
            convtrack_status s = convtrack_tracker_export_feed(tr, products, L, S("csv"), &outs[0], &outs[1]);
            expect_len_rejected(WHAT("tracker_export_feed", "products_jsonl"), s, outs, 2, "products_jsonl");
            s = convtrack_tracker_export_feed(tr, S(products), "csv", L, &outs[0], &outs[1]);
            expect_len_rejected(WHAT("tracker_export_feed", "format"), s, outs, 2, "format");
        }
        EXPECT1(WHAT("tracker_export_feed_file", "src_path"),
                convtrack_tracker_export_feed_file(tr, "/nonexistent/p.jsonl", L, S("/nonexistent/f.csv"), S("csv"),
                                                   out),
                "src_path");
        EXPECT1(WHAT("tracker_export_feed_file", "dst_path"),
                convtrack_tracker_export_feed_file(tr, S("/nonexistent/p.jsonl"), "/nonexistent/f.csv", L, S("csv"),
                                                   out),
                "dst_path");
        EXPECT1(WHAT("tracker_export_feed_file", "format"),
                convtrack_tracker_export_feed_file(tr, S("/nonexistent/p.jsonl"), S("/nonexistent/f.csv"), "csv", L,
                                                   out),
                "format");
        EXPECT1(WHAT("tracker_check_catalog", "events_jsonl"),
                convtrack_tracker_check_catalog(tr, "{}\n", L, S(products), out), "events_jsonl");
        EXPECT1(WHAT("tracker_check_catalog", "products_jsonl"),
                convtrack_tracker_check_catalog(tr, S("{}\n"), products, L, out), "products_jsonl");
#undef WHAT
    }
    convtrack_tracker_free(tr);
}

/* NULL with a non-zero length is NULL (required) or "not given" (optional); a non-NULL
 * pointer with length 0 is the empty string (required) or "not given" (optional). Never a
 * read through the pointer. */
static void test_null_and_empty(void) {
    convtrack_tracker *tr = new_tracker(SETTINGS);
    if (!check(tr != NULL, "tracker for the NULL/empty checks")) {
        return;
    }
    char *out = SENTINEL;
    convtrack_status s = convtrack_tracker_check_catalog(tr, NULL, 7, S("{}\n"), &out);
    check(s == CONVTRACK_STATUS_NULL_POINTER && out == SENTINEL, "check_catalog(events_jsonl=NULL, len 7): %s",
          convtrack_status_name(s));
    s = convtrack_tracker_export_feed_file(tr, S("/nonexistent/p.jsonl"), NULL, 9, S("csv"), &out);
    check(s == CONVTRACK_STATUS_NULL_POINTER && out == SENTINEL, "export_feed_file(dst_path=NULL, len 9): %s",
          convtrack_status_name(s));
    /* An empty string behind a pointer that must not be read (length 0). */
    const char *no_bytes = (const char *)(uintptr_t)1;
    s = convtrack_normalize(no_bytes, 0, S("x@y.z"), NULL, 0, &out);
    check(s == CONVTRACK_STATUS_INVALID_ARGUMENT && out == SENTINEL, "normalize(field len 0): %s",
          convtrack_status_name(s));
    s = convtrack_normalize(S("email"), S("x@y.z"), no_bytes, 0, &out);
    check(s == CONVTRACK_STATUS_OK && out != SENTINEL && strcmp(out, "x@y.z") == 0,
          "normalize(country len 0) means no country: %s", convtrack_status_name(s));
    if (out != SENTINEL) {
        convtrack_string_free(out);
    }
    out = SENTINEL;
    convtrack_tracker *t = TRACKER_SENTINEL;
    s = convtrack_tracker_new(no_bytes, 0, &t);
    check(s == CONVTRACK_STATUS_INVALID_JSON && t == TRACKER_SENTINEL, "tracker_new(settings_json len 0): %s",
          convtrack_status_name(s));
    s = convtrack_tracker_build(tr, no_bytes, 0, NULL, 0, &out);
    check(s == CONVTRACK_STATUS_INVALID_JSON && out == SENTINEL, "tracker_build(event_json len 0): %s",
          convtrack_status_name(s));
    s = convtrack_tracker_page_snippet(tr, S("[]"), no_bytes, 0, &out);
    check(s == CONVTRACK_STATUS_OK && out != SENTINEL, "page_snippet(options_json len 0) uses defaults: %s",
          convtrack_status_name(s));
    if (out != SENTINEL) {
        convtrack_string_free(out);
    }
    out = SENTINEL;
    char *report = SENTINEL;
    s = convtrack_tracker_export_feed(tr, no_bytes, 0, S("csv"), &out, &report);
    check(s == CONVTRACK_STATUS_OK && out != SENTINEL && report != SENTINEL && strstr(report, "\"read\":0"),
          "export_feed(products_jsonl len 0) is an empty feed: %s", convtrack_status_name(s));
    if (out != SENTINEL) {
        convtrack_string_free(out);
    }
    if (report != SENTINEL) {
        convtrack_string_free(report);
    }
    convtrack_tracker_free(tr);
}

/* The output buffer of convtrack_last_error_message: a length above PTRDIFF_MAX is no buffer
 * size. Only the terminating NUL is written (an empty message); the full length is returned. */
static void test_last_error_buffer(void) {
    char *out = SENTINEL;
    convtrack_status s = convtrack_normalize(S("no_such_field"), S("x"), NULL, 0, &out);
    check(s == CONVTRACK_STATUS_INVALID_ARGUMENT, "set up a failure for the buffer checks");
    size_t n = convtrack_last_error_message(NULL, 0);
    check(n > 4, "the message is longer than the 4-byte buffer below (%zu)", n);
    const size_t lens[2] = {SIZE_MAX, (size_t)PTRDIFF_MAX + 1};
    for (int k = 0; k < 2; k++) {
        char buf[4] = {'X', 'X', 'X', 'X'};
        size_t r = convtrack_last_error_message(buf, lens[k]);
        check(r == n && buf[0] == '\0' && buf[1] == 'X' && buf[3] == 'X',
              "last_error_message(buf[4], %s): returns %zu, writes only the NUL", k ? "PTRDIFF_MAX + 1" : "(size_t)-1",
              r);
        check(convtrack_last_error_message(NULL, lens[k]) == n, "last_error_message(NULL, huge) is a length query");
    }
    check(convtrack_last_error_message(NULL, 0) == n, "the message is still there");
}

/* ------------------------------------------------------------------------ */
/* Calls from a pthread-key destructor                                        */
/* ------------------------------------------------------------------------ */

struct exit_calls {
    convtrack_tracker *tracker;
    convtrack_tracker *queue; /* with an outbox: track writes to SQLite */
    bool warm; /* the thread used the library before it exited */
    bool ran;
    convtrack_status build_ok, build_bad, event_id, hash, track, tracker_new;
    bool build_out, message_ok, name_ok, version_ok, random_id_ok;
    size_t message_len;
    char message[128];
};

static pthread_key_t exit_key;

static void on_thread_exit(void *p) {
    struct exit_calls *c = p;
    c->ran = true;
    char *out = NULL;
    c->build_ok = convtrack_tracker_build(c->tracker, S(EVENT), NULL, 0, &out);
    c->build_out = out != NULL && strstr(out, "\"event_id\":\"ct1-") != NULL;
    convtrack_string_free(out);
    /* No order id: a random id (OS randomness, no thread-local generator). */
    out = NULL;
    convtrack_status s = convtrack_tracker_build(c->tracker, S("{\"event_name\":\"PageView\"}"), NULL, 0, &out);
    c->random_id_ok = s == CONVTRACK_STATUS_OK && out != NULL && strstr(out, "\"event_id\":\"ctr-") != NULL;
    convtrack_string_free(out);
    out = SENTINEL;
    c->build_bad = convtrack_tracker_build(c->tracker, S("{\"event_name\":\"Purchase\"}"), NULL, 0, &out);
    c->build_bad = out == SENTINEL ? c->build_bad : CONVTRACK_STATUS_INTERNAL;
    memset(c->message, 'X', sizeof c->message);
    c->message_len = convtrack_last_error_message(c->message, sizeof c->message);
    c->message_ok = memchr(c->message, '\0', sizeof c->message) != NULL;
    c->name_ok = strcmp(convtrack_status_name(CONVTRACK_STATUS_MISSING_FIELD), "CONVTRACK_STATUS_MISSING_FIELD") == 0;
    c->version_ok = convtrack_version() != NULL;
    convtrack_warm_up();
    out = NULL;
    c->event_id = convtrack_event_id(S("1234567890"), S("Purchase"), S("1001"), &out);
    convtrack_string_free(out);
    out = NULL;
    c->hash = convtrack_hash(S("phone"), S("07700 900123"), S("GB"), &out);
    convtrack_string_free(out);
    out = SENTINEL;
    c->track = convtrack_tracker_track(c->queue, S(EVENT), NULL, 0, &out);
    /* The second thread tracks the same order again: the outbox answers "duplicate". */
    const char *want = c->warm ? "\"server\":\"queued\"" : "\"server\":\"duplicate\"";
    c->track = out != SENTINEL && strstr(out, want) ? c->track : CONVTRACK_STATUS_INTERNAL;
    if (out != SENTINEL) {
        convtrack_string_free(out);
    }
    convtrack_tracker *t = NULL;
    c->tracker_new = convtrack_tracker_new(S(SETTINGS), &t);
    convtrack_tracker_free(t);
    convtrack_string_free(NULL);
}

static void *exiting_thread(void *p) {
    struct exit_calls *c = p;
    if (c->warm) {
        /* Touch every thread-local the library has, including the error slot. */
        char *out = SENTINEL;
        convtrack_tracker_build(c->tracker, S("{}"), NULL, 0, &out);
        char buf[8];
        convtrack_last_error_message(buf, sizeof buf);
        out = NULL;
        convtrack_tracker_build(c->tracker, S(EVENT), NULL, 0, &out);
        convtrack_string_free(out);
    }
    pthread_setspecific(exit_key, c);
    return NULL;
}

static void test_thread_exit(void) {
    char dir[] = "/tmp/convtrack-c-boundary-XXXXXX";
    if (!check(mkdtemp(dir) != NULL, "temporary directory for the outbox")) {
        return;
    }
    char path[128], settings[512];
    snprintf(path, sizeof path, "%s/outbox.sqlite3", dir);
    snprintf(settings, sizeof settings,
             "{\"pixel_id\":\"1234567890\",\"access_token\":\"EAAB-test\",\"data_controls\":true,"
             "\"outbox_path\":\"%s\"}",
             path);
    convtrack_tracker *tr = new_tracker(SETTINGS);
    convtrack_tracker *queue = new_tracker(settings);
    if (!check(tr != NULL && queue != NULL, "trackers for the thread-exit checks") ||
        !check(pthread_key_create(&exit_key, on_thread_exit) == 0, "pthread_key_create")) {
        convtrack_tracker_free(tr);
        convtrack_tracker_free(queue);
        return;
    }
    for (int warm = 1; warm >= 0; warm--) {
        const char *w = warm ? "after using the library" : "first call";
        struct exit_calls c;
        memset(&c, 0, sizeof c);
        c.tracker = tr;
        c.queue = queue;
        c.warm = warm;
        pthread_t th;
        if (!check(pthread_create(&th, NULL, exiting_thread, &c) == 0, "pthread_create")) {
            break;
        }
        pthread_join(th, NULL);
        check(c.ran, "[%s] the pthread-key destructor ran and the process is alive", w);
        check(c.build_ok == CONVTRACK_STATUS_OK && c.build_out, "[%s] build in a key destructor: %s", w,
              convtrack_status_name(c.build_ok));
        check(c.random_id_ok, "[%s] build without order id gives a random ctr- id", w);
        check(c.build_bad == CONVTRACK_STATUS_MISSING_FIELD, "[%s] failing build: %s, out untouched", w,
              convtrack_status_name(c.build_bad));
        check(c.message_ok && c.message_len == strlen(c.message) && strstr(c.message, "order_id") != NULL,
              "[%s] last_error_message still works and names order_id (\"%s\", %zu)", w,
              c.message_ok ? c.message : "", c.message_len);
        check(c.name_ok && c.version_ok, "[%s] status_name and version", w);
        check(c.event_id == CONVTRACK_STATUS_OK, "[%s] event_id: %s", w, convtrack_status_name(c.event_id));
        check(c.hash == CONVTRACK_STATUS_OK, "[%s] hash(phone): %s", w, convtrack_status_name(c.hash));
        check(c.track == CONVTRACK_STATUS_OK, "[%s] track into the outbox (queued, then duplicate): %s", w,
              convtrack_status_name(c.track));
        check(c.tracker_new == CONVTRACK_STATUS_OK, "[%s] tracker_new and tracker_free: %s", w,
              convtrack_status_name(c.tracker_new));
    }
    pthread_key_delete(exit_key);
    convtrack_tracker_free(tr);
    convtrack_tracker_free(queue);
    const char *suffixes[] = {"", "-wal", "-shm", "-journal"};
    for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
        char f[160];
        snprintf(f, sizeof f, "%s%s", path, suffixes[i]);
        remove(f);
    }
    check(rmdir(dir) == 0, "outbox directory cleaned up");
}

int main(void) {
    test_length_rule();
    test_null_and_empty();
    test_last_error_buffer();
    test_thread_exit();
    printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
