/* C tests of the convtrack ABI, run under AddressSanitizer + UBSan (tests/c/run.sh).
 * Success paths, NULL pointers, invalid UTF-8, malformed JSON, untouched out-params
 * on failure, error messages without PII, every free function, and threads. */
#define _POSIX_C_SOURCE 200809L
#include "convtrack.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int passed, failed;

#define CHECK(cond, ...)                                   \
    do {                                                   \
        if (cond) {                                        \
            passed++;                                      \
        } else {                                           \
            failed++;                                      \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__); \
            fprintf(stderr, __VA_ARGS__);                  \
            fprintf(stderr, "\n");                         \
        }                                                  \
    } while (0)

#define S(lit) (lit), strlen(lit)

static char *const SENTINEL = (char *)0x5e17;

static char *last_error(void) {
    static char buf[512];
    buf[0] = 0;
    convtrack_last_error_message(buf, sizeof buf);
    return buf;
}

static char *read_file(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    size_t got = fread(buf, 1, (size_t)n, f);
    buf[got] = 0;
    fclose(f);
    return buf;
}

/* Copies the JSON string value after `"key": "` starting at *pos into out; advances *pos. */
static int next_string(const char **pos, const char *key, char *out, size_t cap) {
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\": \"", key);
    const char *p = strstr(*pos, pat);
    if (!p) return 0;
    p += strlen(pat);
    size_t i = 0;
    while (*p && *p != '"' && i + 1 < cap) out[i++] = *p++;
    out[i] = 0;
    *pos = p;
    return 1;
}

static void test_version(void) {
    char expect[32];
    snprintf(expect, sizeof expect, "%d.%d.%d", CONVTRACK_VERSION_MAJOR, CONVTRACK_VERSION_MINOR, CONVTRACK_VERSION_PATCH);
    CHECK(strcmp(convtrack_version(), expect) == 0, "version %s != macros %s", convtrack_version(), expect);
    CHECK(strcmp(convtrack_status_name(CONVTRACK_STATUS_INVALID_SETTING), "CONVTRACK_STATUS_INVALID_SETTING") == 0, "status name");
}

static void test_golden_event_ids(const char *vectors_path) {
    char *json = read_file(vectors_path);
    CHECK(json != NULL, "cannot read %s", vectors_path);
    if (!json) return;
    const char *pos = json;
    char pixel[64], name[64], order[256], expected[64];
    int n = 0;
    while (next_string(&pos, "pixel_id", pixel, sizeof pixel)) {
        CHECK(next_string(&pos, "event_name", name, sizeof name), "vector shape");
        CHECK(next_string(&pos, "order_id", order, sizeof order), "vector shape");
        CHECK(next_string(&pos, "event_id", expected, sizeof expected), "vector shape");
        char *id = NULL;
        convtrack_status st = convtrack_event_id(S(pixel), S(name), S(order), &id);
        CHECK(st == CONVTRACK_STATUS_OK && id && strcmp(id, expected) == 0, "event id for order %s: %s != %s", order, id ? id : "(null)", expected);
        convtrack_string_free(id);
        n++;
    }
    CHECK(n >= 5, "only %d golden vectors read", n);
    free(json);
}

static void test_normalize_and_hash(void) {
    char *out = NULL;
    CHECK(convtrack_normalize(S("email"), S("  John.Smith@Example.COM "), NULL, 0, &out) == CONVTRACK_STATUS_OK, "normalize ok");
    CHECK(out && strcmp(out, "john.smith@example.com") == 0, "normalized email: %s", out ? out : "(null)");
    convtrack_string_free(out);

    out = NULL;
    CHECK(convtrack_hash(S("em"), S("john.smith@example.com"), NULL, 0, &out) == CONVTRACK_STATUS_OK, "hash ok");
    /* sha256("john.smith@example.com") */
    CHECK(out && strlen(out) == 64, "hash length");
    convtrack_string_free(out);

    /* Optional start-up work (phone metadata); idempotent, no status, no effect on results. */
    convtrack_warm_up();
    convtrack_warm_up();
    out = NULL;
    CHECK(convtrack_normalize(S("phone"), S("020 7183 8750"), S("GB"), &out) == CONVTRACK_STATUS_OK, "phone with country");
    CHECK(out && strcmp(out, "442071838750") == 0, "E.164 completion: %s", out ? out : "(null)");
    convtrack_string_free(out);

    out = SENTINEL;
    CHECK(convtrack_normalize(S("email"), S("   "), NULL, 0, &out) == CONVTRACK_STATUS_DROPPED, "whitespace dropped");
    CHECK(out == SENTINEL, "out untouched on DROPPED");
    CHECK(convtrack_hash(S("phone"), "", 0, NULL, 0, &out) == CONVTRACK_STATUS_DROPPED, "empty hash dropped");
    CHECK(out == SENTINEL, "out untouched on DROPPED (hash)");

    CHECK(convtrack_normalize(S("mail"), S("x"), NULL, 0, &out) == CONVTRACK_STATUS_INVALID_ARGUMENT, "unknown field");
    CHECK(strstr(last_error(), "field") != NULL, "message names the argument: %s", last_error());
    CHECK(convtrack_hash(S("phone"), S("0201"), S("Atlantis"), &out) == CONVTRACK_STATUS_INVALID_ARGUMENT, "unknown country");
    CHECK(out == SENTINEL, "out untouched on error");

    /* Invalid UTF-8 and NUL bytes inside a value. */
    const char bad_utf8[] = {'a', (char)0xff, (char)0xfe, 'b'};
    CHECK(convtrack_normalize(S("email"), bad_utf8, sizeof bad_utf8, NULL, 0, &out) == CONVTRACK_STATUS_INVALID_UTF8, "invalid utf8");
    CHECK(strstr(last_error(), "value") != NULL, "message names value: %s", last_error());
    const char with_nul[] = {'j', 'o', 0, 'e'};
    char *h0 = NULL;
    convtrack_status st = convtrack_normalize(S("first_name"), with_nul, sizeof with_nul, NULL, 0, &out);
    CHECK(st == CONVTRACK_STATUS_INVALID_VALUE && out == SENTINEL, "NUL kept by normalization is reported, not truncated: %d", st);
    CHECK(convtrack_hash(S("first_name"), with_nul, sizeof with_nul, NULL, 0, &h0) == CONVTRACK_STATUS_OK && strlen(h0) == 64, "NUL value hashes");
    convtrack_string_free(h0);

    /* A 10 MB value: no crash, a result or a typed status. */
    size_t big = 10u << 20;
    char *huge = malloc(big);
    memset(huge, 'A', big);
    char *h = NULL;
    st = convtrack_hash(S("last_name"), huge, big, NULL, 0, &h);
    CHECK(st == CONVTRACK_STATUS_OK && h && strlen(h) == 64, "10 MB value hashed: %d", st);
    convtrack_string_free(h);
    free(huge);

    /* NULL pointers. */
    CHECK(convtrack_normalize(NULL, 0, S("x"), NULL, 0, &out) == CONVTRACK_STATUS_NULL_POINTER, "NULL field");
    CHECK(convtrack_normalize(S("email"), NULL, 3, NULL, 0, &out) == CONVTRACK_STATUS_NULL_POINTER, "NULL value");
    CHECK(convtrack_normalize(S("email"), S("x"), NULL, 0, NULL) == CONVTRACK_STATUS_NULL_POINTER, "NULL out");
    CHECK(convtrack_hash(S("email"), NULL, 1, NULL, 0, &out) == CONVTRACK_STATUS_NULL_POINTER, "NULL value (hash)");
    CHECK(convtrack_event_id(NULL, 0, S("Purchase"), S("1"), &out) == CONVTRACK_STATUS_NULL_POINTER, "NULL pixel");
    CHECK(convtrack_event_id(S("1"), S("Purchase"), S("1"), NULL) == CONVTRACK_STATUS_NULL_POINTER, "NULL out (event id)");
    CHECK(convtrack_event_id(S("12ab"), S("Purchase"), S("1"), &out) == CONVTRACK_STATUS_INVALID_ARGUMENT, "bad pixel id");
    CHECK(out == SENTINEL, "out untouched");
}

static void test_last_error_semantics(void) {
    char *out = SENTINEL;
    convtrack_normalize(S("nope"), S("x"), NULL, 0, &out);
    size_t full = convtrack_last_error_message(NULL, 0);
    CHECK(full > 5, "length-only query: %zu", full);
    char small[8];
    memset(small, 'x', sizeof small);
    size_t n = convtrack_last_error_message(small, sizeof small);
    CHECK(n == full && small[7] == 0 && strlen(small) == 7, "truncated and NUL-terminated");
    char *ok = NULL;
    convtrack_event_id(S("1"), S("Purchase"), S("1"), &ok);
    convtrack_string_free(ok);
    CHECK(convtrack_last_error_message(NULL, 0) == 0, "cleared after success");
    memset(small, 'x', sizeof small);
    CHECK(convtrack_last_error_message(small, sizeof small) == 0 && small[0] == 0, "empty string written after success");
}

static const char *SETTINGS_ON = "{\"pixel_id\":\"1234567890\",\"access_token\":\"EAAB-SENTINEL-TOKEN\",\"data_controls\":true}";

static const char *PURCHASE =
    "{\"event_name\":\"Purchase\",\"order_id\":\"1001\",\"event_source_url\":\"https://shop.example/thanks\","
    "\"currency\":\"EUR\",\"value\":\"59.90\",\"items\":[{\"id\":\"SKU-1\",\"quantity\":2,\"price\":\"19.95\","
    "\"title\":\"</script><script>alert(1)</script>\"}],\"customer\":{\"email\":\"sentinel.pii@example.com\"},"
    "\"browser\":{\"ip\":\"203.0.113.7\",\"user_agent\":\"Mozilla/5.0\"},\"consent\":{\"marketing\":\"granted\"}}";

static void test_tracker(void) {
    convtrack_tracker *t = (convtrack_tracker *)SENTINEL;
    CHECK(convtrack_tracker_new(S("{\"pixel_id\":\"12ab\"}"), &t) == CONVTRACK_STATUS_INVALID_SETTING, "bad settings");
    CHECK(strstr(last_error(), "pixel_id") != NULL, "names the setting: %s", last_error());
    CHECK(t == (convtrack_tracker *)SENTINEL, "tracker out untouched");
    CHECK(convtrack_tracker_new(S("{\"pixel_id\":"), &t) == CONVTRACK_STATUS_INVALID_JSON, "malformed settings JSON");
    CHECK(convtrack_tracker_new(NULL, 0, &t) == CONVTRACK_STATUS_NULL_POINTER, "NULL settings");
    CHECK(convtrack_tracker_new(S("{\"pixel_id\":\"1\"}"), NULL) == CONVTRACK_STATUS_NULL_POINTER, "NULL tracker out");
    const char bad_utf8[] = {'{', (char)0xc3, '}'};
    CHECK(convtrack_tracker_new(bad_utf8, sizeof bad_utf8, &t) == CONVTRACK_STATUS_INVALID_UTF8, "settings utf8");
    CHECK(convtrack_tracker_new(S("{\"pixel_id\":\"1\",\"access_token\":\"EAAB-SENTINEL-TOKEN x\"}"), &t) == CONVTRACK_STATUS_INVALID_SETTING, "bad token");
    CHECK(strstr(last_error(), "SENTINEL") == NULL, "token never in messages");

    t = NULL;
    CHECK(convtrack_tracker_new(S(SETTINGS_ON), &t) == CONVTRACK_STATUS_OK && t, "tracker created");
    char *out = NULL;
    CHECK(convtrack_tracker_build(t, S(PURCHASE), NULL, 0, &out) == CONVTRACK_STATUS_OK, "build: %s", last_error());
    char *id = NULL;
    convtrack_event_id(S("1234567890"), S("Purchase"), S("1001"), &id);
    CHECK(out && id && strstr(out, id) != NULL, "result carries the derived event id");
    CHECK(out && strstr(out, "\"server\":\"send\"") != NULL, "send decision");
    CHECK(out && strstr(out, "</script><script>") == NULL, "hostile title escaped");
    CHECK(out && strstr(out, "sentinel.pii") == NULL && strstr(out, "SENTINEL-TOKEN") == NULL, "no PII or token in result");
    convtrack_string_free(out);
    convtrack_string_free(id);

    out = NULL;
    CHECK(convtrack_tracker_build(t, S(PURCHASE), S("{\"nonce\":\"abc==\",\"now\":1795870000}"), &out) == CONVTRACK_STATUS_OK, "build with options: %s", last_error());
    CHECK(out && strstr(out, "nonce=\\\"abc==\\\"") != NULL, "nonce in snippet");
    convtrack_string_free(out);

    struct { const char *event; convtrack_status want; const char *field; } bad[] = {
        {"{\"event_name\":\"Purchase\",\"order_id\":\"1\",\"currency\":\"EUR\",\"value\":\"1\",\"colour\":\"sentinel.pii@example.com\"}", CONVTRACK_STATUS_UNKNOWN_FIELD, "colour"},
        {"{\"event_name\":\"Purchase\",\"currency\":\"EUR\",\"value\":\"1\"}", CONVTRACK_STATUS_MISSING_FIELD, "order_id"},
        {"{\"event_name\":\"Purchase\",\"order_id\":\"1\",\"currency\":\"EUR\",\"value\":\"NaN\"}", CONVTRACK_STATUS_INVALID_VALUE, "value"},
        {"{\"event_name\":\"Lead\",\"customer\":{\"email\":{\"x\":\"sentinel.pii@example.com\"}}}", CONVTRACK_STATUS_WRONG_TYPE, "customer.email"},
        {"{\"event_name\":\"Lead\",\"event_time\":1}", CONVTRACK_STATUS_EVENT_TIME_OUT_OF_RANGE, "event_time"},
        {"{\"event_name\":", CONVTRACK_STATUS_INVALID_JSON, "event"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        out = SENTINEL;
        convtrack_status st = convtrack_tracker_build(t, S(bad[i].event), NULL, 0, &out);
        CHECK(st == bad[i].want, "bad event %zu: status %d want %d", i, st, bad[i].want);
        CHECK(out == SENTINEL, "out untouched (bad event %zu)", i);
        CHECK(strncmp(last_error(), bad[i].field, strlen(bad[i].field)) == 0, "message names %s: %s", bad[i].field, last_error());
        CHECK(strstr(last_error(), "sentinel.pii") == NULL, "no PII in message");
    }

    /* 10 MB title. */
    size_t big = 10u << 20;
    char *ev = malloc(big + 200);
    int k = snprintf(ev, 200, "{\"event_name\":\"Lead\",\"items\":[{\"id\":\"a\",\"title\":\"");
    memset(ev + k, 'x', big);
    strcpy(ev + k + big, "\"}]}");
    out = SENTINEL;
    CHECK(convtrack_tracker_build(t, ev, strlen(ev), NULL, 0, &out) == CONVTRACK_STATUS_TOO_LARGE, "10 MB input");
    CHECK(out == SENTINEL, "out untouched (too large)");
    free(ev);

    /* NULL arguments to build. */
    CHECK(convtrack_tracker_build(NULL, S(PURCHASE), NULL, 0, &out) == CONVTRACK_STATUS_NULL_POINTER, "NULL tracker");
    CHECK(convtrack_tracker_build(t, NULL, 5, NULL, 0, &out) == CONVTRACK_STATUS_NULL_POINTER, "NULL event");
    CHECK(convtrack_tracker_build(t, S(PURCHASE), NULL, 0, NULL) == CONVTRACK_STATUS_NULL_POINTER, "NULL out");
    CHECK(convtrack_tracker_build(t, S(PURCHASE), S("{\"bogus\":1}"), &out) == CONVTRACK_STATUS_UNKNOWN_FIELD, "bad options");
    CHECK(out == SENTINEL, "out untouched (options)");

    convtrack_tracker_free(t);
}

static convtrack_tracker *shared;

static void *worker(void *arg) {
    (void)arg;
    for (int i = 0; i < 200; i++) {
        char *out = NULL;
        if (convtrack_tracker_build(shared, S(PURCHASE), NULL, 0, &out) != CONVTRACK_STATUS_OK) return (void *)1;
        convtrack_string_free(out);
    }
    return NULL;
}

static void test_threads(void) {
    CHECK(convtrack_tracker_new(S(SETTINGS_ON), &shared) == CONVTRACK_STATUS_OK, "tracker");
    pthread_t th[4];
    for (int i = 0; i < 4; i++) pthread_create(&th[i], NULL, worker, NULL);
    int ok = 1;
    for (int i = 0; i < 4; i++) {
        void *r;
        pthread_join(th[i], &r);
        if (r) ok = 0;
    }
    CHECK(ok, "4 threads x 200 builds on one tracker");
    convtrack_tracker_free(shared);
}

/* Removes an SQLite outbox file with its WAL and shared-memory files. */
static void remove_db(const char *path) {
    char side[300];
    remove(path);
    snprintf(side, sizeof side, "%s-wal", path);
    remove(side);
    snprintf(side, sizeof side, "%s-shm", path);
    remove(side);
}

static void test_track_flush_status(void) {
    char path[256];
    snprintf(path, sizeof path, "/tmp/convtrack-c-test-%d.sqlite3", (int)getpid());
    remove(path);
    char settings[512];
    /* Port 9 (discard) on loopback refuses connections: every flush is a transient network failure. */
    snprintf(settings, sizeof settings,
             "{\"pixel_id\":\"1234567890\",\"access_token\":\"EAAB-SENTINEL-TOKEN\",\"data_controls\":true,"
             "\"outbox_path\":\"%s\",\"endpoint\":\"http://127.0.0.1:9\",\"request_timeout_ms\":500,\"retry_base_ms\":60000}", path);
    convtrack_tracker *t = NULL;
    CHECK(convtrack_tracker_new(S(settings), &t) == CONVTRACK_STATUS_OK, "tracker with outbox: %s", last_error());
    char *out = NULL;
    CHECK(convtrack_tracker_track(t, S(PURCHASE), NULL, 0, &out) == CONVTRACK_STATUS_OK, "track: %s", last_error());
    CHECK(out && strstr(out, "\"server\":\"queued\"") != NULL, "queued");
    convtrack_string_free(out);
    out = NULL;
    CHECK(convtrack_tracker_track(t, S(PURCHASE), NULL, 0, &out) == CONVTRACK_STATUS_OK, "track again");
    CHECK(out && strstr(out, "\"server\":\"duplicate\"") != NULL, "duplicate");
    convtrack_string_free(out);
    out = NULL;
    CHECK(convtrack_tracker_flush(t, 2000, &out) == CONVTRACK_STATUS_OK, "flush: %s", last_error());
    CHECK(out && strstr(out, "\"retried\":1") && strstr(out, "\"remaining\":1"), "network failure is retried, nothing lost: %s", out ? out : "");
    convtrack_string_free(out);
    CHECK(convtrack_tracker_flush(t, 10, NULL) == CONVTRACK_STATUS_OK, "flush with NULL out");
    out = NULL;
    CHECK(convtrack_tracker_status(t, &out) == CONVTRACK_STATUS_OK, "status");
    CHECK(out && strstr(out, "\"accepted\":1") && strstr(out, "\"duplicate\":1") && strstr(out, "\"depth\":1"), "status counters: %s", out ? out : "");
    CHECK(out && strstr(out, "SENTINEL") == NULL && strstr(out, "sentinel.pii") == NULL, "no token or PII in status");
    convtrack_string_free(out);
    out = SENTINEL;
    CHECK(convtrack_tracker_status(NULL, &out) == CONVTRACK_STATUS_NULL_POINTER && out == SENTINEL, "status NULL tracker");
    CHECK(convtrack_tracker_status(t, NULL) == CONVTRACK_STATUS_NULL_POINTER, "status NULL out");
    CHECK(convtrack_tracker_flush(NULL, 10, NULL) == CONVTRACK_STATUS_NULL_POINTER, "flush NULL tracker");
    convtrack_tracker_free(t);

    /* The outbox file never holds raw PII or the token. */
    char *db = read_file(path);
    CHECK(db != NULL, "outbox file exists");
    if (db) {
        FILE *f = fopen(path, "rb");
        fseek(f, 0, SEEK_END);
        long n = ftell(f);
        fclose(f);
        int found = 0;
        for (long i = 0; i + 12 <= n; i++)
            if (memcmp(db + i, "sentinel.pii", 12) == 0 || memcmp(db + i, "SENTINEL-TOK", 12) == 0) found = 1;
        CHECK(!found, "no raw PII or token in the outbox file");
        free(db);
    }

    /* track without an outbox. */
    CHECK(convtrack_tracker_new(S(SETTINGS_ON), &t) == CONVTRACK_STATUS_OK, "tracker without outbox");
    out = SENTINEL;
    CHECK(convtrack_tracker_track(t, S(PURCHASE), NULL, 0, &out) == CONVTRACK_STATUS_NOT_CONFIGURED && out == SENTINEL, "track needs outbox_path");
    CHECK(strstr(last_error(), "outbox_path") != NULL, "message names outbox_path");
    convtrack_tracker_free(t);
    remove_db(path);
}

static void test_catalog_updates(void) {
    char path[256];
    snprintf(path, sizeof path, "/tmp/convtrack-c-catalog-%d.sqlite3", (int)getpid());
    remove(path);
    char settings[512];
    /* Catalog-only merchant; port 9 refuses connections, so a flush retries and keeps the change. */
    snprintf(settings, sizeof settings,
             "{\"pixel_id\":\"1234567890\",\"access_token\":\"EAAB-SENTINEL-TOKEN\",\"mode\":\"catalog_only\",\"catalog_id\":\"555\","
             "\"outbox_path\":\"%s\",\"endpoint\":\"http://127.0.0.1:9\",\"request_timeout_ms\":500,\"retry_base_ms\":60000}", path);
    const char *product =
        "{\"id\":\"p1\",\"title\":\"</script><script>alert(1)</script>\",\"description\":\"Mug\",\"availability\":\"in_stock\","
        "\"price\":\"12.99\",\"currency\":\"EUR\",\"link\":\"https://shop.example/p1\",\"image_link\":\"https://shop.example/p1.jpg\",\"brand\":\"Acme\"}";
    convtrack_tracker *t = NULL;
    CHECK(convtrack_tracker_new(S(settings), &t) == CONVTRACK_STATUS_OK, "catalog tracker: %s", last_error());
    char *out = NULL;
    CHECK(convtrack_tracker_catalog_update(t, S(product), &out) == CONVTRACK_STATUS_OK, "catalog_update: %s", last_error());
    CHECK(out && strstr(out, "\"retailer_id\":\"p1\"") && strstr(out, "\"coalesced\":false"), "update queued: %s", out ? out : "");
    convtrack_string_free(out);
    out = NULL;
    CHECK(convtrack_tracker_catalog_update(t, S(product), &out) == CONVTRACK_STATUS_OK && out && strstr(out, "\"coalesced\":true"),
          "second edit coalesces");
    convtrack_string_free(out);
    out = NULL;
    CHECK(convtrack_tracker_catalog_delete(t, S("p2"), &out) == CONVTRACK_STATUS_OK && out && strstr(out, "\"method\":\"DELETE\""),
          "delete queued: %s", last_error());
    convtrack_string_free(out);
    out = NULL;
    CHECK(convtrack_tracker_flush(t, 2000, &out) == CONVTRACK_STATUS_OK, "flush: %s", last_error());
    CHECK(out && strstr(out, "\"catalog\":{") && strstr(out, "\"remaining\":2"), "network failure keeps both changes: %s", out ? out : "");
    convtrack_string_free(out);

    /* Bad input: typed errors naming the field, out-param untouched. */
    out = SENTINEL;
    const char *nan_price = "{\"id\":\"p1\",\"title\":\"t\",\"description\":\"d\",\"availability\":\"in stock\",\"price\":\"NaN\","
                            "\"currency\":\"EUR\",\"link\":\"https://s.example/p\",\"image_link\":\"https://s.example/p.jpg\",\"brand\":\"b\"}";
    CHECK(convtrack_tracker_catalog_update(t, S(nan_price), &out) != CONVTRACK_STATUS_OK && out == SENTINEL, "NaN price refused");
    CHECK(strstr(last_error(), "price") != NULL, "message names price: %s", last_error());
    CHECK(convtrack_tracker_catalog_update(t, S("{"), &out) == CONVTRACK_STATUS_INVALID_JSON && out == SENTINEL, "invalid JSON");
    CHECK(convtrack_tracker_catalog_update(t, "\xff\xfe", 2, &out) == CONVTRACK_STATUS_INVALID_UTF8 && out == SENTINEL, "invalid UTF-8");
    CHECK(convtrack_tracker_catalog_delete(t, "a\0b", 3, &out) != CONVTRACK_STATUS_OK && out == SENTINEL, "NUL in id refused");
    CHECK(convtrack_tracker_catalog_delete(NULL, S("p1"), &out) == CONVTRACK_STATUS_NULL_POINTER && out == SENTINEL, "NULL tracker");
    CHECK(convtrack_tracker_catalog_delete(t, NULL, 3, &out) == CONVTRACK_STATUS_NULL_POINTER && out == SENTINEL, "NULL id");
    CHECK(convtrack_tracker_catalog_update(t, S(product), NULL) == CONVTRACK_STATUS_NULL_POINTER, "NULL out");
    convtrack_tracker_free(t);

    /* Without a catalog id: NOT_CONFIGURED naming catalog_id. */
    CHECK(convtrack_tracker_new(S(SETTINGS_ON), &t) == CONVTRACK_STATUS_OK, "tracker without catalog");
    CHECK(convtrack_tracker_catalog_delete(t, S("p1"), &out) == CONVTRACK_STATUS_NOT_CONFIGURED && out == SENTINEL, "needs catalog_id");
    CHECK(strstr(last_error(), "catalog_id") != NULL, "message names catalog_id: %s", last_error());
    convtrack_tracker_free(t);
    remove_db(path);
}

static void test_page_snippet(void) {
    convtrack_tracker *t = NULL;
    CHECK(convtrack_tracker_new(S(SETTINGS_ON), &t) == CONVTRACK_STATUS_OK, "tracker");
    const char *events =
        "[{\"event_name\":\"PageView\",\"event_id\":\"pv-1\",\"consent\":{\"marketing\":\"granted\"}},"
        " {\"event_name\":\"AddToCart\",\"event_id\":\"atc-1\",\"items\":[{\"id\":\"SKU-1\",\"title\":\"</script><b>\"}],"
        "  \"consent\":{\"marketing\":\"granted\"}}]";
    char *out = NULL;
    CHECK(convtrack_tracker_page_snippet(t, S(events), S("{\"nonce\":\"abc\"}"), &out) == CONVTRACK_STATUS_OK, "page_snippet: %s", last_error());
    if (out) {
        const char *first = strstr(out, "<script");
        CHECK(first && !strstr(first + 1, "<script") && strstr(out, "nonce=\"abc\""), "one script element with the nonce");
        CHECK(!strstr(out, "fbq('track','PageView')") && strstr(out, "\"eventID\":\"pv-1\""), "the PageView event is the page view");
        CHECK(strstr(out, "\"eventID\":\"atc-1\"") != NULL, "both events");
    }
    convtrack_string_free(out);
    out = SENTINEL;
    CHECK(convtrack_tracker_page_snippet(t, S("{}"), NULL, 0, &out) == CONVTRACK_STATUS_WRONG_TYPE && out == SENTINEL, "not an array");
    CHECK(convtrack_tracker_page_snippet(t, S("[{\"event_name\":\"Purchase\"}]"), NULL, 0, &out) == CONVTRACK_STATUS_MISSING_FIELD && out == SENTINEL,
          "missing field");
    CHECK(strstr(last_error(), "events[0].") != NULL, "message names the event: %s", last_error());
    CHECK(convtrack_tracker_page_snippet(NULL, S("[]"), NULL, 0, &out) == CONVTRACK_STATUS_NULL_POINTER && out == SENTINEL, "NULL tracker");
    convtrack_tracker_free(t);
}

static void test_free_null(void) {
    convtrack_string_free(NULL);
    convtrack_tracker_free(NULL);
    passed++;
}

int main(int argc, char **argv) {
    const char *vectors = argc > 1 ? argv[1] : "tests/vectors/event_ids.json";
    test_version();
    test_golden_event_ids(vectors);
    test_normalize_and_hash();
    test_last_error_semantics();
    test_tracker();
    test_threads();
    test_track_flush_status();
    test_catalog_updates();
    test_page_snippet();
    test_free_null();
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
