//! A panic inside a dependency (tract on a hostile model, say) must become an error message,
//! not a crash. [`guarded`] runs a closure and turns a panic into `Err(message)`;
//! [`install_panic_hook`] replaces the default hook with one that stays quiet for guarded
//! panics and prints one line for any other.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Guarded calls in flight (across threads: rayon workers panic on their own threads).
static GUARDED: AtomicUsize = AtomicUsize::new(0);

/// Runs `f`; a panic in it (or in work it hands to other threads) becomes `Err(message)`.
pub fn guarded<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    GUARDED.fetch_add(1, Ordering::SeqCst);
    let result = catch_unwind(AssertUnwindSafe(f));
    GUARDED.fetch_sub(1, Ordering::SeqCst);
    result.map_err(|payload| {
        payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".into())
    })
}

/// True while a [`guarded`] call is in flight: a panic now becomes an error, not a crash
/// (for panic hooks other than Loupe's own, such as a fuzzer's).
pub fn in_guarded() -> bool {
    GUARDED.load(Ordering::SeqCst) > 0
}

/// Prints one line for panics nobody guards; stays silent for guarded ones, whose message the
/// caller reports as an error.
pub fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        if !in_guarded() {
            let message = info
                .to_string()
                .lines()
                .map(str::trim)
                .collect::<Vec<_>>()
                .join(" ");
            eprintln!("loupe: internal error (please report it): {message}");
        }
    }));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_an_error() {
        assert_eq!(guarded(|| 3), Ok(3));
        let err = guarded(|| -> u8 { panic!("boom {}", 7) }).unwrap_err();
        assert_eq!(err, "boom 7");
    }
}
