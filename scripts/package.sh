#!/usr/bin/env bash
# Builds the installable packages (.deb and .rpm here; the bundle config covers .dmg and .msi
# too), installs the .deb on this machine, starts the installed app the way the desktop does
# (the Exec line of its desktop entry) under Xvfb on the demo stack, checks that its window opens
# and that it opened the stack, then removes the package again. Run by scripts/test.sh.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/berth/target}"
bundle="$CARGO_TARGET_DIR/release/bundle"
rm -rf "$bundle/deb" "$bundle/rpm"
(cd src-tauri && ../ui/node_modules/.bin/tauri build --bundles deb,rpm)
deb=$(ls "$bundle"/deb/*.deb)
rpm=$(ls "$bundle"/rpm/*.rpm)
# An RPM file starts with its lead magic ED AB EE DB.
[ "$(head -c 4 "$rpm" | od -An -tx1 | tr -d ' \n')" = "edabeedb" ] || { echo "package: $rpm is not an RPM"; exit 1; }
dpkg -i "$deb" >/dev/null
trap 'dpkg -r berth >/dev/null 2>&1 || true' EXIT
entry=/usr/share/applications/Berth.desktop
exec_line=$(sed -n 's/^Exec=//p' "$entry" | head -1)
program=${exec_line%% *}
[ -x "$(command -v "$program")" ] || { echo "package: $entry runs $program, which is not installed"; exit 1; }
profile=$(mktemp -d)
export XDG_DATA_HOME="$profile" DEMO_HTTPS_PORT=18544
xvfb-run -a -s "-screen 0 1280x800x24" bash -c '
  "$0" "$1" >/tmp/berth-package-app.log 2>&1 &
  app=$!
  trap "kill $app 2>/dev/null || true" EXIT
  for _ in $(seq 1 150); do
    if xdotool search --onlyvisible --name "^Berth$" >/dev/null 2>&1 && grep -rqs "open_stack" "$XDG_DATA_HOME"; then
      echo "package: the installed app opened its window on the demo stack"; exit 0
    fi
    sleep 0.2
  done
  echo "package: no Berth window with the stack opened within 30 s"; cat /tmp/berth-package-app.log; exit 1
' "$program" "$repo/demo"
echo "package: $(basename "$deb") and $(basename "$rpm") built; the .deb installs, starts and uninstalls"
