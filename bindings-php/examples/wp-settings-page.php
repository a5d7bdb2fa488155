<?php
/**
 * A WordPress-style admin settings page for convtrack (example): the pixel id, the catalog name and id, the mode and
 * the "Data controls" toggle with the legal warning and an acknowledgement checkbox, driven through the core's own
 * calls (Tracker::controls() and Tracker::setControls()). The controls live in the outbox, so every PHP worker (and
 * `convtrack controls`, and the Django dashboard) on the same outbox sees a change on its next track().
 *
 * It needs no WordPress: run it as it is with PHP's built-in server,
 *
 *   CONVTRACK_LIB=target/release/libconvtrack.so CONVTRACK_SETTINGS=/path/to/settings.json \
 *   CONVTRACK_PAGE_SECRET=$(head -c 32 /dev/urandom | base64) \
 *   php -d ffi.enable=1 -S 127.0.0.1:8080 bindings-php/examples/wp-settings-page.php
 *
 * and open http://127.0.0.1:8080/. In a plugin, the same code goes into an add_options_page() callback, with
 * wp_nonce_field()/check_admin_referer() instead of page_nonce()/check_nonce(), current_user_can('manage_options')
 * for the permission and wp_get_current_user()->user_login as the actor.
 *
 * Settings: CONVTRACK_SETTINGS names a JSON file with the Tracker settings (it needs outbox_path). The signed-in
 * admin is CONVTRACK_PAGE_USER (default "admin"); this example has no login of its own, so serve it only on loopback
 * or behind your admin authentication.
 */
declare(strict_types=1);

require_once __DIR__ . '/../autoload.php';

use Convtrack\ArgumentException;
use Convtrack\ConvtrackException;
use Convtrack\InputException;
use Convtrack\SettingsException;
use Convtrack\Tracker;

const CONVTRACK_NONCE_ACTION = 'convtrack_controls';
const CONVTRACK_MODES = ['pixel_and_server' => 'Pixel and server (Conversions API)', 'catalog_only' => 'Catalog only'];

function esc_html_(string $s): string
{
    return htmlspecialchars($s, ENT_QUOTES | ENT_SUBSTITUTE, 'UTF-8');
}

function page_user(): string
{
    return getenv('CONVTRACK_PAGE_USER') ?: 'admin';
}

/** A WordPress-like nonce: an HMAC of the action, the user and a 12-hour tick (valid for 12 to 24 hours). */
function page_nonce(int $tickOffset = 0): string
{
    $secret = getenv('CONVTRACK_PAGE_SECRET');
    if ($secret === false || strlen($secret) < 16) {
        http_response_code(500);
        exit("CONVTRACK_PAGE_SECRET must be set (16 characters or more)\n");
    }
    $tick = intdiv(time(), 43200) + $tickOffset;
    return substr(hash_hmac('sha256', CONVTRACK_NONCE_ACTION . "|$tick|" . page_user(), $secret), 0, 20);
}

function check_nonce(mixed $nonce): bool
{
    return is_string($nonce) && (hash_equals(page_nonce(), $nonce) || hash_equals(page_nonce(-1), $nonce));
}

function page_tracker(): Tracker
{
    $file = getenv('CONVTRACK_SETTINGS');
    if ($file === false || !is_file($file)) {
        throw new SettingsException('settings: set CONVTRACK_SETTINGS to a JSON settings file', 300);
    }
    return new Tracker((string) file_get_contents($file));
}

/** @param array<string, mixed> $post @return array{int, string, string} HTTP status, notice class, notice text */
function handle_post(Tracker $tracker, array $post): array
{
    if (!check_nonce($post['_wpnonce'] ?? null)) {
        return [403, 'error', 'The link you followed has expired. Reload the page and try again.'];
    }
    // Send only what changed, compared with the controls in force: a mode change while data controls are on needs
    // no new acknowledgement (the core asks for it whenever data_controls=true is passed), and a Save that changes
    // nothing records nothing (no empty row in the audit trail).
    $current = $tracker->controls();
    $on = ($post['data_controls'] ?? 'off') === 'on';
    $mode = is_string($post['mode'] ?? null) ? $post['mode'] : null;
    $dataControls = $on !== (bool) $current['data_controls'] ? $on : null;
    if ($mode === $current['mode']) {
        $mode = null;
    }
    if ($dataControls === null && $mode === null) {
        return [303, 'info', 'Nothing changed: the controls were already set like this.'];
    }
    try {
        $tracker->setControls(page_user(), $dataControls, $mode, ($post['legal_ack'] ?? '') === '1');
    } catch (InputException | ArgumentException | SettingsException $e) {
        $text = match ($e->getField()) {
            'legal_ack' => 'To turn data controls on, confirm that you have done (or waived) the legal review: '
                . 'tick the acknowledgement box. (legal_ack)',
            'access_token' => 'Data controls need an access token in the settings before they can be turned on. (access_token)',
            'mode' => 'Choose one of the modes. (mode)',
            default => $e->getMessage(),
        };
        return [400, 'error', $text];
    }
    return [303, 'success', 'Settings saved.'];
}

$notice = null;
$status = 200;
try {
    $tracker = page_tracker();
    if (($_SERVER['REQUEST_METHOD'] ?? 'GET') === 'POST') {
        [$status, $class, $text] = handle_post($tracker, $_POST);
        if ($status === 303) { // POST/redirect/GET, as WordPress does after options.php
            header('Location: ?settings-updated=' . ($class === 'success' ? 'true' : 'unchanged'), true, 303);
            exit;
        }
        $notice = [$class, $text];
    } elseif (($_GET['settings-updated'] ?? '') === 'true') {
        $notice = ['success', 'Settings saved.'];
    } elseif (($_GET['settings-updated'] ?? '') === 'unchanged') {
        $notice = ['info', 'Nothing changed: the controls were already set like this.'];
    }
    $st = $tracker->status();
    $controls = $tracker->controls();
} catch (ConvtrackException $e) {
    // The page itself must render: show what is wrong (the message names the setting, never its value).
    http_response_code(500);
    echo '<!doctype html><title>convtrack</title><div class="notice notice-error"><p>convtrack: '
        . esc_html_($e->getMessage()) . '</p></div>';
    exit;
}
http_response_code($status);
?>
<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>convtrack &lsaquo; Settings</title>
<style>
body{font:14px -apple-system,BlinkMacSystemFont,"Segoe UI",Roboto,sans-serif;background:#f0f0f1;color:#1d2327;margin:0}
.wrap{max-width:860px;margin:20px auto;padding:0 20px}
.notice{background:#fff;border-left:4px solid #72aee6;padding:8px 12px;margin:12px 0}
.notice-success{border-left-color:#00a32a}.notice-error{border-left-color:#d63638}.notice-warning{border-left-color:#dba617}
table.form-table{width:100%;border-collapse:collapse;background:#fff}
.form-table th{width:220px;text-align:left;padding:14px 10px;vertical-align:top}.form-table td{padding:12px 10px}
.button-primary{background:#2271b1;border:0;color:#fff;padding:6px 14px;border-radius:3px;cursor:pointer}
table.widefat{width:100%;background:#fff;border-collapse:collapse;margin-top:8px}.widefat td,.widefat th{padding:6px 10px;border-bottom:1px solid #eee;text-align:left}
code{background:#f6f7f7;padding:1px 4px}
</style></head>
<body><div class="wrap">
<h1>convtrack</h1>
<?php if ($notice !== null): ?>
<div class="notice notice-<?= esc_html_($notice[0]) ?>" role="alert"><p><?= esc_html_($notice[1]) ?></p></div>
<?php endif ?>
<form method="post" action="">
<input type="hidden" name="_wpnonce" value="<?= esc_html_(page_nonce()) ?>">
<table class="form-table" role="presentation">
<tr><th scope="row">Pixel ID</th><td><code id="pixel-id"><?= esc_html_((string) $st['pixel_id']) ?></code></td></tr>
<tr><th scope="row">Catalog</th><td id="catalog"><?= esc_html_((string) ($st['catalog_name'] ?? '-')) ?>
    (<code><?= esc_html_((string) ($st['catalog_id'] ?? '-')) ?></code>)</td></tr>
<tr><th scope="row"><label for="mode">Mode</label></th><td><select name="mode" id="mode">
<?php foreach (CONVTRACK_MODES as $value => $label): ?>
    <option value="<?= esc_html_($value) ?>"<?= $controls['mode'] === $value ? ' selected' : '' ?>><?= esc_html_($label) ?></option>
<?php endforeach ?>
</select></td></tr>
<tr><th scope="row">Data controls</th><td>
    <label><input type="radio" name="data_controls" value="off"<?= $controls['data_controls'] ? '' : ' checked' ?>> Off</label>
    <label><input type="radio" name="data_controls" value="on"<?= $controls['data_controls'] ? ' checked' : '' ?>> On</label>
    <div class="notice notice-warning"><p><strong>Turning data controls on sends receipt data to Meta</strong>: hashed
    customer details (email, phone, name, address) from every order whose shopper consented. This might require a
    legal review.</p></div>
    <label><input type="checkbox" name="legal_ack" value="1"> I have done (or waived) the legal review for sending
    receipt data to Meta.</label>
    <p id="controls-state">Now: <strong><?= $controls['data_controls'] ? 'on' : 'off' ?></strong><?php
    if ($controls['changed_at'] !== null): ?> since <?= esc_html_(gmdate('Y-m-d H:i', (int) $controls['changed_at'])) ?> UTC,
    by <?= esc_html_((string) $controls['changed_by']) ?><?php else: ?> (from the settings file)<?php endif ?>.</p>
</td></tr>
</table>
<p><button type="submit" class="button-primary">Save Changes</button></p>
</form>
<h2>History</h2>
<table class="widefat"><thead><tr><th>When (UTC)</th><th>Who</th><th>Change</th><th>Legal review</th></tr></thead><tbody>
<?php foreach ($controls['history'] as $h): ?>
<tr><td><?= esc_html_(gmdate('Y-m-d H:i:s', (int) $h['at'])) ?></td><td><?= esc_html_((string) $h['actor']) ?></td>
<td><?= esc_html_(implode(', ', array_filter([
    $h['data_controls'] === null ? null : 'data controls ' . ($h['data_controls'] ? 'on' : 'off'),
    $h['mode'] === null ? null : 'mode ' . $h['mode'],
    ($h['discarded'] ?? 0) > 0 ? $h['discarded'] . ' queued events discarded' : null,
]))) ?></td><td><?= $h['legal_ack'] ? 'acknowledged' : '-' ?></td></tr>
<?php endforeach ?>
<?php if ($controls['history'] === []): ?><tr><td colspan="4">No change yet.</td></tr><?php endif ?>
</tbody></table>
</div></body></html>
