#include "net/tap_redirect.h"

// Before the <linux/...> headers, which then leave its definitions alone.
#include <net/if.h>

#include <fcntl.h>
#include <linux/if_tun.h>
#include <sys/ioctl.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "common/io.h"
#include "common/log.h"
#include "net/tc.h"

namespace runvm::net {
namespace {

constexpr int kMaxTapIndex = 999999;

// IFF_TUN_EXCL: a new device or an error, never a persistent tap someone
// left with our name.
Result<UniqueFd> create_tap(const std::string& name) {
  UniqueFd fd = TRY_CTX(io::open_file("/dev/net/tun", O_RDWR), "create tap " + name);
  ifreq request{};
  std::memcpy(request.ifr_name, name.c_str(), name.size() + 1);
  request.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_TUN_EXCL;
  if (::ioctl(fd.get(), TUNSETIFF, &request) < 0) return fail_errno("create tap " + name);
  return fd;
}

// Without IPv6 the stack sends nothing on its own (router solicitations,
// DAD, MLD) out of the tap into the guest. Written before the tap is up,
// so it never gets a link-local address. No conf directory: no IPv6.
Status disable_ipv6(const std::string& name) {
  std::string path = "/proc/sys/net/ipv6/conf/" + name + "/disable_ipv6";
  auto file = io::open_file(path, O_WRONLY);
  if (!file && file.error().errno_value() == ENOENT) return ok();
  UniqueFd fd = TRY_CTX(std::move(file), "disable IPv6 on " + name);
  return std::move(io::write_all(fd.get(), "1")).context("disable IPv6 on " + name);
}

Status prepare_tap(NetlinkSocket& netlink, const Link& tap, uint32_t mtu) {
  TRY(disable_ipv6(tap.name));
  TRY(set_link_mtu(netlink, tap, mtu));
  return set_link_up(netlink, tap, true);
}

}  // namespace

std::string tap_name(int index) { return std::string(kTapNamePrefix) + std::to_string(index); }

TapLink::TapLink(TapLink&& other) noexcept
    : netlink_(std::move(other.netlink_)),
      fd_(std::move(other.fd_)),
      tap_(std::move(other.tap_)),
      interface_(std::move(other.interface_)),
      interface_qdisc_(std::exchange(other.interface_qdisc_, false)),
      tap_qdisc_(std::exchange(other.tap_qdisc_, false)) {}

TapLink& TapLink::operator=(TapLink&& other) noexcept {
  if (this == &other) return *this;
  remove_or_warn();
  netlink_ = std::move(other.netlink_);
  fd_ = std::move(other.fd_);
  tap_ = std::move(other.tap_);
  interface_ = std::move(other.interface_);
  interface_qdisc_ = std::exchange(other.interface_qdisc_, false);
  tap_qdisc_ = std::exchange(other.tap_qdisc_, false);
  return *this;
}

TapLink::~TapLink() { remove_or_warn(); }

void TapLink::remove_or_warn() {
  Status removed = remove();
  if (!removed) log::warn("disconnect " + tap_.name + ": " + removed.error().describe());
}

UniqueFd TapLink::release_fd() {
  // The tap and its qdisc now live as long as the new holder keeps it.
  tap_qdisc_ = false;
  return std::move(fd_);
}

Status TapLink::remove() {
  Status result;
  if (std::exchange(interface_qdisc_, false)) {
    Status s = delete_ingress_qdisc(*netlink_, interface_.ifindex, interface_.name);
    if (!s) result = std::move(s);
  }
  if (std::exchange(tap_qdisc_, false) && fd_.valid()) {
    Status s = delete_ingress_qdisc(*netlink_, tap_.ifindex, tap_.name);
    if (!s && result) result = std::move(s);
  }
  return result;
}

Result<TapLink> connect_tap(int interface_ifindex, int index) {
  if (index < 0 || index > kMaxTapIndex)
    return fail("tap index " + std::to_string(index) + " out of range (0 to 999999)");
  TapLink link;
  link.netlink_.emplace(TRY(NetlinkSocket::open()));
  NetlinkSocket& netlink = *link.netlink_;
  link.interface_ = TRY(find_link(netlink, interface_ifindex));
  std::string what = "connect " + link.interface_.name + " to a tap";
  link.fd_ = TRY_CTX(create_tap(tap_name(index)), what);
  link.tap_ = TRY_CTX(find_link(netlink, tap_name(index)), what);
  TRY_CTX(prepare_tap(netlink, link.tap_, link.interface_.mtu), what);
  // The guest's side first, so the interface's frames have somewhere to go
  // from the moment they are redirected.
  TRY_CTX(add_ingress_qdisc(netlink, link.tap_), what);
  link.tap_qdisc_ = true;
  TRY_CTX(add_redirect_filter(netlink, link.tap_, link.interface_), what);
  TRY_CTX(add_ingress_qdisc(netlink, link.interface_), what);
  link.interface_qdisc_ = true;
  TRY_CTX(add_redirect_filter(netlink, link.interface_, link.tap_), what);
  return link;
}

Status remove_ingress_redirect(int ifindex) {
  NetlinkSocket netlink = TRY(NetlinkSocket::open());
  return delete_ingress_qdisc(netlink, ifindex, "link " + std::to_string(ifindex));
}

}  // namespace runvm::net
