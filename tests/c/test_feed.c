/*
 * C checks of the catalog feed ABI: convtrack_tracker_export_feed (JSON lines
 * in, feed string out), convtrack_tracker_export_feed_file (file in, file
 * out, atomic), convtrack_tracker_check_catalog. Hostile input: </script> and
 * ]]> in titles, NUL escapes, invalid UTF-8, a 10 MB line, NaN prices, NULL
 * pointers, bad format. Run under ASan/LSan/UBSan by tests/c/run.sh; one line
 * per check, exit 1 on any failure.
 */
#define _POSIX_C_SOURCE 200809L

#include "convtrack.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"

static char sentinel_storage;
#define SENTINEL ((char *)&sentinel_storage)

#define PRODUCT(id, sku, title, price)                                                                      \
    "{\"id\":\"" id "\",\"sku\":\"" sku "\",\"title\":\"" title "\",\"description\":\"d\","                \
    "\"availability\":\"in_stock\",\"price\":" price ",\"currency\":\"EUR\","                              \
    "\"link\":\"https://shop.example/p\",\"image_link\":\"https://shop.example/i.jpg\",\"brand\":\"Acme\"}"

/* Counts occurrences of `needle` in `hay`. */
static int count(const char *hay, const char *needle) {
    int n = 0;
    for (const char *p = strstr(hay, needle); p != NULL; p = strstr(p + 1, needle)) {
        n++;
    }
    return n;
}

static char *read_file(const char *path) {
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        return NULL;
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    if (buf == NULL) {
        abort();
    }
    size_t got = fread(buf, 1, (size_t)n, f);
    buf[got] = '\0';
    fclose(f);
    return buf;
}

int main(void) {
    convtrack_tracker *t = NULL;
    convtrack_status s = convtrack_tracker_new(S("{\"pixel_id\":\"1\",\"content_id\":\"sku\",\"catalog_name\":\"Main\"}"), &t);
    if (!check(s == CONVTRACK_STATUS_OK, "tracker_new with content_id=sku")) {
        return 1;
    }

    /* A mix of good, hostile and bad lines, plus a 10 MB line. */
    const char *head =
        PRODUCT("1", "SKU-1", "</script><script>alert(1)</script> ]]> & more", "\"12.50\"") "\n"
        "{not json\n"
        PRODUCT("2", "SKU-2", "a\\u0000b", "\"1\"") "\n"
        PRODUCT("3", "SKU-3", "nan price", "\"NaN\"") "\n"
        "\xff\xfe{\"id\":\"4\"}\n"
        PRODUCT("5", "SKU-5", "ok", "7") "\n";
    size_t big = 10u * 1024u * 1024u;
    size_t head_len = strlen(head);
    char *input = malloc(head_len + big + 2);
    if (input == NULL) {
        abort();
    }
    memcpy(input, head, head_len);
    memset(input + head_len, 'x', big);
    input[head_len + big] = '\n';
    input[head_len + big + 1] = '\0';

    char *feed = NULL;
    char *report = NULL;
    s = convtrack_tracker_export_feed(t, input, head_len + big + 1, S("xml"), &feed, &report);
    check(s == CONVTRACK_STATUS_OK, "export_feed xml: OK despite bad lines (%s)", convtrack_status_name(s));
    if (s == CONVTRACK_STATUS_OK) {
        check(strstr(report, "\"written\":2") != NULL, "report: 2 written");
        check(strstr(report, "\"skipped\":5") != NULL, "report: 5 skipped (json, NUL, NaN, utf-8, 10 MB)");
        check(strstr(report, "\"code\":\"invalid_utf8\"") != NULL, "report: invalid UTF-8 line is a per-line error");
        check(strstr(report, "\"code\":\"too_large\"") != NULL, "report: 10 MB line is too_large");
        check(strstr(report, "\"field\":\"price\"") != NULL, "report: NaN names the price field");
        check(strstr(feed, "xmlns:g=\"http://base.google.com/ns/1.0\"") != NULL, "feed: RSS with g namespace");
        check(strstr(feed, "</script>") == NULL && strstr(feed, "]]>") == NULL, "feed: hostile title escaped");
        check(strstr(feed, "&lt;/script&gt;") != NULL, "feed: title kept as escaped text");
        check(strstr(feed, "<g:id>SKU-1</g:id>") != NULL && strstr(feed, "<g:id>SKU-5</g:id>") != NULL,
              "feed: ids follow content_id=sku");
        check(count(feed, "<item>") == 2, "feed: two items");
        check(strstr(feed, "<title>Main</title>") != NULL, "feed: channel title is the catalog name");
        convtrack_string_free(feed);
        convtrack_string_free(report);
    }

    feed = NULL;
    report = NULL;
    s = convtrack_tracker_export_feed(t, Z(head), S("csv"), &feed, &report);
    check(s == CONVTRACK_STATUS_OK, "export_feed csv");
    if (s == CONVTRACK_STATUS_OK) {
        check(strncmp(feed, S("id,title,description,availability")) == 0, "csv: header row");
        check(strstr(feed, "SKU-1,</script><script>alert(1)</script> ]]> & more,") != NULL, "csv: hostile title verbatim in CSV");
        check(strstr(feed, "12.50 EUR") != NULL, "csv: price with currency");
        convtrack_string_free(feed);
        convtrack_string_free(report);
    }
    free(input);

    /* Misuse: NULLs and a bad format leave the out-params untouched. */
    feed = SENTINEL;
    report = SENTINEL;
    s = convtrack_tracker_export_feed(NULL, Z(head), S("xml"), &feed, &report);
    check(s == CONVTRACK_STATUS_NULL_POINTER && feed == SENTINEL && report == SENTINEL, "NULL tracker");
    s = convtrack_tracker_export_feed(t, NULL, 5, S("xml"), &feed, &report);
    check(s == CONVTRACK_STATUS_NULL_POINTER && feed == SENTINEL, "NULL products");
    s = convtrack_tracker_export_feed(t, Z(head), S("xml"), NULL, &report);
    check(s == CONVTRACK_STATUS_NULL_POINTER && report == SENTINEL, "NULL out_feed");
    s = convtrack_tracker_export_feed(t, Z(head), S("json"), &feed, &report);
    char *msg = last_error();
    check(s == CONVTRACK_STATUS_INVALID_ARGUMENT && feed == SENTINEL && strstr(msg, "format") != NULL,
          "bad format names the format argument: %s", msg);
    free(msg);
    s = convtrack_tracker_export_feed(t, S(""), S("\xff"), &feed, &report);
    check(s == CONVTRACK_STATUS_INVALID_UTF8 && feed == SENTINEL, "format not UTF-8");

    /* File in, file out. */
    char dir[] = "/tmp/convtrack-feed-XXXXXX";
    if (mkdtemp(dir) == NULL) {
        abort();
    }
    char src[256], dst[256], missing[256];
    snprintf(src, sizeof src, "%s/products.jsonl", dir);
    snprintf(dst, sizeof dst, "%s/feed.tsv", dir);
    snprintf(missing, sizeof missing, "%s/no/such/dir/feed.xml", dir);
    FILE *f = fopen(src, "wb");
    if (f == NULL) {
        abort();
    }
    for (int i = 0; i < 1000; i++) {
        fprintf(f, "{\"id\":\"%d\",\"sku\":\"S%d\",\"title\":\"T\\t%d\",\"description\":\"d\",\"availability\":\"instock\","
                   "\"price\":\"%d.99\",\"currency\":\"usd\",\"link\":\"https://s.example/%d\","
                   "\"image_link\":\"https://s.example/%d.png\",\"brand\":\"B\"}\n",
                i, i, i, i, i, i);
    }
    fputs("{\"id\":\"bad\"}\n", f);
    fclose(f);
    report = NULL;
    s = convtrack_tracker_export_feed_file(t, Z(src), Z(dst), S("tsv"), &report);
    check(s == CONVTRACK_STATUS_OK, "export_feed_file tsv (%s)", convtrack_status_name(s));
    if (s == CONVTRACK_STATUS_OK) {
        check(strstr(report, "\"written\":1000") != NULL && strstr(report, "\"skipped\":1") != NULL,
              "file report: 1000 written, 1 skipped");
        convtrack_string_free(report);
        char *tsv = read_file(dst);
        check(tsv != NULL && count(tsv, "\n") == 1001, "file feed: header + 1000 rows");
        check(tsv != NULL && strstr(tsv, "S999\t\"T\t999\"\td\tin stock\tnew\t999.99 USD\t") != NULL,
              "file feed: tab in a value is quoted");
        free(tsv);
    }
    report = SENTINEL;
    s = convtrack_tracker_export_feed_file(t, S("/nonexistent/products.jsonl"), Z(dst), S("xml"), &report);
    check(s == CONVTRACK_STATUS_STORAGE && report == SENTINEL, "missing source file is STORAGE");
    s = convtrack_tracker_export_feed_file(t, Z(src), Z(missing), S("xml"), &report);
    check(s == CONVTRACK_STATUS_STORAGE && report == SENTINEL, "unwritable destination is STORAGE");
    char *still = read_file(dst);
    check(still != NULL && strstr(still, "S999") != NULL, "previous feed file kept after a failed export");
    free(still);
    unlink(src);
    unlink(dst);
    rmdir(dir);

    /* Status records the last export. */
    char *status = NULL;
    s = convtrack_tracker_status(t, &status);
    check(s == CONVTRACK_STATUS_OK && strstr(status, "\"last_export\":{") != NULL && strstr(status, "\"format\":\"tsv\"") != NULL,
          "status: catalog.last_export is the last (tsv) export");
    if (s == CONVTRACK_STATUS_OK) {
        convtrack_string_free(status);
    }

    /* Catalog check. */
    const char *products = PRODUCT("1", "SKU-1", "t", "1") "\n" PRODUCT("2", "SKU-2", "t", "1") "\n";
    const char *events =
        "{\"event_name\":\"AddToCart\",\"items\":[{\"id\":\"1\",\"sku\":\"SKU-1\"},{\"id\":\"9\",\"sku\":\"SKU-9\"}]}\n"
        "{\"event_name\":\"AddToCart\",\"items\":[{\"id\":\"2\"}]}\n";
    report = NULL;
    s = convtrack_tracker_check_catalog(t, Z(events), Z(products), &report);
    check(s == CONVTRACK_STATUS_OK, "check_catalog");
    if (s == CONVTRACK_STATUS_OK) {
        check(strstr(report, "\"items_missing\":1") != NULL && strstr(report, "\"content_id\":\"SKU-9\"") != NULL,
              "check: SKU-9 missing");
        check(strstr(report, "\"field\":\"items[0].sku\"") != NULL, "check: item without sku names items[0].sku");
        convtrack_string_free(report);
    }

    convtrack_tracker_free(t);
    printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
