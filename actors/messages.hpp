#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/atom.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "persistence/store.hpp"
#include "rules/facility_state.hpp"
#include "rules/scan.hpp"
#include "rules/visit_change.hpp"

namespace facilityd {

using scan_atom = caf::atom_constant<caf::atom("scan")>;
using record_atom = caf::atom_constant<caf::atom("record")>;
using load_atom = caf::atom_constant<caf::atom("load")>;
using idle_atom = caf::atom_constant<caf::atom("idle")>;
using state_atom = caf::atom_constant<caf::atom("state")>;
using list_atom = caf::atom_constant<caf::atom("list")>;
using change_atom = caf::atom_constant<caf::atom("change")>;
using close_atom = caf::atom_constant<caf::atom("close")>;
using checkout_atom = caf::atom_constant<caf::atom("checkout")>;
using directory_atom = caf::atom_constant<caf::atom("directory")>;
using event_atom = caf::atom_constant<caf::atom("event")>;
using edit_atom = caf::atom_constant<caf::atom("edit")>;
using remove_atom = caf::atom_constant<caf::atom("remove")>;
using put_atom = caf::atom_constant<caf::atom("put")>;

using directory_ptr = std::shared_ptr<const directory>;

/// The answer to a scan once its transaction has committed: what the
/// gateway protocol turns into an ACK line.
struct scan_reply {
  outcome result = outcome::denied_unknown_reader;
  bool replayed = false;  // the scan had been recorded before
  visit_id visit = 0;     // 0 for denials
  int32_t closed = 0;     // visits force-closed with a last keyholder
  std::string name;       // the participant's name, empty when unknown
};

/// A committed scan, as told to those watching (the admin console).
struct scan_event {
  int64_t at_us = 0;
  facility_id facility = 0;  // 0: unknown reader
  std::string facility_name;
  scan_request scan;
  scan_reply reply;
  std::optional<participant_id> who;
};

/// A database worker, or the pool that hands requests to idle workers.
/// Both answer each request after its transaction has ended.
using db_actor = caf::typed_actor<
    caf::replies_to<record_atom, scan_request, decision>::with<recorded_scan>,
    caf::replies_to<load_atom, facility_id>::with<facility_state>,
    caf::replies_to<change_atom, visit_change, audit_entry>::with<commit>,
    caf::replies_to<edit_atom, facility_state, facility_edit,
                    audit_entry>::with<commit>,
    caf::replies_to<remove_atom, facility_state, audit_entry>::with<commit>>;

/// The pool also hears from its workers when they become idle.
using db_pool_actor = db_actor::extend<caf::reacts_to<idle_atom, db_actor>>;

/// The single owner of one facility's state (or, for the actor that takes
/// scans at unknown readers, of no facility). Handles one request at a time:
/// a scan is decided, committed and answered before the next one starts.
///
/// Staff changes and directory updates reach it as messages too, so they
/// are serialized with its scans; each answers with the number of visits
/// it closed.
using facility_actor = caf::typed_actor<
    caf::replies_to<scan_atom, scan_request>::with<scan_reply>,
    caf::replies_to<state_atom>::with<facility_state>,
    caf::replies_to<close_atom, close_reason, audit_entry>::with<int32_t>,
    caf::replies_to<checkout_atom, participant_id, audit_entry>::with<int32_t>,
    caf::replies_to<directory_atom, directory_ptr, audit_entry>::with<int32_t>,
    caf::replies_to<edit_atom, facility_edit, audit_entry>::with<int32_t>,
    caf::replies_to<remove_atom, audit_entry>::with<int32_t>>;

/// The entry point for scans: routes each one to the facility actor of its
/// reader. This is the interface the network layer talks to.
///
/// It also owns the directory the facility actors decide with: a new one
/// (after a committed change to people, badges or readers) goes to every
/// facility actor, each of which brings its open visits in line with it;
/// the answer is the number of visits closed in all. Staff changes to one
/// facility go to that facility's actor.
using registry_actor = caf::typed_actor<
    caf::replies_to<scan_atom, scan_request>::with<scan_reply>,
    caf::replies_to<state_atom, facility_id>::with<facility_state>,
    caf::replies_to<list_atom>::with<std::vector<facility_id>>,
    caf::replies_to<close_atom, facility_id, close_reason,
                    audit_entry>::with<int32_t>,
    caf::replies_to<checkout_atom, facility_id, participant_id,
                    audit_entry>::with<int32_t>,
    caf::replies_to<directory_atom, directory_ptr, audit_entry>::with<int32_t>,
    caf::replies_to<put_atom, facility_state>::with<facility_id>,
    caf::replies_to<edit_atom, facility_id, facility_edit,
                    audit_entry>::with<int32_t>,
    caf::replies_to<remove_atom, facility_id, audit_entry>::with<int32_t>>;

}  // namespace facilityd

// These types only travel between actors of one process, never to another
// node, so they need no serialization.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(facilityd::scan_request)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(facilityd::scan_reply)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(facilityd::recorded_scan)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(facilityd::decision)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(facilityd::facility_state)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(facilityd::visit_change)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(facilityd::audit_entry)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(facilityd::commit)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(facilityd::close_reason)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(facilityd::directory_ptr)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(facilityd::scan_event)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(facilityd::facility_edit)
