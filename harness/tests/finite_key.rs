//! `qkdbench keyrate` as a user runs it, against the independent 50-digit vectors of
//! engine/tests/vectors (the library itself is checked against them in engine/tests).

use serde_json::Value;

#[path = "../../engine/tests/vectors/mod.rs"]
mod vectors;
use vectors::{close, vectors};

#[test]
fn keyrate_cli_prints_json_and_refuses_bad_fields_with_exit_2() {
    let dir = std::env::temp_dir().join(format!("qkdbench-keyrate-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let good = dir.join("good.json");
    let v = vectors();
    std::fs::write(&good, v[0]["input"].to_string()).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_qkdbench"))
        .args(["keyrate", "--input"])
        .arg(&good)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // Every vector through the binary, from a file and from standard input: the values, not
    // only the keys, against the independent 50-digit evaluation.
    for vector in &v {
        let name = vector["name"].as_str().unwrap();
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_qkdbench"))
            .args(["keyrate", "--input", "-"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        std::io::Write::write_all(&mut child.stdin.take().unwrap(), vector["input"].to_string().as_bytes()).unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{name}");
        let json: Value = serde_json::from_slice(&out.stdout).unwrap();
        let e = &vector["expected"];
        for key in ["s_x0", "s_x1", "s_z0", "s_z1", "v_z1", "phi_x", "lambda_ec", "qber_x"] {
            close(json[key].as_f64().unwrap(), e[key].as_f64().unwrap(), &format!("{name}: {key} through the binary"));
        }
        let want = e["key_length_raw_bits"].as_f64().map_or(0, |k| if k > 0.0 { k.floor() as u64 } else { 0 });
        assert_eq!(json["key_length_bits"].as_u64(), Some(want), "{name}");
    }
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    close(json["s_x1"].as_f64().unwrap(), v[0]["expected"]["s_x1"].as_f64().unwrap(), "from a file");
    let mut bad = v[0]["input"].clone();
    bad["mu"] = serde_json::json!([0.1, 0.5, 0.0]);
    let cases = [
        (bad.to_string(), "mu"),
        (v[0]["input"].to_string().replace("\"p\"", "\"probabilities\""), "probabilities"),
        ("{\"mu\": [0.5, 0.1,".to_string(), "line 1"),
    ];
    for (text, named) in cases {
        let f = dir.join("bad.json");
        std::fs::write(&f, &text).unwrap();
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_qkdbench"))
            .args(["keyrate", "--input"])
            .arg(&f)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{text}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(named), "error for {text:?} does not name {named:?}: {err}");
        assert!(out.stdout.is_empty(), "no output on error");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
