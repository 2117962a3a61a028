#!/usr/bin/env bash
# mkinitramfs.sh AGENT_BINARY KERNEL_DIR MODULES_LIST TOOL OUT [NETWORK_MODULES_LIST]
#
# Builds the guest initramfs, an uncompressed newc cpio:
#   /init                   AGENT_BINARY (static; PID 1 in the guest)
#   /lib/modules/<path>.ko  each module in MODULES_LIST plus its dependencies,
#                           their signatures stripped
#   /etc/runvm/modules      their load order, one absolute path per line
#   /etc/runvm/modules-network  the same for NETWORK_MODULES_LIST, which the
#                           agent loads only for a container with interfaces
#   /proc /sys /dev /run /mnt /tmp /etc   empty mount points
#
# KERNEL_DIR is what guest/kernel/<flavour>.sh made (KERNEL_DIR/modules holds
# modules.dep); TOOL is runvm-initramfs-modules, which turns names into files
# in load order. A listed module that the kernel has built in (named in
# KERNEL_DIR/modules/modules.builtin) is skipped: runvm's own kernel has
# everything built in, and its lists come out empty.
#
# Uncompressed because guests here run under TCG, where the kernel's gunzip
# costs more boot time than reading the few extra megabytes from memory.
# The archive is reproducible: sorted names, root owner, fixed mtimes.
set -euo pipefail

die() {
  echo "mkinitramfs.sh: $*" >&2
  exit 1
}

usage() {
  echo "usage: $0 AGENT_BINARY KERNEL_DIR MODULES_LIST TOOL OUT [NETWORK_MODULES_LIST]" >&2
  exit 1
}

# Module names from the list: comments and blank lines dropped, blanks trimmed.
read_module_names() {
  sed -e 's/#.*//' -e 's/^[[:space:]]*//' -e 's/[[:space:]]*$//' "$1" | grep -v '^$' || true
}

# Prints those of NAMES... that the kernel does not have built in, as listed
# in BUILTIN_FILE (modules.builtin from the kernel build: paths such as
# kernel/drivers/virtio/virtio_mmio.ko; absent means none), and reports the
# others on stderr. Names compare with '-' folded to '_'.
drop_builtin() {
  local builtin_file=$1
  shift
  local -A builtin=()
  local name
  if [[ -f "$builtin_file" ]]; then
    while IFS= read -r name; do
      [[ -n "$name" ]] && builtin[$name]=1
    done < <(sed -e 's#.*/##' -e 's/\.ko.*$//' -e 'y/-/_/' "$builtin_file")
  fi
  local skipped=()
  for name in "$@"; do
    if [[ -n "${builtin[${name//-/_}]:-}" ]]; then
      skipped+=("$name")
    else
      echo "$name"
    fi
  done
  if ((${#skipped[@]})); then
    echo "mkinitramfs.sh: built into the kernel, not carried: ${skipped[*]}" >&2
  fi
}

# Copies module SRC to DST without its appended signature. The guest kernel
# does not require signed modules (no MODULE_SIG_FORCE, no lockdown), and
# checking an RSA signature per module costs about 5 ms each under TCG.
# The trailer is struct module_signature (12 bytes, the signature length
# big-endian in its last 4) and the 28-byte magic, after the signature.
copy_unsigned_module() {
  local src=$1 dst=$2
  local magic='~Module signature appended~'
  install -D -m 0644 "$src" "$dst"
  [[ "$(tail -c 28 "$src" | head -c 27)" == "$magic" ]] || return 0
  local size sig_len
  size=$(stat -c %s "$src")
  sig_len=$(tail -c 32 "$src" | head -c 4 | od -An -tu1 |
    awk '{ print $1 * 16777216 + $2 * 65536 + $3 * 256 + $4 }')
  ((sig_len > 0 && sig_len + 40 < size)) || die "$src: malformed module signature trailer"
  head -c $((size - sig_len - 40)) "$src" >"$dst"
}

# Copies the modules into ROOT and writes their load order to ROOT/LIST.
add_modules() {
  local root=$1 modules_dir=$2 tool=$3 list=$4
  shift 4
  local order
  order=$("$tool" "$modules_dir" "$@") || die "cannot resolve kernel modules: $*"
  : >"$root/$list"
  local rel
  while IFS= read -r rel; do
    [[ -n "$rel" ]] || continue
    [[ "$rel" == *.ko ]] || die "$rel: compressed module; the kernel recipe must uncompress modules"
    copy_unsigned_module "$modules_dir/$rel" "$root/lib/modules/$rel"
    echo "/lib/modules/$rel" >>"$root/$list"
  done <<<"$order"
}

# Writes the cpio of ROOT to OUT. Every mtime is pinned so that the same
# inputs give the same bytes (SOURCE_DATE_EPOCH, as reproducible builds set).
write_cpio() {
  local root=$1 out=$2
  local epoch=${SOURCE_DATE_EPOCH:-0}
  find "$root" -exec touch -h -d "@$epoch" {} +
  (cd "$root" && find . -mindepth 1 -printf '%P\n' | LC_ALL=C sort |
    cpio -o -H newc --quiet --owner=0:0 --reproducible) >"$out"
}

# The guest has no dynamic loader or libraries: a dynamically linked /init
# would only fail there, as "Failed to execute /init (error -2)".
require_static() {
  command -v readelf >/dev/null 2>&1 || return 0
  if readelf -l "$1" 2>/dev/null | grep -q 'Requesting program interpreter'; then
    die "agent binary $1 is dynamically linked; the guest needs a static binary"
  fi
}

main() {
  [[ $# -eq 5 || $# -eq 6 ]] || usage
  local agent=$1 kernel_dir=$2 list=$3 tool=$4 out=$5 network_list=${6:-}

  [[ -f "$agent" ]] || die "agent binary $agent not found"
  require_static "$agent"
  [[ -f "$kernel_dir/modules/modules.dep" ]] ||
    die "$kernel_dir/modules/modules.dep not found (fetch the kernel first)"
  [[ -f "$list" ]] || die "module list $list not found"
  [[ -x "$tool" ]] || die "$tool is not an executable (build runvm-initramfs-modules)"
  command -v cpio >/dev/null 2>&1 || die "'cpio' not found (on Debian: apt-get install cpio)"

  local builtin_file="$kernel_dir/modules/modules.builtin"
  local names=() network_names=()
  mapfile -t names < <(read_module_names "$list")
  mapfile -t names < <(drop_builtin "$builtin_file" "${names[@]}")
  if [[ -n "$network_list" ]]; then
    [[ -f "$network_list" ]] || die "module list $network_list not found"
    mapfile -t network_names < <(read_module_names "$network_list")
    mapfile -t network_names < <(drop_builtin "$builtin_file" "${network_names[@]}")
  fi

  local root
  root=$(mktemp -d)
  # shellcheck disable=SC2064  # expand now: root is local
  trap "rm -rf '$root' '$out.tmp'" EXIT

  local dir
  for dir in proc sys dev run mnt tmp etc etc/runvm lib/modules; do
    mkdir -p "$root/$dir"
  done
  chmod 0755 "$root"  # mktemp made it 0700; it becomes the guest's /
  chmod 1777 "$root/tmp"
  install -m 0755 "$agent" "$root/init"
  add_modules "$root" "$kernel_dir/modules" "$tool" etc/runvm/modules "${names[@]}"
  : >"$root/etc/runvm/modules-network"
  if ((${#network_names[@]})); then
    add_modules "$root" "$kernel_dir/modules" "$tool" etc/runvm/modules-network "${network_names[@]}"
  fi

  mkdir -p "$(dirname "$out")"
  write_cpio "$root" "$out.tmp"
  mv -f "$out.tmp" "$out"
  echo "mkinitramfs.sh: wrote $out ($(stat -c %s "$out") bytes, ${#names[@]} modules wanted)" >&2
}

main "$@"
