<?php
/**
 * Plugin Name: convtrack for WooCommerce (example)
 * Description: Sends paid orders to Meta's Conversions API (hashed customer data, deduplicated with the pixel)
 *              and prints the pixel snippet with the same event id on the thank-you page.
 *
 * Settings come from the CONVTRACK_SETTINGS constant (wp-config.php) or the `convtrack_settings` option, e.g.
 *   define('CONVTRACK_SETTINGS', json_encode(['pixel_id' => '1234567890', 'access_token' => '...',
 *          'data_controls' => true, 'outbox_path' => WP_CONTENT_DIR . '/convtrack/outbox.sqlite3']));
 * Nothing here may break a checkout: every error is logged (convtrack's messages name the field, never the value;
 * any other exception is logged by its class only, since its message may carry a value). Convtrack\Shop does the
 * same for a theme's pages.
 */
declare(strict_types=1);

require_once __DIR__ . '/../autoload.php';

use Convtrack\ConvtrackException;
use Convtrack\Tracker;

function convtrack_log(string $what, \Throwable $e): void
{
    error_log("convtrack: $what: " . get_class($e) . ($e instanceof ConvtrackException ? ': ' . $e->getMessage() : ''));
}

function convtrack_tracker(): ?Tracker
{
    static $tracker = null;
    static $failed = false;
    if ($tracker === null && !$failed) {
        try {
            $settings = defined('CONVTRACK_SETTINGS') ? constant('CONVTRACK_SETTINGS') : get_option('convtrack_settings');
            $tracker = new Tracker($settings); // a missing option (false) is a TypeError, caught below
        } catch (\Throwable $e) {
            $failed = true;
            convtrack_log('settings', $e);
        }
    }
    return $tracker;
}

/** The shopper's marketing consent: the WP Consent API when present, else unknown (the core then blocks). */
function convtrack_consent(): string
{
    if (function_exists('wp_has_consent')) {
        return wp_has_consent('marketing') ? 'granted' : 'denied';
    }
    return 'unknown';
}

/** Maps a WooCommerce order to convtrack's event input. Raw values: the core normalizes and hashes them. */
function convtrack_event_from_order($order): array
{
    $items = [];
    foreach ($order->get_items() as $item) {
        $qty = (int) $item->get_quantity();
        $items[] = [
            'id' => (string) ($item->get_variation_id() ?: $item->get_product_id()),
            'quantity' => $qty,
            'price' => $qty > 0 ? (float) $item->get_total() / $qty : (float) $item->get_total(),
            'title' => (string) $item->get_name(),
        ];
    }
    $paid = $order->get_date_paid();
    $customer = array_filter([
        'email' => $order->get_billing_email(),
        'phone' => $order->get_billing_phone(),
        'first_name' => $order->get_billing_first_name(),
        'last_name' => $order->get_billing_last_name(),
        'city' => $order->get_billing_city(),
        'state' => $order->get_billing_state(),
        'zip' => $order->get_billing_postcode(),
        'country' => $order->get_billing_country(),
        'external_id' => $order->get_customer_id() ? (string) $order->get_customer_id() : null,
    ], static fn ($v) => $v !== null && $v !== '');
    $browser = array_filter([
        'ip' => $order->get_customer_ip_address(),
        'user_agent' => $order->get_customer_user_agent(),
        // Saved from the _fbp/_fbc cookies at checkout (see the woocommerce_checkout_order_processed hook below).
        'fbp' => $order->get_meta('_convtrack_fbp'),
        'fbc' => $order->get_meta('_convtrack_fbc'),
    ], static fn ($v) => $v !== null && $v !== '');
    $consent = $order->get_meta('_convtrack_consent') ?: 'unknown';
    return [
        'event_name' => 'Purchase',
        'event_time' => $paid ? $paid->getTimestamp() : time(),
        'order_id' => (string) $order->get_id(),
        'event_source_url' => $order->get_checkout_order_received_url(),
        'currency' => $order->get_currency(),
        'value' => (float) $order->get_total(),
        'items' => $items,
        'customer' => $customer,
        'browser' => $browser,
        'consent' => ['marketing' => $consent],
    ];
}

/** Tracks the order (idempotent: the same order tracked twice is a "duplicate") and returns the result, or null. */
function convtrack_track_order(int $order_id): ?array
{
    $tracker = convtrack_tracker();
    $order = wc_get_order($order_id);
    if ($tracker === null || !$order) {
        return null;
    }
    try {
        // An order paid more than 7 days ago still gets its pixel; its server copy is skipped (Meta would refuse it).
        return $tracker->track(convtrack_event_from_order($order), ['too_old' => 'skip_server']);
    } catch (\Throwable $e) {
        convtrack_log("order $order_id", $e);
        return null;
    }
}

// At checkout the browser is present: keep its pixel cookies and consent with the order for the payment webhook.
add_action('woocommerce_checkout_order_processed', static function (int $order_id): void {
    $order = wc_get_order($order_id);
    if (!$order) {
        return;
    }
    foreach (['_fbp', '_fbc'] as $cookie) {
        if (isset($_COOKIE[$cookie]) && is_string($_COOKIE[$cookie])) {
            $order->update_meta_data("_convtrack$cookie", $_COOKIE[$cookie]);
        }
    }
    $order->update_meta_data('_convtrack_consent', convtrack_consent());
    $order->save();
});

// The payment is complete (often a gateway webhook, no browser): queue the purchase durably, deliver after the response.
add_action('woocommerce_payment_complete', static function (int $order_id): void {
    $result = convtrack_track_order($order_id);
    if ($result !== null && $result['server'] === 'queued') {
        add_action('shutdown', static function (): void {
            if (function_exists('fastcgi_finish_request')) {
                fastcgi_finish_request(); // the shopper does not wait for Meta
            }
            try {
                convtrack_tracker()?->flush(5.0);
            } catch (\Throwable $e) {
                convtrack_log('flush', $e); // still queued; the next flush or cron retries
            }
        });
    }
});

// The thank-you page: track again (a "duplicate" if the webhook came first) and print the pixel with the same event id.
add_action('woocommerce_thankyou', static function (int $order_id): void {
    $result = convtrack_track_order($order_id);
    if ($result !== null) {
        echo $result['pixel_html']; // escaped by the core: hostile product titles are data, never markup
    }
});
