<?php
declare(strict_types=1);

namespace Convtrack\Tests;

use Convtrack\ConvtrackException;
use Convtrack\NotConfiguredException;
use Convtrack\Tracker;
use PHPUnit\Framework\TestCase;

/** checkOnline() and sendTestEvent() against the real sandbox over loopback; FFI errors as convtrack exceptions. */
final class HealthTest extends TestCase
{
    protected function setUp(): void
    {
        Sandbox::reset();
    }

    /** @param array<string, mixed> $extra */
    private function tracker(array $extra = []): Tracker
    {
        return new Tracker($extra + ['pixel_id' => TrackerTest::PIXEL, 'access_token' => Sandbox::TOKEN, 'endpoint' => Sandbox::url()]);
    }

    public function testCheckOnline(): void
    {
        $this->assertSame(
            ['ok' => true, 'status' => 200, 'pixel' => ['id' => TrackerTest::PIXEL, 'name' => 'Sandbox pixel ' . TrackerTest::PIXEL], 'error' => null],
            $this->tracker()->checkOnline()
        );
        $bad = $this->tracker(['access_token' => 'wrong-token'])->checkOnline();
        $this->assertSame([false, 400, 'the access token is invalid or expired'], [$bad['ok'], $bad['status'], $bad['error']]);
        $this->expectException(NotConfiguredException::class);
        $this->expectExceptionMessage('access_token');
        (new Tracker(['pixel_id' => TrackerTest::PIXEL, 'endpoint' => Sandbox::url()]))->checkOnline();
    }

    public function testSendTestEvent(): void
    {
        $r = $this->tracker()->sendTestEvent('PHPTEST1');
        $this->assertTrue($r['ok']);
        $this->assertSame('PHPTEST1', $r['test_event_code']);
        $this->assertStringStartsWith('test-', $r['event_id']);
        $requests = Sandbox::get('/_sandbox/requests');
        $last = end($requests);
        $this->assertSame('PHPTEST1', $last['test_event_code']);
        $events = Sandbox::get('/_sandbox/events');
        $this->assertSame(['client_user_agent' => 'convtrack test event'], end($events)['user_data']);
        $this->assertSame('FROMSETTING', $this->tracker(['test_event_code' => 'FROMSETTING'])->sendTestEvent()['test_event_code']);
        try {
            $this->tracker()->sendTestEvent();
            $this->fail('no code and no setting must throw');
        } catch (NotConfiguredException $e) {
            $this->assertSame('test_event_code', $e->getField());
        }
    }

    public function testABadLibraryIsAConvtrackExceptionNotAnFfiException(): void
    {
        $notALibrary = tempnam(sys_get_temp_dir(), 'convtrack-notlib');
        file_put_contents($notALibrary, 'not an ELF file');
        try {
            new Tracker(['pixel_id' => TrackerTest::PIXEL], $notALibrary);
            $this->fail('a file that is not libconvtrack must not load');
        } catch (ConvtrackException $e) {
            $this->assertInstanceOf(NotConfiguredException::class, $e);
            $this->assertStringStartsWith('library: ', $e->getMessage());
            $this->assertInstanceOf(\FFI\Exception::class, $e->getPrevious());
        } finally {
            unlink($notALibrary);
        }
        // FFI switched off: PHP's own FFI\Exception, converted the same way.
        $code = 'require ' . var_export(dirname(__DIR__) . '/autoload.php', true) . '; try { new Convtrack\Tracker(["pixel_id" => "1"], '
            . var_export(Tracker::libraryPath(), true) . '); } catch (Throwable $e) { echo get_class($e); }';
        $out = shell_exec(escapeshellarg(PHP_BINARY) . ' -d ffi.enable=0 -r ' . escapeshellarg($code));
        $this->assertSame('Convtrack\NotConfiguredException', $out);
        // A library that is not libconvtrack (a symbol of the header is missing): the same.
        $this->expectException(NotConfiguredException::class);
        new Tracker(['pixel_id' => TrackerTest::PIXEL], '/lib/x86_64-linux-gnu/libc.so.6');
    }
}
