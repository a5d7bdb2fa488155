<?php
declare(strict_types=1);

namespace Convtrack\Tests;

use Convtrack\ArgumentException;
use Convtrack\ConvtrackException;
use Convtrack\Errors;
use Convtrack\EventTimeException;
use Convtrack\InputException;
use Convtrack\InternalException;
use Convtrack\InvalidJsonException;
use Convtrack\InvalidUtf8Exception;
use Convtrack\InvalidValueException;
use Convtrack\MissingFieldException;
use Convtrack\NotConfiguredException;
use Convtrack\SettingsException;
use Convtrack\StorageException;
use Convtrack\TooLargeException;
use Convtrack\Tracker;
use Convtrack\UnknownFieldException;
use Convtrack\WrongTypeException;
use PHPUnit\Framework\TestCase;

/** build, status, the static helpers and every exception class, through the real library over FFI. */
final class TrackerTest extends TestCase
{
    public const PIXEL = '1234567890';
    public const SENTINEL_EMAIL = 'Sentinel.Person@Example.com';
    public const TOKEN = 'EAAB-SENTINEL-TOKEN';

    /** @return array<string, mixed> */
    public static function purchase(string $orderId = 'wc-1001'): array
    {
        return [
            'event_name' => 'Purchase',
            'event_time' => time() - 60,
            'order_id' => $orderId,
            'event_source_url' => 'https://shop.example/checkout/order-received/1001',
            'currency' => 'EUR',
            'value' => '59.90',
            'items' => [['id' => 'SKU-1', 'quantity' => 2, 'price' => '19.95', 'title' => '</script><script>alert(1)</script>']],
            'customer' => ['email' => self::SENTINEL_EMAIL, 'country' => 'DE', 'phone' => '030 12345678'],
            'browser' => ['ip' => '203.0.113.7', 'user_agent' => 'Mozilla/5.0 (PHP test)', 'fbp' => 'fb.1.1732780000000.42'],
            'consent' => ['marketing' => 'granted'],
        ];
    }

    private static function merchant(array $extra = []): Tracker
    {
        return new Tracker(['pixel_id' => self::PIXEL, 'access_token' => self::TOKEN, 'data_controls' => true] + $extra);
    }

    /** Runs $fn, asserts it throws exactly $class, and returns the exception. */
    private function expectThrown(string $class, callable $fn): ConvtrackException
    {
        try {
            $fn();
        } catch (ConvtrackException $e) {
            $this->assertSame($class, get_class($e), 'message: ' . $e->getMessage());
            $this->assertSame($e->getStatus(), $e->getCode());
            $this->assertStringNotContainsStringIgnoringCase('sentinel', $e->getMessage());
            return $e;
        }
        $this->fail("expected $class");
    }

    public function testVersion(): void
    {
        $this->assertMatchesRegularExpression('/^\d+\.\d+\.\d+$/', Tracker::version());
    }

    public function testGoldenEventIds(): void
    {
        $golden = json_decode((string) file_get_contents(dirname(__DIR__, 2) . '/tests/vectors/event_ids.json'), true);
        $this->assertNotEmpty($golden['vectors']);
        foreach ($golden['vectors'] as $v) {
            $this->assertSame($v['event_id'], Tracker::eventId($v['pixel_id'], $v['event_name'], $v['order_id']), "order {$v['order_id']}");
        }
    }

    public function testNormalizeAndHashAgreeWithPhpSha256(): void
    {
        $this->assertSame('john.smith@example.com', Tracker::normalize('email', '  John.Smith@Example.COM '));
        $this->assertSame(hash('sha256', 'john.smith@example.com'), Tracker::hash('email', '  John.Smith@Example.COM '));
        $this->assertSame(hash('sha256', '442071838750'), Tracker::hash('phone', '020 7183 8750', 'GB'));
        $this->assertNull(Tracker::normalize('email', '   '), 'whitespace only is dropped');
        $e = $this->expectThrown(ArgumentException::class, fn () => Tracker::hash('emial', 'x'));
        $this->assertSame(102, $e->getStatus());
        $this->assertSame('field', $e->getField());
        $this->expectThrown(InvalidUtf8Exception::class, fn () => Tracker::normalize('email', "sentinel\xff@example.com"));
    }

    public function testBuildWithDataControlsOffBlocksServerButEscapesSnippet(): void
    {
        $t = new Tracker(['pixel_id' => self::PIXEL]);
        $r = $t->build(self::purchase());
        $expected = Tracker::eventId(self::PIXEL, 'Purchase', 'wc-1001');
        $this->assertSame($expected, $r['event_id']);
        $this->assertSame('blocked', $r['server']);
        $this->assertSame('data_controls_off', $r['reason']);
        $this->assertNull($r['payload']);
        $this->assertStringContainsString('{"eventID":"' . $expected . '"}', $r['pixel_html']);
        $this->assertStringNotContainsString('</script><script>', $r['pixel_html'], 'hostile title escaped');
        $this->assertSame(1, substr_count($r['pixel_html'], '</script>'), 'exactly one script element');
    }

    public function testBuildWithDataControlsOnHashesAndSharesTheEventId(): void
    {
        $t = self::merchant();
        $r = $t->build(self::purchase(), ['nonce' => 'php-nonce']);
        $this->assertSame('send', $r['server']);
        $this->assertSame(Tracker::eventId(self::PIXEL, 'Purchase', 'wc-1001'), $r['payload']['event_id']);
        $this->assertSame([hash('sha256', 'sentinel.person@example.com')], $r['payload']['user_data']['em']);
        $this->assertSame([hash('sha256', '493012345678')], $r['payload']['user_data']['ph'], 'phone completed with the country');
        $this->assertSame('wc-1001', $r['payload']['custom_data']['order_id']);
        $this->assertStringContainsString('<script nonce="php-nonce">', $r['pixel_html']);
        $all = json_encode($r);
        $this->assertStringNotContainsString('Sentinel.Person', $all);
        $this->assertStringNotContainsString('SENTINEL-TOKEN', $all);
        // The same event as a JSON string gives the same result.
        $this->assertSame($r['event_id'], $t->build((string) json_encode(self::purchase()))['event_id']);
    }

    public function testStatusDashboard(): void
    {
        $t = self::merchant(['catalog_id' => '987654321', 'catalog_name' => 'PHP catalog']);
        $s = $t->status();
        $this->assertSame(self::PIXEL, $s['pixel_id']);
        $this->assertTrue($s['data_controls']);
        $this->assertSame('PHP catalog', $s['catalog_name']);
        $this->assertStringNotContainsString('SENTINEL-TOKEN', (string) json_encode($s));
    }

    public function testSettingsErrorsNameTheSetting(): void
    {
        $e = $this->expectThrown(SettingsException::class, fn () => new Tracker(['pixel_id' => 'not-digits']));
        $this->assertSame(300, $e->getStatus());
        $this->assertSame('CONVTRACK_STATUS_INVALID_SETTING', $e->getStatusName());
        $this->assertSame('pixel_id', $e->getField());
        $e = $this->expectThrown(SettingsException::class, fn () => new Tracker(['pixel_id' => self::PIXEL, 'data_controls' => true]));
        $this->assertSame('access_token', $e->getField());
        $e = $this->expectThrown(SettingsException::class, fn () => new Tracker(['pixel_id' => self::PIXEL, 'access_token' => self::TOKEN . 'x', 'bogus' => 1]));
        $this->assertStringNotContainsString('SENTINEL-TOKEN', $e->getMessage());
        $e = $this->expectThrown(InvalidJsonException::class, fn () => new Tracker('{"pixel_id": '));
        $this->assertSame('settings', $e->getField());
    }

    public function testInputErrorsAreTypedAndNameTheField(): void
    {
        $t = self::merchant();
        $cases = [
            [InvalidJsonException::class, '{"event_name": "Purchase",', null],
            [UnknownFieldException::class, ['event_name' => 'Lead', 'customer' => ['emial' => 'sentinel@example.com']], null],
            [WrongTypeException::class, ['event_name' => 'Purchase', 'event_time' => 'yesterday'], 'event_time'],
            [MissingFieldException::class, ['currency' => 'EUR'], 'event_name'],
            [InvalidValueException::class, ['event_name' => 'Purchase', 'order_id' => '1', 'currency' => 'EUR', 'value' => 'NaN'], 'value'],
            [EventTimeException::class, ['event_name' => 'Purchase', 'order_id' => '1', 'event_time' => time() - 8 * 86400] + self::purchase(), 'event_time'],
        ];
        foreach ($cases as [$class, $event, $field]) {
            $e = $this->expectThrown($class, fn () => $t->build($event));
            $this->assertInstanceOf(InputException::class, $e);
            if ($field !== null) {
                $this->assertSame($field, $e->getField(), $e->getMessage());
            }
        }
    }

    public function testValuesJsonCannotCarry(): void
    {
        $t = self::merchant();
        $deep = 'x';
        for ($i = 0; $i < 1000; $i++) {
            $deep = [$deep];
        }
        $e = $this->expectThrown(InvalidJsonException::class, fn () => $t->build(['event_name' => 'Purchase', 'items' => $deep]));
        $this->assertSame('event', $e->getField());
        $this->assertSame('event: cannot be encoded as JSON (Maximum stack depth exceeded)', $e->getMessage());
        $stream = fopen('php://memory', 'r');
        $e = $this->expectThrown(InvalidJsonException::class, fn () => $t->build(self::purchase() + ['custom' => $stream]));
        $this->assertSame('event: cannot be encoded as JSON (Type is not supported)', $e->getMessage());
        fclose($stream);
        // A recursive array (a reference to itself) is refused the same way, at once: it used to recurse until
        // PHP ran out of stack or memory.
        $loop = ['event_name' => 'Purchase'];
        $loop['items'] = [&$loop];
        $e = $this->expectThrown(InvalidJsonException::class, fn () => $t->build($loop));
        $this->assertSame('event: cannot be encoded as JSON (Maximum stack depth exceeded)', $e->getMessage());
        // The same depth as raw JSON reaches the core, which refuses it without crashing.
        $raw = '{"event_name":"Purchase","items":' . str_repeat('[', 100000) . str_repeat(']', 100000) . '}';
        $this->assertInstanceOf(InputException::class, $this->expectThrownAny(fn () => $t->build($raw)));
    }

    private function expectThrownAny(callable $fn): ConvtrackException
    {
        try {
            $fn();
        } catch (ConvtrackException $e) {
            return $e;
        }
        $this->fail('expected a ConvtrackException');
    }

    public function testNanPriceAndInfiniteValueNameTheField(): void
    {
        $t = self::merchant();
        $event = self::purchase();
        $event['items'][0]['price'] = NAN;
        $e = $this->expectThrown(InvalidValueException::class, fn () => $t->build($event));
        $this->assertSame('items[0].price', $e->getField(), $e->getMessage());
        $event = self::purchase();
        $event['value'] = INF;
        $e = $this->expectThrown(InvalidValueException::class, fn () => $t->build($event));
        $this->assertSame('value', $e->getField());
    }

    public function testNulBytesInvalidUtf8AndHugeStrings(): void
    {
        $t = self::merchant();
        $event = self::purchase();
        $event['order_id'] = "wc-1\0001";
        $e = $this->expectThrown(InvalidValueException::class, fn () => $t->build($event));
        $this->assertSame('order_id', $e->getField(), $e->getMessage());
        // A NUL byte in an email makes it invalid: dropped (not hashed, not sent), like any malformed email.
        $event = self::purchase();
        $event['customer']['email'] = "sentinel\0@example.com";
        $event['items'][0]['title'] = "nul\0</script>";
        $r = $t->build($event);
        $this->assertArrayNotHasKey('em', $r['payload']['user_data']);
        $this->assertArrayHasKey('ph', $r['payload']['user_data']);
        $this->assertStringContainsString('nul\\u0000\\u003c/script\\u003e', $r['pixel_html']);
        $this->assertSame(1, substr_count($r['pixel_html'], '</script>'));

        $event = self::purchase();
        $event['items'][0]['title'] = "sentinel \xc3\x28 title";
        $e = $this->expectThrown(InvalidUtf8Exception::class, fn () => $t->build($event));
        $this->assertSame('items[0].title', $e->getField());
        $this->assertSame(101, $e->getStatus());
        // Raw JSON with invalid UTF-8 goes to the core, which rejects it too.
        $this->expectThrown(InvalidUtf8Exception::class, fn () => $t->build("{\"event_name\":\"Purchase\",\"order_id\":\"\xff\"}"));

        $event = self::purchase();
        $event['items'][0]['title'] = str_repeat('A', 10 * 1024 * 1024);
        $this->expectThrown(TooLargeException::class, fn () => $t->build($event));
    }

    public function testTrackWithoutOutboxIsNotConfigured(): void
    {
        $e = $this->expectThrown(NotConfiguredException::class, fn () => self::merchant()->track(self::purchase()));
        $this->assertSame(401, $e->getStatus());
    }

    public function testAFunctionTheHeaderDoesNotDeclareIsNotConfigured(): void
    {
        $t = StaleHeader::run(['convtrack_tracker_track', 'convtrack_tracker_set_consent'],
            fn (string $lib) => new Tracker(['pixel_id' => self::PIXEL], $lib));
        $this->assertSame('blocked', $t->build(self::purchase())['server'], 'what the header declares still works');
        $e = $this->expectThrown(NotConfiguredException::class, fn () => $t->track(self::purchase()));
        $this->assertSame('library', $e->getField());
        $this->assertStringContainsString('convtrack_tracker_track', $e->getMessage());
        $this->assertInstanceOf(\FFI\Exception::class, $e->getPrevious());
        $e = $this->expectThrown(NotConfiguredException::class, fn () => $t->setConsent(['ct1-x'], 'granted'));
        $this->assertStringContainsString('convtrack_tracker_set_consent', $e->getMessage());
    }

    public function testUnwritableOutboxIsAStorageError(): void
    {
        $dir = sys_get_temp_dir() . '/convtrack-php-ro-' . getmypid();
        @mkdir($dir);
        file_put_contents("$dir/outbox.sqlite3", str_repeat('not a database ', 100));
        try {
            $this->expectThrown(StorageException::class, function () use ($dir) {
                self::merchant(['outbox_path' => "$dir/outbox.sqlite3"])->track(self::purchase());
            });
        } finally {
            array_map('unlink', glob("$dir/*") ?: []);
            rmdir($dir);
        }
    }

    public function testClosedTrackerAndBadArguments(): void
    {
        $t = self::merchant();
        $t->close();
        $t->close(); // idempotent
        $this->expectThrown(ArgumentException::class, fn () => $t->status());
        $this->expectThrown(ArgumentException::class, fn () => self::merchant()->flush(NAN));
        $this->expectThrown(ArgumentException::class, fn () => self::merchant()->flush(-1.0));
        $this->expectThrown(NotConfiguredException::class, fn () => self::merchant()->flush(1e300)); // clamped, no overflow
        $this->expectThrown(NotConfiguredException::class, fn () => new Tracker(['pixel_id' => self::PIXEL], '/nonexistent/libconvtrack.so'));
        $lib = (string) getenv('CONVTRACK_LIB');
        $this->assertFileExists($lib, 'the tests run with CONVTRACK_LIB set (bindings-php/tests/run.sh)');
        $this->assertSame(self::PIXEL, (new Tracker(['pixel_id' => self::PIXEL], $lib))->status()['pixel_id'], 'explicit library path');
        $this->assertSame(Tracker::version(), Tracker::version($lib));
    }

    public function testOneMappingTableCoversEveryStatusOfTheHeader(): void
    {
        $header = (string) file_get_contents(Tracker::headerPath());
        preg_match_all('/(CONVTRACK_STATUS_\w+) = (\d+)/', $header, $m, PREG_SET_ORDER);
        $this->assertGreaterThan(10, count($m));
        foreach ($m as [, $name, $code]) {
            $code = (int) $code;
            if ($code <= Errors::DROPPED) {
                continue;
            }
            $this->assertSame($name, Errors::NAMES[$code] ?? null, "name of $code");
            $this->assertArrayHasKey($code, Errors::CLASSES, "class for $name");
            $e = Errors::make($code, 'field_x: message');
            $this->assertInstanceOf(ConvtrackException::class, $e);
            $this->assertSame('field_x', $e->getField());
        }
        $this->assertInstanceOf(InternalException::class, Errors::make(12345, 'unknown'));
    }

    /**
     * Errors holds exactly the library's statuses: NAMES and CLASSES have every number convtrack_status_name()
     * names except OK and DROPPED (Errors::OK, Errors::DROPPED), with its name, and no other. Which class each
     * status gets is the core's table (core/src/error.rs), checked by bindings-c/tests/php_error_classes.rs.
     */
    public function testErrorsHoldsExactlyTheLibrarysStatuses(): void
    {
        $ffi = \FFI::cdef((string) file_get_contents(Tracker::headerPath()), (string) getenv('CONVTRACK_LIB'));
        $named = [];
        for ($status = 0; $status <= 0xFFFF; $status++) {
            $name = (string) $ffi->convtrack_status_name($status);
            if ($name !== 'CONVTRACK_STATUS_UNKNOWN') {
                $named[$status] = $name;
            }
        }
        $this->assertSame('CONVTRACK_STATUS_OK', $named[Errors::OK] ?? null);
        $this->assertSame('CONVTRACK_STATUS_DROPPED', $named[Errors::DROPPED] ?? null);
        unset($named[Errors::OK], $named[Errors::DROPPED]);
        $this->assertGreaterThan(10, count($named));
        $names = Errors::NAMES;
        ksort($names);
        $this->assertSame($named, $names, 'Errors::NAMES');
        $classes = array_keys(Errors::CLASSES);
        sort($classes);
        $this->assertSame(array_keys($named), $classes, 'Errors::CLASSES');
        foreach (Errors::CLASSES as $status => $class) {
            $this->assertTrue(is_subclass_of($class, ConvtrackException::class), "class of $status");
        }
    }
}
