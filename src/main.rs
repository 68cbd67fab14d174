//! The `loupe` binary: the command line ([`loupe::cli`]), and the window when it asks for one.

use std::process::ExitCode;

fn main() -> ExitCode {
    loupe::guard::install_panic_hook();
    loupe::cli::main(open_window)
}

#[cfg(feature = "gui")]
fn open_window(source: loupe::session::Source, restore: bool) -> anyhow::Result<()> {
    loupe::app::run(source, restore)
}

#[cfg(not(feature = "gui"))]
fn open_window(_: loupe::session::Source, _: bool) -> anyhow::Result<()> {
    anyhow::bail!(
        "this build has no window (built without the `gui` feature); use `loupe info` or `loupe predict`"
    )
}
