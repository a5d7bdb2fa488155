<?php
declare(strict_types=1);

namespace Convtrack\Tests;

use Convtrack\Tracker;
use PHPUnit\Framework\TestCase;

/**
 * examples/wp-settings-page.php served by PHP's real built-in server (php -S) on loopback, driven over HTTP as a
 * browser would: the page shows the pixel, the catalog and the warning; a POST without the nonce, or turning data
 * controls on without the acknowledgement, changes nothing; with it, the controls in the outbox change (read back
 * through Tracker::controls() in this process). The page sends only what changed: a mode change while on needs no
 * new acknowledgement, and a Save that changes nothing adds no history row.
 */
final class WpSettingsPageTest extends TestCase
{
    private const SECRET = 'test-page-secret-0123456789';

    /** @var resource|null */
    private $server = null;
    private string $url = '';
    private string $dir = '';
    private string $outbox = '';

    protected function setUp(): void
    {
        $this->dir = sys_get_temp_dir() . '/convtrack-wp-' . getmypid() . '-' . bin2hex(random_bytes(4));
        mkdir($this->dir);
        $this->outbox = $this->dir . '/outbox.sqlite3';
        file_put_contents($this->dir . '/settings.json', json_encode([
            'pixel_id' => TrackerTest::PIXEL, 'access_token' => TrackerTest::TOKEN, 'outbox_path' => $this->outbox,
            'catalog_id' => '987654321', 'catalog_name' => 'Shop <catalog>',
        ]));
        $port = self::freePort();
        $env = [
            'CONVTRACK_LIB' => Tracker::libraryPath(), 'CONVTRACK_SETTINGS' => $this->dir . '/settings.json',
            'CONVTRACK_PAGE_SECRET' => self::SECRET, 'CONVTRACK_PAGE_USER' => 'alice', 'PATH' => getenv('PATH') ?: '/usr/bin',
        ];
        $cmd = [PHP_BINARY, '-d', 'ffi.enable=1', '-S', "127.0.0.1:$port", dirname(__DIR__) . '/examples/wp-settings-page.php'];
        $this->server = proc_open($cmd, [0 => ['file', '/dev/null', 'r'], 1 => ['file', '/dev/null', 'w'], 2 => ['file', '/dev/null', 'w']], $pipes, null, $env);
        $this->url = "http://127.0.0.1:$port/";
        for ($i = 0; $i < 100; $i++) {
            $s = @fsockopen('127.0.0.1', $port, $errno, $errstr, 0.1);
            if ($s !== false) {
                fclose($s);
                return;
            }
            usleep(50_000);
        }
        $this->fail('php -S did not start');
    }

    protected function tearDown(): void
    {
        if (is_resource($this->server)) {
            proc_terminate($this->server);
            proc_close($this->server);
        }
        foreach (glob($this->dir . '/*') ?: [] as $f) {
            unlink($f);
        }
        rmdir($this->dir);
    }

    private static function freePort(): int
    {
        $s = stream_socket_server('tcp://127.0.0.1:0');
        $name = stream_socket_get_name($s, false);
        fclose($s);
        return (int) substr((string) $name, strrpos((string) $name, ':') + 1);
    }

    /** @param array<string, string>|null $form @return array{int, string, array<int, string>} */
    private function http(?array $form = null, string $query = ''): array
    {
        $http = ['method' => 'GET', 'ignore_errors' => true, 'follow_location' => 0, 'timeout' => 10];
        if ($form !== null) {
            $http = ['method' => 'POST', 'content' => http_build_query($form),
                'header' => 'Content-Type: application/x-www-form-urlencoded'] + $http;
        }
        $body = (string) file_get_contents($this->url . $query, false, stream_context_create(['http' => $http]));
        $status = (int) explode(' ', $http_response_header[0] ?? 'HTTP/1.1 0')[1];
        return [$status, $body, $http_response_header];
    }

    private function nonce(): string
    {
        [, $body] = $this->http();
        $this->assertSame(1, preg_match('/name="_wpnonce" value="([0-9a-f]+)"/', $body, $m), $body);
        return $m[1];
    }

    /** @return array<string, mixed> */
    private function controls(): array
    {
        return (new Tracker(['pixel_id' => TrackerTest::PIXEL, 'outbox_path' => $this->outbox]))->controls();
    }

    public function testThePageShowsThePixelCatalogModeAndWarning(): void
    {
        [$status, $body] = $this->http();
        $this->assertSame(200, $status, $body);
        $this->assertStringContainsString('<code id="pixel-id">' . TrackerTest::PIXEL . '</code>', $body);
        $this->assertStringContainsString('Shop &lt;catalog&gt;', $body);
        $this->assertStringContainsString('987654321', $body);
        $this->assertStringContainsString('This might require a', $body);
        $this->assertStringContainsString('name="legal_ack"', $body);
        $this->assertStringContainsString('<option value="pixel_and_server" selected>', $body);
        $this->assertStringContainsString('Now: <strong>off</strong>', $body);
        $this->assertStringNotContainsString(TrackerTest::TOKEN, $body);
    }

    public function testWithoutTheNonceNothingChanges(): void
    {
        [$status] = $this->http(['data_controls' => 'on', 'legal_ack' => '1', 'mode' => 'pixel_and_server']);
        $this->assertSame(403, $status);
        [$status] = $this->http(['_wpnonce' => str_repeat('0', 20), 'data_controls' => 'on', 'legal_ack' => '1']);
        $this->assertSame(403, $status);
        $this->assertFalse($this->controls()['data_controls']);
        $this->assertSame([], $this->controls()['history']);
    }

    public function testOnWithoutTheAcknowledgementIsRefused(): void
    {
        [$status, $body] = $this->http(['_wpnonce' => $this->nonce(), 'data_controls' => 'on', 'mode' => 'pixel_and_server']);
        $this->assertSame(400, $status);
        $this->assertStringContainsString('tick the acknowledgement box. (legal_ack)', $body);
        $this->assertFalse($this->controls()['data_controls']);
        $this->assertSame([], $this->controls()['history']);
        // with a mode change in the same Save: refused as one, the mode stays
        [$status, $body] = $this->http(['_wpnonce' => $this->nonce(), 'data_controls' => 'on', 'mode' => 'catalog_only']);
        $this->assertSame(400, $status);
        $this->assertStringContainsString('(legal_ack)', $body);
        $c = $this->controls();
        $this->assertSame([false, 'pixel_and_server', []], [$c['data_controls'], $c['mode'], $c['history']]);
    }

    public function testAModeChangeWhileOnNeedsNoNewAcknowledgement(): void
    {
        [$status] = $this->http(['_wpnonce' => $this->nonce(), 'data_controls' => 'on', 'legal_ack' => '1',
            'mode' => 'pixel_and_server']);
        $this->assertSame(303, $status);
        // the form posts the toggle as it stands (on) with the new mode, and the box unticked
        [$status, $body] = $this->http(['_wpnonce' => $this->nonce(), 'data_controls' => 'on', 'mode' => 'catalog_only']);
        $this->assertSame(303, $status, $body);
        $c = $this->controls();
        $this->assertTrue($c['data_controls']);
        $this->assertSame('catalog_only', $c['mode']);
        $this->assertTrue($c['legal_ack'], 'the acknowledgement of the switch-on still stands');
        $this->assertCount(2, $c['history']);
        $this->assertSame([null, 'catalog_only'], [$c['history'][0]['data_controls'], $c['history'][0]['mode']]);
    }

    public function testASaveThatChangesNothingRecordsNothing(): void
    {
        // off (the settings' state): Save as shown
        [$status, , $headers] = $this->http(['_wpnonce' => $this->nonce(), 'data_controls' => 'off', 'mode' => 'pixel_and_server']);
        $this->assertSame(303, $status);
        $this->assertContains('Location: ?settings-updated=unchanged', $headers);
        $this->assertSame([], $this->controls()['history']);
        [$status, $body] = $this->http(null, '?settings-updated=unchanged');
        $this->assertSame(200, $status);
        $this->assertStringContainsString('Nothing changed: the controls were already set like this.', $body);
        $this->assertStringContainsString('No change yet.', $body);
        // on: Save as shown, with or without the box ticked
        [$status] = $this->http(['_wpnonce' => $this->nonce(), 'data_controls' => 'on', 'legal_ack' => '1', 'mode' => 'catalog_only']);
        $this->assertSame(303, $status);
        $this->assertCount(1, $this->controls()['history']);
        foreach ([[], ['legal_ack' => '1']] as $ack) {
            [$status, , $headers] = $this->http(['_wpnonce' => $this->nonce(), 'data_controls' => 'on', 'mode' => 'catalog_only'] + $ack);
            $this->assertSame(303, $status);
            $this->assertContains('Location: ?settings-updated=unchanged', $headers);
        }
        $c = $this->controls();
        $this->assertCount(1, $c['history']);
        $this->assertSame([true, 'catalog_only'], [$c['data_controls'], $c['mode']]);
    }

    public function testOnWithTheAcknowledgementChangesTheControlsInTheOutbox(): void
    {
        [$status, , $headers] = $this->http(['_wpnonce' => $this->nonce(), 'data_controls' => 'on', 'legal_ack' => '1',
            'mode' => 'pixel_and_server']);
        $this->assertSame(303, $status);
        $this->assertContains('Location: ?settings-updated=true', $headers);
        $c = $this->controls();
        $this->assertTrue($c['data_controls']);
        $this->assertTrue($c['legal_ack']);
        $this->assertSame('alice', $c['changed_by']);
        $this->assertSame('outbox', $c['source']);
        [$status, $body] = $this->http();
        $this->assertSame(200, $status);
        $this->assertStringContainsString('Now: <strong>on</strong>', $body);
        $this->assertStringContainsString('<td>alice</td>', $body);
        // and off again, with the mode: recorded newest first
        [$status] = $this->http(['_wpnonce' => $this->nonce(), 'data_controls' => 'off', 'mode' => 'catalog_only']);
        $this->assertSame(303, $status);
        $c = $this->controls();
        $this->assertFalse($c['data_controls']);
        $this->assertSame('catalog_only', $c['mode']);
        $this->assertCount(2, $c['history']);
    }
}
