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
        Err(e) => return fail(&format!("{}: {}", args.input.display(), field_of(&text, &e))),
    };
    match input.evaluate() {
        Ok(out) => {
            super::outln!("{}", serde_json::to_string_pretty(&out).expect("output serialises"));
            ExitCode::SUCCESS
        }
        Err(e) => fail(&format!("{}: {e}", args.input.display())),
    }
}

/// serde_json's error with the field it is in, found from its line and column (a type
/// error otherwise names only the position).
fn field_of(text: &str, e: &serde_json::Error) -> String {
    if e.line() == 0 {
        return e.to_string();
    }
    let Some(line) = text.lines().nth(e.line() - 1) else { return e.to_string() };
    let upto = &line[..e.column().min(line.len())];
    // The last "key": before the error's column on its line, else on the lines above.
    let key = |s: &str| -> Option<String> {
        let end = s.rfind("\":")?;
        let start = s[..end].rfind('"')?;
        Some(s[start + 1..end].to_string())
    };
    let found =
        key(upto).or_else(|| text.lines().take(e.line() - 1).collect::<Vec<_>>().iter().rev().find_map(|l| key(l)));
    match found {
        Some(k) if e.classify() == serde_json::error::Category::Data => format!("field {k}: {e}"),
        _ => e.to_string(),
    }
}

fn fail(msg: &str) -> ExitCode {
    super::errln!("qkdbench keyrate: {msg}");
    ExitCode::from(2)
}
