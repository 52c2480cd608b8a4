#!/usr/bin/env bash
# Installs what qkdbench needs on Debian 12 / Ubuntu 22.04 or newer, and only what is missing.
# Safe to run again. Uses sudo when not root. Prints what it does.
set -euo pipefail

need=()
have_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
# Verilator builds the simulated FPGAs; g++ compiles the verilated models; libhdf5-dev is
# the HDF5 library recordings are written with; python3 (with h5py, below) reads them back
# in the tests, as a user's analysis would; tmux runs the live TUI in the end-to-end test.
for pkg in verilator g++ make pkg-config python3 python3-pip libhdf5-dev tmux; do
  have_pkg "$pkg" || need+=("$pkg")
done

if ((${#need[@]})); then
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
  echo "setup: installing ${need[*]}" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
else
  echo "setup: system packages present" >&2
fi

if ! python3 -c "import h5py" >/dev/null 2>&1; then
  echo "setup: installing h5py (PyPI)" >&2
  python3 -m pip install --quiet h5py 2>/dev/null || python3 -m pip install --quiet --break-system-packages h5py
fi

# phconvert (the Photon-HDF5 reference implementation) validates qkdbench's Photon-HDF5
# export in the tests. Optional: without it those tests run their h5py checks only.
if ! python3 -c "import phconvert" >/dev/null 2>&1; then
  echo "setup: installing phconvert (PyPI, optional)" >&2
  python3 -m pip install --quiet phconvert 2>/dev/null || python3 -m pip install --quiet --break-system-packages phconvert \
    || echo "setup: phconvert not installed; the Photon-HDF5 tests will say so" >&2
fi

# tttrlib (a second Photon-HDF5 reader) checks the export's time unit. Optional, like phconvert.
if ! python3 -c "import tttrlib" >/dev/null 2>&1; then
  echo "setup: installing tttrlib (PyPI, optional)" >&2
  python3 -m pip install --quiet tttrlib 2>/dev/null || python3 -m pip install --quiet --break-system-packages tttrlib \
    || echo "setup: tttrlib not installed; the Photon-HDF5 tests will say so" >&2
fi

# junitparser reads the JUnit XML of `qkdbench run` in the tests, as a CI system would.
if ! python3 -c "import junitparser" >/dev/null 2>&1; then
  echo "setup: installing junitparser (PyPI)" >&2
  python3 -m pip install --quiet junitparser 2>/dev/null || python3 -m pip install --quiet --break-system-packages junitparser
fi

# ptufile (an independent PicoQuant reader) is the oracle the import tests compare against.
if ! python3 -c "import ptufile" >/dev/null 2>&1; then
  echo "setup: installing ptufile (PyPI)" >&2
  python3 -m pip install --quiet ptufile 2>/dev/null || python3 -m pip install --quiet --break-system-packages ptufile
fi

if ! command -v cargo >/dev/null 2>&1; then
  echo "setup: qkdbench needs a Rust toolchain (cargo, Rust >= 1.88); install it with rustup." >&2
  exit 1
fi
