/*
 * Issue 17 part 3 through the C ABI: convtrack_first_party_cookies, the first-party
 * _fbp / _fbc cookies of one request (Meta's parameter-builder rules). The answer is
 * compact JSON written by the core, so a key and its value are found as one piece of text.
 * Run under ASan/UBSan by tests/c/run.sh and under valgrind by tests/c/valgrind.sh.
 */
#define _POSIX_C_SOURCE 200809L

#include "check.h"

#define CLICK "IwAR2F4-dbP0l7Mn1IawQQGCINEz7PYXQvwjNwB_qa2ofrHyiLjcbCRxTDMgk"

static char *cookies(const char *request, size_t len, convtrack_status *status) {
    char *out = NULL;
    *status = convtrack_first_party_cookies(request, len, &out);
    return *status == CONVTRACK_STATUS_OK ? out : NULL;
}

static void test_first_visit(void) {
    const char req[] = "{\"url\":\"https://www.example.com/p?fbclid=" CLICK "\",\"host\":\"www.example.com\","
                       "\"domain\":\"example.com\",\"now_ms\":1764800000123,\"random\":42}";
    convtrack_status s;
    char *out = cookies(S(req), &s);
    if (check(out != NULL, "first visit with fbclid -> OK (%s)", convtrack_status_name(s))) {
        check(strstr(out, "\"fbc\":\"fb.1.1764800000123." CLICK "\"") != NULL, "fbc = fb.1.<now ms>.<fbclid>");
        check(strstr(out, "\"fbp\":\"fb.1.1764800000123.42\"") != NULL, "fbp = fb.1.<now ms>.<random>");
        check(strstr(out, "\"name\":\"_fbc\"") != NULL && strstr(out, "\"name\":\"_fbp\"") != NULL, "both cookies to set");
        check(strstr(out, "\"max_age\":7776000") != NULL && strstr(out, "\"domain\":\"example.com\"") != NULL,
              "90 days, domain example.com");
        check(strstr(out, "\"same_site\":\"Lax\"") != NULL && strstr(out, "\"http_only\":false") != NULL &&
                  strstr(out, "\"path\":\"/\"") != NULL,
              "path /, SameSite Lax, not HttpOnly");
        convtrack_string_free(out);
    }
}

static void test_existing_kept(void) {
    const char req[] = "{\"fbp\":\"fb.1.1700000000000.123\",\"fbc\":\"fb.1.1700000000000." CLICK "\","
                       "\"fbclid\":\"" CLICK "\",\"host\":\"example.com\"}";
    convtrack_status s;
    char *out = cookies(S(req), &s);
    if (check(out != NULL, "valid cookies, same click -> OK (%s)", convtrack_status_name(s))) {
        check(strstr(out, "\"cookies\":[]") != NULL, "nothing to set");
        check(strstr(out, "\"fbc\":\"fb.1.1700000000000." CLICK "\"") != NULL, "fbc keeps the click time");
        convtrack_string_free(out);
    }
}

static void test_hostile_replaced(void) {
    /* A 10 KB cookie, markup and a NUL byte inside the JSON string: all treated as absent. */
    size_t big = 10 * 1024;
    char *req = malloc(big + 256);
    if (req == NULL) {
        abort();
    }
    int n = snprintf(req, 64, "{\"fbc\":\"</script>\\u0000\",\"fbp\":\"fb.1.1.");
    memset(req + n, 'a', big);
    strcpy(req + n + big, "\",\"random\":5}");
    convtrack_status s;
    char *out = cookies(Z(req), &s);
    if (check(out != NULL, "hostile cookies -> OK (%s)", convtrack_status_name(s))) {
        check(strstr(out, "script") == NULL && strstr(out, "aaaa") == NULL, "hostile values never echoed");
        check(strstr(out, "\"fbc\":null") != NULL, "invalid _fbc without a click: absent");
        check(strstr(out, "\"name\":\"_fbp\"") != NULL && strstr(out, ".5\"") != NULL, "invalid _fbp replaced");
        convtrack_string_free(out);
    }
    free(req);
}

static void expect_error(const char *what, const char *req, convtrack_status want, const char *field, const char *forbidden) {
    char *out = NULL;
    convtrack_status s = convtrack_first_party_cookies(Z(req), &out);
    check(s == want && out == NULL, "%s -> %s (got %s), out untouched", what, convtrack_status_name(want),
          convtrack_status_name(s));
    char *msg = last_error();
    check(field == NULL || strstr(msg, field) != NULL, "%s: message names %s", what, field ? field : "-");
    check(forbidden == NULL || strstr(msg, forbidden) == NULL, "%s: message does not echo the value", what);
    free(msg);
    convtrack_string_free(out);
}

static void test_errors(void) {
    expect_error("bad host", "{\"host\":\"<b>evil</b>\"}", CONVTRACK_STATUS_INVALID_VALUE, "host", "evil");
    expect_error("domain not a parent", "{\"host\":\"shop.com\",\"domain\":\"example.com\"}", CONVTRACK_STATUS_INVALID_VALUE,
                 "domain", NULL);
    expect_error("fbp not a string", "{\"fbp\":1}", CONVTRACK_STATUS_WRONG_TYPE, "fbp", NULL);
    expect_error("unknown key", "{\"colour\":1}", CONVTRACK_STATUS_UNKNOWN_FIELD, "colour", NULL);
    expect_error("now_ms zero", "{\"now_ms\":0}", CONVTRACK_STATUS_INVALID_VALUE, "now_ms", NULL);
    expect_error("not JSON", "{", CONVTRACK_STATUS_INVALID_JSON, NULL, NULL);
    char *out = NULL;
    check(convtrack_first_party_cookies(NULL, 2, &out) == CONVTRACK_STATUS_NULL_POINTER && out == NULL,
          "NULL request -> NULL_POINTER");
    check(convtrack_first_party_cookies(S("{}"), NULL) == CONVTRACK_STATUS_NULL_POINTER, "NULL out -> NULL_POINTER");
    check(convtrack_first_party_cookies(S("{\"fbp\":\"\xff\"}"), &out) == CONVTRACK_STATUS_INVALID_UTF8 && out == NULL,
          "invalid UTF-8 -> INVALID_UTF8");
    /* Without random/now_ms: the OS and the clock; two calls give two browser ids. */
    convtrack_status s;
    char *a = cookies(S("{}"), &s);
    char *b = cookies(S("{}"), &s);
    check(a != NULL && b != NULL && strstr(a, "\"fbp\":\"fb.1.") != NULL && strcmp(a, b) != 0,
          "OS randomness: two different _fbp values");
    convtrack_string_free(a);
    convtrack_string_free(b);
}

int main(void) {
    test_first_visit();
    test_existing_kept();
    test_hostile_replaced();
    test_errors();
    printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
