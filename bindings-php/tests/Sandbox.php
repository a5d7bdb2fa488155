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

    /**
     * A control endpoint (/_sandbox/...): the sandbox token is their secret, sent as a bearer token; a POST is JSON.
     * @return mixed
     */
    public static function control(string $path, ?string $json = null)
    {
        $headers = ['Authorization: Bearer ' . self::TOKEN];
        $http = ['method' => 'GET', 'ignore_errors' => true];
        if ($json !== null) {
            $headers[] = 'Content-Type: application/json';
            $http = ['method' => 'POST', 'content' => $json] + $http;
        }
        $body = file_get_contents(self::url() . $path, false, stream_context_create(['http' => $http + ['header' => $headers]]));
        $status = (int) explode(' ', $http_response_header[0] ?? 'HTTP/1.1 0')[1];
        if ($status !== 200) {
            throw new \RuntimeException("sandbox $path: HTTP $status");
        }
        return json_decode((string) $body, true, 512, JSON_THROW_ON_ERROR);
    }

    /** @return mixed */
    public static function get(string $path)
    {
        return self::control($path);
    }

    public static function reset(): void
    {
        self::control('/_sandbox/reset', '{}');
    }
}
