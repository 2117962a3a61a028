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
#include "common/scope_guard.h"
#include "net/tc.h"

namespace runvm::net {
namespace {

constexpr int kMaxTapIndex = 999999;

// IFF_TUN_EXCL: a new device or an error, never a persistent tap someone
// left with our name.
Result<UniqueFd> open_tap_device(const std::string& name) {
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

Result<TapLink> create_tap(int index) {
  if (index < 0 || index > kMaxTapIndex)
    return fail("tap index " + std::to_string(index) + " out of range (0 to 999999)");
  TapLink link;
  link.netlink_.emplace(TRY(NetlinkSocket::open()));
  std::string what = "create tap " + tap_name(index);
  link.fd_ = TRY(open_tap_device(tap_name(index)));
  link.tap_ = TRY_CTX(find_link(*link.netlink_, tap_name(index)), what);
  TRY_CTX(disable_ipv6(link.tap_.name), what);
  return link;
}

Status TapLink::attach(int interface_ifindex) {
  if (attached()) return fail(tap_.name + " is already joined to " + interface_.name);
  NetlinkSocket& netlink = *netlink_;
  interface_ = TRY(find_link(netlink, interface_ifindex));
  std::string what = "connect " + interface_.name + " to " + tap_.name;
  // Whatever fails below leaves the tap as it was: down and joined to nothing.
  ScopeGuard undo([this] { (void)detach(); });
  TRY_CTX(set_link_mtu(netlink, tap_, interface_.mtu), what);
  TRY_CTX(set_link_up(netlink, tap_, true), what);
  // The guest's side first, so the interface's frames have somewhere to go
  // from the moment they are redirected.
  TRY_CTX(add_ingress_qdisc(netlink, tap_), what);
  tap_qdisc_ = true;
  TRY_CTX(add_redirect_filter(netlink, tap_, interface_), what);
  TRY_CTX(add_ingress_qdisc(netlink, interface_), what);
  interface_qdisc_ = true;
  TRY_CTX(add_redirect_filter(netlink, interface_, tap_), what);
  undo.dismiss();
  return ok();
}

Status TapLink::detach() {
  // An interface that went away took its qdisc along: remove() says so.
  Status removed = remove();
  interface_ = Link{};
  TRY(std::move(removed));
  if (fd_.valid()) return set_link_up(*netlink_, tap_, false);
  return ok();
}

Result<TapLink> connect_tap(int interface_ifindex, int index) {
  TapLink link = TRY(create_tap(index));
  TRY(link.attach(interface_ifindex));
  return link;
}

Status remove_ingress_redirect(int ifindex) {
  NetlinkSocket netlink = TRY(NetlinkSocket::open());
  return delete_ingress_qdisc(netlink, ifindex, "link " + std::to_string(ifindex));
}

}  // namespace runvm::net
