//! Marks the shared library NODELETE on Linux (`-z nodelete`): dlclose() never unmaps it, so its
//! one-time start-up work (the phone number metadata, about 100 ms) survives a host that closes it
//! between uses. PHP's FFI does exactly that: `FFI::cdef` objects are freed, and the library
//! dlclose()d, at the end of every php-fpm request (docs/php-ffi.md). Without the flag the library
//! happens to stay mapped anyway once a thread-local with a destructor was touched (glibc keeps an
//! object with pending TLS destructors), which is an accident of the implementation, not a promise.
//! Unloading Rust code is not supported anyway (thread-locals, statics, threads it may have started).

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") {
        println!("cargo:rustc-cdylib-link-arg=-Wl,-z,nodelete");
    }
}
