<?php
declare(strict_types=1);

namespace Convtrack\Tests;

use Convtrack\Tracker;
use PHPUnit\Framework\TestCase;

/** track into a real SQLite outbox, flush to the real sandbox receiver over loopback, see the event arrive. */
final class DeliveryTest extends TestCase
{
    private string $outbox;

    protected function setUp(): void
    {
        Sandbox::reset();
        $this->outbox = sys_get_temp_dir() . '/convtrack-php-' . getmypid() . '-' . bin2hex(random_bytes(4)) . '.sqlite3';
    }

    protected function tearDown(): void
    {
        foreach (glob($this->outbox . '*') ?: [] as $f) {
            unlink($f);
        }
    }

    private function tracker(): Tracker
    {
        return new Tracker([
            'pixel_id' => TrackerTest::PIXEL, 'access_token' => Sandbox::TOKEN, 'data_controls' => true,
            'endpoint' => Sandbox::url(), 'outbox_path' => $this->outbox,
        ]);
    }

    public function testTrackFlushArrivesWithTheSameEventId(): void
    {
        $t = $this->tracker();
        $expected = Tracker::eventId(TrackerTest::PIXEL, 'Purchase', 'wc-2001');
        $r = $t->track(TrackerTest::purchase('wc-2001'));
        $this->assertSame('queued', $r['server']);
        $this->assertSame($expected, $r['event_id']);
        $this->assertSame('duplicate', $t->track(TrackerTest::purchase('wc-2001'))['server'], 'the hook fires twice');
        $report = $t->flush(5.0);
        $this->assertSame(1, $report['sent'], (string) json_encode($report));
        $this->assertSame(0, $report['remaining']);
        $status = $t->status();
        $this->assertSame(1, $status['counters']['sent']);
        $this->assertSame(1, $status['counters']['duplicate']);
        $this->assertSame(0, $status['queue']['depth']);
        $t->close();

        $stats = Sandbox::get('/_sandbox/stats');
        $events = Sandbox::get('/_sandbox/events');
        $this->assertSame(1, $stats['received']);
        $this->assertSame($expected, $events[0]['event_id']);
        $this->assertSame([hash('sha256', 'sentinel.person@example.com')], $events[0]['user_data']['em']);
    }

    public function testQueuedEventsSurviveAProcessRestart(): void
    {
        $t = $this->tracker();
        $this->assertSame('queued', $t->track(TrackerTest::purchase('wc-2002'))['server']);
        $t->close(); // the PHP request ends before delivery
        $t = $this->tracker();
        $this->assertSame(1, $t->status()['queue']['depth']);
        $this->assertSame('duplicate', $t->track(TrackerTest::purchase('wc-2002'))['server'], 'dedup is durable');
        $this->assertSame(1, $t->flush(5.0)['sent']);
        $this->assertSame(1, Sandbox::get('/_sandbox/stats')['received']);
        $this->assertSame(0, $t->flush(1e300)['remaining'], 'a huge timeout is clamped; nothing left returns at once');
    }

    public function testTurningDataControlsOffDiscardsQueuedOrdersAndMetaGetsNothing(): void
    {
        $t = $this->tracker();
        $this->assertSame('queued', $t->track(TrackerTest::purchase('wc-3001'))['server']);
        $c = $t->setControls('shop-admin', false);
        $this->assertFalse($c['data_controls']);
        $this->assertSame(1, $c['history'][0]['discarded']);
        $this->assertSame('shop-admin', $c['changed_by']);
        $this->assertSame('blocked', $t->track(TrackerTest::purchase('wc-3002'))['server']);
        $this->assertSame(0, $t->flush(2.0)['requests']);
        $this->assertSame(0, Sandbox::get('/_sandbox/stats')['received']);

        try {
            $t->setControls('shop-admin', true);
            $this->fail('turning data controls on without the acknowledgement must fail');
        } catch (\Convtrack\ArgumentException $e) {
            $this->assertStringContainsString('legal_ack', $e->getMessage());
        }
        $this->assertFalse($t->controls()['data_controls']);
        $on = $t->setControls('shop-admin', true, null, true);
        $this->assertTrue($on['data_controls'] && $on['legal_ack']);
        $this->assertSame('queued', $t->track(TrackerTest::purchase('wc-3003'))['server']);
        $this->assertSame(1, $t->flush(5.0)['sent']);
        $this->assertSame([], $t->deadLetters());
        $this->assertSame(0, $t->retryDeadLetters());
        $this->assertSame(0, $t->discardDeadLetters([1, 2]));
        $t->resume();
        $this->assertSame('shop-admin', $t->status()['controls']['changed_by']);
    }

    public function testAnUnansweredConsentIsHeldUntilTheShopperGrantsIt(): void
    {
        $t = new Tracker([
            'pixel_id' => TrackerTest::PIXEL, 'access_token' => Sandbox::TOKEN, 'data_controls' => true,
            'endpoint' => Sandbox::url(), 'outbox_path' => $this->outbox, 'unknown_consent' => 'hold',
        ]);
        $order = TrackerTest::purchase('wc-4001');
        $order['consent'] = ['marketing' => 'unknown'];
        $r = $t->track($order);
        $this->assertSame('held', $r['server']);
        $this->assertSame(0, $t->flush(2.0)['requests']);
        $this->assertSame(1, $t->setConsent([$r['event_id']], 'granted'));
        $this->assertSame(1, $t->flush(5.0)['sent']);
        $this->assertSame($r['event_id'], Sandbox::get('/_sandbox/events')[0]['event_id']);
        $this->expectException(\Convtrack\ArgumentException::class);
        $t->setConsent([$r['event_id']], 'maybe');
    }

    public function testAHeldEventTheShopperDeniesIsDroppedAndNeverSent(): void
    {
        $t = new Tracker([
            'pixel_id' => TrackerTest::PIXEL, 'access_token' => Sandbox::TOKEN, 'data_controls' => true,
            'endpoint' => Sandbox::url(), 'outbox_path' => $this->outbox, 'unknown_consent' => 'hold',
        ]);
        $order = TrackerTest::purchase('wc-4002');
        $order['consent'] = ['marketing' => 'unknown'];
        $r = $t->track($order);
        $this->assertSame('held', $r['server']);
        $this->assertSame(1, $t->setConsent([$r['event_id']], 'denied'));
        $this->assertSame(0, $t->setConsent([$r['event_id']], 'granted'), 'a dropped hold cannot come back');
        $this->assertSame(0, $t->flush(2.0)['requests']);
        $status = $t->status();
        $this->assertSame([0, 0], [$status['queue']['held'], $status['queue']['depth']]);
        $this->assertSame(1, $status['counters']['hold']['dropped']);
        $this->assertSame(0, Sandbox::get('/_sandbox/stats')['requests']);
    }
}
