<?php
declare(strict_types=1);

namespace Convtrack;

/**
 * The shop-facing helpers: what a theme or a plugin calls while it renders a page. Tracking must never break the
 * shop's own pages, so every error here becomes "no tracking for this request": one log line, one count in
 * degradedCount(), and the page still gets the pixel wherever it can be built. That is any \Throwable: convtrack's
 * exceptions (invalid settings, an event that cannot be built, a storage error; logged with the status name and the
 * field only, never a value or the token), and anything else (an FFI\Exception from a library or preload header that
 * does not match, an exception from the shop's own objects inside the event, input that is not an array; logged with
 * its class only, since its message may carry a value). The Tracker class itself keeps throwing typed exceptions; use
 * it (and `convtrack check`) to find out what is wrong.
 *
 *   $shop = new Convtrack\Shop($settings);              // never throws
 *   echo $shop->trackOrder($event);                     // thank-you page: track + pixel HTML ('' when impossible)
 *   echo $shop->pageSnippet([$viewContentEvent]);       // any page
 *
 * Orders older than Meta's 7 days get their pixel; their server copy is skipped (`too_old` => 'skip_server').
 */
final class Shop
{
    /** @var int requests that got no (or only partial) tracking, in this process */
    private static int $degraded = 0;

    private ?Tracker $tracker = null;
    /** Whether $tracker has an outbox (track); false: build only (pixel, no server copy). */
    private bool $canTrack = false;
    /** @var callable|object|null */
    private $logger;

    /**
     * @param array<string, mixed>|string $settings as for Tracker (anything else: no tracking, logged)
     * @param callable|object|null $logger a PSR-3 logger (its error() is called), a callable taking the line, or
     *        null for error_log()
     */
    public function __construct(mixed $settings, ?string $libPath = null, callable|object|null $logger = null)
    {
        $this->logger = $logger;
        try {
            if (!is_array($settings) && !is_string($settings)) {
                throw new WrongTypeException('settings: must be an array or a JSON string', 202);
            }
            $this->tracker = new Tracker($settings, $libPath);
            $this->canTrack = self::hasOutbox($settings);
        } catch (StorageException $e) {
            // The outbox cannot be opened: pages still get their pixel from a build-only tracker.
            $this->degrade('open', $e);
            $this->tracker = $this->buildOnly($settings, $libPath);
        } catch (\Throwable $e) {
            $this->tracker = null;
            $this->degrade('open', $e);
        }
    }

    /**
     * track() the order (durable enqueue of the server copy) and return its pixel HTML; '' when no pixel can be built.
     * @param array<string, mixed> $order the event, as for Tracker::build (anything else: no tracking, logged)
     * @param array<string, mixed> $options as for Tracker::build; too_old defaults to 'skip_server'
     */
    public function trackOrder(mixed $order, mixed $options = []): string
    {
        if ($this->tracker === null) {
            return '';
        }
        try {
            if (!is_array($order)) {
                throw new WrongTypeException('order: must be an array (the event)', 202);
            }
            $options = self::options($options);
            $result = $this->canTrack ? $this->tracker->track($order, $options) : $this->tracker->build($order, $options);
            return (string) ($result['pixel_html'] ?? '');
        } catch (StorageException $e) {
            // Queueing failed: the event itself is fine, so the page still gets its pixel.
            $this->degrade('trackOrder', $e);
            return $this->pixelOnly($order, $options);
        } catch (\Throwable $e) {
            $this->degrade('trackOrder', $e);
            return '';
        }
    }

    /**
     * The pixel HTML for a page's events (no server copy); '' when it cannot be built.
     * @param list<array<string, mixed>> $events (anything else: no tracking, logged)
     * @param array<string, mixed> $options as for Tracker::pageSnippet; too_old defaults to 'skip_server'
     */
    public function pageSnippet(mixed $events = [], mixed $options = []): string
    {
        if ($this->tracker === null) {
            return '';
        }
        try {
            if (!is_array($events)) {
                throw new WrongTypeException('events: must be a list of events', 202);
            }
            return $this->tracker->pageSnippet($events, self::options($options));
        } catch (\Throwable $e) {
            $this->degrade('pageSnippet', $e);
            return '';
        }
    }

    /** How many requests in this process got no (or only partial) tracking since it started (or resetCounters()). */
    public static function degradedCount(): int
    {
        return self::$degraded;
    }

    public static function resetCounters(): void
    {
        self::$degraded = 0;
    }

    /** The helpers' options: an array, too_old defaulting to 'skip_server'. @return array<string, mixed> */
    private static function options(mixed $options): array
    {
        if (!is_array($options)) {
            throw new WrongTypeException('options: must be an array', 202);
        }
        return $options + ['too_old' => 'skip_server'];
    }

    /** @param array<string, mixed> $order @param array<string, mixed> $options */
    private function pixelOnly(array $order, array $options): string
    {
        try {
            return (string) ($this->tracker?->build($order, $options)['pixel_html'] ?? '');
        } catch (\Throwable) {
            return ''; // already counted and logged once for this request
        }
    }

    /** @param array<string, mixed>|string $settings */
    private function buildOnly(array|string $settings, ?string $libPath): ?Tracker
    {
        try {
            $array = is_string($settings) ? json_decode($settings, true, 512, JSON_THROW_ON_ERROR) : $settings;
            unset($array['outbox_path']);
            return new Tracker($array, $libPath);
        } catch (\Throwable) {
            return null;
        }
    }

    /** @param array<string, mixed>|string $settings */
    private static function hasOutbox(array|string $settings): bool
    {
        if (is_string($settings)) {
            $settings = json_decode($settings, true) ?: [];
        }
        return is_array($settings) && is_string($settings['outbox_path'] ?? null) && $settings['outbox_path'] !== '';
    }

    /**
     * Counts and logs one request without (full) tracking. A convtrack exception is named by its status and field; any
     * other \Throwable by its class only: its message is not convtrack's and may carry a value.
     */
    /**
     * Also counts the request in the outbox, where every php-fpm worker's count adds up (status()['counters']
     * ['degraded']): by the status name (invalid_value), or shop_error for an exception of the shop's own. Not for a
     * storage error (the outbox is what failed) nor without an outbox; never throws.
     */
    private function countShared(\Throwable $e): void
    {
        if (!$this->canTrack || $this->tracker === null || $e instanceof StorageException) {
            return;
        }
        $reason = $e instanceof ConvtrackException
            ? strtolower((string) preg_replace('/^CONVTRACK_STATUS_/', '', $e->getStatusName()))
            : 'shop_error';
        try {
            $this->tracker->countDegraded($reason);
        } catch (\Throwable) {
            // The per-process count and the log line still tell.
        }
    }

    private function degrade(string $where, \Throwable $e): void
    {
        self::$degraded++;
        if ($e instanceof ConvtrackException) {
            $status = $e->getStatusName();
            $field = $e->getField();
            $what = $status . ($field !== null ? " field=$field" : '');
        } else {
            $status = null;
            $field = null;
            $what = get_class($e);
        }
        $this->countShared($e);
        $line = "convtrack: no tracking for this request ($where): $what";
        $context = ['status' => $status, 'field' => $field, 'where' => $where, 'exception' => get_class($e)];
        try {
            if (is_object($this->logger) && method_exists($this->logger, 'error')) {
                $this->logger->error($line, $context);
            } elseif (is_callable($this->logger)) {
                ($this->logger)($line, $context);
            } else {
                error_log($line);
            }
        } catch (\Throwable) {
            // A broken logger must not break the page either.
        }
    }
}
