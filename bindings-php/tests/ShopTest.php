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
        $this->assertSame(['status' => 'CONVTRACK_STATUS_INVALID_SETTING', 'field' => 'pixel_id', 'where' => 'open'], $logger->seen[0][1]);
    }

    public function testTheTrackerItselfStillThrowsTypedErrors(): void
    {
        $this->expectException(\Convtrack\SettingsException::class);
        new Tracker(['pixel_id' => '12ab']);
    }
}
