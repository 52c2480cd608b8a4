//! Scratch paths for tests, removed when the test passes and kept after a failure (to look
//! at): the suite must not fill the disk run after run. Shared by every test crate through
//! `#[path]` so that it is written once.
#![allow(dead_code)] // each test crate uses part of it

use std::path::{Path, PathBuf};

/// A scratch folder or file; removed on drop unless the thread is panicking.
pub struct Scratch {
    path: PathBuf,
    is_dir: bool,
}

/// A fresh, empty folder `qkdbench-<suite>-<pid>-<name>` in the temporary directory.
pub fn scratch_dir(suite: &str, name: &str) -> Scratch {
    let path = std::env::temp_dir().join(format!("qkdbench-{suite}-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&path);
    std::fs::create_dir_all(&path).unwrap();
    Scratch { path, is_dir: true }
}

/// A file path `qkdbench-<suite>-<pid>/<name>` (the folder is created, the file is not).
pub fn scratch_file(suite: &str, name: &str) -> Scratch {
    let dir = std::env::temp_dir().join(format!("qkdbench-{suite}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    Scratch { path: dir.join(name), is_dir: false }
}

impl std::ops::Deref for Scratch {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.path
    }
}

impl AsRef<Path> for Scratch {
    fn as_ref(&self) -> &Path {
        &self.path
    }
}

impl AsRef<std::ffi::OsStr> for Scratch {
    fn as_ref(&self) -> &std::ffi::OsStr {
        self.path.as_os_str()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if std::thread::panicking() {
            return;
        }
        if self.is_dir {
            let _ = std::fs::remove_dir_all(&self.path);
        } else {
            let _ = std::fs::remove_file(&self.path);
            let mut partial = self.path.clone().into_os_string();
            partial.push(".partial");
            let _ = std::fs::remove_file(partial);
            // The shared folder stays (empty): tests running in parallel may be about to
            // write into it.
        }
    }
}
