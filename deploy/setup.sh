#!/usr/bin/env bash
# Sets up malsori on Debian / Raspberry Pi OS: system packages, a virtual environment in
# .venv with malsori installed into it. Safe to run again.
#   bash deploy/setup.sh           # the kiosk and the CLI (+ torch for training on x86_64)
#   bash deploy/setup.sh --train   # with torch for training, on any machine
#   bash deploy/setup.sh --dev     # plus the test tools (and torch)
set -euo pipefail
cd "$(dirname "$0")/.."

dev=0
train=0
for arg in "$@"; do
  case "$arg" in
    --dev) dev=1 ;;
    --train) train=1 ;;
    *) echo "malsori setup: unknown option $arg (use --dev or --train)" >&2; exit 2 ;;
  esac
done

apt_packages=(python3-venv python3-dev libportaudio2 libsndfile1 espeak-ng ffmpeg sox alsa-utils
              fonts-nanum xvfb libxkbcommon-x11-0 libxcb-icccm4 libxcb-image0 libxcb-keysyms1
              libxcb-randr0 libxcb-render-util0 libxcb-xinerama0 libxcb-xfixes0 libxcb-shape0
              libxcb-cursor0 libgl1 libegl1 libdbus-1-3 libfontconfig1)

# --dev: the human recordings and English voices of `malsori make-realset` (the real-voice set);
# festvox-kdlpc16k (ked) is `make-corpus --engines festival`'s training voice
if [ $dev -eq 1 ]; then
  apt_packages+=(klettres-data asterisk-core-sounds-en asterisk-core-sounds-en-wav pocketsphinx-testdata
                 festival festvox-kallpc16k festvox-us-slt-hts festvox-kdlpc16k)
fi

# PyPI has no PyQt5 (nor webrtcvad-wheels) wheels for ARM: on a Pi, Qt comes from Debian
# and the venv sees Debian's python3-pyqt5; webrtcvad builds from source (a small C module).
python=${PYTHON:-python3}
venv_flags=()
# torch only trains: the kiosk and `malsori score` run the networks in numpy. A PC gets it
# (the CPU build, pinned by constraints.txt); a Pi does not unless asked: PyPI's aarch64
# torch is the CUDA build, gigabytes a Pi can neither use nor spare.
case "$(uname -m)" in
  aarch64|armv7l)
    apt_packages+=(python3-pyqt5 python3-pyqt5.qtsvg build-essential)  # QtSvg: matplotlib's Qt backend
    python=${PYTHON:-/usr/bin/python3}
    venv_flags=(--system-site-packages)
    ;;
  *) train=1 ;;
esac

missing=()
for p in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  echo "malsori setup: installing system packages: ${missing[*]}"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

[ -x .venv/bin/python ] || "$python" -m venv "${venv_flags[@]}" .venv
.venv/bin/python -m pip install -q --upgrade pip
extras=()
[ $train -eq 1 ] && extras+=(train)
[ $dev -eq 1 ] && extras+=(dev)
spec="."
[ ${#extras[@]} -gt 0 ] && spec=".[$(IFS=,; echo "${extras[*]}")]"
[ $train -eq 0 ] && [ $dev -eq 0 ] && echo "malsori setup: without torch (the kiosk and 'malsori score' do not need it; training does: --train)"
# constraints.txt pins torch to the CPU build on x86_64.
.venv/bin/python -m pip install -q -c constraints.txt -e "$spec"
.venv/bin/python -c "import PyQt5.QtWidgets, PyQt5.QtSvg" || { echo "malsori setup: PyQt5 does not import" >&2; exit 1; }
# Offline reference voices for the shipped word lists (espeak-ng; ~5 s, ~5 MB, git-ignored).
.venv/bin/malsori tts --list assets/wordlists/*.csv --precache --engine espeak --cache-dir assets/references
echo "malsori setup: done (.venv/bin/malsori)"
