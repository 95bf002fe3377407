#!/bin/sh
# Adds Moderator to this user's application menu (icon, menu entry, AppStream metainfo). build_bundle.sh
# copies this script into the bundle: run it from there, after unpacking the bundle where it will stay.
# (An installed wheel does the same with `python -m moderator_app.resources install-desktop-entry`.)
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
APP=$HERE/moderator-app
ASSETS=$HERE/_internal/moderator_app/assets
ID=io.github.moderator_app.Moderator
DATA=${XDG_DATA_HOME:-$HOME/.local/share}
[ -x "$APP" ] && [ -f "$ASSETS/$ID.desktop" ] || { echo "run this from the moderator-app bundle folder" >&2; exit 1; }
case $APP in *[\"\`\$\\%]*) echo "the bundle's path must not contain \" \` \$ \\ or %: $APP" >&2; exit 1;; esac
mkdir -p "$DATA/applications" "$DATA/metainfo"
# Exec: quoted, for paths with spaces; the desktop entry spec needs nothing more for the other characters
awk -v app="$APP" '/^Exec=/ { print "Exec=\"" app "\""; next } /^TryExec=/ { print "TryExec=" app; next } { print }' \
    "$ASSETS/$ID.desktop" > "$DATA/applications/$ID.desktop"
for size in 16 24 32 48 64 128 256 512; do
    mkdir -p "$DATA/icons/hicolor/${size}x$size/apps"
    cp "$ASSETS/icons/moderator-app-$size.png" "$DATA/icons/hicolor/${size}x$size/apps/$ID.png"
done
mkdir -p "$DATA/icons/hicolor/scalable/apps"
cp "$ASSETS/icons/moderator-app.svg" "$DATA/icons/hicolor/scalable/apps/$ID.svg"
cp "$ASSETS/$ID.metainfo.xml" "$DATA/metainfo/$ID.metainfo.xml"
if command -v update-desktop-database >/dev/null 2>&1; then update-desktop-database "$DATA/applications" || true; fi
echo "Moderator is in the application menu: $DATA/applications/$ID.desktop"
