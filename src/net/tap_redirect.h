// Joins a container's interface (the veth an engine put in its namespace)
// to a tap device that QEMU backs the guest's virtio-net with. Frames
// arriving on the interface are redirected out of the tap (to the guest),
// and frames the guest sends (arriving on the tap) out of the interface,
// by tc ingress filters with mirred actions; see tc.h. The guest uses the
// interface's MAC, so to the peer nothing changes.
//
// The tap is made without IFF_VNET_HDR: QEMU's `-netdev tap,fd=N` probes
// the flag (TUNGETIFF) and then runs without offloads, so the kernel
// checksums and segments frames before they reach the tap. Simpler and
// right for any traffic; IFF_VNET_HDR (QEMU then enables offloads itself)
// is the step to take for throughput.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"
#include "common/unique_fd.h"
#include "net/link.h"
#include "net/netlink.h"

namespace runvm::net {

inline constexpr std::string_view kTapNamePrefix = "runvm-tap";
// "runvm-tap<index>"; index is 0 to 999999 to fit a link name.
std::string tap_name(int index);

// A connected tap. Move-only. Owns the tap's descriptor until release_fd()
// (the tap lives as long as some process holds it; then the kernel deletes
// it with its qdisc) and the ingress qdisc added to the interface, which
// remove() or the destructor deletes. Both act through a netlink socket
// opened at connect time, so they reach the right namespace from anywhere.
class TapLink {
 public:
  TapLink(TapLink&& other) noexcept;
  TapLink& operator=(TapLink&& other) noexcept;
  TapLink(const TapLink&) = delete;
  TapLink& operator=(const TapLink&) = delete;
  // remove(), with a failure logged as a warning.
  ~TapLink();

  const std::string& name() const { return tap_.name; }
  int ifindex() const { return tap_.ifindex; }
  // The interface it is joined to; 0 and "" while it is joined to none.
  const std::string& interface_name() const { return interface_.name; }
  int interface_ifindex() const { return interface_.ifindex; }
  bool attached() const { return interface_.ifindex != 0; }

  // Joins the tap to the interface: the interface's MTU, up, and the
  // redirects both ways. On failure the tap is left as it was.
  Status attach(int interface_ifindex);
  // Undoes attach(): the redirects go and the tap goes down, for another
  // interface later (an interface that is already gone is no error).
  Status detach();

  // The tap's queue for QEMU (`-netdev tap,fd=N`); -1 once released.
  int fd() const { return fd_.get(); }
  UniqueFd release_fd();

  // Undoes the redirects: deletes the interface's ingress qdisc (and the
  // tap's, while this still holds the tap). Idempotent.
  Status remove();

 private:
  TapLink() = default;
  void remove_or_warn();
  friend Result<TapLink> create_tap(int index);

  std::optional<NetlinkSocket> netlink_;
  UniqueFd fd_;
  Link tap_;
  Link interface_;
  bool interface_qdisc_ = false;
  bool tap_qdisc_ = false;
};

// Creates tap_name(index) in the current network namespace, IPv6 disabled
// (the host stack must send nothing to the guest), down and joined to
// nothing: a spare, for an interface that appears later (see attach()).
Result<TapLink> create_tap(int index);
// create_tap() and attach(): on failure nothing is left.
Result<TapLink> connect_tap(int interface_ifindex, int index);

// For a cleanup path that holds no TapLink: deletes the ingress qdisc (and
// so the redirect) on a link of the current namespace; none is not an error.
Status remove_ingress_redirect(int ifindex);

}  // namespace runvm::net
