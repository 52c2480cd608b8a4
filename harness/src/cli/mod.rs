//! One module per subcommand.
pub mod bench;
pub mod compression;
pub mod convert;
pub mod demo;
pub mod devices;
pub mod dump;
pub mod engine_args;
pub mod keyrate;
pub mod record;
pub mod replay;
pub mod selftest;
pub mod sim;

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
