<?php
// Run by ffi_test.php in a child `php` process: a crash here (a double free aborts with exit 134, a
// use after free may segfault with 139) fails that check instead of killing the test. Prints one
// line per step. Usage: php -d ffi.enable=1 handle_child.php LIBRARY
declare(strict_types=1);

require __DIR__ . '/Convtrack.php';

$ct = new ConvtrackFFI(dirname(__DIR__, 2) . '/include/convtrack_php.h', $argv[1]);
$event = ['event_name' => 'Purchase', 'order_id' => 'wc-1', 'currency' => 'EUR', 'value' => '1.00',
          'event_source_url' => 'https://shop.example/thanks'];

function step(string $what, callable $fn): void
{
    try {
        $r = $fn();
        echo "$what: ok", is_string($r) ? " $r" : '', "\n";
    } catch (Throwable $e) {
        echo "$what: ", $e instanceof ConvtrackException ? $e->statusName : get_class($e), ' ', $e->getMessage(), "\n";
    }
}

$t = $ct->newTracker(['pixel_id' => '1234567890']);
step('clone', function () use ($t, &$c) { $c = clone $t; });
step('original after clone', fn () => $ct->build($t, $event)['server']);
step('serialize', fn () => serialize($t));
$ct->freeTracker($t);
step('free again', fn () => $ct->freeTracker($t));
step('build after free', fn () => $ct->build($t, $event)['server']);
step('status after free', fn () => json_encode($ct->status($t)));
if (isset($c)) {
    step('clone after free', fn () => $ct->build($c, $event)['server']);
    step('free clone', fn () => $ct->freeTracker($c));
}
echo "end\n";
