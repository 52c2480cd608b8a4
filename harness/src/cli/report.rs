//! `qkdbench report F.h5`: a self-contained HTML page (and a summary.md) for a recording; and
//! the pages `qkdbench run --report DIR` writes.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::Args;
use harness::html;
use harness::scenario::RunRecord;

use super::session_error;

/// Arguments of `qkdbench report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Recordings (made by `record`, or by `run --record`).
    #[arg(required = true, value_name = "F.h5")]
    files: Vec<PathBuf>,
    /// Folder for the pages (created; default: beside each file).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Also print the figures of each report as JSON (one object per line).
    #[arg(long)]
    json: bool,
}

fn page_path(file: &Path, out: Option<&Path>) -> PathBuf {
    let stem = file.file_stem().and_then(|s| s.to_str()).unwrap_or("recording");
    let dir = out.map(Path::to_path_buf).unwrap_or_else(|| file.parent().map(Path::to_path_buf).unwrap_or_default());
    dir.join(format!("{stem}.html"))
}

/// Runs `qkdbench report`.
pub fn run(args: ReportArgs) -> Result<()> {
    if let Some(dir) = &args.out {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let mut summary = String::from("## qkdbench report\n\n");
    let mut used = std::collections::HashSet::new();
    for f in &args.files {
        let r = html::recording_report(f).map_err(session_error)?;
        // Files of the same name from different folders (run --record makes them) get
        // pages of their own: the folder joins the name.
        let mut page = page_path(f, args.out.as_deref());
        if !used.insert(page.clone()) {
            let parent = f.parent().and_then(|p| p.file_name()).and_then(|n| n.to_str()).unwrap_or("dup");
            let stem = f.file_stem().and_then(|s| s.to_str()).unwrap_or("recording");
            let mut n = 1;
            loop {
                let name = if n == 1 { format!("{parent}-{stem}.html") } else { format!("{parent}-{stem}-{n}.html") };
                page = page.with_file_name(name);
                if used.insert(page.clone()) {
                    break;
                }
                n += 1;
            }
        }
        std::fs::write(&page, &r.html).with_context(|| format!("writing {}", page.display()))?;
        summary.push_str(&r.markdown);
        summary.push('\n');
        if args.json {
            super::emit(&(serde_json::to_string(&r)? + "\n"))?;
        } else {
            super::errln!("qkdbench report: {} -> {}", f.display(), page.display());
        }
    }
    let dir = args
        .out
        .clone()
        .unwrap_or_else(|| page_path(&args.files[0], None).parent().map(Path::to_path_buf).unwrap_or_default());
    let md = dir.join("summary.md");
    std::fs::write(&md, summary).with_context(|| format!("writing {}", md.display()))?;
    Ok(())
}

/// `run --report DIR`: a page per scenario, a page per recording the run made, summary.md.
pub fn scenario_reports(run: &RunRecord, dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    for s in &run.scenarios {
        let page = dir.join(format!("{}.html", slug(&s.name)));
        std::fs::write(&page, html::scenario_page(s)).with_context(|| format!("writing {}", page.display()))?;
        for p in &s.phases {
            for st in &p.steps {
                let Some(rec) = &st.recording else { continue };
                let sub = dir.join(slug(&s.name));
                std::fs::create_dir_all(&sub).with_context(|| format!("creating {}", sub.display()))?;
                match html::recording_report(rec) {
                    Ok(r) => {
                        let page = page_path(rec, Some(&sub));
                        std::fs::write(&page, &r.html).with_context(|| format!("writing {}", page.display()))?;
                    }
                    Err(e) => super::errln!("qkdbench run: no page for {}: {e}", rec.display()),
                }
            }
        }
    }
    let md = dir.join("summary.md");
    std::fs::write(&md, html::summary_md(run)).with_context(|| format!("writing {}", md.display()))?;
    Ok(())
}

fn slug(s: &str) -> String {
    s.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '_' }).collect()
}
