<?php
declare(strict_types=1);

namespace Convtrack\Tests;

/**
 * A real php-fpm master with static workers (one by default, so that consecutive requests are served by the same
 * worker process) on a unix socket in a temporary directory, and a minimal FastCGI client.
 */
final class Fpm
{
    /** @var resource */
    private $proc;
    private string $dir;
    private string $socket;

    /**
     * @param array<string, string> $ini php.ini settings for the master (-d), @param array<string, string> $env the pool's env
     * @param int $children how many static workers
     */
    public function __construct(array $ini, array $env, int $children = 1)
    {
        $this->dir = sys_get_temp_dir() . '/convtrack-fpm-' . bin2hex(random_bytes(6));
        mkdir($this->dir, 0700);
        $this->socket = "$this->dir/fpm.sock";
        $pool = ["[global]", "error_log = $this->dir/fpm.log", "daemonize = no", "[convtrack]",
            "listen = $this->socket", "pm = static", "pm.max_children = $children", "catch_workers_output = yes"];
        foreach ($env as $k => $v) {
            $pool[] = "env[$k] = $v";
        }
        file_put_contents("$this->dir/fpm.conf", implode("\n", $pool) . "\n");
        $cmd = [self::binary(), '-F', '-y', "$this->dir/fpm.conf"];
        if (function_exists('posix_geteuid') && posix_geteuid() === 0) {
            $cmd[] = '-R'; // CI runs as root; php-fpm refuses root workers without it
        }
        foreach ($ini as $k => $v) {
            array_push($cmd, '-d', "$k=$v");
        }
        $proc = proc_open($cmd, [0 => ['file', '/dev/null', 'r'], 1 => ['file', "$this->dir/stdout.log", 'w'], 2 => ['file', "$this->dir/stderr.log", 'w']], $pipes);
        if (!is_resource($proc)) {
            throw new \RuntimeException('cannot start php-fpm');
        }
        $this->proc = $proc;
        for ($i = 0; $i < 200 && !file_exists($this->socket); $i++) {
            if (!proc_get_status($proc)['running']) {
                break;
            }
            usleep(25000);
        }
        if (!file_exists($this->socket)) {
            $log = $this->log();
            $this->stop();
            throw new \RuntimeException("php-fpm did not start: $log");
        }
    }

    /** php-fpm of the running PHP version: env PHP_FPM, else php-fpmX.Y / php-fpm in /usr/sbin or PATH. */
    public static function binary(): string
    {
        $env = getenv('PHP_FPM');
        if ($env !== false && $env !== '') {
            return $env;
        }
        $v = PHP_MAJOR_VERSION . '.' . PHP_MINOR_VERSION;
        foreach (["/usr/sbin/php-fpm$v", '/usr/sbin/php-fpm', "/usr/local/sbin/php-fpm"] as $p) {
            if (is_executable($p)) {
                return $p;
            }
        }
        throw new \RuntimeException("php-fpm not found: install php-fpm (Debian: apt-get install php-fpm; make deps does) or set PHP_FPM");
    }

    public function socket(): string
    {
        return $this->socket;
    }

    /** Runs $script with $query as QUERY_STRING and returns the response body (headers stripped). */
    public function request(string $script, string $query = ''): string
    {
        return self::requestOn($this->socket, $script, $query);
    }

    /** The same, on the php-fpm listening at $socket (for a client in another process). */
    public static function requestOn(string $socket, string $script, string $query = ''): string
    {
        $params = ['SCRIPT_FILENAME' => $script, 'SCRIPT_NAME' => '/' . basename($script), 'REQUEST_METHOD' => 'GET',
            'QUERY_STRING' => $query, 'SERVER_PROTOCOL' => 'HTTP/1.1', 'GATEWAY_INTERFACE' => 'CGI/1.1'];
        $body = '';
        foreach ($params as $k => $v) {
            $body .= self::len(strlen($k)) . self::len(strlen($v)) . $k . $v;
        }
        $conn = stream_socket_client("unix://$socket", $errno, $errstr, 10);
        if ($conn === false) {
            throw new \RuntimeException("cannot connect to php-fpm: $errstr");
        }
        stream_set_timeout($conn, 300);
        fwrite($conn, self::record(1, pack('nCx5', 1, 0)) . self::record(4, $body) . self::record(4, '') . self::record(5, ''));
        $out = '';
        while (true) {
            $head = self::read($conn, 8);
            $h = unpack('Cversion/Ctype/nid/nlen/Cpad/x', $head);
            $content = self::read($conn, $h['len'] + $h['pad']);
            if ($h['type'] === 6) {
                $out .= substr($content, 0, $h['len']);
            } elseif ($h['type'] === 3) {
                break;
            }
        }
        fclose($conn);
        $split = strpos($out, "\r\n\r\n");
        return $split === false ? $out : substr($out, $split + 4);
    }

    public function log(): string
    {
        $log = '';
        foreach (['fpm.log', 'stderr.log'] as $f) {
            $log .= is_file("$this->dir/$f") ? (string) file_get_contents("$this->dir/$f") : '';
        }
        return $log;
    }

    public function stop(): void
    {
        if (isset($this->proc) && is_resource($this->proc)) {
            proc_terminate($this->proc);
            proc_close($this->proc);
        }
        foreach (glob("$this->dir/*") ?: [] as $f) {
            @unlink($f);
        }
        @rmdir($this->dir);
    }

    public function __destruct()
    {
        $this->stop();
    }

    private static function record(int $type, string $content): string
    {
        return pack('CCnnCx', 1, $type, 1, strlen($content), 0) . $content;
    }

    private static function len(int $n): string
    {
        return $n < 128 ? chr($n) : pack('N', $n | 0x80000000);
    }

    /** @param resource $conn */
    private static function read($conn, int $n): string
    {
        $buf = '';
        while (strlen($buf) < $n) {
            $chunk = fread($conn, $n - strlen($buf));
            if ($chunk === false || $chunk === '') {
                throw new \RuntimeException('php-fpm closed the connection early');
            }
            $buf .= $chunk;
        }
        return $buf;
    }
}
