<?php
declare(strict_types=1);

namespace Convtrack\Tests;

use PHPUnit\Framework\TestCase;

/**
 * A Tracker owns one native handle: it is freed once, never copied (clone, serialize, unserialize, var_export), and
 * every call on a closed or never-constructed Tracker throws instead of reaching freed memory. Each scenario runs in
 * a child `php` (handle_child.php): a double free (exit 134) or a segfault (139) fails the test, not the runner.
 */
final class HandleTest extends TestCase
{
    /** @return array{int, string} exit code and output (stdout and stderr) of handle_child.php $scenario */
    private static function child(string $scenario): array
    {
        $cmd = [PHP_BINARY, '-d', 'ffi.enable=1', '-d', 'display_errors=stderr', __DIR__ . '/handle_child.php', $scenario];
        $proc = proc_open($cmd, [0 => ['file', '/dev/null', 'r'], 1 => ['pipe', 'w'], 2 => ['redirect', 1]], $pipes);
        self::assertIsResource($proc);
        $out = (string) stream_get_contents($pipes[1]);
        fclose($pipes[1]);
        return [proc_close($proc), $out];
    }

    private function assertChild(string $scenario, string $expected): void
    {
        [$code, $out] = self::child($scenario);
        $this->assertSame($expected, $out, "output of handle_child.php $scenario (exit $code)");
        $this->assertSame(0, $code, "handle_child.php $scenario exited with $code (a crash: 6 or 134 is an abort such as a double free, 11 or 139 a segfault)");
        $this->assertStringNotContainsStringIgnoringCase('sentinel', $out);
    }

    public function testCloneIsRefusedAndTheDiscardedCopyNeverFreesTheHandle(): void
    {
        $this->assertChild('clone', <<<'OUT'
            clone: Convtrack\ArgumentException: tracker: cannot be cloned (it owns a native handle); create another Tracker
            original after clone: ok send
            original after close: Convtrack\ArgumentException: tracker: is closed
            clone of a closed tracker: Convtrack\ArgumentException: tracker: cannot be cloned (it owns a native handle); create another Tracker
            end

            OUT);
    }

    public function testSerializeUnserializeAndVarExportCannotCopyOrForgeAHandle(): void
    {
        $this->assertChild('serialize', <<<'OUT'
            serialize: Convtrack\ArgumentException: tracker: cannot be serialized (it owns a native handle)
            original after serialize: ok send
            unserialize 0: Convtrack\ArgumentException: tracker: cannot be unserialized (it owns a native handle)
            unserialize 1: Convtrack\ArgumentException: tracker: cannot be unserialized (it owns a native handle)
            unserialize 2: Convtrack\ArgumentException: tracker: cannot be unserialized (it owns a native handle)
            unserialize 3: Convtrack\ArgumentException: tracker: cannot be unserialized (it owns a native handle)
            var_export: ok exported
            __set_state: Convtrack\ArgumentException: tracker: cannot be recreated from var_export() output; create another Tracker
            end

            OUT);
    }

    public function testClosedDestroyedReconstructedAndBareTrackersThrow(): void
    {
        [$code, $out] = self::child('lifecycle');
        $this->assertSame(0, $code, "handle_child.php lifecycle exited with $code:\n$out");
        $lines = explode("\n", $out);
        $expected = [
            'build after close: Convtrack\ArgumentException: tracker: is closed',
            'status after close: Convtrack\ArgumentException: tracker: is closed',
            'flush after close: Convtrack\ArgumentException: tracker: is closed',
            'build after __destruct: Convtrack\ArgumentException: tracker: is closed',
            '__construct again: Convtrack\ArgumentException: tracker: is already constructed; create another Tracker',
            'still built: ok send',
            'no constructor: build: Convtrack\ArgumentException: tracker: is closed',
            'no constructor: close: ok',
        ];
        $this->assertSame($expected, array_slice($lines, 0, count($expected)), $out);
        $this->assertMatchesRegularExpression('/^failed constructor: Convtrack\\\\SettingsException: pixel_id: /', $lines[8]);
        foreach ([9 => 'version of a non-library', 10 => 'tracker on a non-library', 11 => 'hash of a non-library'] as $i => $what) {
            $this->assertStringStartsWith("$what: Convtrack\\NotConfiguredException: library: cannot be loaded", $lines[$i]);
        }
        $this->assertSame(['end', ''], array_slice($lines, 12));
    }
}
