<?php
declare(strict_types=1);

namespace Convtrack\Tests;

use Convtrack\Tracker;
use PHPUnit\Framework\TestCase;

/**
 * The example plugin (examples/woocommerce-order-paid.php) driven through its WordPress hooks: checkout saves the
 * pixel cookies, the payment webhook queues the purchase and flushes on shutdown, the thank-you page prints the
 * pixel with the same event id, and the sandbox receives the order once.
 * Runs in a separate process: the plugin defines a constant and global functions.
 *
 * @runTestsInSeparateProcesses
 * @preserveGlobalState disabled
 */
final class WooCommerceExampleTest extends TestCase
{
    private static function order(int $id, array $overrides = []): \FakeWcOrder
    {
        $items = [
            new \FakeWcOrderItem(101, 2, 39.90, '</script><script>alert("wc")</script>'),
            new \FakeWcOrderItem(102, 1, 20.00, 'Tea towel'),
        ];
        return new \FakeWcOrder($overrides + [
            'id' => $id, 'total' => 59.90, 'currency' => 'EUR', 'paid' => time() - 30,
            'email' => 'Sentinel.Buyer@Example.com', 'phone' => '030 12345678', 'first_name' => 'Senti', 'last_name' => 'Nel',
            'city' => 'Berlin', 'zip' => '10115', 'country' => 'DE', 'customer_id' => 77,
            'ip' => '203.0.113.9', 'ua' => 'Mozilla/5.0 (WooCommerce test)',
        ], $items);
    }

    private static function loadPlugin(string $outbox): void
    {
        define('CONVTRACK_SETTINGS', [
            'pixel_id' => TrackerTest::PIXEL, 'access_token' => Sandbox::TOKEN, 'data_controls' => true,
            'endpoint' => Sandbox::url(), 'outbox_path' => $outbox,
        ]);
        require dirname(__DIR__) . '/examples/woocommerce-order-paid.php';
    }

    public function testOrderPaidHookTracksAndThankYouPagePrintsThePixel(): void
    {
        Sandbox::reset();
        $outbox = sys_get_temp_dir() . '/convtrack-wc-' . getmypid() . '.sqlite3';
        self::loadPlugin($outbox);
        $order = self::order(3001);
        $GLOBALS['wc_orders'][3001] = $order;
        $_COOKIE['_fbp'] = 'fb.1.1732780000000.777';
        $_COOKIE['_fbc'] = 'fb.1.1732780000000.IwAR-test';
        $GLOBALS['wp_consent'] = ['marketing' => true];

        do_action('woocommerce_checkout_order_processed', 3001);
        $this->assertSame('granted', $order->meta['_convtrack_consent']);
        $this->assertSame('fb.1.1732780000000.777', $order->meta['_convtrack_fbp']);

        do_action('woocommerce_payment_complete', 3001);
        do_action('shutdown'); // the flush registered by the payment hook
        $events = Sandbox::get('/_sandbox/events');
        $expected = Tracker::eventId(TrackerTest::PIXEL, 'Purchase', '3001');
        $this->assertCount(1, $events);
        $this->assertSame($expected, $events[0]['event_id']);
        $this->assertSame('fb.1.1732780000000.777', $events[0]['user_data']['fbp']);
        $this->assertSame([hash('sha256', 'sentinel.buyer@example.com')], $events[0]['user_data']['em']);
        $this->assertEqualsWithDelta(59.90, (float) $events[0]['custom_data']['value'], 0.001);
        $this->assertSame('3001', $events[0]['custom_data']['order_id']);

        ob_start();
        do_action('woocommerce_thankyou', 3001);
        $html = (string) ob_get_clean();
        $this->assertStringContainsString('{"eventID":"' . $expected . '"}', $html);
        $this->assertSame(1, substr_count($html, '</script>'), 'the hostile product title stays data');
        $this->assertStringNotContainsStringIgnoringCase('sentinel', $html);
        $this->assertSame(1, Sandbox::get('/_sandbox/stats')['received'], 'the thank-you page did not send it again');
        $this->assertSame(1, convtrack_tracker()->status()['counters']['duplicate']);

        foreach (glob("$outbox*") ?: [] as $f) {
            unlink($f);
        }
    }

    public function testBadOrderNeverBreaksTheCheckout(): void
    {
        Sandbox::reset();
        $outbox = sys_get_temp_dir() . '/convtrack-wc-bad-' . getmypid() . '.sqlite3';
        $log = tempnam(sys_get_temp_dir(), 'convtrack-wc-log');
        ini_set('error_log', $log);
        self::loadPlugin($outbox);
        $GLOBALS['wc_orders'][3002] = self::order(3002, ['total' => NAN, 'email' => "sentinel\xff@example.com"]);
        $GLOBALS['wc_orders'][3003] = self::order(3003, ['total' => NAN]);

        do_action('woocommerce_payment_complete', 3002);
        do_action('woocommerce_payment_complete', 3003);
        do_action('woocommerce_payment_complete', 9999); // unknown order
        // A shopper who denied marketing consent at checkout: blocked, nothing queued, no error.
        $GLOBALS['wc_orders'][3004] = $denied = self::order(3004);
        $GLOBALS['wp_consent'] = ['marketing' => false];
        do_action('woocommerce_checkout_order_processed', 3004);
        $this->assertSame('denied', $denied->meta['_convtrack_consent']);
        do_action('woocommerce_payment_complete', 3004);
        $status = convtrack_tracker()->status();
        $this->assertSame(['consent_denied' => 1], $status['counters']['blocked']);
        $this->assertSame(0, $status['queue']['depth']);
        ob_start();
        do_action('woocommerce_thankyou', 3003);
        $this->assertSame('', ob_get_clean());
        do_action('shutdown');

        $logged = (string) file_get_contents($log);
        $this->assertStringContainsString('Convtrack\InvalidUtf8Exception: customer.email: is not valid UTF-8', $logged);
        $this->assertStringContainsString('order 3003: Convtrack\InvalidValueException: value:', $logged);
        $this->assertStringNotContainsStringIgnoringCase('sentinel', $logged);
        $this->assertSame(0, Sandbox::get('/_sandbox/stats')['received']);
        unlink($log);
        foreach (glob("$outbox*") ?: [] as $f) {
            unlink($f);
        }
    }

    public function testAMissingSettingsOptionLeavesThePagesAlone(): void
    {
        // No CONVTRACK_SETTINGS and no option saved yet: get_option() gives false, which Tracker refuses with a
        // TypeError. It used to escape the hooks (only convtrack exceptions were caught), breaking the page.
        $log = tempnam(sys_get_temp_dir(), 'convtrack-wc-log');
        ini_set('error_log', $log);
        require dirname(__DIR__) . '/examples/woocommerce-order-paid.php';
        $GLOBALS['wc_orders'][3005] = self::order(3005);
        do_action('woocommerce_payment_complete', 3005);
        ob_start();
        do_action('woocommerce_thankyou', 3005);
        $this->assertSame('', ob_get_clean());
        $this->assertNull(convtrack_tracker());
        $this->assertStringContainsString('convtrack: settings: TypeError', (string) file_get_contents($log));
        unlink($log);
    }

    public function testAnOrderPaidEightDaysAgoStillGetsItsPixel(): void
    {
        Sandbox::reset();
        $outbox = sys_get_temp_dir() . '/convtrack-wc-old-' . getmypid() . '.sqlite3';
        self::loadPlugin($outbox);
        $GLOBALS['wc_orders'][3006] = self::order(3006, ['paid' => time() - 8 * 86400]);
        $GLOBALS['wp_consent'] = ['marketing' => true];
        do_action('woocommerce_checkout_order_processed', 3006);
        ob_start();
        do_action('woocommerce_thankyou', 3006);
        $html = (string) ob_get_clean();
        $this->assertStringContainsString("fbq('track'", $html);
        $this->assertSame(['too_old' => 1], convtrack_tracker()->status()['counters']['blocked']);
        foreach (glob("$outbox*") ?: [] as $f) {
            unlink($f);
        }
    }
}
