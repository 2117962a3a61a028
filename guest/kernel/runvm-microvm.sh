#!/usr/bin/env bash
# runvm-microvm.sh OUTDIR
#
# Builds runvm's own guest kernel from Debian's linux-source-6.1 package:
# `make ARCH=x86_64 allnoconfig`, the fragment microvm.config (next to this
# script) merged over it, `olddefconfig`, then vmlinux. Lays it out as the
# other recipes do:
#   OUTDIR/vmlinuz    the kernel: an uncompressed, stripped ELF vmlinux that
#                     QEMU boots through its PVH entry point (the file keeps
#                     the name vmlinuz because that is where the build and
#                     runvm look for the guest kernel; QEMU tells the formats
#                     apart by content)
#   OUTDIR/modules/   empty: everything is built in. It holds an empty
#                     modules.dep and the kernel's modules.builtin, so that
#                     mkinitramfs.sh skips the modules in guest/modules*.txt
#                     that are built in
#   OUTDIR/config     the kernel's final .config, for reference
#   OUTDIR/version    "<kernel release> runvm-microvm <source package version>
#                     <cache key>", written last
#
# It installs nothing: the source is /usr/src/linux-source-6.1.tar.xz from
# the Debian package linux-source-6.1 (scripts/setup.sh installs it), or the
# tarball RUNVM_LINUX_SOURCE names. Building needs gcc, make, bc, bison,
# flex, libelf-dev (objtool) and xz.
#
# The result is cached in ${RUNVM_KERNEL_CACHE:-/var/cache/runvm/kernel}/KEY,
# KEY being the sha256 of this script, the fragment and the source package's
# version, so another build tree on the same machine does not rebuild it
# (the three latest are kept).
# The unpacked source (src-<version>, about 1.4 GB) and the object tree
# (obj-<version>) are kept there too, so that a change of the fragment
# rebuilds only what it touches; a new source version replaces both. One
# build at a time per cache (flock). RUNVM_KERNEL_JOBS sets make's -j
# (default: the CPU count).
#
# The build fails if any option the fragment sets did not end up so in the
# final .config (a dependency missing, an option renamed), naming each.
set -euo pipefail

readonly SOURCE_PACKAGE=linux-source-6.1
readonly DEFAULT_SOURCE=/usr/src/linux-source-6.1.tar.xz
readonly ARCH_NAME=x86_64

SELF_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
readonly SELF_DIR
SELF="$SELF_DIR/$(basename "${BASH_SOURCE[0]}")"
readonly SELF
readonly FRAGMENT="$SELF_DIR/microvm.config"

die() {
  echo "runvm-microvm.sh: $*" >&2
  exit 1
}

note() {
  echo "runvm-microvm.sh: $*" >&2
}

usage() {
  echo "usage: $0 OUTDIR" >&2
  exit 1
}

require_tools() {
  local tool
  for tool in make gcc ld bc bison flex tar xz sha256sum readelf objcopy flock; do
    command -v "$tool" >/dev/null 2>&1 ||
      die "'$tool' not found (on Debian: apt-get install build-essential bc bison flex libelf-dev xz-utils)"
  done
}

# The version of the source: the Debian package's, or, for a tarball that no
# package owns, its sha256.
source_version() {
  local tarball=$1 version=""
  if [[ "$tarball" == "$DEFAULT_SOURCE" ]] && command -v dpkg-query >/dev/null 2>&1; then
    version=$(dpkg-query -W -f='${Version}' "$SOURCE_PACKAGE" 2>/dev/null) || version=""
  fi
  if [[ -z "$version" ]]; then
    version="sha256:$(sha256sum "$tarball" | cut -d' ' -f1)"
  fi
  echo "$version"
}

path_safe() {
  echo "${1//[^A-Za-z0-9.+~_-]/_}"
}

cache_key() {
  local version=$1
  { sha256sum "$SELF" "$FRAGMENT" | cut -d' ' -f1; echo "$version"; } | sha256sum | cut -d' ' -f1
}

# Unpacks the tarball into CACHE/src-<version> once; a stamp file marks a
# complete unpack. Older sources and their object trees are removed.
unpack_source() {
  local tarball=$1 version=$2 cache=$3
  local dir
  dir="$cache/src-$(path_safe "$version")"
  if [[ -f "$dir/.unpacked" ]]; then
    echo "$dir"
    return 0
  fi
  local old
  for old in "$cache"/src-* "$cache"/obj-*; do
    [[ -e "$old" ]] && rm -rf "$old"
  done
  local tmp
  tmp=$(mktemp -d "$cache/.src.XXXXXX")
  note "unpacking $tarball"
  tar -xf "$tarball" -C "$tmp" --strip-components=1 || die "cannot unpack $tarball"
  [[ -f "$tmp/Makefile" && -f "$tmp/scripts/kconfig/merge_config.sh" ]] ||
    die "$tarball does not look like a Linux source tree"
  touch "$tmp/.unpacked"
  mv "$tmp" "$dir"
  echo "$dir"
}

# Every CONFIG_ line of the fragment, as "NAME=VALUE" ("NAME=n" for "is not
# set"), compared with the final .config. Prints each mismatch and fails.
check_config() {
  local fragment=$1 config=$2
  local -A final=()
  local line name
  while IFS= read -r line; do
    if [[ "$line" =~ ^(CONFIG_[A-Za-z0-9_]+)=(.*)$ ]]; then
      final[${BASH_REMATCH[1]}]=${BASH_REMATCH[2]}
    fi
  done <"$config"
  local bad=0 want got
  while IFS= read -r line; do
    if [[ "$line" =~ ^(CONFIG_[A-Za-z0-9_]+)=(.*)$ ]]; then
      name=${BASH_REMATCH[1]} want=${BASH_REMATCH[2]}
    elif [[ "$line" =~ ^#\ (CONFIG_[A-Za-z0-9_]+)\ is\ not\ set$ ]]; then
      name=${BASH_REMATCH[1]} want=n
    else
      continue
    fi
    got=${final[$name]:-n}
    if [[ "$got" != "$want" ]]; then
      echo "  $name: asked $want, got $got" >&2
      bad=1
    fi
  done <"$fragment"
  ((bad == 0)) || die "the kernel configuration does not have what $(basename "$fragment") asks" \
    "(listed above; a dependency is missing or the option changed in this kernel)"
}

# Configures and builds in OBJ (kept between builds), leaving the results in
# OUT.
build_kernel() {
  local src=$1 obj=$2 out=$3 version=$4 key=$5
  local jobs=${RUNVM_KERNEL_JOBS:-$(nproc)}
  local -a kmake=(make -s -C "$src" O="$obj" ARCH="$ARCH_NAME")
  mkdir -p "$obj" "$out/modules"

  note "configuring (allnoconfig + $(basename "$FRAGMENT"))"
  "${kmake[@]}" allnoconfig >/dev/null
  (cd "$obj" && ARCH=$ARCH_NAME "$src/scripts/kconfig/merge_config.sh" -m -O "$obj" \
    "$obj/.config" "$FRAGMENT" >/dev/null) || die "merge_config.sh failed"
  "${kmake[@]}" olddefconfig >/dev/null
  check_config "$FRAGMENT" "$obj/.config"

  note "building vmlinux with $jobs jobs (several minutes)"
  "${kmake[@]}" -j"$jobs" vmlinux || die "kernel build failed (log above)"

  local release
  release=$("${kmake[@]}" kernelrelease)
  [[ -n "$release" ]] || die "cannot tell the kernel release"
  objcopy --strip-all "$obj/vmlinux" "$out/vmlinuz"
  # QEMU boots an ELF kernel only through its PVH note (XEN_ELFNOTE_PHYS32_ENTRY).
  readelf -n "$out/vmlinuz" | grep -q 'Xen.*0x00000012' ||
    die "vmlinux has no PVH entry note (is CONFIG_PVH set?)"
  : >"$out/modules/modules.dep"
  if [[ -f "$obj/modules.builtin" ]]; then
    cp "$obj/modules.builtin" "$out/modules/modules.builtin"
  else
    : >"$out/modules/modules.builtin"
  fi
  cp "$obj/.config" "$out/config"
  echo "$release runvm-microvm $version $key" >"$out/version"
}

# Keeps the three most recently built kernels in CACHE (a few build trees or
# branches with different fragments), removes older ones.
readonly CACHE_KEEP=3
prune_cache() {
  local cache=$1 dir kept=0
  while IFS= read -r dir; do
    [[ "$(basename "$dir")" =~ ^[0-9a-f]{64}$ ]] || continue
    if ((kept < CACHE_KEEP)); then
      kept=$((kept + 1))
    else
      rm -rf "$dir"
    fi
  done < <(find "$cache" -mindepth 1 -maxdepth 1 -type d -printf '%T@ %p\n' | sort -rn | cut -d' ' -f2-)
}

# Copies the cached kernel to OUTDIR, replacing it at once.
install_to() {
  local cached=$1 outdir=$2
  mkdir -p "$(dirname "$outdir")"
  local tmp
  tmp=$(mktemp -d "$(dirname "$outdir")/.guest-kernel.XXXXXX")
  cp -a "$cached/." "$tmp/"
  chmod 0755 "$tmp"
  rm -rf "$outdir"
  mv "$tmp" "$outdir"
}

main() {
  [[ $# -eq 1 ]] || usage
  local outdir=$1
  local tarball=${RUNVM_LINUX_SOURCE:-$DEFAULT_SOURCE}
  [[ -f "$FRAGMENT" ]] || die "config fragment $FRAGMENT not found"
  [[ -f "$tarball" ]] ||
    die "$tarball not found: install the kernel source with 'apt-get install $SOURCE_PACKAGE'" \
      "(as root), or point RUNVM_LINUX_SOURCE at a linux-6.1 tarball"

  local version key
  version=$(source_version "$tarball")
  key=$(cache_key "$version")

  if [[ -f "$outdir/version" && "$(cat "$outdir/version")" == *" $key" ]]; then
    note "kernel $(cut -d' ' -f1 "$outdir/version") already in $outdir"
    return 0
  fi

  local cache=${RUNVM_KERNEL_CACHE:-/var/cache/runvm/kernel}
  if ! mkdir -p "$cache" 2>/dev/null || [[ ! -w "$cache" ]]; then
    die "cannot write the kernel cache $cache: set RUNVM_KERNEL_CACHE to a writable directory"
  fi

  require_tools
  exec 9>"$cache/.lock"
  flock 9
  if [[ ! -f "$cache/$key/version" ]]; then
    local src work
    src=$(unpack_source "$tarball" "$version" "$cache")
    work=$(mktemp -d "$cache/.build.XXXXXX")
    # shellcheck disable=SC2064  # expand now: work is local
    trap "rm -rf '$work'" EXIT
    build_kernel "$src" "$cache/obj-$(path_safe "$version")" "$work/out" "$version" "$key"
    rm -rf "${cache:?}/$key"
    mv "$work/out" "$cache/$key"
    note "kernel cached in $cache/$key"
    prune_cache "$cache"
  else
    note "kernel found in the cache ($cache/$key)"
  fi

  install_to "$cache/$key" "$outdir"
  note "kernel $(cut -d' ' -f1 "$outdir/version") ready in $outdir"
}

main "$@"
