#!/usr/bin/env bash
# Makes a Debian bookworm base image without a registry: `debootstrap --variant=minbase` a root filesystem with
# the given packages installed, then `docker import` it. `make docker-test` makes the images the Dockerfiles are
# built from here with it (a machine with a registry pulls debian:bookworm-slim and postgres:15-bookworm instead).
#
# Usage: docker/base-image.sh NAME:TAG [PACKAGE...]
#
# Skipped when the image exists (remove it to make it again). The Debian mirror is the one apt on this machine
# uses, read from /etc/apt/sources.list{,.d/*} at run time; DEBIAN_MIRROR overrides it. Needs root and
# debootstrap (installed with apt-get when missing).
set -euo pipefail

image="${1:?usage: docker/base-image.sh NAME:TAG [PACKAGE...]}"
shift
packages=("$@")

if docker image inspect "$image" > /dev/null 2>&1; then
    echo "base image: $image exists"
    exit 0
fi

# The first mirror apt lists for bookworm itself (not bookworm-security), one-line or deb822 format.
host_mirror() {
    local f
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
        [[ -f "$f" ]] || continue
        awk '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i !~ /^\[/ && $i ~ /:\/\//) { if ($(i+1) == "bookworm") { print $i; exit } break } }' "$f"
    done
    for f in /etc/apt/sources.list.d/*.sources; do
        [[ -f "$f" ]] || continue
        # Stanzas are separated by blank lines; a stanza whose Suites hold "bookworm" gives its first URI.
        awk 'BEGIN { RS = ""; FS = "\n" }
             { uri = ""; deb = 0; suite = 0
               for (i = 1; i <= NF; i++) {
                 if ($i ~ /^Types:/ && $i ~ /[[:space:]]deb([[:space:]]|$)/) deb = 1
                 if ($i ~ /^Suites:/ && $i ~ /[[:space:]]bookworm([[:space:]]|$)/) suite = 1
                 if ($i ~ /^URIs:/) { split($i, w, /[[:space:]]+/); uri = w[2] }
               }
               if (deb && suite && uri != "") { print uri; exit } }' "$f"
    done
}

mirror="${DEBIAN_MIRROR:-$(host_mirror | head -n 1)}"
if [[ -z "$mirror" ]]; then
    echo "base image: no bookworm mirror in the apt sources; set DEBIAN_MIRROR" >&2
    exit 1
fi

if ! command -v debootstrap > /dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap
fi

rootfs="$(mktemp -d /tmp/persona-mcp-rootfs.XXXXXX)"
trap 'rm -rf "$rootfs"' EXIT

include=()
if [[ ${#packages[@]} -gt 0 ]]; then
    include=("--include=$(IFS=,; echo "${packages[*]}")")
fi
echo "base image: debootstrap bookworm from $mirror${packages:+ with ${packages[*]}}"
debootstrap --variant=minbase "${include[@]}" bookworm "$rootfs" "$mirror" > "$rootfs.log" 2>&1 || {
    tail -n 30 "$rootfs.log" >&2
    rm -f "$rootfs.log"
    exit 1
}
rm -f "$rootfs.log"

# What an image does not need: package lists and caches, documentation, locales other than C.
rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/* "$rootfs"/var/cache/debconf/*-old \
    "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/* "$rootfs"/usr/share/locale/* "$rootfs"/var/log/*.log \
    "$rootfs"/tmp/* "$rootfs"/dev/*
mkdir -p "$rootfs/tmp" && chmod 1777 "$rootfs/tmp"

tar --numeric-owner -C "$rootfs" -c . | docker import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV LANG=C.UTF-8' \
    --change 'CMD ["bash"]' \
    - "$image" > /dev/null
echo "base image: $image made ($(docker image inspect -f '{{.Size}}' "$image" | awk '{ printf "%.0f MB", $1 / 1e6 }'))"
