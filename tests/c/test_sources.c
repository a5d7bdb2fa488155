/*
 * Issue 17 through the C ABI: events beyond the website (action_source), the value
 * fields of custom_data, crawlers (build, and track into an outbox), pixel advanced
 * matching (and where it must be absent). Events are JSON, so the new input keys need
 * no new function; these checks show they reach the payload, and that bad values are
 * typed errors naming the field. The result JSON is written compactly by the core, so a key and
 * its value are found as one piece of text.
 */
#define _POSIX_C_SOURCE 200809L

#include <unistd.h>

#include "check.h"

static const char SETTINGS_ON[] = "{\"pixel_id\":\"1234567890\",\"access_token\":\"EAAB-test\",\"data_controls\":true}";

/* A till receipt: no browser block, no page. */
#define RECEIPT_HEAD                                                                                              \
    "{\"event_name\":\"Purchase\",\"order_id\":\"POS-1\",\"currency\":\"EUR\",\"value\":\"12.50\","               \
    "\"customer\":{\"email\":\"Sentinel.Person@Example.com\"},\"consent\":{\"marketing\":\"granted\"}"

static convtrack_tracker *new_tracker(const char *settings) {
    convtrack_tracker *t = NULL;
    convtrack_status s = convtrack_tracker_new(Z(settings), &t);
    return s == CONVTRACK_STATUS_OK ? t : NULL;
}

/* Builds `event`; returns the result JSON (caller frees with convtrack_string_free) or NULL. */
static char *build(const convtrack_tracker *t, const char *event, convtrack_status *status) {
    char *out = NULL;
    *status = convtrack_tracker_build(t, Z(event), NULL, 0, &out);
    return *status == CONVTRACK_STATUS_OK ? out : NULL;
}

/* A failed build: the status, the field named in the message, no echo of `forbidden`. */
static void expect_error(const convtrack_tracker *t, const char *what, const char *event, convtrack_status want,
                         const char *field, const char *forbidden) {
    convtrack_status s;
    char *out = build(t, event, &s);
    check(s == want && out == NULL, "%s -> %s (got %s)", what, convtrack_status_name(want), convtrack_status_name(s));
    char *msg = last_error();
    check(strstr(msg, field) != NULL, "%s: message names %s", what, field);
    if (forbidden != NULL) {
        check(strstr(msg, forbidden) == NULL, "%s: message does not echo the value", what);
    }
    free(msg);
    convtrack_string_free(out);
}

/* Settings that must be refused with INVALID_SETTING and a message naming `field`. */
static void expect_bad_setting(const char *settings, const char *field) {
    convtrack_tracker *bad = NULL;
    convtrack_status s = convtrack_tracker_new(Z(settings), &bad);
    check(s == CONVTRACK_STATUS_INVALID_SETTING && bad == NULL, "settings %s -> INVALID_SETTING", settings);
    char *msg = last_error();
    check(strstr(msg, field) != NULL, "message names %s", field);
    free(msg);
}

static void test_action_source(const convtrack_tracker *t) {
    convtrack_status s;
    char *out = build(t, RECEIPT_HEAD ",\"action_source\":\"physical_store\"}", &s);
    if (check(out != NULL, "build(store receipt without browser block) -> OK (%s)", convtrack_status_name(s))) {
        check(strstr(out, "\"server\":\"send\"") != NULL, "store receipt: server send");
        check(strstr(out, "\"pixel\":\"off\"") != NULL && strstr(out, "\"pixel_html\":\"\"") != NULL,
              "store receipt: no pixel (pixel off, pixel_html empty)");
        check(strstr(out, "\"action_source\":\"physical_store\"") != NULL, "payload action_source physical_store");
        check(strstr(out, "event_source_url") == NULL && strstr(out, "client_user_agent") == NULL,
              "payload has no event_source_url and no client_user_agent");
        check(strstr(out, "Sentinel.Person") == NULL && strstr(out, "sentinel.person") == NULL, "no raw email");
        convtrack_string_free(out);
    }
    const char *sources[] = {"system_generated", "phone_call", "email", "chat", "app", "other"};
    for (size_t i = 0; i < sizeof sources / sizeof sources[0]; i++) {
        char event[512], want[64];
        snprintf(event, sizeof event, RECEIPT_HEAD ",\"action_source\":\"%s\"}", sources[i]);
        snprintf(want, sizeof want, "\"action_source\":\"%s\"", sources[i]);
        out = build(t, event, &s);
        check(out != NULL && strstr(out, want) != NULL && strstr(out, "\"pixel_html\":\"\"") != NULL,
              "action_source %s reaches the payload, no pixel", sources[i]);
        convtrack_string_free(out);
    }
    expect_error(t, "action_source \"store\"", RECEIPT_HEAD ",\"action_source\":\"store\"}", CONVTRACK_STATUS_INVALID_VALUE,
                 "action_source", "\"store\"");
    expect_error(t, "action_source with </script>", RECEIPT_HEAD ",\"action_source\":\"</script>\"}",
                 CONVTRACK_STATUS_INVALID_VALUE, "action_source", "</script>");
    expect_error(t, "action_source 7", RECEIPT_HEAD ",\"action_source\":7}", CONVTRACK_STATUS_WRONG_TYPE, "action_source",
                 NULL);
    expect_error(t, "action_source with NUL", RECEIPT_HEAD ",\"action_source\":\"app\\u0000\"}",
                 CONVTRACK_STATUS_INVALID_VALUE, "action_source", NULL);
    expect_error(t, "website (default) without a browser block", RECEIPT_HEAD "}", CONVTRACK_STATUS_MISSING_FIELD,
                 "event_source_url", NULL);
    expect_error(t, "store receipt without customer data",
                 "{\"event_name\":\"Purchase\",\"order_id\":\"POS-2\",\"currency\":\"EUR\",\"value\":\"1\","
                 "\"action_source\":\"physical_store\",\"consent\":{\"marketing\":\"granted\"}}",
                 CONVTRACK_STATUS_MISSING_FIELD, "customer", NULL);
}

static void test_value_fields(const convtrack_tracker *t) {
    convtrack_status s;
    char *out = build(t,
                      RECEIPT_HEAD ",\"action_source\":\"physical_store\",\"net_revenue\":\"4.20\",\"predicted_ltv\":310,"
                                   "\"delivery_category\":\"curbside\",\"customer_segmentation\":\"customer_in_loyalty_program\"}",
                      &s);
    if (check(out != NULL, "build(with value fields) -> OK (%s)", convtrack_status_name(s))) {
        check(strstr(out, "\"net_revenue\":4.2") != NULL, "custom_data.net_revenue is the number 4.2");
        check(strstr(out, "\"predicted_ltv\":310") != NULL, "custom_data.predicted_ltv is the number 310");
        check(strstr(out, "\"delivery_category\":\"curbside\"") != NULL, "custom_data.delivery_category");
        check(strstr(out, "\"customer_segmentation\":\"customer_in_loyalty_program\"") != NULL,
              "custom_data.customer_segmentation");
        convtrack_string_free(out);
    }
    expect_error(t, "net_revenue \"NaN\"", RECEIPT_HEAD ",\"action_source\":\"app\",\"net_revenue\":\"NaN\"}",
                 CONVTRACK_STATUS_INVALID_VALUE, "net_revenue", NULL);
    expect_error(t, "net_revenue 1e400 (overflows to inf)", RECEIPT_HEAD ",\"action_source\":\"app\",\"net_revenue\":1e400}",
                 CONVTRACK_STATUS_INVALID_JSON, "event", NULL);
    expect_error(t, "predicted_ltv true", RECEIPT_HEAD ",\"action_source\":\"app\",\"predicted_ltv\":true}",
                 CONVTRACK_STATUS_WRONG_TYPE, "predicted_ltv", NULL);
    expect_error(t, "predicted_ltv -5", RECEIPT_HEAD ",\"action_source\":\"app\",\"predicted_ltv\":-5}",
                 CONVTRACK_STATUS_INVALID_VALUE, "predicted_ltv", NULL);
    expect_error(t, "delivery_category \"sentinel-drone\"",
                 RECEIPT_HEAD ",\"action_source\":\"app\",\"delivery_category\":\"sentinel-drone\"}", CONVTRACK_STATUS_INVALID_VALUE,
                 "delivery_category", "sentinel");
    expect_error(t, "customer_segmentation \"new\"", RECEIPT_HEAD ",\"action_source\":\"app\",\"customer_segmentation\":\"new\"}",
                 CONVTRACK_STATUS_INVALID_VALUE, "customer_segmentation", NULL);
}

static void test_crawlers(void) {
    convtrack_tracker *t = new_tracker("{\"pixel_id\":\"1234567890\",\"access_token\":\"EAAB-test\","
                                       "\"data_controls\":true,\"bot_user_agents\":[\"ShopMonitor\"]}");
    if (!check(t != NULL, "tracker with bot_user_agents")) return;
#define WEB_ORDER(ua)                                                                                             \
    RECEIPT_HEAD ",\"event_source_url\":\"https://shop.example/thanks\",\"browser\":{\"user_agent\":\"" ua "\"}}"
    const char *bots[] = {WEB_ORDER("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"),
                          WEB_ORDER("MOZILLA/5.0 (COMPATIBLE; BINGBOT/2.0)"), WEB_ORDER("Mozilla/5.0 SHOPMONITOR/1")};
    for (size_t i = 0; i < sizeof bots / sizeof bots[0]; i++) {
        convtrack_status s;
        char *out = build(t, bots[i], &s);
        check(out != NULL && strstr(out, "\"server\":\"blocked\",\"reason\":\"bot\"") != NULL &&
                  strstr(out, "\"payload\":null") != NULL,
              "crawler %zu: blocked, reason bot, no payload", i);
        convtrack_string_free(out);
    }
    convtrack_status s;
    char *out = build(t, WEB_ORDER("Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"), &s);
    check(out != NULL && strstr(out, "\"server\":\"send\"") != NULL, "a browser is sent");
    convtrack_string_free(out);
    convtrack_tracker_free(t);
    expect_bad_setting("{\"pixel_id\":\"1\",\"bot_user_agents\":[\"ok-token\",\"ab\"]}", "bot_user_agents[1]");
}

static void test_advanced_matching(void) {
    convtrack_tracker *t = new_tracker("{\"pixel_id\":\"1234567890\",\"access_token\":\"EAAB-test\","
                                       "\"data_controls\":true,\"pixel_advanced_matching\":true}");
    if (!check(t != NULL, "tracker with pixel_advanced_matching")) return;
    char *em = NULL;
    convtrack_status s = convtrack_hash(S("email"), S("Sentinel.Person@Example.com"), NULL, 0, &em);
    if (!check(s == CONVTRACK_STATUS_OK && em != NULL, "hash of the email")) {
        convtrack_tracker_free(t);
        return;
    }
    char init[256], server[256];
    snprintf(init, sizeof init, "fbq('init',\\\"1234567890\\\",{\\\"em\\\":\\\"%s\\\"", em);
    snprintf(server, sizeof server, "\"em\":[\"%s\"]", em);
    char *out = build(t, RECEIPT_HEAD ",\"event_source_url\":\"https://shop.example/t\",\"browser\":{\"user_agent\":\"UA\"}}", &s);
    if (check(out != NULL, "build with advanced matching -> OK (%s)", convtrack_status_name(s))) {
        check(strstr(out, init) != NULL, "pixel init carries em = the email's hash");
        check(strstr(out, server) != NULL, "server user_data.em carries the same hash");
        check(strstr(out, "Sentinel") == NULL && strstr(out, "sentinel.person") == NULL, "no raw email anywhere");
        convtrack_string_free(out);
    }
    out = build(t,
                "{\"event_name\":\"Purchase\",\"order_id\":\"D-1\",\"currency\":\"EUR\",\"value\":\"1\","
                "\"customer\":{\"email\":\"Sentinel.Person@Example.com\"},\"consent\":{\"marketing\":\"denied\"},"
                "\"event_source_url\":\"https://shop.example/t\",\"browser\":{\"user_agent\":\"UA\"}}",
                &s);
    check(out != NULL && strstr(out, em) == NULL && strstr(out, "fbq('init',\\\"1234567890\\\");") != NULL,
          "denied consent: init without keys, no hash in the result");
    convtrack_string_free(out);
    convtrack_string_free(em);
    convtrack_tracker_free(t);
    expect_bad_setting("{\"pixel_id\":\"1\",\"pixel_advanced_matching\":\"yes\"}", "pixel_advanced_matching");
}

/* A website order `id` with the user agent `ua` and the marketing answer `consent`. */
static void web_order(char *buf, size_t n, const char *id, const char *ua, const char *consent) {
    snprintf(buf, n,
             "{\"event_name\":\"Purchase\",\"order_id\":\"%s\",\"currency\":\"EUR\",\"value\":\"12.50\","
             "\"customer\":{\"email\":\"Sentinel.Person@Example.com\"},\"consent\":{\"marketing\":\"%s\"},"
             "\"event_source_url\":\"https://shop.example/thanks\",\"browser\":{\"user_agent\":\"%s\"}}",
             id, consent, ua);
}

/* Tracks `event`; returns the result JSON (caller frees) or NULL. */
static char *track(const convtrack_tracker *t, const char *event, convtrack_status *status) {
    char *out = NULL;
    *status = convtrack_tracker_track(t, Z(event), NULL, 0, &out);
    return *status == CONVTRACK_STATUS_OK ? out : NULL;
}

/* Whether `needle` occurs in the result's pixel_html (the text between its key and the next key, payload). */
static bool in_pixel_html(const char *result, const char *needle) {
    const char *from = strstr(result, "\"pixel_html\":\"");
    const char *to = from ? strstr(from, "\",\"payload\":") : NULL;
    if (from == NULL || to == NULL) return true; /* no pixel_html to look into: report the worst */
    const char *hit = strstr(from, needle);
    return hit != NULL && hit < to;
}

static const char UA_FIREFOX[] = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0";

/* Crawlers through track with an outbox: blocked (reason bot), nothing queued, counted as blocked.bot. */
static void test_crawlers_tracked(void) {
    char dir[] = "/tmp/convtrack-c-sources.XXXXXX";
    if (!check(mkdtemp(dir) != NULL, "temporary outbox directory")) return;
    char path[256], settings[512], event[1024];
    snprintf(path, sizeof path, "%s/outbox.sqlite3", dir);
    outbox_settings(settings, sizeof settings, path, "\"bot_user_agents\":[\"ShopMonitor\"],");
    convtrack_tracker *t = new_tracker(settings);
    if (check(t != NULL, "tracker with an outbox and bot_user_agents")) {
        const char *bots[][2] = {{"BOT-1", "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"},
                                 {"BOT-2", "Mozilla/5.0 (X11; Linux x86_64) shopmonitor/3.1"}};
        for (size_t i = 0; i < 2; i++) {
            convtrack_status s;
            web_order(event, sizeof event, bots[i][0], bots[i][1], "granted");
            char *out = track(t, event, &s);
            check(out != NULL && strstr(out, "\"server\":\"blocked\",\"reason\":\"bot\"") != NULL &&
                      strstr(out, "\"payload\":null") != NULL && strstr(out, "fbq('track'") != NULL,
                  "track(%s): blocked, reason bot, no payload, the pixel as for anyone (%s)",
                  i == 0 ? "Googlebot" : "a bot_user_agents token, other case", convtrack_status_name(s));
            convtrack_string_free(out);
        }
        char *st = NULL;
        convtrack_status s = convtrack_tracker_status(t, &st);
        check(s == CONVTRACK_STATUS_OK && st && strstr(st, "\"queue\":{\"depth\":0,") && strstr(st, "\"accepted\":0,") &&
                  strstr(st, "\"blocked\":{\"bot\":2}"),
              "status: nothing queued, nothing accepted, blocked.bot == 2");
        convtrack_string_free(st);
        /* The same tracker queues a browser's order: the outbox works, the crawlers were kept out of it. */
        web_order(event, sizeof event, "WEB-1", UA_FIREFOX, "granted");
        char *out = track(t, event, &s);
        check(out != NULL && strstr(out, "\"server\":\"queued\"") != NULL, "track(a browser) -> queued");
        convtrack_string_free(out);
        st = NULL;
        s = convtrack_tracker_status(t, &st);
        check(s == CONVTRACK_STATUS_OK && st && strstr(st, "\"queue\":{\"depth\":1,") && strstr(st, "\"blocked\":{\"bot\":2}"),
              "status: one queued, still blocked.bot == 2");
        check(st && strstr(st, "Sentinel") == NULL && strstr(st, "sentinel.person") == NULL && strstr(st, "EAAB-test") == NULL,
              "status carries neither the email nor the token");
        convtrack_string_free(st);
        convtrack_tracker_free(t);
    }
    remove_outbox(path);
    check(rmdir(dir) == 0, "outbox directory cleaned up");
}

/* Advanced matching is absent from the pixel when the server copy may not carry the keys:
 * data controls off, and a held event (consent not answered yet). */
static void test_advanced_matching_absent(void) {
    static const char init_plain[] = "fbq('init',\\\"1234567890\\\");";
    static const char init_keyed[] = "fbq('init',\\\"1234567890\\\",{";
    char *em = NULL;
    convtrack_status s = convtrack_hash(S("email"), S("Sentinel.Person@Example.com"), NULL, 0, &em);
    if (!check(s == CONVTRACK_STATUS_OK && em != NULL, "hash of the email")) return;
    char event[1024];

    convtrack_tracker *t = new_tracker("{\"pixel_id\":\"1234567890\",\"pixel_advanced_matching\":true}");
    if (check(t != NULL, "tracker with pixel_advanced_matching, data controls off")) {
        web_order(event, sizeof event, "AM-OFF", UA_FIREFOX, "granted");
        char *out = build(t, event, &s);
        check(out != NULL && strstr(out, "\"server\":\"blocked\",\"reason\":\"data_controls_off\"") != NULL,
              "data controls off: server blocked (%s)", convtrack_status_name(s));
        check(out != NULL && in_pixel_html(out, init_plain) && !in_pixel_html(out, init_keyed) && strstr(out, em) == NULL,
              "data controls off, consent granted: init without customer keys, the hash nowhere");
        convtrack_string_free(out);
        convtrack_tracker_free(t);
    }

    char dir[] = "/tmp/convtrack-c-am.XXXXXX";
    if (check(mkdtemp(dir) != NULL, "temporary outbox directory")) {
        char path[256], settings[512];
        snprintf(path, sizeof path, "%s/outbox.sqlite3", dir);
        outbox_settings(settings, sizeof settings, path, "\"pixel_advanced_matching\":true,\"unknown_consent\":\"hold\",");
        t = new_tracker(settings);
        if (check(t != NULL, "tracker with pixel_advanced_matching, unknown_consent hold, an outbox")) {
            web_order(event, sizeof event, "AM-HELD", UA_FIREFOX, "unknown");
            char *out = track(t, event, &s);
            check(out != NULL && strstr(out, "\"server\":\"held\"") != NULL, "track(consent unknown) -> held (%s)",
                  convtrack_status_name(s));
            check(out != NULL && in_pixel_html(out, init_plain) && !in_pixel_html(out, init_keyed) && !in_pixel_html(out, em),
                  "held: init without customer keys, the hash not in the page");
            convtrack_string_free(out);
            /* The same tracker with consent granted does carry them: the setting is in force. */
            web_order(event, sizeof event, "AM-GRANTED", UA_FIREFOX, "granted");
            out = track(t, event, &s);
            check(out != NULL && strstr(out, "\"server\":\"queued\"") != NULL && in_pixel_html(out, init_keyed) &&
                      in_pixel_html(out, em),
                  "same tracker, consent granted: queued, init carries em");
            convtrack_string_free(out);
            convtrack_tracker_free(t);
        }
        remove_outbox(path);
        check(rmdir(dir) == 0, "outbox directory cleaned up");
    }
    convtrack_string_free(em);
}

int main(void) {
    convtrack_tracker *t = new_tracker(SETTINGS_ON);
    if (!check(t != NULL, "tracker with data controls on")) return 1;
    test_action_source(t);
    test_value_fields(t);
    convtrack_tracker_free(t);
    test_crawlers();
    test_advanced_matching();
    test_crawlers_tracked();
    test_advanced_matching_absent();
    printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
