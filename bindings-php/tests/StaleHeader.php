<?php
declare(strict_types=1);

namespace Convtrack\Tests;

use Convtrack\Tracker;

/**
 * A header older than the package: a copy of the real library (its own path, so FFI loads it afresh instead of the
 * instance the other tests share) with the package's convtrack_php.h minus some function declarations, given through
 * CONVTRACK_HEADER, as a stale ffi.preload header would be. FFI::cdef accepts it; calling a missing function is
 * PHP's FFI\Exception ("Attempt to call undefined C function").
 */
final class StaleHeader
{
    /**
     * Runs $fn with the path of such a library while CONVTRACK_HEADER names the stale header; returns what $fn returns
     * (create the Tracker or Shop inside $fn: the header is read when the library is first loaded).
     * @param list<string> $missing the functions the header does not declare
     */
    public static function run(array $missing, callable $fn): mixed
    {
        $dir = sys_get_temp_dir() . '/convtrack-stale-' . getmypid() . '-' . bin2hex(random_bytes(4));
        mkdir($dir);
        $lib = "$dir/libconvtrack.so";
        copy(Tracker::libraryPath(), $lib);
        $header = (string) file_get_contents(Tracker::headerPath());
        foreach ($missing as $f) {
            $header = (string) preg_replace('/enum convtrack_status ' . preg_quote($f, '/') . '\([^;]*\);/', '', $header, -1, $n);
            if ($n !== 1) {
                throw new \LogicException("convtrack_php.h declares no $f");
            }
        }
        file_put_contents("$dir/convtrack_php.h", $header);
        $before = getenv('CONVTRACK_HEADER');
        putenv("CONVTRACK_HEADER=$dir/convtrack_php.h");
        try {
            return $fn($lib);
        } finally {
            putenv($before === false ? 'CONVTRACK_HEADER' : "CONVTRACK_HEADER=$before");
            unlink("$dir/convtrack_php.h");
            unlink($lib); // the mapping stays while the FFI object lives
            rmdir($dir);
        }
    }
}
