<?php
declare(strict_types=1);

namespace Convtrack\Tests;

use Convtrack\Shop;
use Convtrack\Tracker;
use PHPUnit\Framework\TestCase;

/** The shop-facing helpers degrade to "no tracking for this request" + one log line + a count; pages keep rendering. */
final class ShopTest extends TestCase
{
    private string $outbox;
    /** @var list<string> */
    private array $lines = [];

    protected function setUp(): void
    {
        Shop::resetCounters();
        $this->lines = [];
        $this->outbox = sys_get_temp_dir() . '/convtrack-shop-' . getmypid() . '-' . bin2hex(random_bytes(4)) . '.sqlite3';
    }

    protected function tearDown(): void
    {
        foreach (glob($this->outbox . '*') ?: [] as $f) {
            unlink($f);
        }
    }

    /** @param array<string, mixed> $extra */
    private function shop(array $extra = []): Shop
    {
        $settings = $extra + ['pixel_id' => TrackerTest::PIXEL, 'access_token' => TrackerTest::TOKEN, 'data_controls' => true,
            'outbox_path' => $this->outbox];
        return new Shop(array_filter($settings, static fn ($v) => $v !== null), null, function (string $line): void {
            $this->lines[] = $line;
        });
    }

    private function assertLoggedOnce(string $status, string $field): void
    {
        $this->assertCount(1, $this->lines, implode("\n", $this->lines));
        $this->assertStringContainsString("no tracking for this request", $this->lines[0]);
        $this->assertStringContainsString($status, $this->lines[0]);
        $this->assertStringContainsString("field=$field", $this->lines[0]);
        $this->assertStringNotContainsString(TrackerTest::TOKEN, $this->lines[0]);
        $this->assertStringNotContainsStringIgnoringCase('sentinel.person', $this->lines[0]);
        $this->assertSame(1, Shop::degradedCount());
    }

    public function testAGoodOrderIsTrackedAndGetsItsPixel(): void
    {
        $order = TrackerTest::purchase('shop-1');
        $html = $this->shop()->trackOrder($order);
        $this->assertStringContainsString("fbq('track',\"Purchase\"", $html);
        $this->assertSame([], $this->lines);
        $this->assertSame(0, Shop::degradedCount());
        $status = (new Tracker(['pixel_id' => TrackerTest::PIXEL, 'outbox_path' => $this->outbox]))->status();
        $this->assertSame(1, $status['queue']['depth']);
    }

    public function testEveryWorkersDegradedRequestsAddUpInTheOutbox(): void
    {
        // Two php-fpm workers (two Shops) on one outbox: each serves one order it cannot build.
        $bad = ['value' => NAN] + TrackerTest::purchase('shop-nan');
        $this->assertSame('', $this->shop()->trackOrder($bad));
        $this->assertSame('', $this->shop()->trackOrder(['event_name' => 'Purchase', 'custom' => new \ArrayObject()]));
        $status = (new Tracker(['pixel_id' => TrackerTest::PIXEL, 'outbox_path' => $this->outbox]))->status();
        $this->assertSame(['invalid_value' => 1, 'unknown_field' => 1], $status['counters']['degraded']);
        $this->assertSame(2, Shop::degradedCount(), 'the per-process count as well');
    }

    public function testCountDegradedTakesACodeNotAValue(): void
    {
        $t = new Tracker(['pixel_id' => TrackerTest::PIXEL, 'outbox_path' => $this->outbox]);
        try {
            $t->countDegraded('sentinel.person@example.com');
            $this->fail('a value is not a reason');
        } catch (\Convtrack\ArgumentException $e) {
            $this->assertSame('reason', $e->getField());
            $this->assertStringNotContainsString('sentinel', $e->getMessage());
        }
    }

    public function testAnInvalidSettingGivesNoTrackingAndTheCallStillReturns(): void
    {
        $shop = $this->shop(['pixel_id' => '12ab']);
        $this->assertSame('', $shop->trackOrder(TrackerTest::purchase()));
        $this->assertSame('', $shop->pageSnippet());
        $this->assertLoggedOnce('CONVTRACK_STATUS_INVALID_SETTING', 'pixel_id');
    }

    public function testAnOrderOlderThanSevenDaysGetsItsPixelWithoutAServerCopy(): void
    {
        $order = ['event_time' => time() - 8 * 86400] + TrackerTest::purchase('shop-old');
        $html = $this->shop()->trackOrder($order);
        $this->assertStringContainsString("fbq('track',\"Purchase\"", $html);
        $this->assertSame([], $this->lines);
        $status = (new Tracker(['pixel_id' => TrackerTest::PIXEL, 'outbox_path' => $this->outbox]))->status();
        $this->assertSame(0, $status['queue']['depth']);
        $this->assertSame(1, $status['counters']['blocked']['too_old'] ?? null);
    }

    public function testAnUnbuildableEventGivesNoTracking(): void
    {
        $order = ['currency' => 'EURO'] + TrackerTest::purchase('shop-bad');
        $this->assertSame('', $this->shop()->trackOrder($order));
        $this->assertLoggedOnce('CONVTRACK_STATUS_INVALID_VALUE', 'currency');
        $this->lines = [];
        Shop::resetCounters();
        $this->assertSame('', $this->shop()->pageSnippet([$order]));
        $this->assertLoggedOnce('CONVTRACK_STATUS_INVALID_VALUE', 'events[0].currency');
    }

    public function testAStorageErrorStillRendersThePixel(): void
    {
        $file = $this->outbox . '-not-a-dir';
        file_put_contents($file, 'x');
        $shop = $this->shop(['outbox_path' => "$file/outbox.sqlite3"]);
        $html = $shop->trackOrder(TrackerTest::purchase('shop-2'));
        unlink($file);
        $this->assertStringContainsString("fbq('track',\"Purchase\"", $html);
        $this->assertLoggedOnce('CONVTRACK_STATUS_STORAGE', 'outbox_path');
    }

    public function testAPsr3StyleLoggerGetsTheLineAndContext(): void
    {
        $logger = new class {
            /** @var list<array{string, array<string, mixed>}> */
            public array $seen = [];
            /** @param array<string, mixed> $context */
            public function error(string $message, array $context = []): void
            {
                $this->seen[] = [$message, $context];
            }
        };
        $shop = new Shop(['pixel_id' => 'nope'], null, $logger);
        $this->assertSame('', $shop->trackOrder(TrackerTest::purchase()));
        $this->assertCount(1, $logger->seen);
        $this->assertSame(['status' => 'CONVTRACK_STATUS_INVALID_SETTING', 'field' => 'pixel_id', 'where' => 'open',
            'exception' => \Convtrack\SettingsException::class], $logger->seen[0][1]);
    }

    public function testAHeaderOlderThanThePackageGivesNoTrackingNotAnError(): void
    {
        $shop = StaleHeader::run(['convtrack_tracker_track', 'convtrack_tracker_page_snippet'], fn (string $lib) => new Shop(
            ['pixel_id' => TrackerTest::PIXEL, 'access_token' => TrackerTest::TOKEN, 'data_controls' => true, 'outbox_path' => $this->outbox],
            $lib,
            function (string $line): void {
                $this->lines[] = $line;
            }
        ));
        $this->assertSame('', $shop->trackOrder(TrackerTest::purchase('shop-stale')));
        $this->assertLoggedOnce('CONVTRACK_STATUS_NOT_CONFIGURED', 'library');
        $this->assertSame('', $shop->pageSnippet([TrackerTest::purchase('shop-stale')]));
        $this->assertCount(2, $this->lines);
        $this->assertSame(2, Shop::degradedCount());
    }

    public function testAnExceptionFromTheShopsOwnObjectsGivesNoTrackingAndItsMessageIsNotLogged(): void
    {
        $customer = new class implements \JsonSerializable {
            public function jsonSerialize(): mixed
            {
                throw new \RuntimeException('customer lookup failed for sentinel.person@example.com');
            }
        };
        $order = ['customer' => $customer] + TrackerTest::purchase('shop-obj');
        $shop = $this->shop();
        $this->assertSame('', $shop->trackOrder($order));
        $this->assertCount(1, $this->lines);
        $this->assertSame('convtrack: no tracking for this request (trackOrder): RuntimeException', $this->lines[0]);
        $this->assertSame('', $shop->pageSnippet([$order]));
        $this->assertSame('convtrack: no tracking for this request (pageSnippet): RuntimeException', $this->lines[1]);
        $this->assertSame(2, Shop::degradedCount());
        // the Tracker itself lets it through as it came
        $this->expectException(\RuntimeException::class);
        (new Tracker(['pixel_id' => TrackerTest::PIXEL]))->build($order);
    }

    public function testInputThatIsNotAnArrayGivesNoTracking(): void
    {
        $shop = $this->shop();
        $order = TrackerTest::purchase('shop-types');
        $this->assertSame('', $shop->trackOrder(null)); // e.g. a helper that found no order
        $this->assertLoggedOnce('CONVTRACK_STATUS_WRONG_TYPE', 'order');
        $calls = [
            'events' => fn () => $shop->pageSnippet('not a list'),
            'options' => fn () => $shop->trackOrder($order, 'nonce-abc'),
            'options ' => fn () => $shop->pageSnippet([$order], 42),
        ];
        foreach ($calls as $field => $call) {
            $this->assertSame('', $call());
            $this->assertStringEndsWith('CONVTRACK_STATUS_WRONG_TYPE field=' . trim($field), (string) end($this->lines));
        }
        $this->assertSame(4, Shop::degradedCount());
        $this->assertSame(0, (new Tracker(['pixel_id' => TrackerTest::PIXEL, 'outbox_path' => $this->outbox]))->status()['queue']['depth']);
        $this->lines = [];
        Shop::resetCounters();
        $none = new Shop(false, null, function (string $line): void { // e.g. get_option() of a missing option
            $this->lines[] = $line;
        });
        $this->assertSame('', $none->trackOrder($order));
        $this->assertLoggedOnce('CONVTRACK_STATUS_WRONG_TYPE', 'settings');
        // the Tracker itself keeps its types
        $this->expectException(\TypeError::class);
        (new Tracker(['pixel_id' => TrackerTest::PIXEL]))->build(null); // @phpstan-ignore-line
    }

    public function testTheTrackerItselfStillThrowsTypedErrors(): void
    {
        $this->expectException(\Convtrack\SettingsException::class);
        new Tracker(['pixel_id' => '12ab']);
    }
}
