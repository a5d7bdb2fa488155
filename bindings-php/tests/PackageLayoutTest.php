<?php
declare(strict_types=1);

namespace Convtrack\Tests;

use PHPUnit\Framework\TestCase;

/** Composer's PSR-4 mapping (Convtrack\ -> src/) holds: one class per file, named after the file. */
final class PackageLayoutTest extends TestCase
{
    public function testEverySourceFileDeclaresTheClassNamedAfterIt(): void
    {
        $files = glob(dirname(__DIR__) . '/src/*.php') ?: [];
        $this->assertGreaterThan(10, count($files));
        foreach ($files as $file) {
            $name = basename($file, '.php');
            $code = (string) file_get_contents($file);
            $this->assertStringContainsString("namespace Convtrack;", $code, $file);
            $this->assertSame(1, preg_match_all('/^(?:final |abstract )?class (\w+)/m', $code, $m), $file);
            $this->assertSame($name, $m[1][0], $file);
            $this->assertTrue(class_exists("Convtrack\\$name"), "autoload.php loads Convtrack\\$name");
        }
        $composer = json_decode((string) file_get_contents(dirname(__DIR__) . '/composer.json'), true, 512, JSON_THROW_ON_ERROR);
        $this->assertSame(['Convtrack\\' => 'src/'], $composer['autoload']['psr-4']);
        $this->assertSame('convtrack/convtrack', $composer['name']);
        $this->assertArrayHasKey('ext-ffi', $composer['require']);
    }
}
