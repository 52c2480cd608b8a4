//! FST tracing: a waveform with the `trace` feature, a clear error without it.

use rtl::{RtlError, TimeTaggerRtl};

#[test]
fn tracing_writes_a_waveform_or_says_which_feature_it_needs() {
    let path = std::env::temp_dir().join(format!("qkdbench-trace-{}.fst", std::process::id()));
    let mut tt = TimeTaggerRtl::new();
    let r = tt.trace(&path);
    if cfg!(feature = "trace") {
        r.unwrap();
        let mut out = Vec::new();
        tt.step(1000, &[], true, &mut out);
        drop(tt);
        assert!(std::fs::metadata(&path).unwrap().len() > 100, "an FST file was written");
        std::fs::remove_file(&path).unwrap();
    } else {
        assert_eq!(r, Err(RtlError::TraceUnavailable));
        assert!(RtlError::TraceUnavailable.to_string().contains("--features rtl/trace"));
    }
}
