<?php
// Minimal WordPress / WooCommerce environment for the example plugin: an action registry, options, and a fake
// order with the WC_Order getters the example uses. These are the environment, not the code under test.
declare(strict_types=1);

$GLOBALS['wp_actions'] = [];
$GLOBALS['wp_options'] = [];
$GLOBALS['wc_orders'] = [];

function add_action(string $hook, callable $callback, int $priority = 10, int $accepted_args = 1): bool
{
    $GLOBALS['wp_actions'][$hook][] = [$callback, $accepted_args];
    return true;
}

function do_action(string $hook, ...$args): void
{
    // Callbacks added while running (e.g. 'shutdown' from a payment hook) run when their hook fires later.
    foreach ($GLOBALS['wp_actions'][$hook] ?? [] as [$callback, $accepted]) {
        $callback(...array_slice($args, 0, $accepted));
    }
}

function get_option(string $name, $default = false)
{
    return $GLOBALS['wp_options'][$name] ?? $default;
}

function wc_get_order(int $id)
{
    return $GLOBALS['wc_orders'][$id] ?? false;
}

final class FakeWcDateTime
{
    public function __construct(private int $ts) {}
    public function getTimestamp(): int { return $this->ts; }
}

final class FakeWcOrderItem
{
    public function __construct(private int $productId, private int $qty, private float $total, private string $name) {}
    public function get_product_id(): int { return $this->productId; }
    public function get_variation_id(): int { return 0; }
    public function get_quantity(): int { return $this->qty; }
    public function get_total(): float { return $this->total; }
    public function get_name(): string { return $this->name; }
}

final class FakeWcOrder
{
    /** @var array<string, mixed> */
    public array $meta = [];
    public int $saved = 0;

    /** @param array<string, mixed> $d @param list<FakeWcOrderItem> $items */
    public function __construct(private array $d, private array $items) {}

    public function get_id(): int { return $this->d['id']; }
    public function get_items(): array { return $this->items; }
    public function get_total(): float { return $this->d['total']; }
    public function get_currency(): string { return $this->d['currency']; }
    public function get_date_paid(): ?FakeWcDateTime { return isset($this->d['paid']) ? new FakeWcDateTime($this->d['paid']) : null; }
    public function get_billing_email(): string { return $this->d['email'] ?? ''; }
    public function get_billing_phone(): string { return $this->d['phone'] ?? ''; }
    public function get_billing_first_name(): string { return $this->d['first_name'] ?? ''; }
    public function get_billing_last_name(): string { return $this->d['last_name'] ?? ''; }
    public function get_billing_city(): string { return $this->d['city'] ?? ''; }
    public function get_billing_state(): string { return $this->d['state'] ?? ''; }
    public function get_billing_postcode(): string { return $this->d['zip'] ?? ''; }
    public function get_billing_country(): string { return $this->d['country'] ?? ''; }
    public function get_customer_id(): int { return $this->d['customer_id'] ?? 0; }
    public function get_customer_ip_address(): string { return $this->d['ip'] ?? ''; }
    public function get_customer_user_agent(): string { return $this->d['ua'] ?? ''; }
    public function get_checkout_order_received_url(): string { return "https://shop.example/checkout/order-received/{$this->d['id']}/"; }
    public function get_meta(string $key) { return $this->meta[$key] ?? ''; }
    public function update_meta_data(string $key, $value): void { $this->meta[$key] = $value; }
    public function save(): int { $this->saved++; return $this->d['id']; }
}

/** WP Consent API: the shopper's choice per category, set by the test in $GLOBALS['wp_consent']. */
function wp_has_consent(string $category): bool
{
    return ($GLOBALS['wp_consent'][$category] ?? false) === true;
}
