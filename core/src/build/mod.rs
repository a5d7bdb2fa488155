//! The pure pipeline: from a parsed event to the pixel snippet and the
//! Conversions API payload, with no I/O. The consent gate decides what may
//! leave the shop, `event_id` gives pixel and server one dedup key, `payload`
//! writes the server copy and `pixel` the browser copy, both through
//! `json_writer`.

pub mod consent;
pub mod cookies;
pub mod crawler;
pub mod event_id;
pub mod json_writer;
pub mod payload;
pub mod pixel;

pub use result::{BuildOptions, BuildResult, QueueOutcome, ResultField, TooOld};

mod result;

use crate::build::consent::{PixelConsent, ServerDecision};
use crate::build::pixel::{PixelEvent, PixelOptions};
use crate::error::{Error, ErrorCode, Result};
use crate::event::{self, EventInput};
use crate::settings::Settings;

/// Pure: validate → gate → normalize/hash → event id → snippet and payload. No I/O.
pub fn build(settings: &Settings, input: &EventInput, options: &BuildOptions) -> Result<BuildResult> {
    let now = options.now()?;
    let event_time = input.event_time.unwrap_or(now);
    let too_old = check_time(event_time, now, options.too_old)?;

    let event_id = event_id_for(settings, input)?;
    input.check_content_ids(settings.content_id)?;
    let decision = gate(settings, input, too_old);

    let website = input.is_website();
    if decision.server.builds_payload() && website {
        // Meta rejects website events without these, and one bad event rejects a whole batch.
        if input.event_source_url.is_none() {
            return Err(Error::field(ErrorCode::MissingField, "event_source_url", "is required for server events"));
        }
        if input.browser.user_agent.is_none() {
            return Err(Error::field(ErrorCode::MissingField, "browser.user_agent", "is required for server events"));
        }
    }
    // The snippet is written up to this event's parameters; the parameters go
    // straight into it, in the same pass as the payload's custom_data.
    let standard = input.is_standard();
    // Only a website event has a page: a till receipt or a phone order renders no pixel.
    let mut snippet = match options.server_only || !website {
        true => None,
        false => pixel::begin(
            &settings.pixel_id,
            decision.pixel,
            decision.ldu,
            standard && input.event_name == "PageView",
            &PixelOptions {
                nonce: options.nonce.as_deref(),
                script_src: options.script_src.as_deref(),
                advanced_matching: advanced_matching(settings, input, decision.server).as_deref(),
            },
            256 + input.items.len() * 160,
        )?,
    };
    if let Some(s) = snippet.as_mut() {
        pixel::push_event_start(s, &input.event_name, standard);
    }
    let payload = match decision.server {
        ServerDecision::Send | ServerDecision::Hold => {
            Some(payload::event_payload(input, &event_id, event_time, settings, &decision, snippet.as_mut())?)
        }
        ServerDecision::Blocked(_) => {
            if let Some(s) = snippet.as_mut() {
                payload::write_custom_data(s, input, true, settings.content_id);
            }
            None
        }
    };
    let pixel_html = match snippet {
        Some(mut s) => {
            pixel::push_event_end(&mut s, &event_id);
            pixel::finish(s, &settings.pixel_id, decision.pixel)
        }
        None => String::new(),
    };

    Ok(BuildResult {
        event_id,
        event_name: input.event_name.to_string(),
        event_time,
        pixel_html,
        pixel: if website { decision.pixel } else { PixelConsent::Off },
        server: decision.server,
        payload,
        ldu: decision.ldu.is_some(),
        queue: None,
    })
}

/// The consent gate for one event, with the two facts only the event shows: a
/// crawler's user agent and an order too old for Meta (`too_old`, from [`check_time`]).
/// `build` and `page_snippet` decide alike, so the page's Advanced Matching follows
/// the server copy.
fn gate(settings: &Settings, input: &EventInput, too_old: bool) -> consent::Decision {
    let mut decision = consent::decide(settings, &input.consent);
    if input.browser.user_agent.as_deref().is_some_and(|ua| crawler::is_crawler(settings, ua)) {
        decision = consent::crawler(decision);
    }
    if too_old && decision.server.builds_payload() {
        decision.server = ServerDecision::Blocked(consent::BlockReason::TooOld);
    }
    decision
}

/// `event_time` against `now`: `Ok(true)` when the event is older than Meta's 7 days
/// and the caller asked for its pixel anyway (the server copy is then skipped).
fn check_time(event_time: i64, now: i64, too_old: TooOld) -> Result<bool> {
    match event::check_event_time(event_time, now) {
        Ok(()) => Ok(false),
        Err(_) if too_old == TooOld::SkipServer && event_time < now => Ok(true),
        Err(e) => Err(e),
    }
}

/// One pixel snippet for every event of one page: the base code, `init` and the
/// page view once, then one `track` call per event with its event id (the same
/// ids `build`/`track` give). Pure, like `build`. The page follows the strictest
/// consent among the events (off, then revoked, then track) and Limited Data Use
/// if any event has it; with no event it is the base code and a page view under
/// the merchant's default consent. Events that are not from the website (`action_source`)
/// have no page and are left out. Errors name the event: `events[1].order_id`.
pub fn page_snippet(settings: &Settings, inputs: &[EventInput], options: &BuildOptions) -> Result<String> {
    if options.server_only {
        return Err(Error::field(ErrorCode::InvalidArgument, "options.server_only", "does not apply to a page snippet"));
    }
    let now = options.now()?;
    // Events that did not happen on the website (a till receipt, a phone order)
    // have no place in a page: they are left out, as if not given.
    let inputs: Vec<(usize, &EventInput)> = inputs.iter().enumerate().filter(|(_, e)| e.is_website()).collect();
    let mut prepared = Vec::with_capacity(inputs.len());
    // Advanced Matching: `init` is called once per page, so it carries the keys only
    // when every event of the page gives the same ones (one shopper, each allowed);
    // events that disagree, or one that may not carry them, leave `init` without.
    let first = inputs.first().map_or(0, |(i, _)| *i);
    let mut matching: Option<String> = None;
    let (mut page, mut ldu) = match inputs.is_empty() {
        true => {
            let d = consent::decide(settings, &event::Consent { marketing: event::Marketing::Unknown, ldu: None });
            (d.pixel, d.ldu)
        }
        false => (PixelConsent::Track, None),
    };
    for &(i, input) in &inputs {
        let at = |e: Error| e.within(&format!("events[{i}]."));
        let too_old = check_time(input.event_time.unwrap_or(now), now, options.too_old).map_err(at)?;
        let event_id = event_id_for(settings, input).map_err(at)?;
        input.check_content_ids(settings.content_id).map_err(at)?;
        let decision = gate(settings, input, too_old);
        page = match (page, decision.pixel) {
            (PixelConsent::Off, _) | (_, PixelConsent::Off) => PixelConsent::Off,
            (PixelConsent::Revoked, _) | (_, PixelConsent::Revoked) => PixelConsent::Revoked,
            _ => PixelConsent::Track,
        };
        ldu = ldu.or(decision.ldu);
        let keys = advanced_matching(settings, input, decision.server);
        matching = match (i == first, matching) {
            (true, _) => keys,
            (false, Some(m)) if keys.as_ref() == Some(&m) => Some(m),
            _ => None,
        };
        prepared.push((event_id, payload::custom_data_json(input, true, settings.content_id)));
    }
    let events: Vec<PixelEvent<'_>> = inputs
        .iter()
        .zip(&prepared)
        .map(|((_, input), (event_id, params))| PixelEvent {
            event_name: &input.event_name,
            standard: input.is_standard(),
            params,
            event_id,
        })
        .collect();
    pixel::render(
        &settings.pixel_id,
        page,
        ldu,
        &events,
        &PixelOptions {
            nonce: options.nonce.as_deref(),
            script_src: options.script_src.as_deref(),
            advanced_matching: matching.as_deref(),
        },
    )
}

/// The hashed customer keys for the pixel's `init`: only with `pixel_advanced_matching`
/// on and only when the gate lets the server copy carry user data (data controls on,
/// consent given, no crawler): the page then holds what Meta receives anyway, hashed.
fn advanced_matching(settings: &Settings, input: &EventInput, server: ServerDecision) -> Option<String> {
    match (settings.pixel_advanced_matching, server) {
        (true, ServerDecision::Send) => payload::advanced_matching(input, settings),
        _ => None,
    }
}

/// The event id: derived from the order id when there is one, else the caller's, else random.
fn event_id_for(settings: &Settings, input: &EventInput) -> Result<String> {
    match (&input.order_id, &input.event_id) {
        (Some(order), given) => {
            let derived = event_id::event_id(&settings.pixel_id, &input.event_name, order);
            if given.as_ref().is_some_and(|g| *g != derived) {
                return Err(Error::invalid("event_id", "differs from the id derived from order_id; omit it so pixel and server agree"));
            }
            Ok(derived)
        }
        (None, Some(given)) => Ok(given.to_string()),
        (None, None) => Ok(event_id::random_event_id()),
    }
}
