<?php
// Prints throughput of the PHP package (no assertions, no timing thresholds):
//   CONVTRACK_LIB=target/release/libconvtrack.so php -d ffi.enable=1 bindings-php/tests/bench.php [N]
declare(strict_types=1);

require dirname(__DIR__) . '/autoload.php';
require '/usr/share/php/PHPUnit/Autoload.php'; // TrackerTest::purchase() is the shared sample order
require __DIR__ . '/TrackerTest.php';

use Convtrack\Tests\TrackerTest;
use Convtrack\Tracker;

$n = (int) ($argv[1] ?? 5000);
$t = new Tracker(['pixel_id' => '1234567890', 'access_token' => 'bench-token', 'data_controls' => true]);
$event = TrackerTest::purchase();
$start = hrtime(true);
for ($i = 0; $i < $n; $i++) {
    $event['order_id'] = "b-$i";
    $t->build($event);
}
$s = (hrtime(true) - $start) / 1e9;
printf("build (array -> JSON -> FFI -> result array): %d events in %.3f s = %.1f us/event\n", $n, $s, $s / $n * 1e6);

$outbox = sys_get_temp_dir() . '/convtrack-bench-' . getmypid() . '.sqlite3';
$t = new Tracker(['pixel_id' => '1234567890', 'access_token' => 'bench-token', 'data_controls' => true,
    'endpoint' => 'http://127.0.0.1:9', 'outbox_path' => $outbox]);
$start = hrtime(true);
for ($i = 0; $i < $n; $i++) {
    $event['order_id'] = "q-$i";
    $t->track($event);
}
$s = (hrtime(true) - $start) / 1e9;
printf("track (durable SQLite enqueue): %d events in %.3f s = %.1f us/event\n", $n, $s, $s / $n * 1e6);
$t->close();
foreach (glob("$outbox*") ?: [] as $f) {
    unlink($f);
}
