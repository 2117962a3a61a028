#!/usr/bin/env bash
# debian-cloud.sh OUTDIR
#
# Fetches Debian's cloud kernel (linux-image-cloud-amd64) without installing
# it on the host and lays it out for the guest build:
#   OUTDIR/vmlinuz    the kernel image
#   OUTDIR/modules/   its lib/modules/<release> tree, modules uncompressed,
#                     with a modules.dep made by depmod
#   OUTDIR/version    "<kernel release> <Debian package version>", written last
#
# The metapackage points at a versioned package whose ABI number changes with
# every security update, so it is resolved each run, never hard-coded. If
# OUTDIR/version already names the resolved kernel, nothing is done.
set -euo pipefail

readonly META_PACKAGE=linux-image-cloud-amd64

die() {
  echo "debian-cloud.sh: $*" >&2
  exit 1
}

usage() {
  echo "usage: $0 OUTDIR" >&2
  exit 1
}

require_tools() {
  local tool
  for tool in apt-cache apt-get dpkg-deb depmod; do
    command -v "$tool" >/dev/null 2>&1 ||
      die "'$tool' not found (on Debian: apt-get install apt dpkg kmod)"
  done
}

need() {
  command -v "$1" >/dev/null 2>&1 || die "'$1' not found: it is needed to uncompress kernel modules"
}

# The versioned package the metapackage depends on now, such as
# linux-image-6.1.0-56-cloud-amd64.
resolve_package() {
  local pkg
  pkg=$(apt-cache depends "$META_PACKAGE" 2>/dev/null |
    sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*\)$/\1/p' | head -n 1) || true
  if [[ -z "$pkg" ]]; then
    die "cannot resolve $META_PACKAGE: apt knows no such package." \
      "The package lists are probably missing: run 'apt-get update' (as root) and try again."
  fi
  echo "$pkg"
}

# The version apt would download for a package (its candidate).
candidate_version() {
  local version
  version=$(apt-cache policy "$1" | sed -n 's/^ *Candidate: *//p')
  if [[ -z "$version" || "$version" == "(none)" ]]; then
    die "apt has no installable version of $1: run 'apt-get update' and try again"
  fi
  echo "$version"
}

# Downloads the .deb into DIR; apt-get download writes to the current directory.
download_package() {
  local pkg=$1 dir=$2
  # As root, apt drops to the _apt user to download; it must be able to write
  # the directory, or apt falls back to root with a warning.
  if [[ $EUID -eq 0 ]] && id _apt >/dev/null 2>&1; then
    chown _apt "$dir"
  fi
  echo "debian-cloud.sh: downloading $pkg" >&2
  (cd "$dir" && apt-get download -q "$pkg") ||
    die "apt-get download $pkg failed (is the Debian mirror reachable?)"
}

# finit_module in the guest takes plain .ko files (the agent does not link a
# decompressor), so undo whatever compression the package used.
uncompress_modules() {
  local tree=$1 f
  while IFS= read -r -d '' f; do
    case "$f" in
      *.ko.xz) need xz && xz -d -q "$f" ;;
      *.ko.zst) need zstd && zstd -d -q --rm "$f" ;;
      *.ko.gz) need gzip && gzip -d -q "$f" ;;
    esac
  done < <(find "$tree" -type f \( -name '*.ko.xz' -o -name '*.ko.zst' -o -name '*.ko.gz' \) \
    -print0)
  # modules.order names the compressed files; depmod warns about each
  # mismatch, so keep it in step.
  if [[ -f "$tree/modules.order" ]]; then
    sed -i -E 's/\.ko\.(xz|zst|gz)$/.ko/' "$tree/modules.order"
  fi
}

main() {
  [[ $# -eq 1 ]] || usage
  local outdir=$1
  require_tools

  local pkg version release stamp
  pkg=$(resolve_package)
  version=$(candidate_version "$pkg")
  release=${pkg#linux-image-}
  stamp="$release $version"

  if [[ -f "$outdir/version" && "$(cat "$outdir/version")" == "$stamp" ]]; then
    echo "debian-cloud.sh: kernel $stamp already in $outdir" >&2
    return 0
  fi

  mkdir -p "$(dirname "$outdir")"
  local work
  work=$(mktemp -d "$(dirname "$outdir")/.guest-kernel.XXXXXX")
  # shellcheck disable=SC2064  # expand now: work is local
  trap "rm -rf '$work'" EXIT
  chmod 0755 "$work"  # so apt's _apt user can reach the download dir

  mkdir "$work/deb"
  download_package "$pkg" "$work/deb"
  local deb
  deb=$(find "$work/deb" -maxdepth 1 -name '*.deb' | head -n 1)
  [[ -n "$deb" ]] || die "apt-get download produced no .deb for $pkg"

  dpkg-deb -x "$deb" "$work/root"
  # Bookworm ships /lib/modules; later releases /usr/lib/modules.
  local src
  for src in "$work/root/lib/modules/$release" "$work/root/usr/lib/modules/$release"; do
    [[ -d "$src" ]] && break
  done
  [[ -d "$src" ]] || die "$pkg has no lib/modules/$release (package layout changed?)"
  [[ -f "$work/root/boot/vmlinuz-$release" ]] || die "$pkg has no boot/vmlinuz-$release"

  # depmod -b looks under DIR/lib/modules; give it exactly that.
  mkdir -p "$work/depmod/lib/modules"
  mv "$src" "$work/depmod/lib/modules/$release"
  uncompress_modules "$work/depmod/lib/modules/$release"
  depmod -b "$work/depmod" "$release" || die "depmod failed for $release"
  [[ -s "$work/depmod/lib/modules/$release/modules.dep" ]] || die "depmod wrote no modules.dep"

  mkdir "$work/out"
  mv "$work/root/boot/vmlinuz-$release" "$work/out/vmlinuz"
  mv "$work/depmod/lib/modules/$release" "$work/out/modules"
  echo "$stamp" >"$work/out/version"

  # Replace the whole directory at once so a half-written kernel is never
  # mistaken for a finished one.
  rm -rf "$outdir"
  mv "$work/out" "$outdir"
  echo "debian-cloud.sh: kernel $stamp ready in $outdir" >&2
}

main "$@"
