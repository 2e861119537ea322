#!/usr/bin/env bash
# Installs the malsori kiosk to start at boot on Raspberry Pi OS Bookworm (labwc desktop).
#   bash deploy/install-kiosk.sh              # install (safe to run again)
#   bash deploy/install-kiosk.sh --uninstall  # remove the unit and the autostart entry
# Run it as the user the kiosk runs as (not root). It:
#   1. sets up .venv if it is missing (deploy/setup.sh),
#   2. writes ~/.config/systemd/user/malsori-kiosk.service (restart on crash),
#   3. adds a marked block to ~/.config/labwc/autostart that starts the unit at login,
#   4. where raspi-config exists and --autologin is given, turns on desktop autologin so a
#      reboot comes back to the kiosk without anyone typing a password.
# MALSORI_NO_SYSTEMCTL=1 skips the systemctl calls (tests, images built offline).
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
unit_dir="${XDG_CONFIG_HOME:-$HOME/.config}/systemd/user"
unit="$unit_dir/malsori-kiosk.service"
autostart_dir="${XDG_CONFIG_HOME:-$HOME/.config}/labwc"
autostart="$autostart_dir/autostart"
begin="# >>> malsori kiosk >>>"
end="# <<< malsori kiosk <<<"

mode=install
autologin=0
for arg in "$@"; do
  case "$arg" in
    --uninstall) mode=uninstall ;;
    --autologin) autologin=1 ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) echo "install-kiosk: unknown option $arg" >&2; exit 2 ;;
  esac
done

systemctl_user() {
  if [ "${MALSORI_NO_SYSTEMCTL:-0}" = 1 ]; then return 0; fi
  systemctl --user "$@" || echo "install-kiosk: note: 'systemctl --user $*' failed (no user session?); it takes effect at the next login"
}

remove_block() {  # drop our marked block from the autostart file, keep everything else
  [ -f "$autostart" ] || return 0
  awk -v b="$begin" -v e="$end" '$0==b{skip=1} !skip{print} $0==e{skip=0}' "$autostart" > "$autostart.tmp"
  mv "$autostart.tmp" "$autostart"
}

if [ "$mode" = uninstall ]; then
  systemctl_user stop malsori-kiosk.service
  rm -f "$unit"
  remove_block
  systemctl_user daemon-reload
  echo "install-kiosk: removed the kiosk unit and autostart entry"
  exit 0
fi

if [ "$(id -u)" -eq 0 ] && [ "${MALSORI_NO_SYSTEMCTL:-0}" != 1 ]; then
  echo "install-kiosk: run this as the kiosk user, not root (it installs a user unit)" >&2
  exit 2
fi
[ -x "$repo/.venv/bin/malsori" ] || bash "$repo/deploy/setup.sh"

mkdir -p "$unit_dir" "$autostart_dir"
sed "s|@REPO@|$repo|g" "$repo/deploy/malsori-kiosk.service" > "$unit.tmp"
mv "$unit.tmp" "$unit"
remove_block
{ [ -s "$autostart" ] && [ -n "$(tail -c1 "$autostart")" ] && echo; cat "$repo/deploy/labwc-autostart"; } >> "$autostart"
systemctl_user daemon-reload
systemctl_user enable malsori-kiosk.service

if [ $autologin -eq 1 ]; then
  if command -v raspi-config >/dev/null; then
    sudo raspi-config nonint do_boot_behaviour B4  # desktop, autologin as this user
  else
    echo "install-kiosk: raspi-config not found; turn on desktop autologin yourself"
  fi
fi
echo "install-kiosk: installed $unit and the labwc autostart entry ($autostart)"
echo "install-kiosk: start now with: systemctl --user start malsori-kiosk   (logs: journalctl --user -u malsori-kiosk)"
