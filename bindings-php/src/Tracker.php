<?php
declare(strict_types=1);

namespace Convtrack;

use FFI;
use FFI\CData;

/**
 * convtrack for PHP: a thin FFI layer over the C ABI (include/convtrack_php.h).
 * All logic (validation, normalization, hashing, event ids, consent, outbox, delivery) is in the core.
 *
 *   $t = new Convtrack\Tracker(['pixel_id' => '1234567890', 'access_token' => '...', 'data_controls' => true,
 *                               'outbox_path' => '/var/lib/shop/convtrack.sqlite3']);
 *   $r = $t->track($event);        // ['server' => 'queued'|'duplicate'|'blocked', 'event_id' => ..., 'pixel_html' => ...]
 *   $t->flush(5.0);                // deliver now (PHP has no background thread: call it after the response or from cron)
 */
final class Tracker
{
    /** The FFI scope name of the preload header (preloadHeader()). */
    public const FFI_SCOPE = 'convtrack';

    /** @var array<string, FFI> one FFI instance per library path */
    private static array $ffis = [];

    /** @var FFI|false|null the preloaded scope; false: not looked up yet, null: none */
    private static FFI|false|null $scope = false;

    // The native handle this object owns, and the library it came from. A Tracker is never copied (see __clone,
    // __serialize, __unserialize, __set_state): only the object whose constructor created the handle frees it.
    private ?FFI $ffi = null;
    private ?CData $handle = null;

    /**
     * @param array<string, mixed>|string $settings settings as an array or a JSON string
     * @param string|null $libPath path of libconvtrack.so; default: env CONVTRACK_LIB, then well-known locations
     */
    public function __construct(array|string $settings, ?string $libPath = null)
    {
        if ($this->handle !== null) {
            // `$t->__construct(...)` on a live tracker would drop the old handle without freeing it.
            throw new ArgumentException('tracker: is already constructed; create another Tracker', 102);
        }
        $ffi = self::ffi($libPath);
        $json = is_string($settings) ? $settings : self::encode($settings, 'settings');
        $out = $ffi->new('convtrack_tracker*');
        $status = self::call($ffi, 'convtrack_tracker_new', [$json, strlen($json), FFI::addr($out)]);
        if ($status !== Errors::OK) {
            throw self::error($ffi, $status);
        }
        $this->ffi = $ffi;
        $this->handle = $out;
    }

    /** Frees the handle; copes with an object that never got one (newInstanceWithoutConstructor, a failed constructor). */
    public function __destruct()
    {
        $this->close();
    }

    /** Releases the tracker (idempotent). Later calls throw ArgumentException. */
    public function close(): void
    {
        $handle = $this->handle;
        $this->handle = null;
        if ($handle !== null && $this->ffi !== null) {
            $this->ffi->convtrack_tracker_free($handle);
        }
    }

    /**
     * A Tracker owns its native handle and cannot be copied: create another Tracker instead.
     * PHP has already made the shallow copy ($this) when it calls __clone, and still runs that copy's destructor after
     * the throw; the copy is disarmed first so that it can never free (or use) the original's handle.
     * @throws ArgumentException always
     */
    public function __clone()
    {
        $this->handle = null;
        $this->ffi = null;
        throw new ArgumentException('tracker: cannot be cloned (it owns a native handle); create another Tracker', 102);
    }

    /** @throws ArgumentException always: a native handle cannot be serialized */
    public function __serialize(): array
    {
        throw new ArgumentException('tracker: cannot be serialized (it owns a native handle)', 102);
    }

    /**
     * unserialize() of any `O:17:"Convtrack\Tracker":...` string fails here, before the object can be used; the object
     * PHP created holds no handle, so its destructor does nothing.
     * @param array<mixed> $data
     * @throws ArgumentException always
     */
    public function __unserialize(array $data): void
    {
        $this->handle = null;
        $this->ffi = null;
        throw new ArgumentException('tracker: cannot be unserialized (it owns a native handle)', 102);
    }

    /** Not used by PHP while __serialize exists; throws as well, for code that calls it directly. @return list<string> */
    public function __sleep(): array
    {
        throw new ArgumentException('tracker: cannot be serialized (it owns a native handle)', 102);
    }

    /** Not used by PHP while __unserialize exists; throws as well, for code that calls it directly. */
    public function __wakeup(): void
    {
        $this->handle = null;
        $this->ffi = null;
        throw new ArgumentException('tracker: cannot be unserialized (it owns a native handle)', 102);
    }

    /**
     * The code var_export() writes for a Tracker cannot recreate it.
     * @param array<mixed> $properties
     * @throws ArgumentException always
     */
    public static function __set_state(array $properties): never
    {
        throw new ArgumentException('tracker: cannot be recreated from var_export() output; create another Tracker', 102);
    }

    /**
     * Builds the event without queueing it: ['event_id', 'server' => 'send'|'blocked', 'reason', 'payload', 'pixel_html', ...].
     * @param array<string, mixed>|string $event event input as an array or a JSON string
     * @param array<string, mixed> $options e.g. ['nonce' => $cspNonce, 'now' => $unixSeconds];
     *        ['server_only' => true] skips the pixel snippet (webhooks: no page to render)
     * @return array<string, mixed>
     */
    public function build(array|string $event, array $options = []): array
    {
        return $this->eventCall('convtrack_tracker_build', $event, $options);
    }

    /**
     * build + durable enqueue into the outbox (needs outbox_path): 'server' is 'queued', 'duplicate' or 'blocked'.
     * @param array<string, mixed>|string $event
     * @param array<string, mixed> $options
     * @return array<string, mixed>
     */
    public function track(array|string $event, array $options = []): array
    {
        return $this->eventCall('convtrack_tracker_track', $event, $options);
    }

    /**
     * Delivers queued events now, waiting at most $timeout seconds.
     * @return array<string, mixed> ['sent', 'failed', 'expired', 'remaining', 'paused', ...]
     */
    public function flush(float $timeout = 10.0): array
    {
        if (!is_finite($timeout) || $timeout < 0) {
            throw new ArgumentException('timeout: must be a finite number of seconds >= 0', 102);
        }
        // Clamped to a day: a float beyond PHP_INT_MAX would not convert to a meaningful uint64.
        $ms = (int) round(min($timeout, 86400.0) * 1000);
        return self::decode($this->callOut('convtrack_tracker_flush', [$this->handle(), $ms]));
    }

    /** @return array<string, mixed> the merchant's dashboard: pixel id, catalog, mode, data controls, queue, counters, last error, coverage */
    public function status(): array
    {
        return self::decode($this->callOut('convtrack_tracker_status', [$this->handle()]));
    }

    /**
     * Records a change of the merchant's controls, shared by every process on the outbox (see docs/spec.md §12).
     * Turning data controls on needs $legalAck = true (an ArgumentException naming legal_ack otherwise); turning them
     * off discards the server events still queued.
     * @return array<string, mixed> the new controls(), with the history
     */
    public function setControls(string $actor, ?bool $dataControls = null, ?string $mode = null, bool $legalAck = false): array
    {
        $request = self::encode(
            ['actor' => $actor, 'data_controls' => $dataControls, 'mode' => $mode, 'legal_ack' => $legalAck],
            'request'
        );
        return self::decode((string) $this->callOut('convtrack_tracker_set_controls', [$this->handle(), $request, strlen($request)]));
    }

    /** @return array<string, mixed> data_controls, mode, legal_ack, changed_at, changed_by, source, history (newest first) */
    public function controls(): array
    {
        return self::decode((string) $this->callOut('convtrack_tracker_controls', [$this->handle()]));
    }

    /** @return list<array<string, mixed>> the dead letters, newest first: id, event_name, event_id, reason, code, failed_at */
    public function deadLetters(int $limit = 100): array
    {
        if ($limit < 0) {
            throw new ArgumentException('limit: must be >= 0', 102);
        }
        return self::decode((string) $this->callOut('convtrack_tracker_dead_letters', [$this->handle(), $limit]));
    }

    /** Queues dead letters again (null: all), due now; returns how many. @param list<int>|null $ids */
    public function retryDeadLetters(?array $ids = null): int
    {
        return $this->idsCall('convtrack_tracker_retry_dead_letters', $ids);
    }

    /** Deletes dead letters (null: all) for good; returns how many. @param list<int>|null $ids */
    public function discardDeadLetters(?array $ids = null): int
    {
        return $this->idsCall('convtrack_tracker_discard_dead_letters', $ids);
    }

    /**
     * The shopper answered the consent banner: 'granted' releases their held events (the event ids track() returned
     * with server 'held') to the sender, 'denied' drops them. Returns how many were released or dropped.
     * @param list<string> $eventIds
     */
    public function setConsent(array $eventIds, string $marketing): int
    {
        $json = self::encode(['event_ids' => array_values($eventIds), 'marketing' => $marketing], 'request');
        return $this->countCall('convtrack_tracker_set_consent', $json);
    }

    /**
     * Counts one request a shop integration served without tracking, as degraded.<reason> in the outbox's counters
     * that every worker on the same outbox adds to (status()['counters']['degraded']). $reason is a short code of
     * a-z and _ (e.g. 'invalid_value'); anything else is an ArgumentException naming reason. No outbox: no-op.
     */
    public function countDegraded(string $reason): void
    {
        $ffi = $this->ffi ?? throw new ArgumentException('tracker: is closed', 102);
        $status = self::call($ffi, 'convtrack_tracker_count_degraded', [$this->handle(), $reason, strlen($reason)]);
        if ($status !== Errors::OK) {
            throw self::error($ffi, $status);
        }
    }

    /** Resumes delivery paused by a permission error, after the token or its permissions were fixed. */
    public function resume(): void
    {
        $ffi = $this->ffi ?? throw new ArgumentException('tracker: is closed', 102);
        $status = self::call($ffi, 'convtrack_tracker_resume', [$this->handle()]);
        if ($status !== Errors::OK) {
            throw self::error($ffi, $status);
        }
    }

    /** @param list<int>|null $ids */
    private function idsCall(string $fn, ?array $ids): int
    {
        return $this->countCall($fn, $ids === null ? null : self::encode(array_values($ids), 'ids'));
    }

    /** Calls a function `(tracker, json, len, uint64_t *count)`; returns the count. */
    private function countCall(string $fn, ?string $json): int
    {
        $ffi = $this->ffi ?? throw new ArgumentException('tracker: is closed', 102);
        $count = $ffi->new('uint64_t');
        $status = self::call($ffi, $fn, [$this->handle(), $json, $json === null ? 0 : strlen($json), FFI::addr($count)]);
        if ($status !== Errors::OK) {
            throw self::error($ffi, $status);
        }
        return (int) $count->cdata;
    }

    public static function version(?string $libPath = null): string
    {
        return (string) self::call(self::ffi($libPath), 'convtrack_version', []);
    }

    /** The deterministic event id the pixel and the server share for this order. */
    public static function eventId(string $pixelId, string $eventName, string|int $orderId, ?string $libPath = null): string
    {
        $orderId = (string) $orderId;
        return (string) self::callOutOn(self::ffi($libPath), 'convtrack_event_id', [
            $pixelId, strlen($pixelId), $eventName, strlen($eventName), $orderId, strlen($orderId),
        ]);
    }

    /** Normalized value as Meta expects it before hashing, or null if the value is empty after normalization. */
    public static function normalize(string $field, string $value, ?string $country = null, ?string $libPath = null): ?string
    {
        return self::callOutOn(self::ffi($libPath), 'convtrack_normalize', self::fieldArgs($field, $value, $country));
    }

    /** SHA-256 (hex) of the normalized value, or null if the value is empty after normalization. */
    public static function hash(string $field, string $value, ?string $country = null, ?string $libPath = null): ?string
    {
        return self::callOutOn(self::ffi($libPath), 'convtrack_hash', self::fieldArgs($field, $value, $country));
    }

    /**
     * The first-party _fbp/_fbc cookies of one request (Meta's parameter-builder rules, docs/spec.md §13).
     * $request keys (all optional): fbp, fbc (the request's cookies), url or fbclid, host, domain (the
     * cookie domain, e.g. example.com; none: host-only), now_ms, random (defaults: the clock, the OS).
     * Returns ['fbp' => ..., 'fbc' => ...|null, 'cookies' => [['name', 'value', 'max_age', 'domain',
     * 'path', 'same_site', 'http_only'], ...]]: set the cookies (only with consent), put fbp/fbc in the
     * event's browser block. A malformed cookie or click id is treated as absent, never an error.
     *
     * @param array<string, mixed> $request
     * @return array<string, mixed>
     */
    public static function firstPartyCookies(array $request, ?string $libPath = null): array
    {
        $json = $request === [] ? '{}' : self::encode($request, 'request');
        return self::decode((string) self::callOutOn(self::ffi($libPath), 'convtrack_first_party_cookies', [$json, strlen($json)]));
    }

    /** Where the library is looked for when no path is given (after env CONVTRACK_LIB). @return list<string> */
    public static function libraryCandidates(): array
    {
        $ext = PHP_OS_FAMILY === 'Darwin' ? 'dylib' : 'so';
        $root = dirname(__DIR__, 2);
        return [
            __DIR__ . "/../lib/libconvtrack.$ext",
            "$root/target/release/libconvtrack.$ext",
            "$root/target/debug/libconvtrack.$ext",
            "/usr/local/lib/libconvtrack.$ext",
            "/usr/lib/libconvtrack.$ext",
        ];
    }

    /** The FFI header: env CONVTRACK_HEADER, the package's include/, or the repository's include/. */
    public static function headerPath(): string
    {
        $env = getenv('CONVTRACK_HEADER');
        foreach ([$env ?: null, __DIR__ . '/../include/convtrack_php.h', dirname(__DIR__, 2) . '/include/convtrack_php.h'] as $p) {
            if ($p !== null && is_file($p)) {
                return $p;
            }
        }
        throw new NotConfiguredException('header: convtrack_php.h not found (set CONVTRACK_HEADER)', 401);
    }

    /**
     * The library's path: $libPath, else env CONVTRACK_LIB, else the first of libraryCandidates() that exists.
     * @throws NotConfiguredException when none is found
     */
    public static function libraryPath(?string $libPath = null): string
    {
        if ($libPath === null) {
            $env = getenv('CONVTRACK_LIB');
            if ($env !== false && $env !== '') {
                $libPath = $env;
            } else {
                foreach (self::libraryCandidates() as $candidate) {
                    if (is_file($candidate)) {
                        $libPath = $candidate;
                        break;
                    }
                }
            }
        }
        if ($libPath === null || !is_file($libPath)) {
            throw new NotConfiguredException('library: libconvtrack not found (pass $libPath or set CONVTRACK_LIB)', 401);
        }
        return realpath($libPath) ?: $libPath;
    }

    /**
     * The header for php.ini's `ffi.preload`: convtrack_php.h with `FFI_SCOPE "convtrack"` and `FFI_LIB` set to the
     * library's absolute path. Write it to a file once at deploy time (bin/preload-header.php does). With it preloaded,
     * every worker inherits the library from the php-fpm master and Tracker uses FFI::scope('convtrack') (no header
     * parsing per request); see docs/php-ffi.md.
     */
    public static function preloadHeader(?string $libPath = null): string
    {
        $lib = self::libraryPath($libPath);
        if (strpbrk($lib, "\"\\") !== false || preg_match('/[\x00-\x1f]/', $lib) === 1) {
            throw new ArgumentException('library: path cannot be written into a C string literal', 102);
        }
        $header = (string) file_get_contents(self::headerPath());
        return "#define FFI_SCOPE \"" . self::FFI_SCOPE . "\"\n#define FFI_LIB \"$lib\"\n" . $header;
    }

    /**
     * Pays the library's one-time start-up cost now (about 100 ms: the phone number metadata is parsed on first use)
     * through convtrack_warm_up(). Optional: without it the first event with a phone number in each
     * process pays it. Under php-fpm the library and this work survive from request to request in a worker
     * (docs/php-ffi.md), so calling it is useful once per process before latency matters, e.g. in an opcache.preload
     * script that runs in the php-fpm master; calling it again costs a few microseconds.
     */
    public static function warmUp(?string $libPath = null): void
    {
        self::call(self::ffi($libPath), 'convtrack_warm_up', []);
    }

    private static function ffi(?string $libPath): FFI
    {
        if ($libPath === null) {
            $preloaded = self::preloaded();
            if ($preloaded !== null) {
                return $preloaded;
            }
        }
        $key = self::libraryPath($libPath);
        if (!isset(self::$ffis[$key])) {
            $header = file_get_contents(self::headerPath());
            try {
                self::$ffis[$key] = FFI::cdef((string) $header, $key);
            } catch (\FFI\Exception $e) {
                // Not a loadable library, not libconvtrack (a symbol of the header is missing), or a broken header.
                throw new NotConfiguredException('library: cannot be loaded as libconvtrack with convtrack_php.h ('
                    . $e->getMessage() . ')', 401, null, $e);
            }
        }
        return self::$ffis[$key];
    }

    /** The library php.ini preloaded (`ffi.preload` with preloadHeader()), or null; looked up once per request. */
    private static function preloaded(): ?FFI
    {
        if (self::$scope === false) {
            try {
                self::$scope = FFI::scope(self::FFI_SCOPE);
            } catch (\FFI\Exception) {
                // Not preloaded, or FFI::scope not allowed here (ffi.enable=preload outside preloaded code).
                self::$scope = null;
            }
        }
        return self::$scope;
    }

    private function handle(): CData
    {
        if ($this->handle === null || $this->ffi === null) {
            throw new ArgumentException('tracker: is closed', 102);
        }
        return $this->handle;
    }

    /** @param array<string, mixed>|string $event @param array<string, mixed> $options @return array<string, mixed> */
    private function eventCall(string $fn, array|string $event, array $options): array
    {
        $json = is_string($event) ? $event : self::encode($event, 'event');
        $opts = $options === [] ? null : self::encode($options, 'options');
        $result = $this->callOut($fn, [
            $this->handle(), $json, strlen($json), $opts, $opts === null ? 0 : strlen($opts),
        ]);
        return self::decode((string) $result);
    }

    /** @param list<mixed> $args */
    private function callOut(string $fn, array $args): ?string
    {
        $ffi = $this->ffi;
        if ($ffi === null) {
            throw new ArgumentException('tracker: is closed', 102);
        }
        return self::callOutOn($ffi, $fn, $args);
    }

    /**
     * Calls a function whose last argument is `char **out`; copies the string into PHP and frees it.
     * @param list<mixed> $args
     * @return string|null null when the core reports DROPPED (empty after normalization)
     */
    private static function callOutOn(FFI $ffi, string $fn, array $args): ?string
    {
        $out = $ffi->new('char*');
        $status = self::call($ffi, $fn, [...$args, FFI::addr($out)]);
        if ($status === Errors::DROPPED) {
            return null;
        }
        if ($status !== Errors::OK) {
            throw self::error($ffi, $status);
        }
        try {
            return FFI::string($out);
        } finally {
            $ffi->convtrack_string_free($out);
        }
    }

    /**
     * Calls the library's $fn. FFI throws FFI\Exception when the header it was given (CONVTRACK_HEADER, or the
     * ffi.preload header of php.ini) does not declare a function this package calls, e.g. a header generated before
     * the package was upgraded; that becomes NotConfiguredException naming the function, like a library that cannot
     * be loaded, so that one catch (ConvtrackException) still covers every failure.
     * @param list<mixed> $args
     */
    private static function call(FFI $ffi, string $fn, array $args): mixed
    {
        try {
            return $ffi->$fn(...$args);
        } catch (\FFI\Exception $e) {
            throw new NotConfiguredException("library: cannot call $fn through FFI (" . $e->getMessage()
                . '); is the header (or the ffi.preload header) older than this package?', 401, null, $e);
        }
    }

    private static function error(FFI $ffi, int $status): ConvtrackException
    {
        $len = $ffi->convtrack_last_error_message(null, 0);
        $buf = $ffi->new('char[' . ($len + 1) . ']');
        $ffi->convtrack_last_error_message($buf, $len + 1);
        $message = FFI::string($buf);
        $name = (string) $ffi->convtrack_status_name($status);
        return Errors::make($status, $message === '' ? $name : $message, $name);
    }

    /** @return list<mixed> */
    private static function fieldArgs(string $field, string $value, ?string $country): array
    {
        return [$field, strlen($field), $value, strlen($value), $country, $country === null ? 0 : strlen($country)];
    }

    /**
     * JSON-encodes an input array. Two things JSON cannot carry are handled so the core still names the field:
     * a non-finite float (NaN, INF) is passed as the string "NaN"/"INF" (the core rejects it as an invalid value
     * of that field), and a string that is not valid UTF-8 raises InvalidUtf8Exception naming its path.
     * @param array<mixed> $value
     */
    private static function encode(array $value, string $what): string
    {
        try {
            $value = self::prepare($value, '');
            return json_encode($value, JSON_THROW_ON_ERROR | JSON_PRESERVE_ZERO_FRACTION | JSON_UNESCAPED_SLASHES);
        } catch (\JsonException $e) {
            // JSON_THROW_ON_ERROR leaves json_last_error_msg() at "No error": the reason is the exception's message
            // (e.g. "Maximum stack depth exceeded", "Type is not supported"; it never carries a value).
            throw new InvalidJsonException("$what: cannot be encoded as JSON (" . $e->getMessage() . ')', 200, null, $e);
        }
    }

    /** Deeper than any event input; a recursive array (built with a reference) stops here. */
    private const MAX_DEPTH = 64;

    /** @param array<mixed> $a @return array<mixed> */
    private static function prepare(array $a, string $path, int $depth = 0): array
    {
        if ($depth > self::MAX_DEPTH) {
            // What json_encode says of it; encode() names the input.
            throw new \JsonException('Maximum stack depth exceeded');
        }
        foreach ($a as $k => $v) {
            $p = is_int($k) ? "{$path}[$k]" : ($path === '' ? (string) $k : "$path.$k");
            if (is_string($k) && preg_match('//u', $k) !== 1) {
                throw new InvalidUtf8Exception(($path === '' ? 'key' : "$path: key") . ' is not valid UTF-8', 101);
            }
            if (is_float($v) && !is_finite($v)) {
                $a[$k] = is_nan($v) ? 'NaN' : ($v > 0 ? 'INF' : '-INF');
            } elseif (is_string($v) && preg_match('//u', $v) !== 1) {
                throw new InvalidUtf8Exception("$p: is not valid UTF-8", 101);
            } elseif (is_array($v)) {
                $a[$k] = self::prepare($v, $p, $depth + 1);
            }
        }
        return $a;
    }

    /** @return array<string, mixed> */
    private static function decode(string $json): array
    {
        return json_decode($json, true, 512, JSON_THROW_ON_ERROR);
    }

    /**
     * One pixel snippet (HTML) for every event of a page: the base code and page view once, one track call per event
     * (same event ids as build). Pure: no I/O. Errors name the event (events[1].order_id).
     * @param list<array<string, mixed>> $events
     * @param array<string, mixed> $options as for build (nonce, too_old, ...)
     */
    public function pageSnippet(array $events, array $options = []): string
    {
        $json = self::encode(array_values($events), 'events');
        $opts = $options === [] ? null : self::encode($options, 'options');
        return (string) $this->callOut('convtrack_tracker_page_snippet', [
            $this->handle(), $json, strlen($json), $opts, $opts === null ? 0 : strlen($opts),
        ]);
    }

    /**
     * Token and pixel health check (GET {endpoint}/{version}/{pixel_id}): ['ok' => bool, 'status' => ?int,
     * 'pixel' => ?['id', 'name'], 'error' => ?string]. A network or HTTP failure is an answer with 'ok' false;
     * throws NotConfiguredException (field access_token) without a token. Works without an outbox.
     * @return array<string, mixed>
     */
    public function checkOnline(): array
    {
        return self::decode((string) $this->callOut('convtrack_tracker_check_online', [$this->handle()]));
    }

    /**
     * Sends one synthetic PageView (no customer data) with test_event_code $code, or the setting when null, straight
     * to Meta (not queued; also with data controls off): ['ok', 'status', 'event_id', 'test_event_code', 'error'].
     * Neither a code nor the setting: NotConfiguredException (field test_event_code).
     * @return array<string, mixed>
     */
    public function sendTestEvent(?string $code = null): array
    {
        return self::decode((string) $this->callOut('convtrack_tracker_send_test_event', [
            $this->handle(), $code, $code === null ? 0 : strlen($code),
        ]));
    }
}
