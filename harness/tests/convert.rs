//! `qkdbench convert`: the real PTU and timestamp7 files into recordings (which `dump`
//! reads back event for event) and into Photon-HDF5 (which h5py, and phconvert's own
//! validator where installed, accept); bad input leaves no output behind.

use std::path::{Path, PathBuf};
use std::process::Command;

fn qkdbench(args: &[&std::ffi::OsStr]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_qkdbench")).args(args).output().expect("run qkdbench")
}

fn shared(rel: &str) -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data").join(rel);
    if p.exists() {
        Some(p)
    } else {
        assert!(
            std::env::var_os("QKDBENCH_REQUIRE_DATA").is_none(),
            "../shared/data is missing and QKDBENCH_REQUIRE_DATA is set"
        );
        eprintln!("skipped: {} is absent", p.display());
        None
    }
}

#[path = "../../tests/common/scratch.rs"]
mod common_scratch;

fn scratch(name: &str) -> common_scratch::Scratch {
    common_scratch::scratch_file("convert", name)
}

fn dump(file: &Path) -> Vec<String> {
    let out = qkdbench(&["dump".as_ref(), file.as_os_str()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().lines().map(str::to_string).collect()
}

/// `qkdbench convert --to photon-hdf5 INPUT OUT`.
fn to_photon_hdf5(input: &Path, out: &Path) -> std::process::Output {
    qkdbench(&["convert".as_ref(), "--to".as_ref(), "photon-hdf5".as_ref(), input.as_os_str(), out.as_os_str()])
}

fn python(script: &str) -> String {
    let out = Command::new("python3").arg("-W").arg("ignore").arg("-c").arg(script).output().expect("python3");
    assert!(out.status.success(), "python check failed:\n{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn converted_files_dump_the_same_events_as_the_originals() {
    for rel in [
        "ptu/hydraharp_v2_t2.ptu",
        "ptu/hydraharp_v2_t3_image_markers.ptu",
        "timestamp7/timestamp7_c1234.Aa1.ts",
        "timestamp7/timestamp7_c14_rollover.Aa1fX.ts",
    ] {
        let Some(input) = shared(rel) else { continue };
        let out = scratch(&format!("{}.h5", input.file_name().unwrap().to_str().unwrap()));
        let r = qkdbench(&["convert".as_ref(), input.as_os_str(), out.as_os_str()]);
        assert!(r.status.success(), "{rel}: {}", String::from_utf8_lossy(&r.stderr));
        // Overflow records only carry time forward; a recording's times are absolute.
        let original: Vec<String> = dump(&input).into_iter().filter(|l| !l.ends_with(",overflow")).collect();
        let converted = dump(&out);
        assert!(original.len() > 800, "{rel}: {} rows", original.len());
        assert_eq!(converted.len(), original.len(), "{rel}");
        if let Some(i) = (0..original.len()).find(|&i| original[i] != converted[i]) {
            panic!("{rel}: row {i}: {} became {}", original[i], converted[i]);
        }
        assert!(!out.with_extension("h5.partial").exists());
    }
}

/// Every real PTU file converted, read back with h5py, against PicoQuant's records as
/// decoded by an independent reader (ptufile, Christoph Gohlke's): same detections and
/// markers in the same order, channels as docs/recording-schema.md numbers them (inputs
/// one up, markers 128 + bits), and every time equal to the documented rule computed here
/// with Python's exact fractions: the header's float64 resolutions times the counts (sync
/// count and micro-time in T3), rounded to the nearest picosecond, ties to even.
#[test]
fn converted_ptu_files_equal_an_independent_readers_records() {
    for name in [
        "hydraharp_v2_t2",
        "picoharp300_t2",
        "hydraharp_v1_t3",
        "hydraharp_v2_t3_image_markers",
        "picoharp300_t3_flim_markers",
    ] {
        let Some(input) = shared(&format!("ptu/{name}.ptu")) else { continue };
        let out = scratch(&format!("{name}.independent.h5"));
        let r = qkdbench(&["convert".as_ref(), input.as_os_str(), out.as_os_str()]);
        assert!(r.status.success(), "{name}: {}", String::from_utf8_lossy(&r.stderr));
        let report = python(&format!(
            r#"
import sys
try:
    import ptufile
except ImportError:
    sys.exit("ptufile is missing: run scripts/setup.sh (it installs ptufile from PyPI)")
import h5py, numpy as np
p = ptufile.PtuFile({src:?})
r = p.decode_records()
t3 = p.measurement_mode == 3
keep = (r["channel"] >= 0) | (r["marker"] != 0)
r = r[keep]
want_ch = np.where(r["marker"] != 0, 128 + r["marker"].astype(np.int64), r["channel"].astype(np.int64) + 1)
# The documented rule: the header's float64 resolutions as exact rationals, times the
# counts, in ps, rounded to the nearest, ties to even (Python's round of a Fraction).
from fractions import Fraction
h = p.tags
g = Fraction(h["MeasDesc_GlobalResolution"]) * 10**12
u = Fraction(h["MeasDesc_Resolution"]) * 10**12 if t3 else Fraction(0)
import math
den = g.denominator * u.denominator // math.gcd(g.denominator, u.denominator)
G, U = int(g * den), int(u * den)
dts = np.where(r["dtime"] >= 0, r["dtime"], 0) if t3 else np.zeros(len(r), dtype=np.int64)
want_ps, ties = [], 0
for n, d in zip(r["time"].tolist(), dts.tolist()):
    q, rem = divmod(n * G + d * U, den)
    ties += 2 * rem == den
    want_ps.append(q + (2 * rem > den or (2 * rem == den and q % 2 == 1)))
want_ps = np.array(want_ps, dtype=np.int64)
with h5py.File({out:?}, "r") as f:
    ch = f["tags/channel"][:].astype(np.int64)
    ps = f["tags/time_ps"][:].astype(np.int64)
assert len(ch) == len(want_ch), (len(ch), len(want_ch))
bad = np.nonzero(ch != want_ch)[0]
assert len(bad) == 0, ("channel differs at row", int(bad[0]), int(ch[bad[0]]), int(want_ch[bad[0]]))
bad = np.nonzero(ps != want_ps)[0]
assert len(bad) == 0, ("time differs at row", int(bad[0]), int(ps[bad[0]]), int(want_ps[bad[0]]))
print(len(ch), ties, int((ch >= 128).sum()))
"#,
            src = input.to_str().unwrap(),
            out = out.to_str().unwrap(),
        ));
        let v: Vec<&str> = report.split_whitespace().collect();
        assert!(v[0].parse::<u64>().unwrap() > 10_000, "{name}: {report}");
        eprintln!(
            "{name}: {} rows equal to the exact rule, {} exact half-picosecond ties, {} markers",
            v[0], v[1], v[2]
        );
    }
}

#[test]
fn a_ptu_header_is_kept_and_markers_survive_in_a_recording() {
    let Some(input) = shared("ptu/hydraharp_v2_t3_image_markers.ptu") else { return };
    let out = scratch("t3.h5");
    assert!(qkdbench(&["convert".as_ref(), input.as_os_str(), out.as_os_str()]).status.success());
    let report = python(&format!(
        r#"
import h5py
f = h5py.File({path:?}, "r")
h = f["source_header"].attrs
c = f["tags/channel"][:]
print(int(h["TTResult_SyncRate"]), h["MeasDesc_GlobalResolution"], int((c >= 128).sum()), f.attrs["run_status"], f.attrs["pulse_rate_hz"])
assert "HydraHarp V2 T3" in f.attrs["source"] or "T3" in f.attrs["source"], f.attrs["source"]
"#,
        path = out.to_str().unwrap()
    ));
    let v: Vec<&str> = report.split_whitespace().collect();
    assert_eq!(v[0], "39999960", "{report}");
    assert!((v[1].parse::<f64>().unwrap() - 2.5e-8).abs() < 1e-12, "{report}");
    assert_eq!(v[2], "100", "the file's 100 markers: {report}");
    assert_eq!(v[3], "complete");
    assert_eq!(v[4], "39999960.0");
}

#[test]
fn photon_hdf5_export_is_valid_and_complete() {
    // A T3 file (a laser's repetition rate: its sync period) and a T2 file (no laser rate:
    // TTResult_SyncRate there is input 0's count rate).
    for (name, t3) in [("hydraharp_v2_t3_image_markers", true), ("picoharp300_t2", false)] {
        let Some(input) = shared(&format!("ptu/{name}.ptu")) else { return };
        let out = scratch(&format!("{name}.photon.h5"));
        let r = to_photon_hdf5(&input, &out);
        assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
        let tags = dump(&input).iter().filter(|l| l.ends_with(",tag")).count();
        let report = python(&format!(
            r#"
import h5py, numpy as np
f = h5py.File({path:?}, "r")
pd = f["photon_data"]
t, d = pd["timestamps"][:], pd["detectors"][:]
assert (t[1:] >= t[:-1]).all(), "time order"
assert f["identity/format_name"][()] == b"Photon-HDF5" and f["identity/format_version"][()] == b"0.5"
# The root format fields and attributes phconvert writes; the final file name.
assert f["format_name"][()] == b"Photon-HDF5" and f["format_version"][()] == b"0.5"
assert f.attrs["format_name"] == b"Photon-HDF5" and f.attrs["format_url"] == b"http://photon-hdf5.org/"
assert f["identity/filename"][()] == {fname:?}.encode(), f["identity/filename"][()]
# Setup flags as integers, as phconvert writes them (tttrlib cannot read HDF5 booleans).
for k in ["lifetime", "modulated_excitation", "excitation_cw", "excitation_alternated"]:
    assert f["setup/" + k].dtype.kind == "i", (k, f["setup/" + k].dtype)
if {t3}:
    src = 1 / 2.5000025e-08  # the file's MeasDesc_GlobalResolution: the sync period
    assert abs(pd["measurement_specs/laser_repetition_rate"][()] - src) < 1e-3
    assert list(f["setup/excitation_cw"][:]) == [0]
    assert b"100 markers" in f["description"][()], f["description"][()]
    # TCSPC kept: timestamps in syncs, micro-times as nanotimes, against ptufile's records.
    assert abs(pd["timestamps_specs/timestamps_unit"][()] - 2.5000025e-08) < 1e-15 and f["setup/lifetime"][()] == 1
    ns = pd["nanotimes_specs"]
    assert ns["tcspc_num_bins"][()] == 32768 and abs(ns["tcspc_unit"][()] - 16e-12) < 1e-16
    assert abs(ns["tcspc_range"][()] - 32768 * ns["tcspc_unit"][()]) < 1e-15
    import ptufile
    r = ptufile.PtuFile({src:?}).decode_records()
    r = r[(r["channel"] >= 0) & (r["marker"] == 0)]
    assert (t == r["time"].astype(np.int64)).all() and (pd["nanotimes"][:] == r["dtime"]).all()
    assert (d == r["channel"] + 1).all()
else:
    assert pd["timestamps_specs/timestamps_unit"][()] == 1e-12 and f["setup/lifetime"][()] == 0
    assert "nanotimes" not in pd
    assert "laser_repetition_rates" not in f["setup"] and "laser_repetition_rate" not in pd["measurement_specs"]
    assert list(f["setup/excitation_cw"][:]) == [1]
assert list(f["setup/detectors/counts"][:]) == [int((d == i).sum()) for i in f["setup/detectors/id"][:]]
assert f["setup/num_pixels"][()] == len(set(d.tolist()))
print(len(t))
try:
    import phconvert, tables
except ImportError:
    print("phconvert-absent")
else:
    assert phconvert.hdf5._check_version({path:?}) == "0.5"
    with tables.open_file({path:?}) as h:
        phconvert.hdf5.assert_valid_photon_hdf5(h, require_rootformat=True)
    phconvert.hdf5.load_photon_hdf5({path:?}).close()
    print("phconvert-valid")
try:
    import tttrlib
except ImportError:
    print("tttrlib-absent")
else:
    x = tttrlib.TTTR({path:?}, "PHOTON-HDF5")
    assert x.header.macro_time_resolution == pd["timestamps_specs/timestamps_unit"][()]
    assert len(x) == len(t) and (x.macro_times[:100] == t[:100]).all()
    if {t3}:
        assert (x.micro_times == pd["nanotimes"][:]).all()
    print("tttrlib-reads")
"#,
            path = out.to_str().unwrap(),
            src = input.to_str().unwrap(),
            fname = out.file_name().unwrap().to_str().unwrap(),
            t3 = if t3 { "True" } else { "False" },
        ));
        let mut lines = report.lines();
        assert_eq!(lines.next().unwrap().parse::<usize>().unwrap(), tags, "{name}");
        for (tool, ok) in [("phconvert", "phconvert-valid"), ("tttrlib", "tttrlib-reads")] {
            match lines.next() {
                Some(l) if l == ok => {}
                Some(l) if l == format!("{tool}-absent") => {
                    eprintln!("{tool} is not installed (optional): its check was not run (h5py checks ran)")
                }
                other => panic!("{name}: {tool}: {other:?}"),
            }
        }
    }
}

#[test]
fn bad_input_exits_2_naming_the_file_and_leaves_no_output() {
    let Some(input) = shared("ptu/hydraharp_v2_t2.ptu") else { return };
    // The header and a few records, then a cut inside a record.
    let bytes = std::fs::read(&input).unwrap();
    let cut = scratch("cut.ptu");
    std::fs::write(&cut, &bytes[..bytes.len() - 1_000_001]).unwrap();
    let out = scratch("cut.h5");
    // --strict: refused, nothing written.
    let r = qkdbench(&["convert".as_ref(), "--strict".as_ref(), cut.as_os_str(), out.as_os_str()]);
    assert_eq!(r.status.code(), Some(2));
    let err = String::from_utf8_lossy(&r.stderr);
    let cut_len = bytes.len() - 1_000_001;
    let records_start = bytes.windows(10).position(|w| w == b"Header_End").unwrap() + 48;
    let complete = (cut_len - records_start) / 4;
    let at = records_start + complete * 4;
    assert!(err.contains("cut.ptu") && err.contains(&format!("byte {at}:")), "the cut record's offset: {err}");
    assert!(err.contains(&format!("the file ends at byte {cut_len}")), "where the file ends: {err}");
    assert!(err.contains(&format!("record {complete} of the 435319")), "records announced: {err}");
    assert!(!out.exists() && !scratch("cut.h5.partial").exists(), "nothing left that looks complete");
    // Without --strict: every complete record, in a file that says `truncated`; exit 2.
    let r = qkdbench(&["convert".as_ref(), cut.as_os_str(), out.as_os_str()]);
    assert_eq!(r.status.code(), Some(2), "{}", String::from_utf8_lossy(&r.stderr));
    let rows: Vec<String> = dump(&cut_ok(&cut, at)).into_iter().filter(|l| !l.ends_with(",overflow")).collect();
    let report = python(&format!(
        "import h5py; f = h5py.File({:?}, 'r'); print(f.attrs['run_status']); print(f.attrs['tag_count'])",
        out.to_str().unwrap()
    ));
    let mut lines = report.lines();
    let status = lines.next().unwrap();
    assert!(
        status.starts_with("truncated: ") && status.contains(&format!("record {complete} of the 435319")),
        "{status}"
    );
    assert_eq!(lines.next().unwrap().parse::<usize>().unwrap(), rows.len() - 1, "every complete detection");

    let foreign = scratch("foreign.h5");
    std::fs::write(&foreign, b"\x89HDF\r\n\x1a\nnot really").unwrap();
    let out = scratch("from-foreign.h5");
    let r = qkdbench(&["convert".as_ref(), foreign.as_os_str(), out.as_os_str()]);
    assert_eq!(r.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&r.stderr).contains("foreign.h5"));
    assert!(!out.exists());
}

/// The first `len` bytes of `cut` with the header's record count set to what they hold: the
/// same records as a file that was never cut, to compare with.
fn cut_ok(cut: &Path, len: usize) -> common_scratch::Scratch {
    let mut b = std::fs::read(cut).unwrap()[..len].to_vec();
    let tag = b.windows(24).position(|w| w == b"TTResult_NumberOfRecords").unwrap();
    let start = b.windows(10).position(|w| w == b"Header_End").unwrap() + 48;
    b[tag + 40..tag + 48].copy_from_slice(&(((len - start) / 4) as i64).to_le_bytes());
    let p = scratch("cut-ok.ptu");
    std::fs::write(&p, b).unwrap();
    p
}

/// Photon-HDF5 as input: every real PTU and timestamp7 file → Photon-HDF5 → `dump` gives
/// the original's detections row for row (markers and overflow records have no place in
/// Photon-HDF5); and a Photon-HDF5 file converts on into a recording with the same rows.
#[test]
fn photon_hdf5_round_trips_give_the_same_rows() {
    for rel in [
        "ptu/hydraharp_v2_t2.ptu",
        "ptu/picoharp300_t2.ptu",
        "ptu/hydraharp_v1_t3.ptu",
        "ptu/hydraharp_v2_t3_image_markers.ptu",
        "ptu/picoharp300_t3_flim_markers.ptu",
        "timestamp7/timestamp7_c1234.Aa1.ts",
        "timestamp7/fpfind_timestamp7_c14_rollover.Aa2f.ts",
    ] {
        let Some(input) = shared(rel) else { return };
        let name = input.file_name().unwrap().to_str().unwrap().to_string();
        let ph = scratch(&format!("{name}.rt.photon.h5"));
        let r = to_photon_hdf5(&input, &ph);
        assert!(r.status.success(), "{rel}: {}", String::from_utf8_lossy(&r.stderr));
        // Markers too: they travel in /user/markers, in their place among the photons.
        let want: Vec<String> = dump(&input).into_iter().filter(|l| !l.ends_with(",overflow")).collect();
        assert!(want.len() > 800, "{rel}");
        let got = dump(&ph);
        assert_eq!(got.len(), want.len(), "{rel}");
        if let Some(i) = (0..want.len()).find(|&i| want[i] != got[i]) {
            panic!("{rel} via Photon-HDF5: row {i}: {} became {}", want[i], got[i]);
        }
        let rec = scratch(&format!("{name}.rt.h5"));
        let r = qkdbench(&["convert".as_ref(), ph.as_os_str(), rec.as_os_str()]);
        assert!(r.status.success(), "{rel}: {}", String::from_utf8_lossy(&r.stderr));
        assert_eq!(dump(&rec), want, "{rel}: Photon-HDF5 -> recording");
    }
}

/// PicoQuant's older files through the binary: `dump` of the .ht3 against tttrlib's reader
/// of it (photon for photon: sync count times 1 / the header's sync rate plus micro-time bins,
/// rounded by the documented rule in exact rationals), and both samples converted to
/// Photon-HDF5 that phconvert's validator accepts, T3 form kept, the laser rate right.
#[test]
fn legacy_picoquant_files_dump_like_tttrlib_and_convert_to_valid_photon_hdf5() {
    let Some(ht3) = shared("picoquant-legacy/hydraharp_v20.ht3") else { return };
    let Some(t3r) = shared("picoquant-legacy/timeharp200_v50.t3r") else { return };
    let rows: Vec<String> = dump(&ht3).into_iter().skip(1).filter(|l| l.ends_with(",tag")).collect();
    assert_eq!(rows.len(), 44_141);
    let report = python(&format!(
        r#"
from fractions import Fraction
try:
    import tttrlib
except ImportError:
    print("tttrlib-absent"); raise SystemExit
d = tttrlib.TTTR({ht3:?}, "HT3")
sync, bin = Fraction(1.0 / 998898) * 10**12, Fraction(16.0 / 1e12) * 10**12
for m, u, c in zip(d.macro_times, d.micro_times, d.routing_channels):
    # round() on a Fraction rounds half to even.
    print(f"{{round(int(m) * sync + int(u) * bin)}},{{int(c) + 1}},tag")
"#,
        ht3 = ht3.to_str().unwrap()
    ));
    if report.trim() == "tttrlib-absent" {
        eprintln!("skipped the tttrlib comparison: tttrlib is not installed (optional)");
    } else {
        let theirs: Vec<&str> = report.lines().collect();
        assert_eq!(theirs.len(), rows.len());
        let differ = rows.iter().zip(&theirs).filter(|(a, b)| a.as_str() != **b).count();
        assert_eq!(differ, 0, "first: {:?}", rows.iter().zip(&theirs).find(|(a, b)| a.as_str() != **b));
    }
    for (input, rate, unit, bins) in [(&ht3, 998_898.0, 1.0 / 998_898.0, 32_768), (&t3r, 4_999_168.0, 1e-7, 4_096)] {
        let name = input.file_name().unwrap().to_str().unwrap();
        let out = scratch(&format!("{name}.phdf5.h5"));
        let r = to_photon_hdf5(input, &out);
        assert!(r.status.success(), "{name}: {}", String::from_utf8_lossy(&r.stderr));
        let stderr = String::from_utf8_lossy(&r.stderr);
        assert_eq!(
            stderr.contains("note:") && stderr.contains("fewer than a record"),
            name.ends_with(".t3r"),
            "{stderr}"
        );
        let report = python(&format!(
            r#"
import h5py
f = h5py.File({out:?}, "r")
pd = f["photon_data"]
assert pd["timestamps_specs/timestamps_unit"][()] == {unit:?}, pd["timestamps_specs/timestamps_unit"][()]
assert pd["nanotimes_specs/tcspc_num_bins"][()] == {bins} and f["setup/lifetime"][()] == 1
assert pd["measurement_specs/laser_repetition_rate"][()] == {rate:?}
print(len(pd["timestamps"]))
try:
    import phconvert, tables
except ImportError:
    print("phconvert-absent"); raise SystemExit
with tables.open_file({out:?}) as h:
    phconvert.hdf5.assert_valid_photon_hdf5(h, require_rootformat=True)
print("phconvert-valid")
"#,
            out = out.to_str().unwrap()
        ));
        let mut lines = report.lines();
        let n: usize = lines.next().unwrap().parse().unwrap();
        assert_eq!(n, if name.ends_with(".ht3") { 44_141 } else { 85_571 });
        match lines.next() {
            Some("phconvert-valid") => {}
            Some("phconvert-absent") => eprintln!("phconvert is not installed (optional): validator not run"),
            other => panic!("{name}: {other:?}"),
        }
    }
}

/// A Photon-HDF5 file that phconvert wrote (not qkdbench's export: no `/user`, another
/// measurement type, a 12.5 ns unit): `dump` gives each photon at timestamp x unit in ps (by
/// hand below), `convert` makes a recording of it, and `replay` refuses it with exit 2,
/// saying that it carries no qkdbench run to sift with. Skipped without phconvert (optional).
#[test]
fn a_phconvert_written_photon_hdf5_file_dumps_and_is_refused_by_replay_clearly() {
    let file = scratch("phconvert_written.h5");
    let made = python(&format!(
        r#"
try:
    import numpy as np, phconvert as phc
except ImportError:
    print("phconvert-absent"); raise SystemExit
ts = np.array([10, 250, 1000, 1000, 123456789], dtype=np.int64)
det = np.array([0, 1, 0, 1, 1], dtype=np.uint8)
data = dict(
    description="written by phconvert for qkdbench's import test",
    photon_data=dict(timestamps=ts, detectors=det, timestamps_specs=dict(timestamps_unit=12.5e-9),
        measurement_specs=dict(measurement_type="smFRET", detectors_specs=dict(spectral_ch1=[0], spectral_ch2=[1]))),
    setup=dict(num_pixels=2, num_spots=1, num_spectral_ch=2, num_polarization_ch=1, num_split_ch=1,
        modulated_excitation=False, lifetime=False, excitation_alternated=[False], excitation_cw=[True],
        excitation_wavelengths=[532e-9], detection_wavelengths=[580e-9, 680e-9]),
    identity=dict(author="qkdbench tests", author_affiliation="qkdbench"),
)
phc.hdf5.save_photon_hdf5(data, h5_fname={path:?}, overwrite=True, close=True)
print("written")
"#,
        path = file.to_str().unwrap()
    ));
    if made.contains("phconvert-absent") {
        eprintln!("skipped: phconvert is not installed (optional: scripts/setup.sh installs it)");
        return;
    }
    // 10, 250, 1000 and 123,456,789 units of 12.5 ns (12.5e-9 is a binary fraction away from
    // 12.5 ns by 2e-25 s: the rounding takes it back to whole picoseconds).
    assert_eq!(
        dump(&file),
        [
            "time_ps,channel,kind",
            "125000,0,tag",
            "3125000,1,tag",
            "12500000,0,tag",
            "12500000,1,tag",
            "1543209862500,1,tag"
        ]
    );
    let rec = scratch("phconvert_written.rec.h5");
    let r = qkdbench(&["convert".as_ref(), file.as_os_str(), rec.as_os_str()]);
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    assert_eq!(dump(&rec), dump(&file));
    let r = qkdbench(&["replay".as_ref(), file.as_os_str()]);
    assert_eq!(r.status.code(), Some(2));
    let err = String::from_utf8_lossy(&r.stderr);
    assert!(
        err.contains("phconvert_written.h5") && err.contains("without /user/qkdbench") && err.contains("cannot sift"),
        "{err}"
    );
}

/// Photon-HDF5 input that does not hold together is an error naming the file and what is
/// wrong (exit 2), never clamped or dropped: markers placed beyond the photons, marker bits
/// outside 1..=127, `/user/markers` that is no group, loss events beyond the tags, times
/// beyond 64-bit picoseconds. A single-detector file without `detectors` (the spec allows
/// it) reads as detector 0. Built from a real PTU file's export with markers.
#[test]
fn damaged_photon_hdf5_is_an_error_and_a_detectorless_file_reads() {
    let Some(input) = shared("ptu/hydraharp_v2_t3_image_markers.ptu") else { return };
    let good = scratch("markers.photon.h5");
    let r = to_photon_hdf5(&input, &good);
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let cases = [
        ("beyond", "m = f['user/markers/photon_index']; m[-1] = 10**9", "is beyond the"),
        ("bits0", "f['user/markers/ids'][0] = 0", "not in 1..=127"),
        ("bits200", "f['user/markers/ids'][0] = 200", "not in 1..=127"),
        ("notgroup", "del f['user/markers']; f['user/markers'] = [1, 2, 3]", "not a group"),
        ("huge", "t = f['photon_data/timestamps']; t[5] = 2**62", "does not fit in 64-bit picoseconds"),
    ];
    for (name, damage, needle) in cases {
        let bad = scratch(&format!("{name}.photon.h5"));
        std::fs::copy(&good, &bad).unwrap();
        python(&format!("import h5py\nf = h5py.File({:?}, 'r+')\n{damage}\nf.close()", bad.to_str().unwrap()));
        let out = qkdbench(&["dump".as_ref(), bad.as_os_str()]);
        assert_eq!(out.status.code(), Some(2), "{name}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(&format!("{name}.photon.h5")) && err.contains(needle), "{name}: {err}");
    }
    // Without `detectors`: every photon on detector 0, times as before.
    let nodet = scratch("nodet.photon.h5");
    std::fs::copy(&good, &nodet).unwrap();
    python(&format!(
        "import h5py\nf = h5py.File({:?}, 'r+')\ndel f['photon_data/detectors']\nf.close()",
        nodet.to_str().unwrap()
    ));
    let (a, b) = (dump(&good), dump(&nodet));
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(&b).skip(1) {
        let (xs, ys): (Vec<&str>, Vec<&str>) = (x.split(',').collect(), y.split(',').collect());
        assert_eq!(xs[0], ys[0]);
        if xs[2] == "tag" {
            assert_eq!(ys[1], "0", "{y}");
        }
    }
}

/// A source that is not complete makes a Photon-HDF5 file whose root `run_status` says so
/// (a recording converted from a cut file: `truncated`; its export: not `complete`), and
/// an output that cannot be written is exit 1 (`dump > /dev/full`).
#[test]
fn incomplete_sources_make_photon_hdf5_that_says_so_and_a_full_stdout_is_exit_1() {
    let Some(input) = shared("picoquant-legacy/hydraharp_v20.ht3") else { return };
    let bytes = std::fs::read(&input).unwrap();
    let cut = scratch("cut.ht3");
    std::fs::write(&cut, &bytes[..100_002]).unwrap();
    let rec = scratch("cut.rec.h5");
    let r = qkdbench(&["convert".as_ref(), cut.as_os_str(), rec.as_os_str()]);
    assert_eq!(r.status.code(), Some(2), "{}", String::from_utf8_lossy(&r.stderr));
    let ph = scratch("cut.photon.h5");
    let r = to_photon_hdf5(&rec, &ph);
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let status = python(&format!(
        "import h5py\nf = h5py.File({:?}, 'r')\nprint(f.attrs['run_status'].decode())\nprint(f['description'][()].decode()[:14])",
        ph.to_str().unwrap()
    ));
    assert!(
        status.starts_with("aborted: converted from a truncated file:") && status.contains("byte 100000"),
        "{status}"
    );
    assert!(status.contains("NOT COMPLETE"), "{status}");
    let back = scratch("cut.back.h5");
    let r = qkdbench(&["convert".as_ref(), ph.as_os_str(), back.as_os_str()]);
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let status =
        python(&format!("import h5py\nprint(h5py.File({:?}, 'r').attrs['run_status'])", back.to_str().unwrap()));
    assert!(status.starts_with("aborted: converted from a truncated file:"), "{status}");
    if std::path::Path::new("/dev/full").exists() {
        let out = Command::new(env!("CARGO_BIN_EXE_qkdbench"))
            .arg("dump")
            .arg(&input)
            .stdout(std::fs::File::create("/dev/full").unwrap())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    }
}
