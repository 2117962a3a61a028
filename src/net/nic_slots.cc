#include "net/nic_slots.h"

// Before the <linux/...> headers, which then leave its definitions alone.
#include <net/if.h>

#include <fcntl.h>
#include <linux/if_arp.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <optional>
#include <set>
#include <thread>

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

struct NicSlots::State {
  UniqueFd root, parking;              // the namespaces, by descriptor
  std::optional<NetlinkSocket> in_root, in_parking;  // a socket opened in each
  std::map<Mac, std::optional<Mac>> carrying;  // slot -> the interface MAC it wears
  std::thread parker;
  std::optional<Status> parked;  // set once the parker is joined

  Status park(const Mac& slot, const Mac& now) {
    Link link = TRY(link_with_mac(*in_root, now, "container's"));
    if (link.flags & IFF_UP) TRY(set_link_up(*in_root, link, false));
    if (now != slot) TRY(set_link_mac(*in_root, link, bytes(slot)));
    return move_link(*in_root, link, parking.get(), slot_name("spare", slot));
  }

  Status unpark(const Mac& slot, const Mac& mac) {
    Link link = TRY(link_with_mac(*in_parking, slot, "parking"));
    TRY(set_link_mac(*in_parking, link, bytes(mac)));
    return move_link(*in_parking, link, root.get(), slot_name("runvm-new", slot));
  }

  // unshare and setns act on the calling thread: on a thread of its own, a
  // failure to return cannot leave the agent's main thread (and every
  // process it makes later) in the wrong namespace.
  Status make_parking_on_a_thread() {
    Status made;
    std::thread([&] {
      auto made_ns = new_parking_namespace(root.get());
      if (!made_ns) {
        made = std::move(made_ns).error();
        return;
      }
      parking = std::move(made_ns->first);
      in_parking.emplace(std::move(made_ns->second));
    }).join();
    return made;
  }

  // On the parker thread: the namespace is made there (unshare acts on the
  // calling thread alone), then every spare goes into it.
  Status park_spares(std::vector<Mac> spares) {
    auto [ns, socket] = TRY(new_parking_namespace(root.get()));
    parking = std::move(ns);
    in_parking.emplace(std::move(socket));
    for (const Mac& slot : spares) TRY_CTX(park(slot, slot), "park the spare NIC " + format_mac(slot));
    return ok();
  }
};

NicSlots::NicSlots(std::unique_ptr<State> state) : state_(std::move(state)) {}
NicSlots::NicSlots(NicSlots&&) noexcept = default;
NicSlots::~NicSlots() {
  if (state_) (void)wait_parked();
}

Result<NicSlots> NicSlots::set_up(const std::vector<NicSlot>& slots) {
  auto state = std::make_unique<State>();
  state->root = TRY(io::open_file("/proc/thread-self/ns/net", O_RDONLY));
  state->in_root.emplace(TRY(NetlinkSocket::open()));
  for (const NicSlot& s : slots) state->carrying[s.slot] = s.mac;
  return NicSlots(std::move(state));
}

void NicSlots::start_parking() {
  State* raw = state_.get();  // on the heap: stays put when NicSlots moves
  if (raw->parker.joinable() || raw->parked) return;
  std::vector<Mac> spares;
  for (const auto& [slot, mac] : raw->carrying)
    if (!mac) spares.push_back(slot);
  if (spares.empty()) {
    raw->parked = ok();  // nothing to hide, no namespace to make
    return;
  }
  raw->parker = std::thread([raw, spares] { raw->parked = raw->park_spares(spares); });
}

Status NicSlots::wait_parked() {
  if (state_->parker.joinable()) state_->parker.join();
  if (!state_->parked) state_->parked = ok();  // never started: nothing was parked, nothing to wait for
  return *state_->parked;
}

Status NicSlots::follow(const std::vector<NicSlot>& wanted) {
  TRY_CTX(wait_parked(), "the spare NICs");
  State& st = *state_;
  for (const NicSlot& w : wanted)
    if (!st.carrying.count(w.slot)) return fail("no NIC with slot " + format_mac(w.slot));
  // Parked first, so that an interface MAC that moves from one slot to
  // another is never worn by two NICs in the root namespace.
  for (const NicSlot& w : wanted) {
    std::optional<Mac>& now = st.carrying[w.slot];
    if (!now || now == w.mac) continue;
    if (!st.parking.valid()) TRY(st.make_parking_on_a_thread());
    TRY_CTX(st.park(w.slot, *now), "free the NIC of " + format_mac(*now));
    now.reset();
  }
  for (const NicSlot& w : wanted) {
    std::optional<Mac>& now = st.carrying[w.slot];
    if (!w.mac || now == w.mac) continue;
    TRY_CTX(st.unpark(w.slot, *w.mac), "give " + format_mac(*w.mac) + " a NIC");
    now = w.mac;
  }
  return ok();
}

}  // namespace runvm::net
