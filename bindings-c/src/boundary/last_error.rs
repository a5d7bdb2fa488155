//! The calling thread's last error message: a fixed-size, destructor-free slot.

use std::cell::RefCell;
use std::ffi::c_char;
use std::fmt;

/// The most bytes of an error message kept (a longer one is cut at a character
/// boundary and ends with "..."). Messages name a field and a reason, far below this.
const MESSAGE_CAPACITY: usize = 1024;

/// The calling thread's last error message, held inline: no heap and no destructor.
///
/// Without a destructor the thread-local needs no registration and is never
/// destroyed, so it stays usable while the thread exits: glibc runs Rust's TLS
/// destructors before pthread-key destructors, and a C library calling us from
/// such a destructor must get a status, not an abort (a `RefCell<Option<CString>>`
/// panicked there with "cannot access a Thread Local Storage value during or after
/// destruction", and a first use there leaked its destructor registration).
struct Message {
    len: usize,
    cut: bool,
    bytes: [u8; MESSAGE_CAPACITY],
}

impl Message {
    const EMPTY: Message = Message { len: 0, cut: false, bytes: [0; MESSAGE_CAPACITY] };

    fn as_bytes(&self) -> &[u8] {
        self.bytes.get(..self.len).unwrap_or(&[])
    }
}

impl fmt::Write for Message {
    /// Appends `s`, NUL bytes replaced by `?` (a C string cannot carry them); never
    /// fails, never panics: what does not fit is cut at a character boundary.
    fn write_str(&mut self, s: &str) -> fmt::Result {
        if self.cut {
            return Ok(());
        }
        const MARK: &[u8] = b"...";
        let room = MESSAGE_CAPACITY.saturating_sub(self.len);
        let mut take = s.len();
        if take > room {
            self.cut = true;
            take = room.saturating_sub(MARK.len());
            while take > 0 && !s.is_char_boundary(take) {
                take -= 1;
            }
        }
        let text = s.as_bytes().iter().take(take).map(|&b| if b == 0 { b'?' } else { b });
        let tail = if self.cut { MARK } else { &[] };
        for (dst, b) in self.bytes.iter_mut().skip(self.len).zip(text.chain(tail.iter().copied())) {
            *dst = b;
            self.len += 1;
        }
        Ok(())
    }
}

thread_local! {
    static LAST_ERROR: RefCell<Message> = const { RefCell::new(Message::EMPTY) };
}

/// Records `message` as the thread's last error. Panic-free: `try_with` and
/// `try_borrow_mut`; where the slot is unavailable the message is dropped.
pub(crate) fn set_last_error(message: &dyn fmt::Display) {
    let _ = LAST_ERROR.try_with(|slot| {
        if let Ok(mut m) = slot.try_borrow_mut() {
            m.len = 0;
            m.cut = false;
            let _ = fmt::Write::write_fmt(&mut *m, format_args!("{message}"));
        }
    });
}

/// Clears the thread's last error. Panic-free, as `set_last_error`.
pub(crate) fn clear_last_error() {
    let _ = LAST_ERROR.try_with(|slot| {
        if let Ok(mut m) = slot.try_borrow_mut() {
            m.len = 0;
            m.cut = false;
        }
    });
}

/// Copies the calling thread's last error message into `buf` (NUL-terminated,
/// truncated to `len - 1` bytes) and returns the message's full length in
/// bytes, without the NUL. When the last fallible call on this thread
/// succeeded it returns 0 and writes an empty string. Pass `buf = NULL` or
/// `len = 0` to learn the length only. A `len` above PTRDIFF_MAX (such as
/// `(size_t)-1`) is no buffer size: only the NUL is written (an empty string)
/// and the full length is returned. Only functions returning
/// `convtrack_status` set or clear the message.
/// Messages name the offending field and never contain its value; they are
/// at most 1024 bytes long. Callable at any time, also while the thread exits
/// (e.g. from a pthread-key destructor).
///
/// # Safety
/// `buf` must be NULL or valid for writes of `len` bytes.
#[no_mangle]
pub unsafe extern "C" fn convtrack_last_error_message(buf: *mut c_char, len: usize) -> usize {
    // Panic-free by construction (`try_with`, `try_borrow`, no indexing, no
    // allocation), so no `catch_unwind` is needed here.
    let copy_out = |bytes: &[u8]| {
        if !buf.is_null() && len > 0 {
            let n = if len > isize::MAX as usize { 0 } else { bytes.len().min(len - 1) };
            // SAFETY: `buf` is valid for `len` bytes (caller contract) and n + 1 <= len;
            // a `len` that cannot be a real size gets only the one byte every buffer has.
            unsafe {
                std::ptr::copy_nonoverlapping(bytes.as_ptr(), buf.cast::<u8>(), n);
                *buf.add(n) = 0;
            }
        }
        bytes.len()
    };
    let copied = LAST_ERROR.try_with(|slot| match slot.try_borrow() {
        Ok(m) => Some(copy_out(m.as_bytes())),
        Err(_) => None,
    });
    match copied {
        Ok(Some(n)) => n,
        _ => copy_out(&[]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The message slot is fixed-size: a longer message is cut at a character
    /// boundary with "...", NUL bytes become '?', and the length returned is what is held.
    #[test]
    fn long_messages_are_cut_at_a_character_boundary() {
        let long = format!("field\0name: {}", "é".repeat(MESSAGE_CAPACITY));
        set_last_error(&long);
        // SAFETY: NULL buffer, length query only.
        let n = unsafe { convtrack_last_error_message(std::ptr::null_mut(), 0) };
        assert!(n <= MESSAGE_CAPACITY && n > MESSAGE_CAPACITY - 8, "{n}");
        let mut buf = vec![0 as c_char; n + 1];
        // SAFETY: `buf` is valid for n + 1 bytes.
        assert_eq!(unsafe { convtrack_last_error_message(buf.as_mut_ptr(), buf.len()) }, n);
        // SAFETY: NUL-terminated by convtrack_last_error_message.
        let Ok(msg) = unsafe { std::ffi::CStr::from_ptr(buf.as_ptr()) }.to_str() else { panic!("not UTF-8") };
        assert_eq!(msg.len(), n);
        assert!(msg.starts_with("field?name: é") && msg.ends_with("é..."), "{msg}");
        set_last_error(&"short");
        // SAFETY: NULL buffer, length query only.
        assert_eq!(unsafe { convtrack_last_error_message(std::ptr::null_mut(), 0) }, 5);
    }
}
