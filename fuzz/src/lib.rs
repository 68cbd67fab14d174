//! Shared by the fuzz targets.
//!
//! libFuzzer aborts on every panic. Loupe turns a panic inside a dependency (tract on a hostile
//! model) into an error message through `loupe::guard::guarded`, and so should a fuzz run: a
//! guarded panic is printed once per place and counted, not treated as a crash. Any other panic
//! still aborts and is reported as one.

use std::collections::HashSet;
use std::sync::{Mutex, Once};

static HOOK: Once = Once::new();
static SEEN: Mutex<Option<HashSet<String>>> = Mutex::new(None);

/// Call at the top of every fuzz target body.
pub fn guard_aware_panics() {
    HOOK.call_once(|| {
        let abort_hook = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if loupe::guard::in_guarded() {
                let place = info
                    .location()
                    .map(|l| format!("{}:{}", l.file(), l.line()))
                    .unwrap_or_default();
                let mut seen = SEEN.lock().unwrap_or_else(|e| e.into_inner());
                if seen.get_or_insert_with(HashSet::new).insert(place.clone()) {
                    eprintln!("guarded panic (an error, not a crash) at {place}: {info}");
                }
                return;
            }
            abort_hook(info);
        }));
    });
}

/// With `LOUPE_FUZZ_NOTES` set, prints what happened to an input (to see, on a corpus run with
/// `-runs=0`, how many inputs reach which stage).
pub fn note(what: &str) {
    static ON: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    if *ON.get_or_init(|| std::env::var_os("LOUPE_FUZZ_NOTES").is_some()) {
        eprintln!("note: {what}");
    }
}
