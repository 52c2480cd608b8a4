//! Build script of the `rtl` crate.
//!
//! 1. Turns `regmap.toml` (the one source of both register maps) into `regmap.vh` for the
//!    Verilog and `regmap.rs` for Rust, so the two can never disagree.
//! 2. Verilates both designs and compiles the generated C++ together with the small
//!    `extern "C"` shim in `shim/`, always with optimisation: an unoptimised Verilator model
//!    is ten times slower, which would make even debug-build tests crawl.

use std::collections::BTreeMap;
use std::env;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde::Deserialize;

/// UART bit time of the simulated pattern generator: a 100 MHz clock at 115200 baud.
const UART_CLKS_PER_BIT: u32 = 868;

#[derive(Deserialize)]
struct RegMap {
    pattern_gen: Block,
    time_tagger: Block,
    status: BTreeMap<String, u32>,
}

#[derive(Deserialize)]
struct Block {
    doc: String,
    reg: Vec<Reg>,
}

#[derive(Deserialize)]
struct Reg {
    name: String,
    addr: u8,
    access: String,
    reset: u64,
    #[serde(default)]
    min: u64,
    #[serde(default = "default_max")]
    max: u64,
    doc: String,
}

fn default_max() -> u64 {
    0xFFFF_FFFF
}

fn main() {
    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap());
    let out = PathBuf::from(env::var("OUT_DIR").unwrap());
    println!("cargo:rerun-if-changed=regmap.toml");
    println!("cargo:rerun-if-changed=pattern_gen");
    println!("cargo:rerun-if-changed=time_tagger");
    println!("cargo:rerun-if-changed=common");
    println!("cargo:rerun-if-changed=shim");
    println!("cargo:rerun-if-env-changed=VERILATOR");

    let text = fs::read_to_string(manifest.join("regmap.toml")).expect("read rtl/regmap.toml");
    let map: RegMap = toml::from_str(&text).unwrap_or_else(|e| panic!("rtl/regmap.toml: {e}"));
    check_map(&map);
    fs::write(out.join("regmap.vh"), verilog_regmap(&map)).unwrap();
    fs::write(out.join("regmap.rs"), rust_regmap(&map)).unwrap();

    let trace = env::var_os("CARGO_FEATURE_TRACE").is_some();
    let verilator = env::var("VERILATOR").unwrap_or_else(|_| "verilator".into());
    let root = verilator_root(&verilator);

    let pg_dir = verilate(&verilator, &manifest, &out, "pattern_gen_top", "Vpg", &["pattern_gen", "common"], trace);
    let tt_dir = verilate(&verilator, &manifest, &out, "time_tagger_top", "Vtt", &["time_tagger", "common"], trace);

    // One eval per clock cycle where the model exposes its edge-detection state (see the
    // shim's rising_edge); the portable two-eval clocking otherwise.
    println!("cargo:rerun-if-env-changed=QKD_TWO_EVALS");
    let one_eval = env::var_os("QKD_TWO_EVALS").is_none()
        && ["Vpg", "Vtt"].iter().zip([&pg_dir, &tt_dir]).all(|(p, d)| {
            fs::read_to_string(d.join(format!("{p}___024root.h"))).is_ok_and(|h| h.contains("__Vtrigrprev__TOP__clk;"))
        });
    if !one_eval {
        println!("cargo:warning=this Verilator's models do not expose __Vtrigrprev__TOP__clk: using two evals per clock (slower, same results)");
    }
    let include = root.join("include");
    let mut build = cc::Build::new();
    build
        .cpp(true)
        .std("c++17")
        .opt_level(2)
        .debug(false)
        .warnings(false)
        .flag_if_supported("-w")
        .flag_if_supported("-fno-stack-protector")
        .include(&include)
        .include(include.join("vltstd"))
        .include(&pg_dir)
        .include(&tt_dir)
        .define("QKD_UART_CLKS_PER_BIT", UART_CLKS_PER_BIT.to_string().as_str())
        .define("QKD_ONE_EVAL_PER_CYCLE", if one_eval { "1" } else { "0" })
        .define("VM_TRACE", if trace { "1" } else { "0" })
        .define("VM_TRACE_FST", if trace { "1" } else { "0" })
        .file(manifest.join("shim/qkd_shim.cpp"))
        .file(include.join("verilated.cpp"))
        .file(include.join("verilated_threads.cpp"));
    if trace {
        build.file(include.join("verilated_fst_c.cpp"));
        build.define("QKD_TRACE", "1");
        println!("cargo:rustc-link-lib=z");
    }
    for dir in [&pg_dir, &tt_dir] {
        let mut files: Vec<_> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "cpp"))
            .collect();
        files.sort();
        for f in files {
            build.file(f);
        }
    }
    build.compile("qkdbench_rtl");
    println!("cargo:rustc-link-lib=pthread");
}

/// Asks verilator where its runtime sources are; a missing verilator is the most common
/// failure on a fresh machine, so it gets a message that says what to install.
fn verilator_root(verilator: &str) -> PathBuf {
    let output = Command::new(verilator).arg("--getenv").arg("VERILATOR_ROOT").output();
    match output {
        Ok(o) if o.status.success() => PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()),
        _ => panic!(
            "\n\nqkdbench needs Verilator (>= 5.006) to build the simulated FPGAs, and `{verilator} --getenv \
             VERILATOR_ROOT` failed.\nInstall it with:  sudo apt-get install verilator   (Debian 12 / Ubuntu \
             24.04 package `verilator`)\nor point the VERILATOR environment variable at a verilator binary.\n\n"
        ),
    }
}

fn verilate(
    verilator: &str,
    manifest: &Path,
    out: &Path,
    top: &str,
    prefix: &str,
    dirs: &[&str],
    trace: bool,
) -> PathBuf {
    let mdir = out.join(prefix);
    if mdir.exists() {
        fs::remove_dir_all(&mdir).unwrap();
    }
    fs::create_dir_all(&mdir).unwrap();
    let mut cmd = Command::new(verilator);
    cmd.arg("--cc")
        .arg("--no-timing")
        .arg("-O3")
        .arg("--x-assign")
        .arg("fast")
        .arg("--x-initial")
        .arg("fast")
        .arg("--noassert")
        .arg("--top-module")
        .arg(top)
        .arg("--prefix")
        .arg(prefix)
        .arg("--Mdir")
        .arg(&mdir)
        .arg(format!("-I{}", out.display()));
    if top.starts_with("pattern_gen") {
        cmd.arg(format!("-GCLKS_PER_BIT={UART_CLKS_PER_BIT}"));
    }
    if trace {
        cmd.arg("--trace-fst");
    }
    for d in dirs {
        cmd.arg(format!("-I{}", manifest.join(d).display()));
    }
    cmd.arg(manifest.join(dirs[0]).join(format!("{top}.v")));
    let status = cmd.status().unwrap_or_else(|e| panic!("running {verilator}: {e}"));
    assert!(status.success(), "verilator failed on {top} (see the messages above)");
    mdir
}

fn check_map(map: &RegMap) {
    for (block, name) in [(&map.pattern_gen, "pattern_gen"), (&map.time_tagger, "time_tagger")] {
        let mut seen = BTreeMap::new();
        for r in &block.reg {
            if let Some(other) = seen.insert(r.addr, &r.name) {
                panic!("rtl/regmap.toml: {name}: {} and {other} share address {:#04x}", r.name, r.addr);
            }
            assert!(
                r.access == "rw" || r.access == "ro",
                "rtl/regmap.toml: {name}.{}: access must be rw or ro",
                r.name
            );
            assert!(r.min <= r.max, "rtl/regmap.toml: {name}.{}: min > max", r.name);
            assert!(!block.doc.is_empty() && !r.doc.is_empty(), "rtl/regmap.toml: {name}.{}: doc missing", r.name);
        }
    }
}

fn verilog_regmap(map: &RegMap) -> String {
    let mut s = String::from("// Generated by rtl/build.rs from rtl/regmap.toml. Do not edit.\n");
    for (name, value) in &map.status {
        writeln!(s, "localparam [2:0] ST_{name} = 3'd{value};").unwrap();
    }
    for (block, p) in [(&map.pattern_gen, "PG"), (&map.time_tagger, "TT")] {
        for r in &block.reg {
            writeln!(s, "localparam [7:0] {p}_{} = 8'h{:02X};", r.name, r.addr).unwrap();
            writeln!(s, "localparam [31:0] {p}_{}_RESET = 32'h{:X};", r.name, r.reset).unwrap();
        }
        // Write check: unknown address, read-only register, value out of range.
        let lower = p.to_lowercase();
        writeln!(s, "function automatic [2:0] {lower}_write_status(input [7:0] addr, input [31:0] v);").unwrap();
        writeln!(s, "  case (addr)").unwrap();
        for r in &block.reg {
            let mut cond = Vec::new();
            if r.access == "ro" {
                writeln!(s, "    {p}_{}: {lower}_write_status = ST_READ_ONLY;", r.name).unwrap();
                continue;
            }
            if r.min > 0 {
                cond.push(format!("v < 32'd{}", r.min));
            }
            if r.max < 0xFFFF_FFFF {
                cond.push(format!("v > 32'd{}", r.max));
            }
            if cond.is_empty() {
                writeln!(s, "    {p}_{}: {lower}_write_status = ST_OK;", r.name).unwrap();
            } else {
                writeln!(
                    s,
                    "    {p}_{}: {lower}_write_status = ({}) ? ST_BAD_VALUE : ST_OK;",
                    r.name,
                    cond.join(" || ")
                )
                .unwrap();
            }
        }
        writeln!(s, "    default: {lower}_write_status = ST_UNKNOWN_REG;").unwrap();
        writeln!(s, "  endcase\nendfunction").unwrap();
    }
    s
}

fn rust_regmap(map: &RegMap) -> String {
    let mut s = String::from("// Generated by rtl/build.rs from rtl/regmap.toml. Do not edit.\n");
    writeln!(s, "/// Status codes of register accesses (bridge replies and the tagger's control endpoint).").unwrap();
    writeln!(s, "pub mod status {{").unwrap();
    for (name, value) in &map.status {
        writeln!(s, "    #[allow(missing_docs)]\n    pub const {name}: u8 = {value};").unwrap();
    }
    writeln!(s, "}}").unwrap();
    for (block, m) in [(&map.pattern_gen, "pattern_gen"), (&map.time_tagger, "time_tagger")] {
        writeln!(s, "/// {}", doc_text(&block.doc)).unwrap();
        writeln!(s, "pub mod {m} {{").unwrap();
        writeln!(s, "    use super::{{Access, RegisterInfo}};").unwrap();
        for r in &block.reg {
            writeln!(s, "    /// {}", doc_text(&r.doc)).unwrap();
            writeln!(s, "    pub const {}: u8 = {:#04x};", r.name, r.addr).unwrap();
        }
        writeln!(s, "    /// Every register of this block, in address order of the source file.").unwrap();
        writeln!(s, "    pub static REGISTERS: &[RegisterInfo] = &[").unwrap();
        for r in &block.reg {
            let access = if r.access == "rw" { "ReadWrite" } else { "ReadOnly" };
            writeln!(
                s,
                "        RegisterInfo {{ name: {:?}, addr: {:#04x}, access: Access::{access}, reset: {:#x}, min: {:#x}, max: {:#x}, doc: {:?} }},",
                r.name, r.addr, r.reset, r.min, r.max, r.doc
            )
            .unwrap();
        }
        writeln!(s, "    ];\n}}").unwrap();
    }
    s
}

/// A register description as a doc comment: bit ranges such as `[15:0]` escaped, or
/// rustdoc reads them as links.
fn doc_text(doc: &str) -> String {
    doc.replace('[', "\\[").replace(']', "\\]")
}
