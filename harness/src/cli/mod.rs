//! One module per subcommand, and the exit-code policy they share.
pub mod bench;
pub mod compression;
pub mod convert;
pub mod demo;
pub mod devices;
pub mod dump;
pub mod input_format;
pub mod keyrate;
pub mod live;
pub mod progress;
pub mod record;
pub mod replay;
pub mod report;
pub mod run;
pub mod selftest;
pub mod settings_args;
pub mod sim;

use harness::session::SessionError;

/// An error with the exit code it means (docs/exit-codes.md): 2 bad input or usage, 1 a run
/// cut short or a failed verdict. `main` prints it and exits with its code.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct Exit {
    /// The process exit code.
    pub code: u8,
    /// What to print (without the program name).
    pub message: String,
}

impl Exit {
    /// Bad input or usage: exit 2.
    pub fn bad_input(message: impl Into<String>) -> anyhow::Error {
        Exit { code: 2, message: message.into() }.into()
    }
    /// A run cut short: exit 1.
    pub fn cut_short(message: impl Into<String>) -> anyhow::Error {
        Exit { code: 1, message: message.into() }.into()
    }
}

/// A session's error in the terms of the command line (flags, not settings fields), with
/// its exit code.
pub fn session_error(e: SessionError) -> anyhow::Error {
    let code = e.exit_code();
    let message = match &e {
        SessionError::Setting(s) => settings_args::in_flag_terms(s),
        other => other.to_string(),
    };
    Exit { code, message }.into()
}

/// The exit code of an error that reached `main`: an [`Exit`]'s own, 0 for a reader that
/// went away (`| head`), 1 otherwise.
pub fn exit_code(e: &anyhow::Error) -> u8 {
    if let Some(x) = e.downcast_ref::<Exit>() {
        return x.code;
    }
    if let Some(s) = e.downcast_ref::<SessionError>() {
        return s.exit_code();
    }
    if is_broken_pipe(e) {
        return 0;
    }
    1
}

/// True when the error is a write to a closed pipe.
pub fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| c.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe))
}

/// `println!` for command output: a reader that went away (`| head`) ends the process
/// quietly with exit 0, as command-line tools do, instead of a panic; any other write error
/// ends it with exit 1 and a message.
macro_rules! outln {
    ($($t:tt)*) => { $crate::cli::out_line(&format!($($t)*)) };
}
pub(crate) use outln;

/// `eprintln!` that never panics: a closed stderr (`2>&1 | head`) loses the message, not
/// the exit code.
macro_rules! errln {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($t)*);
    }};
}
pub(crate) use errln;

/// The line writer behind [`outln!`].
pub fn out_line(line: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    if let Err(e) = writeln!(out, "{line}").and_then(|()| out.flush()) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("qkdbench: writing to stdout: {e}");
        std::process::exit(1);
    }
}

/// Writes `text` to stdout; a reader that went away (`| head`) ends the output quietly
/// instead of panicking, as command-line tools do.
pub fn emit(text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        r => r,
    }
}
