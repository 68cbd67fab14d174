//! The `loupe` binary: parse the command line, run it, exit 2 with one line on bad input.

mod cli;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    loupe::guard::install_panic_hook();
    let cli = match cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => e.exit(), // --help, --version
        Err(e) => {
            // clap explains over several lines; a script gets one: everything before "Usage:".
            let rendered = e.render().to_string();
            let message: Vec<&str> = rendered
                .lines()
                .take_while(|l| !l.starts_with("Usage:") && !l.starts_with("For more information"))
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .collect();
            eprintln!("loupe: {}", message.join(" ").trim_start_matches("error: "));
            return ExitCode::from(2);
        }
    };
    let result = cli::run(cli).and_then(|action| match action {
        cli::Action::Done => Ok(()),
        cli::Action::OpenWindow(source, restore) => open_window(source, restore),
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            // `{:#}` joins the context chain on one line: "file.csv: row 3 …".
            let message = format!("{err:#}")
                .lines()
                .map(str::trim)
                .collect::<Vec<_>>()
                .join(" ");
            eprintln!("loupe: {message}");
            ExitCode::from(2)
        }
    }
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
