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

final class ConvtrackFFI
{
    public const OK = 0;
    public const DROPPED = 1;

    public readonly FFI $ffi;

    public function __construct(string $header, string $library)
    {
        $this->ffi = FFI::cdef(file_get_contents($header), $library);
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

    /** @return FFI\CData an owned tracker; release with freeTracker() */
    public function newTracker(array $settings): FFI\CData
    {
        $json = json_encode($settings, JSON_THROW_ON_ERROR);
        $out = $this->ffi->new('convtrack_tracker*');
        $status = $this->ffi->convtrack_tracker_new($json, strlen($json), FFI::addr($out));
        if ($status !== self::OK) {
            $this->fail($status);
        }
        return $out;
    }

    public function freeTracker(?FFI\CData $tracker): void
    {
        $this->ffi->convtrack_tracker_free($tracker);
    }

    public function build(FFI\CData $tracker, array $event, ?array $options = null): array
    {
        return $this->eventCall('convtrack_tracker_build', $tracker, $event, $options);
    }

    /** build + durable enqueue (needs outbox_path): "server" is queued, duplicate or blocked. */
    public function track(FFI\CData $tracker, array $event, ?array $options = null): array
    {
        return $this->eventCall('convtrack_tracker_track', $tracker, $event, $options);
    }

    private function eventCall(string $fn, FFI\CData $tracker, array $event, ?array $options): array
    {
        $json = json_encode($event, JSON_THROW_ON_ERROR | JSON_PRESERVE_ZERO_FRACTION);
        $opts = $options === null ? null : json_encode($options, JSON_THROW_ON_ERROR);
        $result = $this->callOut($fn, [$tracker, ...self::arg($json), ...self::arg($opts)]);
        return json_decode($result, true, 512, JSON_THROW_ON_ERROR);
    }

    /** Delivers queued events now (PHP-FPM: call it after the response, or from cron). */
    public function flush(FFI\CData $tracker, int $timeoutMs = 5000): array
    {
        return json_decode($this->callOut('convtrack_tracker_flush', [$tracker, $timeoutMs]), true, 512, JSON_THROW_ON_ERROR);
    }

    public function status(FFI\CData $tracker): array
    {
        return json_decode($this->callOut('convtrack_tracker_status', [$tracker]), true, 512, JSON_THROW_ON_ERROR);
    }
}
