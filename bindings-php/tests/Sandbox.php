<?php
declare(strict_types=1);

namespace Convtrack\Tests;

/** Starts the real sandbox receiver once per test run and stops it at exit. */
final class Sandbox
{
    public const TOKEN = 'sandbox-token-php';
    private static ?string $url = null;
    /** @var resource|null */
    private static $proc = null;

    public static function url(): string
    {
        if (self::$url !== null) {
            return self::$url;
        }
        $root = dirname(__DIR__, 2);
        $py = getenv('PYTHON') ?: (is_file("$root/.venv/bin/python") ? "$root/.venv/bin/python" : 'python3');
        $cmd = [$py, '-m', 'convtrack.sandbox', '--port', '0', '--token', self::TOKEN];
        $proc = proc_open($cmd, [0 => ['pipe', 'r'], 1 => ['pipe', 'w'], 2 => ['file', '/dev/null', 'w']], $pipes);
        if (!is_resource($proc)) {
            throw new \RuntimeException('cannot start the sandbox');
        }
        fclose($pipes[0]);
        $line = fgets($pipes[1]); // the sandbox prints its URL first, once it listens
        if ($line === false || !str_starts_with($line, 'http://')) {
            proc_terminate($proc);
            throw new \RuntimeException("the sandbox did not start ($py -m convtrack.sandbox)");
        }
        self::$proc = $proc;
        self::$url = rtrim($line);
        register_shutdown_function(static function (): void {
            if (self::$proc !== null) {
                proc_terminate(self::$proc);
                proc_close(self::$proc);
                self::$proc = null;
            }
        });
        return self::$url;
    }

    /** @return mixed */
    public static function get(string $path)
    {
        $body = file_get_contents(self::url() . $path);
        return json_decode((string) $body, true, 512, JSON_THROW_ON_ERROR);
    }

    public static function reset(): void
    {
        $ctx = stream_context_create(['http' => ['method' => 'POST', 'header' => 'Content-Type: application/json', 'content' => '{}']]);
        file_get_contents(self::url() . '/_sandbox/reset', false, $ctx);
    }
}
