<?php
// Test bootstrap: the package's own autoloader, a real sandbox receiver (python -m convtrack.sandbox) on a free
// loopback port, and minimal WordPress/WooCommerce shims for the example plugin (the environment, not the thing
// under test).
declare(strict_types=1);

require dirname(__DIR__) . '/autoload.php';
require_once __DIR__ . '/Sandbox.php';
require __DIR__ . '/wp_shims.php';

if (!extension_loaded('ffi')) {
    fwrite(STDERR, "the PHP FFI extension is required (Debian: php-cli has it)\n");
    exit(1);
}

// Test helper classes (Convtrack\Tests\*) are loaded from this directory, also in separate test processes.
spl_autoload_register(static function (string $class): void {
    if (str_starts_with($class, 'Convtrack\\Tests\\')) {
        $file = __DIR__ . '/' . substr($class, strlen('Convtrack\\Tests\\')) . '.php';
        if (is_file($file)) {
            require_once $file;
        }
    }
});
