/*
 * Issue 17 through the C ABI: events beyond the website (action_source), the value
 * fields of custom_data. Events are JSON, so the new input keys need no new function;
 * these checks show they reach the payload, and that bad values are typed errors
 * naming the field. The result JSON is written compactly by the core, so a key and
 * its value are found as one piece of text.
 */
#define _POSIX_C_SOURCE 200809L

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

int main(void) {
    convtrack_tracker *t = new_tracker(SETTINGS_ON);
    if (!check(t != NULL, "tracker with data controls on")) return 1;
    test_action_source(t);
    test_value_fields(t);
    convtrack_tracker_free(t);
    printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
