//! docs/register-map.md must describe exactly the registers of rtl/regmap.toml.

use rtl::regmap::{self, Access, RegisterInfo};

fn rows_of(doc: &str, heading: &str) -> Vec<(u8, String, String, u64)> {
    let start = doc.find(heading).unwrap_or_else(|| panic!("docs/register-map.md has no section {heading:?}"));
    let section = &doc[start + heading.len()..];
    let end = section.find("\n## ").unwrap_or(section.len());
    section[..end]
        .lines()
        .filter(|l| l.starts_with("| 0x"))
        .map(|l| {
            let cells: Vec<&str> = l.split('|').map(str::trim).collect();
            let parse = |s: &str| u64::from_str_radix(s.trim_start_matches("0x"), 16).expect("hex");
            (parse(cells[1]) as u8, cells[2].to_string(), cells[3].to_string(), parse(cells[4]))
        })
        .collect()
}

fn check(doc: &str, heading: &str, regs: &[RegisterInfo]) {
    let rows = rows_of(doc, heading);
    let want: Vec<(u8, String, String, u64)> = regs
        .iter()
        .map(|r| {
            let access = if r.access == Access::ReadWrite { "rw" } else { "ro" };
            (r.addr, r.name.to_string(), access.to_string(), r.reset)
        })
        .collect();
    assert_eq!(rows, want, "the table under {heading:?} disagrees with rtl/regmap.toml");
}

#[test]
fn register_map_doc_matches_the_source() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/register-map.md");
    let doc = std::fs::read_to_string(path).expect("docs/register-map.md");
    check(&doc, "## Pattern generator registers", regmap::pattern_gen::REGISTERS);
    check(&doc, "## Time tagger registers", regmap::time_tagger::REGISTERS);
}
