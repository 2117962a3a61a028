#include "net/nic_slots.h"

// Before the <linux/...> headers, which then leave its definitions alone.
#include <net/if.h>

#include <fcntl.h>
#include <linux/if_arp.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <set>

#include "common/io.h"
#include "net/link.h"

namespace runvm::net {
namespace {

Result<Link> link_with_mac(NetlinkSocket& netlink, const Mac& mac, const std::string& where) {
  for (Link& link : TRY(list_links(netlink)))
    if (link.type == ARPHRD_ETHER && std::equal(link.address.begin(), link.address.end(), mac.begin(), mac.end()))
      return std::move(link);
  return fail("no network device with MAC " + format_mac(mac) + " in the " + where + " namespace");
}

std::vector<uint8_t> bytes(const Mac& mac) { return {mac.begin(), mac.end()}; }

// "runvm-slot" and the slot MAC's last two bytes: unique among the slots,
// since the host numbers them there (runtime/network.cc).
std::string slot_name(const std::string& prefix, const Mac& slot) {
  return prefix + std::to_string(slot[4] * 256 + slot[5]);
}

// A network namespace of this process's own, made on this thread and left
// at once: the thread is back where it was on return, either way.
Result<std::pair<UniqueFd, NetlinkSocket>> new_parking_namespace(int root) {
  if (::unshare(CLONE_NEWNET) < 0) return fail_errno("make a network namespace for spare NICs");
  auto parking = io::open_file("/proc/thread-self/ns/net", O_RDONLY);
  auto socket = NetlinkSocket::open();
  if (::setns(root, CLONE_NEWNET) < 0) return fail_errno("return to the container's network namespace");
  if (!parking) return std::move(parking).error();
  if (!socket) return std::move(socket).error();
  return std::pair(std::move(*parking), std::move(*socket));
}

}  // namespace

Result<std::vector<NicSlot>> nic_slots_from_json(const nlohmann::json& json) {
  if (json.is_null()) return std::vector<NicSlot>{};
  if (!json.is_array()) return fail("nics: expected an array");
  if (json.size() > NicSlots::kMaxSlots)
    return fail("nics: " + std::to_string(json.size()) + " NICs, at most " + std::to_string(NicSlots::kMaxSlots));
  std::vector<NicSlot> slots;
  std::set<Mac> seen;
  for (const auto& item : json) {
    std::string where = "nics[" + std::to_string(slots.size()) + "]";
    if (!item.is_object() || !item.contains("slot") || !item["slot"].is_string())
      return fail(where + ": expected an object with a \"slot\" MAC");
    NicSlot slot;
    slot.slot = TRY_CTX(parse_mac(item["slot"].get<std::string>()), where + ".slot");
    if (!seen.insert(slot.slot).second) return fail(where + ": slot " + format_mac(slot.slot) + " given twice");
    auto mac = item.find("mac");
    if (mac != item.end() && !mac->is_null()) {
      if (!mac->is_string()) return fail(where + ".mac: expected a MAC or null");
      slot.mac = TRY_CTX(parse_mac(mac->get<std::string>()), where + ".mac");
    }
    slots.push_back(slot);
  }
  return slots;
}

Result<NicSlots> NicSlots::set_up(const std::vector<NicSlot>& slots) {
  UniqueFd root = TRY(io::open_file("/proc/thread-self/ns/net", O_RDONLY));
  NetlinkSocket in_root = TRY(NetlinkSocket::open());
  auto [parking, in_parking] = TRY(new_parking_namespace(root.get()));
  NicSlots nics(std::move(root), std::move(parking), std::move(in_root), std::move(in_parking));
  for (const NicSlot& s : slots) {
    nics.carrying_[s.slot] = s.mac;
    if (!s.mac) TRY_CTX(nics.park(s.slot, s.slot), "park the spare NIC " + format_mac(s.slot));
  }
  return nics;
}

Status NicSlots::park(const Mac& slot, const Mac& now) {
  Link link = TRY(link_with_mac(in_root_, now, "container's"));
  if (link.flags & IFF_UP) TRY(set_link_up(in_root_, link, false));
  if (now != slot) TRY(set_link_mac(in_root_, link, bytes(slot)));
  return move_link(in_root_, link, parking_.get(), slot_name("spare", slot));
}

Status NicSlots::unpark(const Mac& slot, const Mac& mac) {
  Link link = TRY(link_with_mac(in_parking_, slot, "parking"));
  TRY(set_link_mac(in_parking_, link, bytes(mac)));
  return move_link(in_parking_, link, root_.get(), slot_name("runvm-new", slot));
}

Status NicSlots::follow(const std::vector<NicSlot>& wanted) {
  for (const NicSlot& w : wanted)
    if (!carrying_.count(w.slot)) return fail("no NIC with slot " + format_mac(w.slot));
  // Parked first, so that an interface MAC that moves from one slot to
  // another is never worn by two NICs in the root namespace.
  for (const NicSlot& w : wanted) {
    std::optional<Mac>& now = carrying_[w.slot];
    if (!now || now == w.mac) continue;
    TRY_CTX(park(w.slot, *now), "free the NIC of " + format_mac(*now));
    now.reset();
  }
  for (const NicSlot& w : wanted) {
    std::optional<Mac>& now = carrying_[w.slot];
    if (!w.mac || now == w.mac) continue;
    TRY_CTX(unpark(w.slot, *w.mac), "give " + format_mac(*w.mac) + " a NIC");
    now = w.mac;
  }
  return ok();
}

}  // namespace runvm::net
