#!/usr/bin/env bash
# Makes a Debian bookworm base image with Python 3.11 from Debian's packages, for machines that
# reach no image registry: debootstrap a minimal rootfs from the configured Debian mirror, then
# `docker import` it. Build SEA on it with `docker build --build-arg BASE_IMAGE=<tag> .`
# Usage: scripts/docker_base.sh [TAG]   (default sea-base:bookworm; needs root, debootstrap, docker)
set -euo pipefail

TAG="${1:-sea-base:bookworm}"
SUITE="${SEA_BASE_SUITE:-bookworm}"
# The first URI of the machine's apt sources, so the rootfs comes from the mirror apt already uses.
MIRROR="${SEA_BASE_MIRROR:-}"
if [ -z "$MIRROR" ]; then
  MIRROR="$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.sources 2>/dev/null \
    | awk '/^(URIs:|deb) / && $2 ~ /^https?:\/\// && $2 !~ /security/ && $2 ~ /debian/ {print $2; exit}' || true)"
fi
MIRROR="${MIRROR:-http://deb.debian.org/debian}"
PACKAGES="python3,python3-venv,python3-pip,python-is-python3,ca-certificates"

ROOTFS="$(mktemp -d /tmp/sea-rootfs.XXXXXX)"
trap 'rm -rf "$ROOTFS"' EXIT

echo "debootstrap $SUITE from $MIRROR into $ROOTFS" >&2
debootstrap --variant=minbase --include="$PACKAGES" "$SUITE" "$ROOTFS" "$MIRROR" >&2
# Keep the image small: no apt lists, caches or docs.
rm -rf "$ROOTFS"/var/lib/apt/lists/* "$ROOTFS"/var/cache/apt/*.bin "$ROOTFS"/var/cache/apt/archives/*.deb \
  "$ROOTFS"/usr/share/doc/* "$ROOTFS"/usr/share/man/*

tar -C "$ROOTFS" --numeric-owner -c . \
  | docker import --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
      --change 'CMD ["/bin/bash"]' - "$TAG" >&2
echo "$TAG"
