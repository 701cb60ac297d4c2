#!/usr/bin/env bash
# Installs what building and testing fp4moe needs on a Debian/Ubuntu machine: the apt packages of
# tools/apt-packages.txt that are missing (non-interactive; as root, or through sudo), then the pip
# requirements of tools/pip-requirements.txt when that file exists. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

# One package per line; blank lines and # comments allowed.
mapfile -t packages < <(sed -e 's/#.*//' -e 's/[[:space:]]//g' tools/apt-packages.txt | sed '/^$/d' | sort -u)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]}"
  as_root=()
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "install-deps: need root or sudo to install ${missing[*]}" >&2; exit 1; }
    as_root=(sudo)
  fi
  "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
  "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
else
  echo "install-deps: apt packages present (${#packages[@]})"
fi

if [ -f tools/pip-requirements.txt ]; then
  echo "install-deps: pip install -r tools/pip-requirements.txt"
  PIP_ROOT_USER_ACTION=ignore python3 -m pip install --quiet --disable-pip-version-check -r tools/pip-requirements.txt
fi
