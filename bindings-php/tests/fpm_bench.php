<?php
// Benchmark (no assertions on time): track() in N php-fpm workers on one outbox, the shop type with the most workers.
//   CONVTRACK_LIB=target/release/libconvtrack.so php -d ffi.enable=1 bindings-php/tests/fpm_bench.php [--procs 1,2,4,8,16]
//       [--events 600] [--rate 200]
// For each N a real php-fpm with N static workers gets N concurrent requests; each tracks --events Purchases (paced at
// --rate per second, 0 = back to back) and reports every track() duration. Meanwhile this process flushes the outbox
// to the sandbox every 200 ms (the sender). Prints median, p99, p99.9, max and throughput with ratios to N = 1 of the
// same run, then checks that the sandbox received every event exactly once.
declare(strict_types=1);

require dirname(__DIR__) . '/autoload.php';
require __DIR__ . '/Fpm.php';
require __DIR__ . '/Sandbox.php';

use Convtrack\Tests\Fpm;
use Convtrack\Tests\Sandbox;
use Convtrack\Tracker;

if (($argv[1] ?? '') === '--client') { // one concurrent request, run as its own process
    echo Fpm::requestOn($argv[2], __DIR__ . '/fpm/track_loop.php', $argv[3]);
    exit(0);
}

$opts = getopt('', ['procs:', 'events:', 'rate:']);
$procs = array_map('intval', explode(',', (string) ($opts['procs'] ?? '1,2,4,8,16')));
if ($procs[0] !== 1) {
    array_unshift($procs, 1);
}
$n = (int) ($opts['events'] ?? 600);
$rate = (float) ($opts['rate'] ?? 200);
$lib = Tracker::libraryPath();
$endpoint = Sandbox::url();
Sandbox::reset();

/** @param list<float> $xs */
function pct(array $xs, float $p): float
{
    return $xs[min(count($xs) - 1, (int) round($p / 100 * (count($xs) - 1)))];
}

printf("track() in N php-fpm workers on one outbox, %d Purchases each, %s (PHP %s, %d cores)\n", $n,
    $rate > 0 ? "paced at $rate/s per worker" : 'back to back', PHP_VERSION, (int) trim((string) shell_exec('nproc')));
printf("%3s %10s %9s %9s %9s %9s   vs N=1: p99, max, throughput\n", 'N', 'median µs', 'p99 µs', 'p99.9 µs', 'max µs', 'events/s');
$dir = sys_get_temp_dir() . '/convtrack-fpm-bench-' . getmypid();
@mkdir($dir, 0700);
$base = null;
$total = 0;
foreach ($procs as $k) {
    $outbox = "$dir/outbox-$k.sqlite3";
    $sender = new Tracker(['pixel_id' => '1234567890', 'access_token' => Sandbox::TOKEN, 'data_controls' => true,
        'endpoint' => $endpoint, 'outbox_path' => $outbox, 'sender' => 'manual']);
    $fpm = new Fpm(['ffi.enable' => '1'], ['CONVTRACK_LIB' => $lib], $k);
    $clients = [];
    $start = hrtime(true);
    for ($c = 0; $c < $k; $c++) {
        $query = http_build_query(['n' => $n, 'rate' => $rate, 'base' => $k * 100000000 + $c * 1000000,
            'outbox' => $outbox, 'endpoint' => $endpoint]);
        $p = proc_open([PHP_BINARY, __FILE__, '--client', $fpm->socket(), $query], [1 => ['pipe', 'w'], 2 => ['file', '/dev/null', 'w']], $pipes);
        $clients[] = [$p, $pipes[1]];
    }
    $lat = [];
    $pids = [];
    foreach ($clients as [$p, $out]) {
        while (proc_get_status($p)['running']) {
            $sender->flush(0.2);
            usleep(200000);
        }
        $r = json_decode((string) stream_get_contents($out), true);
        if (!is_array($r)) {
            fwrite(STDERR, "a worker failed:\n" . $fpm->log());
            exit(1);
        }
        $pids[$r['pid']] = true;
        array_push($lat, ...$r['lat']);
        proc_close($p);
    }
    $wall = (hrtime(true) - $start) / 1e9;
    $fpm->stop();
    $sender->flush(60);
    $sender->close();
    $total += $k * $n;
    sort($lat);
    $row = [$lat[intdiv(count($lat), 2)], pct($lat, 99), pct($lat, 99.9), end($lat), $k * $n / $wall];
    $base ??= $row;
    printf("%3d %10.1f %9.1f %9.1f %9.1f %9.0f   %5.1f× %6.1f× %5.2f×%s\n", $k, ...[...$row, $row[1] / $base[1], $row[3] / $base[3],
        $row[4] / $base[4], count($pids) === $k ? '' : ' (fewer workers served: ' . count($pids) . ')']);
}
$st = Sandbox::get('/_sandbox/stats');
printf("delivered: %d events, %d distinct, of %d tracked\n", $st['received'], $st['unique'], $total);
array_map('unlink', glob("$dir/*") ?: []);
@rmdir($dir);
exit($st['received'] === $total && $st['unique'] === $total ? 0 : 1);
