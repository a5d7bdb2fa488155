<?php
// PHP drives the library through FFI with the committed, FFI-ready header
// include/convtrack_php.h, exactly as a PHP plugin would.
declare(strict_types=1);

require __DIR__ . '/Convtrack.php';

$root = dirname(__DIR__, 2);
$lib = $argv[1] ?? "$root/target/debug/libconvtrack.so";
$ct = new ConvtrackFFI("$root/include/convtrack_php.h", $lib);

$passed = 0;
$failed = 0;
function check(bool $ok, string $what): void
{
    global $passed, $failed;
    if ($ok) {
        $passed++;
        echo "ok   $what\n";
    } else {
        $failed++;
        echo "FAIL $what\n";
    }
}

// Version and golden event ids.
check(preg_match('/^\d+\.\d+\.\d+$/', $ct->version()) === 1, 'version ' . $ct->version());
$golden = json_decode(file_get_contents("$root/tests/vectors/event_ids.json"), true);
foreach ($golden['vectors'] as $v) {
    check($ct->eventId($v['pixel_id'], $v['event_name'], $v['order_id']) === $v['event_id'], "golden event id for order {$v['order_id']}");
}

// The statuses Convtrack.php names itself are the library's: same number, same name. (The table is
// core/src/error.rs; bindings-c's tests hold the C statuses to it, the PHP package's tests Errors.php.)
$named = [];
for ($status = 0; $status <= 0xFFFF; $status++) {
    $name = $ct->ffi->convtrack_status_name($status);
    if ($name !== 'CONVTRACK_STATUS_UNKNOWN') {
        $named[$status] = $name;
    }
}
check(count($named) > 10, 'convtrack_status_name names ' . count($named) . ' statuses');
foreach (ConvtrackFFI::STATUS_NAMES as $status => $name) {
    check(($named[$status] ?? null) === $name, "Convtrack.php: status $status is $name");
}

// Normalization and hashing agree with PHP's own SHA-256.
check($ct->normalize('email', '  John.Smith@Example.COM ') === 'john.smith@example.com', 'normalize email');
check($ct->hash('email', '  John.Smith@Example.COM ') === hash('sha256', 'john.smith@example.com'), 'hash email = PHP sha256');
check($ct->hash('phone', '020 7183 8750', 'GB') === hash('sha256', '442071838750'), 'UK national number completed to E.164');
check($ct->normalize('email', '   ') === null, 'whitespace is dropped');

// A purchase, with data controls off (the default) and on.
$now = time();
$purchase = [
    'event_name' => 'Purchase',
    'event_time' => $now - 60,
    'order_id' => 'wc-1001',
    'event_source_url' => 'https://shop.example/checkout/order-received/1001',
    'currency' => 'EUR',
    'value' => '59.90',
    'items' => [['id' => 'SKU-1', 'quantity' => 2, 'price' => '19.95', 'title' => '</script><script>alert(1)</script>']],
    'customer' => ['email' => 'Sentinel.Person@Example.com', 'country' => 'DE', 'phone' => '030 12345678'],
    'browser' => ['ip' => '203.0.113.7', 'user_agent' => 'Mozilla/5.0 (PHP test)', 'fbp' => 'fb.1.1732780000000.42'],
    'consent' => ['marketing' => 'granted'],
];
$expectedId = $ct->eventId('1234567890', 'Purchase', 'wc-1001');

$t = $ct->newTracker(['pixel_id' => '1234567890']);
$r = $ct->build($t, $purchase);
check($r['event_id'] === $expectedId, 'build derives the golden-style event id');
check($r['server'] === 'blocked' && $r['reason'] === 'data_controls_off' && $r['payload'] === null, 'data controls off: nothing for the server');
check(str_contains($r['pixel_html'], '{"eventID":"' . $expectedId . '"}'), 'snippet carries the event id');
check(!str_contains($r['pixel_html'], '</script><script>'), 'hostile title escaped in the snippet');
check(substr_count($r['pixel_html'], '</script>') === 1, 'exactly one script element');
$ct->freeTracker($t);

$t = $ct->newTracker(['pixel_id' => '1234567890', 'access_token' => 'EAAB-SENTINEL-TOKEN', 'data_controls' => true]);
$r = $ct->build($t, $purchase, ['nonce' => 'php-nonce']);
check($r['server'] === 'send', 'data controls on + consent: send');
check($r['payload']['event_id'] === $expectedId, 'payload and pixel share the event id');
check($r['payload']['user_data']['em'] === [hash('sha256', 'sentinel.person@example.com')], 'em hashed as PHP computes it');
check($r['payload']['user_data']['ph'] === [hash('sha256', '493012345678')], 'ph completed with the customer country');
check($r['payload']['custom_data']['order_id'] === 'wc-1001', 'order_id in custom_data');
check(str_contains($r['pixel_html'], '<script nonce="php-nonce">'), 'CSP nonce');
$all = json_encode($r);
check(!str_contains($all, 'Sentinel.Person') && !str_contains($all, 'SENTINEL-TOKEN'), 'no raw PII or token in the result');

// Errors: typed status, message naming the field, never the value.
try {
    $ct->build($t, ['event_name' => 'Purchase', 'order_id' => '1', 'currency' => 'EUR', 'value' => 'NaN']);
    check(false, 'NaN value rejected');
} catch (ConvtrackException $e) {
    check($e->statusName === 'CONVTRACK_STATUS_INVALID_VALUE' && str_starts_with($e->getMessage(), 'value:'), 'NaN value: ' . $e->getMessage());
}
try {
    $ct->build($t, ['event_name' => 'Lead', 'customer' => ['emial' => 'sentinel@example.com']]);
    check(false, 'unknown key rejected');
} catch (ConvtrackException $e) {
    check($e->statusName === 'CONVTRACK_STATUS_UNKNOWN_FIELD' && !str_contains($e->getMessage(), 'sentinel@'), 'unknown key: ' . $e->getMessage());
}
$ct->freeTracker($t);
try {
    $ct->newTracker(['pixel_id' => 'not-digits']);
    check(false, 'invalid settings rejected');
} catch (ConvtrackException $e) {
    check($e->status === 300 && str_contains($e->getMessage(), 'pixel_id'), 'invalid settings: ' . $e->getMessage());
}
$ct->freeTracker(null);
check(true, 'freeTracker(null) is a no-op');

// A tracker handle is freed once: clone, serialize, double free and use after free are refused with
// an error, never a crash. Run in a child php, so that a crash (exit 134/139) fails this check.
$child = proc_open([PHP_BINARY, '-d', 'ffi.enable=1', '-d', 'display_errors=stderr', __DIR__ . '/handle_child.php', $lib],
    [0 => ['file', '/dev/null', 'r'], 1 => ['pipe', 'w'], 2 => ['redirect', 1]], $pipes);
$out = stream_get_contents($pipes[1]);
fclose($pipes[1]);
$code = proc_close($child);
$expected = <<<'OUT'
    clone: CONVTRACK_STATUS_INVALID_ARGUMENT tracker: cannot be cloned
    original after clone: ok blocked
    serialize: CONVTRACK_STATUS_INVALID_ARGUMENT tracker: cannot be serialized
    free again: ok
    build after free: CONVTRACK_STATUS_INVALID_ARGUMENT tracker: is closed
    status after free: CONVTRACK_STATUS_INVALID_ARGUMENT tracker: is closed
    end

    OUT;
check($code === 0 && $out === $expected, "clone/serialize/double free/use after free refused, no crash (exit $code)");
if ($out !== $expected) {
    echo $out;
}

// Delivery: track into an outbox, flush to the sandbox receiver, see it arrive.
$sandbox = getenv('CONVTRACK_SANDBOX_URL');
check($sandbox !== false && $sandbox !== '', 'sandbox URL given by run.sh');
if ($sandbox) {
    $outbox = sys_get_temp_dir() . '/convtrack-php-' . getmypid() . '.sqlite3';
    $t = $ct->newTracker([
        'pixel_id' => '1234567890', 'access_token' => 'sandbox-token', 'data_controls' => true,
        'endpoint' => $sandbox, 'outbox_path' => $outbox,
    ]);
    $r = $ct->track($t, $purchase);
    check($r['server'] === 'queued', 'track: queued');
    check($ct->track($t, $purchase)['server'] === 'duplicate', 'track again (order_paid hook fires twice): duplicate');
    $report = $ct->flush($t, 5000);
    check($report['sent'] === 1 && $report['remaining'] === 0, 'flush delivered: ' . json_encode($report));
    $status = $ct->status($t);
    check($status['counters']['sent'] === 1 && $status['counters']['duplicate'] === 1, 'status counters');
    $ct->freeTracker($t);
    // The control endpoints take the sandbox token (run.sh starts it with sandbox-token) as a bearer token.
    $auth = stream_context_create(['http' => ['header' => 'Authorization: Bearer sandbox-token']]);
    $stats = json_decode(file_get_contents("$sandbox/_sandbox/stats", false, $auth), true);
    $events = json_decode(file_get_contents("$sandbox/_sandbox/events", false, $auth), true);
    check($stats['received'] === 1 && $events[0]['event_id'] === $expectedId, 'the sandbox received the order with the same event id');
    // No api_version in the settings: the Graph version is the default, v27.0.
    $requests = json_decode(file_get_contents("$sandbox/_sandbox/requests", false, $auth), true);
    check(array_column($requests, 'path') === ['/v27.0/1234567890/events'],
        'default Graph version: POST /v27.0/1234567890/events (' . json_encode(array_column($requests, 'path')) . ')');
    foreach (glob("$outbox*") as $f) {
        unlink($f);
    }
}

echo "$passed passed, $failed failed\n";
exit($failed === 0 ? 0 : 1);
