<?php

declare(strict_types=1);

namespace Convtrack\Tests;

use Convtrack\InvalidValueException;
use Convtrack\Tracker;
use Convtrack\UnknownFieldException;
use PHPUnit\Framework\TestCase;

/** Issue 17 part 3 from PHP: Tracker::firstPartyCookies, what a plugin passes to setcookie(). */
final class FirstPartyCookiesTest extends TestCase
{
    private const CLICK = 'IwAR2F4-dbP0l7Mn1IawQQGCINEz7PYXQvwjNwB_qa2ofrHyiLjcbCRxTDMgk';

    public function testFirstVisitWithAClickSetsBoth(): void
    {
        $r = Tracker::firstPartyCookies([
            'url' => 'https://www.example.com/p?fbclid=' . self::CLICK, 'host' => 'www.example.com',
            'domain' => 'example.com', 'now_ms' => 1764800000123, 'random' => 42,
        ]);
        $this->assertSame('fb.1.1764800000123.' . self::CLICK, $r['fbc']);
        $this->assertSame('fb.1.1764800000123.42', $r['fbp']);
        $this->assertSame(['_fbc', '_fbp'], array_column($r['cookies'], 'name'));
        foreach ($r['cookies'] as $c) {
            $this->assertSame([7776000, 'example.com', '/', 'Lax', false], [$c['max_age'], $c['domain'], $c['path'], $c['same_site'], $c['http_only']]);
        }
    }

    public function testValidCookiesAreKeptAndHostileOnesReplaced(): void
    {
        $fbp = 'fb.1.1700000000000.123';
        $r = Tracker::firstPartyCookies(['fbp' => $fbp, 'fbc' => 'fb.1.1700000000000.' . self::CLICK, 'fbclid' => self::CLICK]);
        $this->assertSame([], $r['cookies']);
        $this->assertSame($fbp, $r['fbp']);
        $hostile = '</script><script>alert(1)</script>';
        $r = Tracker::firstPartyCookies(['fbp' => $hostile, 'fbc' => $hostile]);
        $this->assertNull($r['fbc']);
        $this->assertSame(['_fbp'], array_column($r['cookies'], 'name'));
        $this->assertStringNotContainsString('script', json_encode($r, JSON_THROW_ON_ERROR));
        $this->assertNotSame(Tracker::firstPartyCookies([])['fbp'], Tracker::firstPartyCookies([])['fbp'], 'OS randomness');
    }

    public function testBadInputsAreTypedErrorsNamingTheField(): void
    {
        try {
            Tracker::firstPartyCookies(['host' => '<b>evil</b>']);
            $this->fail('no exception');
        } catch (InvalidValueException $e) {
            $this->assertStringContainsString('host', $e->getMessage());
            $this->assertStringNotContainsString('evil', $e->getMessage());
        }
        $this->expectException(UnknownFieldException::class);
        Tracker::firstPartyCookies(['colour' => 'red']);
    }
}
