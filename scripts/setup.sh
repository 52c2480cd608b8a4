#!/usr/bin/env bash
# Installs what qkdbench needs on Debian 12 / Ubuntu 22.04 or newer, and only what is missing.
# Safe to run again. Uses sudo when not root. Prints what it does.
set -euo pipefail

need=()
have_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
# Verilator builds the simulated FPGAs; g++ compiles the verilated models; python3 runs
# the helper scripts of the test suite.
for pkg in verilator g++ make pkg-config python3; do
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

if ! command -v cargo >/dev/null 2>&1; then
  echo "setup: qkdbench needs a Rust toolchain (cargo, Rust >= 1.80); install it with rustup." >&2
  exit 1
fi
