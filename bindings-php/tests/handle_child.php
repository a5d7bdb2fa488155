<?php
// Run by HandleTest in a child `php` process, so that a crash (a double free aborts with exit 134, a use after free
// may segfault with 139) fails that test instead of killing PHPUnit. Each scenario prints one line per step; the test
// compares the whole output and the exit code. Usage: php -d ffi.enable=1 handle_child.php SCENARIO
declare(strict_types=1);

require dirname(__DIR__) . '/autoload.php';

use Convtrack\Tracker;

const PIXEL = '1234567890';

/** @return array<string, mixed> */
function event(): array
{
    return ['event_name' => 'Purchase', 'event_time' => time() - 60, 'order_id' => 'wc-1', 'currency' => 'EUR', 'value' => '1.00',
        'event_source_url' => 'https://shop.example/thanks', 'browser' => ['ip' => '203.0.113.7', 'user_agent' => 'UA'],
        'consent' => ['marketing' => 'granted']];
}

function tracker(): Tracker
{
    return new Tracker(['pixel_id' => PIXEL, 'access_token' => 'EAAB-SENTINEL-TOKEN', 'data_controls' => true]);
}

/** Runs $fn and prints what it returned or threw: "<step>: <class>: <message>". */
function step(string $what, callable $fn): void
{
    try {
        $r = $fn();
        echo "$what: ok", is_string($r) ? " $r" : '', "\n";
    } catch (\Throwable $e) {
        echo "$what: ", get_class($e), ': ', $e->getMessage(), "\n";
    }
}

$scenario = $argv[1] ?? '';
switch ($scenario) {
    case 'clone':
        $t = tracker();
        step('clone', function () use ($t, &$c) { $c = clone $t; });
        // PHP made the shallow copy before __clone threw, and has destroyed it by now: the original must be intact.
        step('original after clone', fn () => $t->build(event())['server']);
        $t->close();
        step('original after close', fn () => $t->build(event())['server']);
        if (isset($c)) {
            step('clone after close', fn () => $c->build(event())['server']);
            unset($c); // its destructor frees the shared handle a second time
        }
        step('clone of a closed tracker', fn () => clone $t);
        break;

    case 'serialize':
        $t = tracker();
        step('serialize', fn () => serialize($t));
        step('original after serialize', fn () => $t->build(event())['server']);
        $nul = "\0";
        foreach ([
            'O:17:"Convtrack\\Tracker":0:{}',
            'O:17:"Convtrack\\Tracker":1:{s:25:"' . $nul . 'Convtrack\\Tracker' . $nul . 'handle";N;}',
            'O:17:"Convtrack\\Tracker":2:{s:25:"' . $nul . 'Convtrack\\Tracker' . $nul . 'handle";i:4096;s:22:"' . $nul . 'Convtrack\\Tracker' . $nul . 'ffi";i:1;}',
            'a:1:{i:0;O:17:"Convtrack\\Tracker":0:{}}',
        ] as $i => $crafted) {
            step("unserialize $i", function () use ($crafted) {
                $o = @unserialize($crafted);
                if (is_array($o)) {
                    $o = $o[0];
                }
                if (!$o instanceof Tracker) {
                    return 'no object';
                }
                // An object came back: every method must refuse it, and its destructor (at return) must not crash.
                try {
                    $o->build(event());
                    return 'object that builds';
                } catch (\Throwable $e) {
                    return 'object; build: ' . get_class($e);
                }
            });
        }
        step('var_export', fn () => var_export($t, true) !== '' ? 'exported' : 'empty');
        step('__set_state', fn () => Tracker::__set_state(['handle' => null]));
        break;

    case 'lifecycle':
        $t = tracker();
        $t->close();
        $t->close();
        step('build after close', fn () => $t->build(event()));
        step('status after close', fn () => $t->status());
        step('flush after close', fn () => $t->flush(0.0));
        $t = tracker();
        $t->__destruct();
        step('build after __destruct', fn () => $t->build(event()));
        $t = tracker();
        step('__construct again', fn () => $t->__construct(['pixel_id' => PIXEL]));
        step('still built', fn () => $t->build(event())['server']);
        unset($t);
        $bare = (new \ReflectionClass(Tracker::class))->newInstanceWithoutConstructor();
        step('no constructor: build', fn () => $bare->build(event()));
        step('no constructor: close', fn () => $bare->close());
        unset($bare);
        step('failed constructor', fn () => new Tracker(['pixel_id' => 'not-digits']));
        step('version of a non-library', fn () => Tracker::version(__FILE__));
        step('tracker on a non-library', fn () => new Tracker(['pixel_id' => PIXEL], __FILE__));
        step('hash of a non-library', fn () => Tracker::hash('email', 'a@b.c', null, __FILE__));
        break;

    default:
        fwrite(STDERR, "unknown scenario\n");
        exit(2);
}
echo "end\n";
