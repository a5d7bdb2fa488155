/* A minimal convtrack program: one tracker, one Purchase built (pure, no I/O), its event id and pixel
 * snippet printed, the error path shown once. Compile and run from the repository root:
 *
 *   cargo build --release -p convtrack-c
 *   cc bindings-c/examples/minimal.c -Iinclude -Ltarget/release -lconvtrack \
 *      -Wl,-rpath,"$PWD/target/release" -o minimal
 *   ./minimal
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "convtrack.h"

static void fail(const char *what, convtrack_status s) {
    char msg[512];
    convtrack_last_error_message(msg, sizeof msg); /* names the field, never its value */
    fprintf(stderr, "%s: %s: %s\n", what, convtrack_status_name(s), msg);
}

int main(void) {
    const char *settings = "{\"pixel_id\": \"1234567890\"}";
    convtrack_tracker *tracker = NULL;
    convtrack_status s = convtrack_tracker_new(settings, strlen(settings), &tracker);
    if (s != CONVTRACK_STATUS_OK) {
        fail("convtrack_tracker_new", s);
        return 1;
    }

    const char *event =
        "{\"event_name\": \"Purchase\", \"order_id\": \"1001\", \"currency\": \"EUR\", \"value\": \"59.90\","
        " \"event_source_url\": \"https://shop.example/thanks\","
        " \"customer\": {\"email\": \"jane@example.com\"}, \"consent\": {\"marketing\": \"granted\"}}";
    char *result = NULL;
    s = convtrack_tracker_build(tracker, event, strlen(event), NULL, 0, &result);
    if (s != CONVTRACK_STATUS_OK) {
        fail("convtrack_tracker_build", s);
        convtrack_tracker_free(tracker);
        return 1;
    }
    printf("convtrack %s\n%s\n", convtrack_version(), result); /* JSON: event_id, server, reason, pixel_html, ... */
    convtrack_string_free(result);

    const char *bad = "{\"event_name\": \"Purchase\", \"order_id\": \"1002\", \"currency\": \"EURO\", \"value\": \"1\"}";
    s = convtrack_tracker_build(tracker, bad, strlen(bad), NULL, 0, &result);
    if (s != CONVTRACK_STATUS_OK) {
        fail("a bad currency", s); /* CONVTRACK_STATUS_INVALID_VALUE: currency: ... */
    }
    convtrack_tracker_free(tracker);
    return 0;
}
