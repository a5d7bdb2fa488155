<?php
// One php-fpm request of FpmTest: reports whether libconvtrack was already mapped into this worker before the
// request touched FFI, then (mode=build) builds one Purchase with a phone number, or (mode=version) only asks the
// version. No timing: the test asserts on the mapping, the worker and the result.
declare(strict_types=1);

/** @return string|null the start address of libconvtrack's first mapping in this process */
function convtrack_mapping(): ?string
{
    foreach (file('/proc/self/maps') ?: [] as $line) {
        if (str_contains($line, 'libconvtrack')) {
            return strtok($line, '-');
        }
    }
    return null;
}

$before = convtrack_mapping();
require_once dirname(__DIR__, 2) . '/autoload.php';
$mode = $_GET['mode'] ?? 'build';
$result = ['pid' => getmypid(), 'mapped_before' => $before];
if ($mode === 'version') {
    $result['version'] = Convtrack\Tracker::version();
} else {
    if ($mode === 'warm') {
        Convtrack\Tracker::warmUp();
    }
    $t = new Convtrack\Tracker(['pixel_id' => '1234567890', 'access_token' => 'placeholder-token', 'data_controls' => true]);
    $r = $t->build([
        'event_name' => 'Purchase', 'event_time' => time() - 60, 'order_id' => 'fpm-1', 'currency' => 'EUR', 'value' => '59.90',
        'event_source_url' => 'https://shop.example/checkout/order-received/1',
        'browser' => ['ip' => '203.0.113.7', 'user_agent' => 'Mozilla/5.0 (fpm test)'],
        'customer' => ['country' => 'DE', 'phone' => '030 12345678'],
        'consent' => ['marketing' => 'granted'],
    ]);
    $result['server'] = $r['server'];
    $result['ph'] = $r['payload']['user_data']['ph'] ?? null;
}
$scope = (new ReflectionProperty(Convtrack\Tracker::class, 'scope'))->getValue();
$result['scope'] = $scope instanceof FFI;
$result['mapped_after'] = convtrack_mapping();
header('Content-Type: application/json');
echo json_encode($result);
