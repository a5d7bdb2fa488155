<?php
// opcache.preload script: compiles the package's classes into shared memory at php-fpm start, which
// `ffi.enable=preload` needs (only preloaded code may call FFI::scope/FFI::addr/FFI::string then).
//   opcache.preload=/path/to/bindings-php/preload.php
//   opcache.preload_user=www-data     ; required when the php-fpm master runs as root
// To pay the library's start-up cost before the first request too, call Convtrack\Tracker::warmUp() from your own
// preload script after requiring this one; it only helps when preloading runs in the php-fpm master itself (see
// docs/php-ffi.md). The library itself comes from ffi.preload (bin/preload-header.php), not from here.
declare(strict_types=1);

require_once __DIR__ . '/autoload.php';
foreach (glob(__DIR__ . '/src/*.php') ?: [] as $file) {
    class_exists('Convtrack\\' . basename($file, '.php')); // autoloads and links it (parents first)
}
