<?php
// A minimal PHP wrapper over the convtrack C ABI through FFI. Copy it into a
// plugin, or use it as the reference for your own. Strings go in as
// (pointer, length); every string the library returns is copied into PHP and
// released with convtrack_string_free.

final class ConvtrackException extends RuntimeException
{
    public function __construct(public readonly int $status, public readonly string $statusName, string $message)
    {
        parent::__construct($message, $status);
    }
}

/**
 * An owned tracker handle. It is freed once, by close() or the destructor; a closed tracker throws
 * instead of reaching freed memory, and it can be neither cloned nor serialized (a copy would free
 * the same handle twice).
 */
final class ConvtrackTracker
{
    private ?FFI\CData $handle;

    public function __construct(private ?FFI $ffi, FFI\CData $handle)
    {
        $this->handle = $handle;
    }

    public function __destruct()
    {
        $this->close();
    }

    /** Frees the handle (idempotent). */
    public function close(): void
    {
        $handle = $this->handle;
        $this->handle = null;
        if ($handle !== null && $this->ffi !== null) {
            $this->ffi->convtrack_tracker_free($handle);
        }
    }

    /** The live handle, for the calls of ConvtrackFFI. */
    public function handle(): FFI\CData
    {
        if ($this->handle === null) {
            throw ConvtrackFFI::invalidArgument('tracker: is closed');
        }
        return $this->handle;
    }

    public function __clone()
    {
        // PHP made the shallow copy ($this) before calling __clone and still destroys it after the
        // throw: disarm it first so its destructor cannot free the original's handle.
        $this->handle = null;
        $this->ffi = null;
        throw ConvtrackFFI::invalidArgument('tracker: cannot be cloned');
    }

    public function __serialize(): array
    {
        throw ConvtrackFFI::invalidArgument('tracker: cannot be serialized');
    }

    public function __unserialize(array $data): void
    {
        $this->handle = null;
        $this->ffi = null;
        throw ConvtrackFFI::invalidArgument('tracker: cannot be unserialized');
    }

    public static function __set_state(array $properties): never
    {
        throw ConvtrackFFI::invalidArgument('tracker: cannot be recreated');
    }
}

final class ConvtrackFFI
{
    public const OK = 0;
    public const DROPPED = 1;
    public const INVALID_ARGUMENT = 102;

    /** The statuses this wrapper names itself (ffi_test.php checks them against convtrack_status_name()). */
    public const STATUS_NAMES = [
        self::OK => 'CONVTRACK_STATUS_OK',
        self::DROPPED => 'CONVTRACK_STATUS_DROPPED',
        self::INVALID_ARGUMENT => 'CONVTRACK_STATUS_INVALID_ARGUMENT',
    ];

    public readonly FFI $ffi;

    public function __construct(string $header, string $library)
    {
        $this->ffi = FFI::cdef(file_get_contents($header), $library);
    }

    /** The error for a misused handle (closed, cloned, serialized), raised without calling the library. */
    public static function invalidArgument(string $message): ConvtrackException
    {
        return new ConvtrackException(self::INVALID_ARGUMENT, self::STATUS_NAMES[self::INVALID_ARGUMENT], $message);
    }

    public function version(): string
    {
        return $this->ffi->convtrack_version(); // const char * comes back as a PHP string
    }

    private function fail(int $status): never
    {
        $len = $this->ffi->convtrack_last_error_message(null, 0);
        $buf = $this->ffi->new('char[' . ($len + 1) . ']');
        $this->ffi->convtrack_last_error_message($buf, $len + 1);
        $name = $this->ffi->convtrack_status_name($status);
        throw new ConvtrackException($status, $name, FFI::string($buf));
    }

    /** Calls a function whose last argument is `char **out`; returns the string, or null if DROPPED. */
    private function callOut(string $fn, array $args): ?string
    {
        $out = $this->ffi->new('char*');
        $status = $this->ffi->$fn(...[...$args, FFI::addr($out)]);
        if ($status === self::DROPPED) {
            return null;
        }
        if ($status !== self::OK) {
            $this->fail($status);
        }
        try {
            return FFI::string($out);
        } finally {
            $this->ffi->convtrack_string_free($out);
        }
    }

    private static function arg(?string $s): array
    {
        return $s === null ? [null, 0] : [$s, strlen($s)];
    }

    public function normalize(string $field, string $value, ?string $country = null): ?string
    {
        return $this->callOut('convtrack_normalize', [...self::arg($field), ...self::arg($value), ...self::arg($country)]);
    }

    public function hash(string $field, string $value, ?string $country = null): ?string
    {
        return $this->callOut('convtrack_hash', [...self::arg($field), ...self::arg($value), ...self::arg($country)]);
    }

    public function eventId(string $pixelId, string $eventName, string $orderId): string
    {
        return $this->callOut('convtrack_event_id', [...self::arg($pixelId), ...self::arg($eventName), ...self::arg($orderId)]);
    }

    /** An owned tracker, freed by freeTracker(), close() or when the last reference goes. */
    public function newTracker(array $settings): ConvtrackTracker
    {
        $json = json_encode($settings, JSON_THROW_ON_ERROR);
        $out = $this->ffi->new('convtrack_tracker*');
        $status = $this->ffi->convtrack_tracker_new($json, strlen($json), FFI::addr($out));
        if ($status !== self::OK) {
            $this->fail($status);
        }
        return new ConvtrackTracker($this->ffi, $out);
    }

    /** Frees the tracker now; null and an already freed tracker are no-ops. */
    public function freeTracker(?ConvtrackTracker $tracker): void
    {
        $tracker?->close();
    }

    public function build(ConvtrackTracker $tracker, array $event, ?array $options = null): array
    {
        return $this->eventCall('convtrack_tracker_build', $tracker, $event, $options);
    }

    /** build + durable enqueue (needs outbox_path): "server" is queued, duplicate or blocked. */
    public function track(ConvtrackTracker $tracker, array $event, ?array $options = null): array
    {
        return $this->eventCall('convtrack_tracker_track', $tracker, $event, $options);
    }

    private function eventCall(string $fn, ConvtrackTracker $tracker, array $event, ?array $options): array
    {
        $json = json_encode($event, JSON_THROW_ON_ERROR | JSON_PRESERVE_ZERO_FRACTION);
        $opts = $options === null ? null : json_encode($options, JSON_THROW_ON_ERROR);
        $result = $this->callOut($fn, [$tracker->handle(), ...self::arg($json), ...self::arg($opts)]);
        return json_decode($result, true, 512, JSON_THROW_ON_ERROR);
    }

    /** Delivers queued events now (PHP-FPM: call it after the response, or from cron). */
    public function flush(ConvtrackTracker $tracker, int $timeoutMs = 5000): array
    {
        return json_decode($this->callOut('convtrack_tracker_flush', [$tracker->handle(), $timeoutMs]), true, 512, JSON_THROW_ON_ERROR);
    }

    public function status(ConvtrackTracker $tracker): array
    {
        return json_decode($this->callOut('convtrack_tracker_status', [$tracker->handle()]), true, 512, JSON_THROW_ON_ERROR);
    }
}
