<?php
// One php-fpm request of fpm_bench.php: tracks n Purchases into the shared outbox, one every 1/rate s (or back to
// back with rate=0), and answers the duration of each track() call in microseconds. Only track() is timed.
declare(strict_types=1);

require_once dirname(__DIR__, 2) . '/autoload.php';

$n = (int) ($_GET['n'] ?? 100);
$rate = (float) ($_GET['rate'] ?? 0);
$base = (int) ($_GET['base'] ?? 0);
$t = new Convtrack\Tracker(['pixel_id' => '1234567890', 'access_token' => 'sandbox-token-php', 'data_controls' => true,
    'endpoint' => (string) $_GET['endpoint'], 'outbox_path' => (string) $_GET['outbox'], 'sender' => 'manual']);
$event = [
    'event_name' => 'Purchase', 'event_time' => time() - 60, 'currency' => 'EUR', 'value' => '59.90',
    'event_source_url' => 'https://shop.example/checkout/order-received/1',
    'items' => [['id' => 'SKU-1', 'quantity' => 1, 'price' => '59.90']],
    'customer' => ['email' => 'customer@example.com', 'phone' => '+44 20 7183 8750', 'country' => 'GB'],
    'browser' => ['ip' => '203.0.113.7', 'user_agent' => 'Mozilla/5.0 (fpm bench)', 'fbp' => 'fb.1.1732780000000.1'],
    'consent' => ['marketing' => 'granted'],
];
// The one-time start-up (the phone number metadata, ~100 ms) is paid once per worker in production, and is not what
// this measures: a no-op after the worker's first request.
Convtrack\Tracker::warmUp();
$lat = [];
$due = hrtime(true);
for ($i = 0; $i < $n; $i++) {
    if ($rate > 0) {
        $due += (int) (1e9 / $rate);
        $wait = $due - hrtime(true);
        if ($wait > 0) {
            usleep(intdiv($wait, 1000));
        }
    }
    $event['order_id'] = 'fpm-' . ($base + $i);
    $a = hrtime(true);
    $t->track($event);
    $lat[] = (hrtime(true) - $a) / 1000;
}
header('Content-Type: application/json');
echo json_encode(['pid' => getmypid(), 'lat' => $lat]);
