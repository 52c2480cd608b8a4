//! Self-contained HTML reports (inline SVG, no scripts, no external files), and the Markdown
//! summary for a CI job: one page per recording (`qkdbench report F.h5`), one per scenario
//! (`qkdbench run --report DIR`).

pub mod page;
pub mod svg;

pub use page::{recording_report, scenario_page, summary_md, RecordingReport};
