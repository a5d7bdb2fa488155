<?php
// For plugins without Composer: require this file, then use Convtrack\Tracker.
declare(strict_types=1);

spl_autoload_register(static function (string $class): void {
    if (str_starts_with($class, 'Convtrack\\')) {
        $file = __DIR__ . '/src/' . str_replace('\\', '/', substr($class, strlen('Convtrack\\'))) . '.php';
        if (is_file($file)) {
            require $file;
        }
    }
});
