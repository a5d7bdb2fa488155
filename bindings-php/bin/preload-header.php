<?php
// Prints the header for php.ini's ffi.preload: the library's declarations with FFI_SCOPE "convtrack" and
// FFI_LIB set to the library's absolute path. Run it once at deploy time, as the library moves:
//   php bindings-php/bin/preload-header.php /usr/local/lib/libconvtrack.so > /etc/php/8.2/convtrack-ffi.h
// Without an argument the library is looked up as Tracker does (env CONVTRACK_LIB, then the usual places).
declare(strict_types=1);

require dirname(__DIR__) . '/autoload.php';

try {
    echo Convtrack\Tracker::preloadHeader($argv[1] ?? null);
} catch (Convtrack\ConvtrackException $e) {
    fwrite(STDERR, 'preload-header: ' . $e->getMessage() . "\n");
    exit(1);
}
