//! `qkdbench dump` as a user pipes it.

use std::process::Command;

#[test]
fn dump_prints_the_normalised_csv_and_refuses_foreign_files() {
    let file = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/data/timestamp7/timestamp7_c14_rollover.Aa1fX.ts");
    if file.exists() {
        let out = Command::new(env!("CARGO_BIN_EXE_qkdbench")).arg("dump").arg(&file).output().unwrap();
        assert!(out.status.success());
        let text = String::from_utf8(out.stdout).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "time_ps,channel,kind");
        // 862 detections and 138 rollover dummies.
        assert_eq!(lines.len(), 1 + 1000);
        assert_eq!(lines.iter().filter(|l| l.ends_with(",overflow")).count(), 138);
        assert_eq!(lines[1], "65333011796794137,1,tag");
        let limited = Command::new(env!("CARGO_BIN_EXE_qkdbench"))
            .arg("dump")
            .arg(&file)
            .args(["--limit", "3"])
            .output()
            .unwrap();
        assert_eq!(String::from_utf8(limited.stdout).unwrap().lines().count(), 4);
    } else {
        assert!(
            std::env::var_os("QKDBENCH_REQUIRE_DATA").is_none(),
            "../shared/data is missing and QKDBENCH_REQUIRE_DATA is set"
        );
        eprintln!("skipped the real-file part: {} is absent", file.display());
    }
    let bad = std::env::temp_dir().join(format!("qkdbench-dump-{}.ptu", std::process::id()));
    std::fs::write(&bad, b"not a ptu file at all").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_qkdbench")).arg("dump").arg(&bad).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(bad.file_name().unwrap().to_str().unwrap()) && err.contains("byte 0"), "{err}");
    std::fs::remove_file(&bad).unwrap();
}
