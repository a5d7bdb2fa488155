<?php
declare(strict_types=1);

namespace Convtrack\Tests;

use Convtrack\Tracker;
use PHPUnit\Framework\TestCase;

/**
 * Real php-fpm, one static worker: the library (and with it the phone metadata it parses once, ~100 ms) stays loaded
 * from request to request of a worker, with FFI::cdef as with ffi.preload. Asserts on the worker's mappings, never on
 * time; docs/php-ffi.md has the measured timings.
 */
final class FpmTest extends TestCase
{
    private const PROBE = __DIR__ . '/fpm/probe.php';

    private static function expectedPhone(): string
    {
        return (string) Tracker::hash('phone', '030 12345678', 'DE');
    }

    /** @return array<string, mixed> */
    private static function call(Fpm $fpm, string $mode): array
    {
        $body = $fpm->request(self::PROBE, "mode=$mode");
        $r = json_decode($body, true);
        self::assertIsArray($r, "probe answered: $body\n" . $fpm->log());
        return $r;
    }

    /** @param mixed $ph */
    private function assertPhone($ph): void
    {
        $this->assertSame(self::expectedPhone(), is_array($ph) ? ($ph[0] ?? null) : $ph);
    }

    public function testCdefLibraryStaysMappedAcrossRequestsOfOneWorker(): void
    {
        $fpm = new Fpm(['ffi.enable' => '1'], ['CONVTRACK_LIB' => Tracker::libraryPath()]);
        try {
            // PHP frees the FFI::cdef object, and dlclose()s the library, at the end of every request.
            $version = self::call($fpm, 'version');
            $first = self::call($fpm, 'build');
            $second = self::call($fpm, 'build');
        } finally {
            $fpm->stop();
        }
        $this->assertNull($version['mapped_before'], 'a fresh worker has not loaded the library yet');
        $this->assertNotNull($version['mapped_after']);
        $this->assertFalse($version['scope']);
        // NODELETE (bindings-c/build.rs): still mapped at the same address after a request that touched no
        // thread-local, so nothing the library initialized is lost between requests.
        $this->assertSame($version['mapped_after'], $first['mapped_before'], 'the library was unloaded after the request');
        $this->assertSame($first['mapped_after'], $second['mapped_before']);
        $this->assertSame($first['mapped_before'], $second['mapped_after']);
        $this->assertSame($version['pid'], $first['pid'], 'the same worker served every request');
        $this->assertSame($first['pid'], $second['pid']);
        foreach ([$first, $second] as $r) {
            $this->assertSame('send', $r['server']);
            $this->assertPhone($r['ph']);
        }
    }

    public function testPreloadedScopeIsInheritedFromTheMaster(): void
    {
        $text = Tracker::preloadHeader(); // before mkdir: it throws when the library is not found
        $dir = sys_get_temp_dir() . '/convtrack-preload-' . bin2hex(random_bytes(6));
        mkdir($dir, 0700);
        $header = "$dir/convtrack-ffi.h";
        file_put_contents($header, $text);
        $ini = [
            'ffi.enable' => 'preload', // production setting: only preloaded code may use the FFI API
            'ffi.preload' => $header,
            'opcache.enable' => '1',
            'opcache.preload' => dirname(__DIR__) . '/preload.php',
        ];
        if (function_exists('posix_geteuid') && posix_geteuid() === 0) {
            $ini['opcache.preload_user'] = 'root'; // required under uid 0; production names the pool's user
        }
        $fpm = new Fpm($ini, ['CONVTRACK_LIB' => Tracker::libraryPath()]);
        try {
            $first = self::call($fpm, 'build');
            $second = self::call($fpm, 'warm');
        } finally {
            $fpm->stop();
            unlink($header);
            rmdir($dir);
        }
        $this->assertNotNull($first['mapped_before'], 'ffi.preload maps the library in the master, before any request');
        $this->assertSame($first['mapped_before'], $second['mapped_before']);
        $this->assertSame($first['pid'], $second['pid']);
        foreach ([$first, $second] as $r) {
            $this->assertTrue($r['scope'], 'Tracker uses FFI::scope(\'convtrack\')');
            $this->assertSame('send', $r['server']);
            $this->assertPhone($r['ph']);
        }
    }
}
