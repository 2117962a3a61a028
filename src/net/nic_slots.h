// The guest's half of NICs added and removed while the container runs.
//
// The VM boots with a few spare virtio-net devices (runtime/network.h).
// Each NIC has a slot MAC that names it for good; a spare wears it and
// waits in a parking network namespace of the agent's, so the container
// (which shares the guest's root namespace) never sees it. When the host
// joins a spare to a new container interface, the NIC takes the
// interface's MAC and moves to the root namespace, where apply.h configures
// it; when the interface goes, the NIC takes its slot MAC again and goes
// back to the parking namespace, which drops its addresses and routes.
#pragma once

#include <map>
#include <optional>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.h"
#include "common/unique_fd.h"
#include "net/address_text.h"
#include "net/netlink.h"

namespace runvm::net {

// One NIC: its slot MAC and, when it carries an interface, that MAC.
struct NicSlot {
  Mac slot{};
  std::optional<Mac> mac;

  bool operator==(const NicSlot&) const = default;
};

// The `nics` member of the create and network_update messages:
// [{"slot": "02:72:76:00:00:01", "mac": "02:42:ac:11:00:02" or null}, ...].
// At most kMaxSlots, slot MACs distinct.
Result<std::vector<NicSlot>> nic_slots_from_json(const nlohmann::json& json);

class NicSlots {
 public:
  static constexpr size_t kMaxSlots = 64;

  // Takes the NICs as they booted (a NIC carrying an interface wears that
  // MAC, a spare its slot MAC) and parks the spares. Run in the namespace
  // the container will use.
  static Result<NicSlots> set_up(const std::vector<NicSlot>& slots);

  // Moves NICs in and out of the parking namespace until each slot carries
  // what `wanted` says, leaving new ones down, under temporary names, for
  // apply_network_config. A slot not known from set_up is an error.
  Status follow(const std::vector<NicSlot>& wanted);

 private:
  NicSlots(UniqueFd root, UniqueFd parking, NetlinkSocket in_root, NetlinkSocket in_parking)
      : root_(std::move(root)), parking_(std::move(parking)), in_root_(std::move(in_root)),
        in_parking_(std::move(in_parking)) {}
  Status park(const Mac& slot, const Mac& now);
  Status unpark(const Mac& slot, const Mac& mac);

  UniqueFd root_, parking_;  // the namespaces, by descriptor
  NetlinkSocket in_root_, in_parking_;  // a socket opened in each
  std::map<Mac, std::optional<Mac>> carrying_;  // slot -> the interface MAC it wears
};

}  // namespace runvm::net
