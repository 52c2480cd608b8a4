//! `qkdbench keyrate --input F.json`: the finite-key calculator.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use engine::finite_key::KeyRateInput;

/// Arguments of `qkdbench keyrate`.
#[derive(Debug, Args)]
pub struct KeyRateArgs {
    /// JSON file with mu, p, n_x, n_z, m_x, m_z (three classes each), eps_sec, eps_cor, f_ec
    /// and bound ("hoeffding" or "chernoff"); "-" reads standard input.
    #[arg(long, value_name = "FILE")]
    input: PathBuf,
}

/// Runs `qkdbench keyrate`: JSON on stdout, or a message naming the bad field on stderr
/// and exit code 2.
pub fn run(args: KeyRateArgs) -> ExitCode {
    let text = if args.input.as_os_str() == "-" {
        let mut s = String::new();
        match std::io::Read::read_to_string(&mut std::io::stdin(), &mut s) {
            Ok(_) => s,
            Err(e) => return fail(&format!("reading standard input: {e}")),
        }
    } else {
        match std::fs::read_to_string(&args.input) {
            Ok(s) => s,
            Err(e) => return fail(&format!("{}: {e}", args.input.display())),
        }
    };
    let input: KeyRateInput = match serde_json::from_str(&text) {
        Ok(i) => i,
        Err(e) => return fail(&format!("{}: {e}", args.input.display())),
    };
    match input.evaluate() {
        Ok(out) => {
            super::outln!("{}", serde_json::to_string_pretty(&out).expect("output serialises"));
            ExitCode::SUCCESS
        }
        Err(e) => fail(&format!("{}: {e}", args.input.display())),
    }
}

fn fail(msg: &str) -> ExitCode {
    super::errln!("qkdbench keyrate: {msg}");
    ExitCode::from(2)
}
