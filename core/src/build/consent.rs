//! The consent gate (docs/spec.md §6): one pure function that decides what may leave the shop.

use crate::event::{Consent, Marketing};
use crate::settings::{LduLocation, Mode, Settings, UnknownConsent};

/// Why a server event is not sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum BlockReason {
    /// `mode = catalog_only`: no pixel, no server events.
    CatalogOnly,
    /// The merchant's data controls are off (the default): pixel only.
    DataControlsOff,
    /// The shopper denied marketing consent.
    ConsentDenied,
    /// Consent is unknown and the merchant policy `unknown_consent` is `deny`.
    ConsentUnknown,
    /// The order is older than Meta's 7 days and the caller asked for the pixel
    /// anyway (`too_old = skip_server`): Meta would reject the server copy.
    TooOld,
    /// The browser's user agent is a crawler's (`build::crawler`).
    Bot,
}

impl BlockReason {
    /// Stable snake_case name (JSON, Python, counters).
    pub fn as_str(self) -> &'static str {
        match self {
            BlockReason::CatalogOnly => "catalog_only",
            BlockReason::DataControlsOff => "data_controls_off",
            BlockReason::ConsentDenied => "consent_denied",
            BlockReason::ConsentUnknown => "consent_unknown",
            BlockReason::TooOld => "too_old",
            BlockReason::Bot => "bot",
        }
    }
}

/// Whether the server copy may be sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ServerDecision {
    Send,
    /// Consent unknown under `unknown_consent = hold`: the server copy is built and
    /// stored, and sent only once the shopper grants consent (`set_consent`).
    Hold,
    Blocked(BlockReason),
}

impl ServerDecision {
    pub fn as_str(self) -> &'static str {
        match self {
            ServerDecision::Send => "send",
            ServerDecision::Hold => "held",
            ServerDecision::Blocked(_) => "blocked",
        }
    }
    pub fn reason(self) -> Option<BlockReason> {
        match self {
            ServerDecision::Send | ServerDecision::Hold => None,
            ServerDecision::Blocked(r) => Some(r),
        }
    }
    /// Whether a server copy is built (to send now, or to hold).
    pub fn builds_payload(self) -> bool {
        !matches!(self, ServerDecision::Blocked(_))
    }
}

/// What the pixel in the page does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PixelConsent {
    /// No pixel at all (catalog-only mode).
    Off,
    /// The pixel tracks normally.
    Track,
    /// The pixel is rendered with `fbq('consent', 'revoke')` and holds back.
    Revoked,
}

impl PixelConsent {
    pub fn as_str(self) -> &'static str {
        match self {
            PixelConsent::Off => "off",
            PixelConsent::Track => "track",
            PixelConsent::Revoked => "revoked",
        }
    }
}

/// The gate's decision for one event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Decision {
    pub server: ServerDecision,
    pub pixel: PixelConsent,
    /// Limited Data Use applies, with Meta's location codes.
    pub ldu: Option<LduLocation>,
}

/// The gate. Rules, in order (docs/spec.md §6):
/// 1. catalog-only mode: no pixel, no server event;
/// 2. data controls off: pixel only;
/// 3. marketing denied: no server event, pixel revoked;
/// 4. marketing unknown: as the merchant's `unknown_consent` policy says (deny by default,
///    which is treated exactly like a denial, with its own reason);
/// 5. LDU when the shopper's flag or the merchant's setting says so (a shopper's explicit
///    `false` does not override the merchant's legal obligation).
///
/// `allowed_fields` (rule 6) is applied when customer data is hashed.
pub fn decide(settings: &Settings, consent: &Consent) -> Decision {
    let ldu = match (consent.ldu, settings.ldu) {
        (_, Some(loc)) => Some(loc),
        (Some(true), None) => Some(LduLocation { country: 0, state: 0 }),
        _ => None,
    };
    if settings.mode == Mode::CatalogOnly {
        return Decision { server: ServerDecision::Blocked(BlockReason::CatalogOnly), pixel: PixelConsent::Off, ldu: None };
    }
    let effective = match (consent.marketing, settings.unknown_consent) {
        (Marketing::Unknown, UnknownConsent::Grant) => Marketing::Granted,
        (m, _) => m,
    };
    let pixel = if effective == Marketing::Granted { PixelConsent::Track } else { PixelConsent::Revoked };
    let server = if !settings.data_controls {
        ServerDecision::Blocked(BlockReason::DataControlsOff)
    } else {
        match effective {
            Marketing::Granted => ServerDecision::Send,
            Marketing::Denied => ServerDecision::Blocked(BlockReason::ConsentDenied),
            Marketing::Unknown if settings.unknown_consent == UnknownConsent::Hold => ServerDecision::Hold,
            Marketing::Unknown => ServerDecision::Blocked(BlockReason::ConsentUnknown),
        }
    };
    Decision { server, pixel, ldu }
}

/// A crawler's event: no server copy, reason `bot`, ranked after the merchant's
/// own switches (catalog-only mode, data controls off: nothing is sent anyway and
/// the reason says why) and before the shopper's consent, which a crawler cannot
/// give. The pixel is left as the gate decided: the page must be the same for
/// crawlers and people, and a crawler that runs no script never fires it.
pub fn crawler(decision: Decision) -> Decision {
    match decision.server {
        ServerDecision::Blocked(BlockReason::CatalogOnly | BlockReason::DataControlsOff) => decision,
        _ => Decision { server: ServerDecision::Blocked(BlockReason::Bot), ..decision },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(json: &str) -> Settings {
        Settings::from_json(json).unwrap()
    }
    fn consent(m: Marketing) -> Consent {
        Consent { marketing: m, ldu: None }
    }
    const ON: &str = r#"{"pixel_id":"1","access_token":"t","data_controls":true}"#;

    #[test]
    fn default_is_pixel_only() {
        let s = settings(r#"{"pixel_id":"1"}"#);
        for m in [Marketing::Granted, Marketing::Unknown, Marketing::Denied] {
            assert_eq!(decide(&s, &consent(m)).server, ServerDecision::Blocked(BlockReason::DataControlsOff));
        }
        assert_eq!(decide(&s, &consent(Marketing::Denied)).pixel, PixelConsent::Revoked);
    }

    #[test]
    fn catalog_only_blocks_everything() {
        let s = settings(r#"{"pixel_id":"1","access_token":"t","data_controls":true,"mode":"catalog_only","ldu":true}"#);
        let d = decide(&s, &consent(Marketing::Granted));
        assert_eq!(d.server, ServerDecision::Blocked(BlockReason::CatalogOnly));
        assert_eq!(d.pixel, PixelConsent::Off);
    }

    #[test]
    fn consent_rules() {
        let s = settings(ON);
        assert_eq!(decide(&s, &consent(Marketing::Granted)).server, ServerDecision::Send);
        assert_eq!(decide(&s, &consent(Marketing::Granted)).pixel, PixelConsent::Track);
        let denied = decide(&s, &consent(Marketing::Denied));
        assert_eq!(denied.server, ServerDecision::Blocked(BlockReason::ConsentDenied));
        assert_eq!(denied.pixel, PixelConsent::Revoked);
        assert_eq!(decide(&s, &consent(Marketing::Unknown)).server, ServerDecision::Blocked(BlockReason::ConsentUnknown));
        let grant = settings(r#"{"pixel_id":"1","access_token":"t","data_controls":true,"unknown_consent":"grant"}"#);
        assert_eq!(decide(&grant, &consent(Marketing::Unknown)).server, ServerDecision::Send);
        assert_eq!(decide(&grant, &consent(Marketing::Denied)).server, ServerDecision::Blocked(BlockReason::ConsentDenied));
    }

    #[test]
    fn ldu() {
        let s = settings(ON);
        assert_eq!(decide(&s, &consent(Marketing::Granted)).ldu, None);
        let shopper = Consent { marketing: Marketing::Granted, ldu: Some(true) };
        assert_eq!(decide(&s, &shopper).ldu, Some(LduLocation { country: 0, state: 0 }));
        let ca = settings(r#"{"pixel_id":"1","access_token":"t","data_controls":true,"ldu":{"country":1,"state":1000}}"#);
        let opt_out = Consent { marketing: Marketing::Granted, ldu: Some(false) };
        assert_eq!(decide(&ca, &opt_out).ldu, Some(LduLocation { country: 1, state: 1000 }));
    }

    #[test]
    fn a_crawler_is_blocked_after_the_merchant_switches_and_before_consent() {
        let on = settings(ON);
        for m in [Marketing::Granted, Marketing::Unknown, Marketing::Denied] {
            let d = decide(&on, &consent(m));
            assert_eq!(crawler(d).server, ServerDecision::Blocked(BlockReason::Bot), "{m:?}");
            assert_eq!(crawler(d).pixel, d.pixel, "the page is the same for crawlers");
        }
        let off = settings(r#"{"pixel_id":"1"}"#);
        assert_eq!(crawler(decide(&off, &consent(Marketing::Granted))).server, ServerDecision::Blocked(BlockReason::DataControlsOff));
        let catalog = settings(r#"{"pixel_id":"1","access_token":"t","data_controls":true,"mode":"catalog_only"}"#);
        assert_eq!(crawler(decide(&catalog, &consent(Marketing::Granted))).server, ServerDecision::Blocked(BlockReason::CatalogOnly));
    }

    #[test]
    fn monotone_in_consent() {
        // More consent never sends less: denied ≤ unknown ≤ granted.
        let rank = |d: Decision| (d.server == ServerDecision::Send) as u8 * 2 + (d.pixel == PixelConsent::Track) as u8;
        for json in [ON, r#"{"pixel_id":"1"}"#, r#"{"pixel_id":"1","access_token":"t","data_controls":true,"unknown_consent":"grant"}"#] {
            let s = settings(json);
            let ranks: Vec<u8> =
                [Marketing::Denied, Marketing::Unknown, Marketing::Granted].into_iter().map(|m| rank(decide(&s, &consent(m)))).collect();
            assert!(ranks.windows(2).all(|w| w[0] <= w[1]), "{json}: {ranks:?}");
        }
    }
}
