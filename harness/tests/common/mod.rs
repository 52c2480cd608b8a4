//! Helpers shared by the end-to-end tests.

/// The value of `key` on the `tags=... events=... gated=... sifted=... errors=...` summary
/// line `qkdbench record` prints last.
pub fn record_summary(stdout: &str, key: &str) -> u64 {
    let line = stdout.lines().find(|l| l.starts_with("tags=")).unwrap_or_else(|| panic!("no summary line in {stdout}"));
    line.split(' ')
        .find_map(|kv| kv.strip_prefix(key).and_then(|v| v.strip_prefix('=')))
        .unwrap_or_else(|| panic!("no {key} in {line}"))
        .parse()
        .expect("a count")
}
