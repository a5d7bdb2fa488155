//! SHA-256 hashing of normalized customer data (docs/spec.md §4).

use sha2::{Digest as _, Sha256};

use crate::normalize::{self, Field};

use crate::text::HEX_DIGITS as HEX;

/// The two hex digits of every byte value.
const HEX_PAIRS: [[u8; 2]; 256] = {
    let mut t = [[0u8; 2]; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = [HEX[i >> 4], HEX[i & 0x0f]];
        i += 1;
    }
    t
};

/// Lowercase hex of `bytes`.
pub fn to_hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    push_hex(&mut out, bytes);
    out
}

/// Appends the lowercase hex of `bytes` to `out`.
pub fn push_hex(out: &mut String, bytes: &[u8]) {
    out.reserve(bytes.len() * 2);
    for b in bytes {
        let [hi, lo] = HEX_PAIRS[usize::from(*b)];
        out.push(char::from(hi));
        out.push(char::from(lo));
    }
}

/// Lowercase hex SHA-256 of the UTF-8 bytes of `s`.
pub fn sha256_hex(s: &str) -> String {
    to_hex(&sha256(s.as_bytes()))
}

/// SHA-256 of `bytes`: one compression for short messages, else the streaming hasher.
fn sha256(bytes: &[u8]) -> [u8; 32] {
    one_block_sha256(bytes).unwrap_or_else(|| Sha256::digest(bytes).into())
}

/// SHA-256's initial hash value (FIPS 180-4, 5.3.3).
const H0: [u32; 8] = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19];

/// SHA-256 of a message of at most 55 bytes (every normalized customer value
/// but long names): the message, the `0x80` end bit and its length in bits fit
/// one block, padded here (FIPS 180-4, 5.1.1) and compressed once with the sha2
/// crate's compression function (SHA-NI where the CPU has it). This skips the
/// streaming hasher's buffering, which cost as much as the compression itself
/// for such short values. `None` for a longer message. The test `one_block_matches_the_streaming_hasher` checks
/// it against `Sha256::digest` at every length around the block boundary.
fn one_block_sha256(message: &[u8]) -> Option<[u8; 32]> {
    if message.len() > 55 {
        return None;
    }
    let mut block = [0u8; 64];
    block[..message.len()].copy_from_slice(message);
    block[message.len()] = 0x80;
    block[56..].copy_from_slice(&(message.len() as u64 * 8).to_be_bytes());
    let mut state = H0;
    sha2::compress256(&mut state, &[block.into()]);
    let mut digest = [0u8; 32];
    for (out, word) in digest.chunks_exact_mut(4).zip(state) {
        out.copy_from_slice(&word.to_be_bytes());
    }
    Some(digest)
}

/// One customer value as it goes on the wire, kept on the stack: the lowercase hex
/// SHA-256 of a normalized value, or a value that already was a digest, lowercased.
pub struct Digest {
    hex: [u8; 64],
    len: usize,
}

impl Digest {
    /// Hashes an already-normalized value (digests pass through lowercased).
    pub fn of_normalized(normalized: &str) -> Digest {
        let mut hex = [0u8; 64];
        if normalize::is_hashed(normalized) {
            let len = normalized.len().min(64);
            hex[..len].copy_from_slice(&normalized.as_bytes()[..len]);
            hex[..len].make_ascii_lowercase();
            return Digest { hex, len };
        }
        for (pair, b) in hex.chunks_exact_mut(2).zip(sha256(normalized.as_bytes())) {
            pair.copy_from_slice(&HEX_PAIRS[usize::from(b)]);
        }
        Digest { hex, len: 64 }
    }

    /// The hex text.
    pub fn as_str(&self) -> &str {
        // Only ASCII hex digits are ever stored.
        std::str::from_utf8(&self.hex[..self.len]).unwrap_or_default()
    }
}

/// Normalizes `value` for `field` and hashes it, as it goes on the wire.
///
/// A value that already is a SHA-256 or MD5 digest passes through lowercased
/// and is not hashed again. A value that normalizes to nothing is dropped
/// (`None`): `sha256("")` is never produced.
pub fn hash_field(field: Field, value: &str, country: Option<&str>) -> Option<String> {
    let normalized = normalize::normalize(field, value, country)?;
    if normalized.is_empty() {
        return None;
    }
    Some(hash_normalized(&normalized))
}

/// Hashes an already-normalized value (digests pass through lowercased).
pub fn hash_normalized(normalized: &str) -> String {
    Digest::of_normalized(normalized).as_str().to_owned()
}

/// Resolves a field name (`email` or `em`) and an optional country (code or name)
/// for the by-name API used by C and Python.
fn resolve(field: &str, country: Option<&str>) -> crate::error::Result<(Field, Option<String>)> {
    use crate::error::{Error, ErrorCode};
    let f = Field::parse(field)
        .ok_or_else(|| Error::field(ErrorCode::InvalidArgument, "field", "is not a customer field name (e.g. \"email\" or \"em\")"))?;
    let c = match country.map(str::trim).filter(|c| !c.is_empty()) {
        None => None,
        Some(c) => Some(
            normalize::country_code(c)
                .ok_or_else(|| Error::field(ErrorCode::InvalidArgument, "country", "is not an ISO-3166 country code or name"))?,
        ),
    };
    Ok((f, c))
}

/// `normalize` by field name; `Ok(None)` means the value is dropped.
pub fn normalize_named(field: &str, value: &str, country: Option<&str>) -> crate::error::Result<Option<String>> {
    let (f, c) = resolve(field, country)?;
    Ok(normalize::normalize(f, value, c.as_deref()).filter(|v| !v.is_empty()))
}

/// `hash_field` by field name; `Ok(None)` means the value is dropped.
pub fn hash_named(field: &str, value: &str, country: Option<&str>) -> crate::error::Result<Option<String>> {
    let (f, c) = resolve(field, country)?;
    Ok(hash_field(f, value, c.as_deref()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_block_matches_the_streaming_hasher() {
        // Every length up to two blocks, so both sides of the 55/56-byte boundary.
        for len in 0..=130 {
            for fill in [b'x', 0x00, 0xff, 0x80] {
                let msg = vec![fill; len];
                let expected = Sha256::digest(&msg);
                match one_block_sha256(&msg) {
                    Some(digest) => assert_eq!(digest, expected.as_slice(), "length {len}"),
                    None => assert!(len > 55, "length {len} fits one block"),
                }
                // (Not hex text: 32 or 64 hex digits pass through as already hashed.)
                if let Ok(text) = std::str::from_utf8(&msg) {
                    assert_eq!(Digest::of_normalized(text).as_str(), to_hex(&expected), "length {len}");
                }
            }
        }
    }

    #[test]
    fn known_digests() {
        assert_eq!(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
        assert_eq!(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }

    #[test]
    fn digests_pass_through_lowercased() {
        let upper = "A665A45920422F9D417E4867EFDC4FB8A04A1F3FFF1FA07E998E86F7F7A27AE3";
        assert_eq!(hash_field(Field::Email, upper, None).as_deref(), Some(&*upper.to_ascii_lowercase()));
    }

    #[test]
    fn empty_is_dropped_not_hashed() {
        assert_eq!(hash_field(Field::Email, "   ", None), None);
        assert_eq!(hash_field(Field::Phone, "", None), None);
    }
}
