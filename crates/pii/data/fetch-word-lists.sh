#!/usr/bin/env bash
# Downloads Debian's word lists of English, German, Italian, Spanish, French, Portuguese
# (European and Brazilian) and Dutch at pinned versions into DIR, checks their SHA-256 sums and
# unpacks them: the word lists are then in DIR/dict/usr/share/dict. Used by
# build-lexicons-eu.sh, build-name-words.sh and build-cities-geonames.sh, only to decide which
# names are also words; nothing of them ships.
#
# Usage:  bash fetch-word-lists.sh DIR
# Needs:  apt-get and dpkg-deb on Debian bookworm (the pinned versions are bookworm's; elsewhere
#         fetch the same files from snapshot.debian.org).
set -euo pipefail
WORK="$1"
PKGS="wamerican=2020.12.07-2 wngerman=20161207-11 witalian=1.10 wspanish=1.0.30 wfrench=1.2.7-2 wportuguese=20220621-1 wbrazilian=3.0~beta4-24 wdutch=1:2.20.19-2"
# shellcheck disable=SC2086
( cd "$WORK" && { apt-get download -q $PKGS || { apt-get update -q >/dev/null && apt-get download -q $PKGS; }; } )
( cd "$WORK" && sha256sum -c --quiet - ) <<'SUMS'
c8f8e2b2ad0d37bfdd41f0e40f1e4c8e5f907467d768a1d3698b164e9617f0b4  wamerican_2020.12.07-2_all.deb
9053a69641bcf59233055f1b3ca341046751534b2b32d1e32c67b23ab9b98fec  wngerman_20161207-11_all.deb
dc6eb1423726ce838332936db078406b646d0f3773701a5b1566a68495ddf076  witalian_1.10_all.deb
a2b7504fb8c12deaf6c4e868f749a3d05a42caee348f0f5bb006238e925cde18  wspanish_1.0.30_all.deb
a5cbe63b988adbdb973983aab5b76fe2b715e9a37b012f31ad1e925b1a4b4c29  wfrench_1.2.7-2_all.deb
82d6aeca20d072bbe962db68e4c50d3cce76ecb12295608692dff4638daec2a0  wportuguese_20220621-1_all.deb
c4ba29c560b7155c0e9041dfea98546dd088685268854186b84a43e555f70eab  wbrazilian_3.0~beta4-24_all.deb
79dc0dbbd9b3e029ba84423a804c635aca87105521962f9b4c3023399c94dc35  wdutch_1%3a2.20.19-2_all.deb
SUMS
for deb in "$WORK"/w*.deb; do dpkg-deb -x "$deb" "$WORK/dict"; done
