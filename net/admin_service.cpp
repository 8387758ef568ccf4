#include "net/admin_service.hpp"

#include <caf/all.hpp>

#include "net/token.hpp"
#include "persistence/admin_store.hpp"
#include "persistence/errc.hpp"
#include "util/log.hpp"

namespace facilityd {

// A piece of database work for the admin service's own worker.
using admin_job =
    std::function<caf::expected<nlohmann::json>(admin_store&, store&)>;

}  // namespace facilityd

// Sent only between actors of this process.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(facilityd::admin_job)

namespace facilityd {

namespace {

using json = nlohmann::json;
using run_atom = caf::atom_constant<caf::atom("run")>;

constexpr auto db_timeout = std::chrono::seconds{30};
constexpr auto actor_timeout = std::chrono::seconds{60};

std::string iso_time(int64_t us) {
  auto secs = static_cast<time_t>(us / 1'000'000);
  std::tm utc{};
  gmtime_r(&secs, &utc);
  char buf[40];
  auto n = std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &utc);
  std::snprintf(buf + n, sizeof(buf) - n, ".%03dZ",
                static_cast<int>((us / 1000) % 1000));
  return buf;
}

// -- the database worker
// --------------------------------------------------------

struct admin_db_state {
  std::unique_ptr<admin_store> admin;
  std::unique_ptr<store> facilities;
};

caf::behavior admin_db(caf::stateful_actor<admin_db_state>* self,
                       pg_store_options opts) {
  self->state.admin = std::make_unique<admin_store>(opts);
  self->state.facilities = make_pg_store(opts);
  return {
      [self](run_atom, const admin_job& job) -> caf::result<json> {
        auto& st = self->state;
        // A request's JSON of the wrong type surfaces here as an
        // exception; escaping the handler it would end this worker, and
        // with it the admin service.
        try {
          return job(*st.admin, *st.facilities);
        } catch (const std::exception& e) {
          return make_error(errc::invalid, e.what());
        }
      },
  };
}

// -- arguments
// ------------------------------------------------------------------

caf::error bad(const std::string& what) {
  return make_error(errc::invalid, what);
}

caf::expected<std::string> str_arg(const json& args, const char* key) {
  auto i = args.find(key);
  if (i == args.end() || !i->is_string() || i->get<std::string>().empty())
    return bad(std::string{"missing argument '"} + key + "'");
  return i->get<std::string>();
}

std::optional<std::string> opt_str(const json& args, const char* key) {
  auto i = args.find(key);
  if (i == args.end() || !i->is_string()) return std::nullopt;
  return i->get<std::string>();
}

caf::expected<int64_t> id_arg(const json& args, const char* key) {
  auto i = args.find(key);
  if (i != args.end() && i->is_number_integer()) return i->get<int64_t>();
  if (i != args.end() && i->is_string()) {
    const auto& s = i->get_ref<const std::string&>();
    if (!s.empty() && s.size() < 19 &&
        s.find_first_not_of("0123456789") == std::string::npos)
      return std::stoll(s);
  }
  return bad(std::string{"argument '"} + key + "' must be a numeric id");
}

// -- the service
// ----------------------------------------------------------------

struct watcher {
  caf::actor who;
  std::string facility;  // empty: all
};

struct service_state {
  admin_context ctx;
  caf::actor db;
  std::vector<watcher> watchers;
  std::chrono::steady_clock::time_point started;
};

using self_pointer = caf::stateful_actor<service_state>*;
using json_promise = caf::typed_response_promise<json>;

json participant_json(const participant& p, const directory& dir) {
  return {{"id", p.id},
          {"name", p.name},
          {"keyholder", p.keyholder},
          {"suspended", p.suspended},
          {"badges", dir.badges_of(p.id)}};
}

caf::expected<facility_id> resolve_facility(const service_state& st,
                                            const json& args) {
  auto name = str_arg(args, "facility");
  if (!name) {
    auto id = id_arg(args, "facility");
    if (!id) return name.error();
    name = std::to_string(*id);
  }
  auto i = st.ctx.facility_ids.find(*name);
  if (i != st.ctx.facility_ids.end()) return i->second;
  for (const auto& [n, id] : st.ctx.facility_ids)
    if (std::to_string(id) == *name) return id;
  return make_error(errc::not_found, "no facility '" + *name + "'");
}

caf::expected<participant> resolve_participant(const service_state& st,
                                               const json& args) {
  auto id = id_arg(args, "participant");
  if (!id) return id.error();
  auto p = st.ctx.dir->find(*id);
  if (!p)
    return make_error(errc::not_found, "no participant " + std::to_string(*id));
  return *p;
}

audit_entry audit_for(const std::string& user, const std::string& action,
                      const std::string& target) {
  return audit_entry{user, action, target, "", ""};
}

// Runs `job` on the service's database worker, holding every other
// message until it is done, then calls `next` with its result.
template <class Next>
void run_db(self_pointer self, admin_job job, json_promise rp, Next next) {
  self->request(self->state.db, db_timeout, run_atom::value, std::move(job))
      .await([next](json& r) mutable { next(std::move(r)); },
             [rp](caf::error& e) mutable { rp.deliver(e); });
}

// Asks every facility actor for its state; calls `done` with all of them.
void collect_states(self_pointer self,
                    std::function<void(std::vector<facility_state>)> done,
                    json_promise rp) {
  auto reg = self->state.ctx.links.registry;
  self->request(reg, actor_timeout, list_atom::value)
      .then(
          [=](std::vector<facility_id>& ids) mutable {
            auto out = std::make_shared<std::vector<facility_state>>();
            auto left = std::make_shared<size_t>(ids.size());
            auto failed = std::make_shared<bool>(false);
            if (ids.empty()) done({});
            for (auto id : ids)
              self->request(reg, actor_timeout, state_atom::value, id)
                  .then(
                      [=](facility_state& f) mutable {
                        out->push_back(std::move(f));
                        if (--*left == 0 && !*failed) done(std::move(*out));
                      },
                      [=](caf::error& e) mutable {
                        if (!*failed) rp.deliver(e);
                        *failed = true;
                      });
          },
          [rp](caf::error& e) mutable { rp.deliver(e); });
}

json facility_summary(const facility_state& f) {
  return {{"id", f.id},
          {"name", f.name},
          {"open", f.is_open()},
          {"present", f.visits.size()},
          {"keyholders_present", f.keyholders_present()},
          {"capacity", f.capacity ? json(*f.capacity) : json(nullptr)}};
}

// -- reading
// --------------------------------------------------------------------

// The database's health as health reports it (and status in part):
// {"database": "reachable"|"unreachable", "error"?, "round_trip_ms"?}. The
// check blocks, so it runs on the service's database worker, which has a thread
// of its own.
admin_job health_job(std::shared_ptr<db_health> health) {
  return [health](admin_store& a, store&) -> caf::expected<json> {
    if (!health)
      return json{{"database", a.reachable() ? "reachable" : "unreachable"}};
    auto r = health->check();
    if (!r.reachable)
      return json{{"database", "unreachable"}, {"error", r.error}};
    return json{
        {"database", "reachable"},
        {"round_trip_ms", static_cast<double>(r.round_trip.count()) / 1000.0}};
  };
}

void cmd_status(self_pointer self, json_promise rp) {
  auto& st = self->state;
  auto out =
      st.ctx.links.live_status ? st.ctx.links.live_status() : json::object();
  out["version"] = st.ctx.version;
  out["uptime_s"] = std::chrono::duration_cast<std::chrono::seconds>(
                        std::chrono::steady_clock::now() - st.started)
                        .count();
  self->request(st.db, db_timeout, run_atom::value, health_job(st.ctx.health))
      .then(
          [=](json& health) mutable {
            out["database"] = health["database"];
            if (health.contains("error"))
              out["database_error"] = health["error"];
            collect_states(
                self,
                [=](std::vector<facility_state> all) mutable {
                  size_t open_visits = 0;
                  for (auto& f : all)
                    open_visits += f.visits.size();
                  out["facilities"] = all.size();
                  out["open_visits"] = open_visits;
                  rp.deliver(out);
                },
                rp);
          },
          [rp](caf::error& e) mutable { rp.deliver(e); });
}

void cmd_health(self_pointer self, json_promise rp) {
  auto& st = self->state;
  self->request(st.db, db_timeout, run_atom::value, health_job(st.ctx.health))
      .then(
          [rp](json& health) mutable {
            health["status"] =
                health["database"] == "reachable" ? "ok" : "unavailable";
            rp.deliver(std::move(health));
          },
          [rp](caf::error& e) mutable { rp.deliver(e); });
}

void cmd_facilities(self_pointer self, json_promise rp) {
  collect_states(
      self,
      [rp](std::vector<facility_state> all) mutable {
        std::sort(all.begin(), all.end(),
                  [](auto& a, auto& b) { return a.name < b.name; });
        json list = json::array();
        for (auto& f : all)
          list.push_back(facility_summary(f));
        rp.deliver(json{{"facilities", list}});
      },
      rp);
}

// Every reader with its facility and gateway, from the directory.
void cmd_readers(self_pointer self, json_promise rp) {
  const auto& st = self->state;
  std::unordered_map<facility_id, std::string> names;
  for (const auto& [name, id] : st.ctx.facility_ids)
    names.emplace(id, name);
  json list = json::array();
  for (const auto& r : st.ctx.dir->readers()) {
    auto name = names.find(r.facility);
    list.push_back(
        {{"reader", r.reader},
         {"facility", r.facility},
         {"facility_name",
          name == names.end() ? json(nullptr) : json(name->second)},
         {"gateway", r.gateway.empty() ? json(nullptr) : json(r.gateway)}});
  }
  rp.deliver(json{{"readers", std::move(list)}});
}

void cmd_who(self_pointer self, const json& args, json_promise rp) {
  auto id = resolve_facility(self->state, args);
  if (!id) {
    rp.deliver(id.error()), void();
    return;
  }
  self->request(self->state.ctx.links.registry, actor_timeout,
                state_atom::value, *id)
      .then(
          [self, rp](facility_state& f) mutable {
            const auto& dir = *self->state.ctx.dir;
            std::vector<open_visit> visits;
            for (auto& [who, v] : f.visits)
              visits.push_back(v);
            std::sort(visits.begin(), visits.end(), [](auto& a, auto& b) {
              return a.checked_in_at_us < b.checked_in_at_us;
            });
            json present = json::array();
            for (auto& v : visits) {
              auto p = dir.find(v.who);
              present.push_back({{"participant", v.who},
                                 {"name", p ? p->name : "(removed)"},
                                 {"keyholder", v.keyholder},
                                 {"since", iso_time(v.checked_in_at_us)}});
            }
            rp.deliver(
                json{{"facility",
                      {{"id", f.id}, {"name", f.name}, {"open", f.is_open()}}},
                     {"present", present}});
          },
          [rp](caf::error& e) mutable { rp.deliver(e); });
}

void cmd_where(self_pointer self, const json& args, json_promise rp) {
  auto& st = self->state;
  const participant* p = nullptr;
  if (auto badge = opt_str(args, "badge")) {
    p = st.ctx.dir->find_by_badge(*badge);
    if (!p) {
      rp.deliver(make_error(errc::not_found, "no badge " + *badge));
      return;
    }
  } else {
    auto found = resolve_participant(st, args);
    if (!found) {
      rp.deliver(found.error());
      return;
    }
    p = st.ctx.dir->find(found->id);
  }
  auto who = participant_json(*p, *st.ctx.dir);
  auto id = p->id;
  collect_states(
      self,
      [rp, who, id](std::vector<facility_state> all) mutable {
        json visits = json::array();
        for (auto& f : all)
          if (auto v = f.visits.find(id); v != f.visits.end())
            visits.push_back({{"facility", f.name},
                              {"facility_id", f.id},
                              {"since", iso_time(v->second.checked_in_at_us)}});
        rp.deliver(json{{"participant", who}, {"visits", visits}});
      },
      rp);
}

void cmd_history(self_pointer self, const json& args, json_promise rp) {
  std::string kind, key;
  for (auto k : {"facility", "participant", "badge"})
    if (args.contains(k)) {
      kind = k;
      key = args[k].is_string() ? args[k].get<std::string>() : args[k].dump();
    }
  if (kind.empty()) {
    rp.deliver(bad("history needs facility, participant or badge"));
    return;
  }
  auto& st = self->state;
  if (kind == "facility" && !resolve_facility(st, args)) {
    rp.deliver(make_error(errc::not_found, "no facility '" + key + "'"));
    return;
  }
  if (kind == "participant" && !resolve_participant(st, args)) {
    rp.deliver(make_error(errc::not_found, "no participant " + key));
    return;
  }
  auto since = opt_str(args, "since");
  int limit = args.value("limit", 50);
  if (limit < 1 || limit > 1000) {
    rp.deliver(bad("limit must be between 1 and 1000"));
    return;
  }
  admin_job job = [=](admin_store& a, store&) {
    return a.history(kind, key, since, limit);
  };
  run_db(self, job, rp, [rp](json r) mutable { rp.deliver(std::move(r)); });
}

void cmd_verify(self_pointer self, json_promise rp) {
  collect_states(
      self,
      [self, rp](std::vector<facility_state> memory) mutable {
        auto mem =
            std::make_shared<std::vector<facility_state>>(std::move(memory));
        admin_job job = [mem](admin_store&, store& s) -> caf::expected<json> {
          json diffs = json::array();
          for (auto& m : *mem) {
            auto disk = s.load_facility(m.id);
            if (!disk) return disk.error();
            auto label = "facility " + m.name + ": ";
            if (disk->version != m.version)
              diffs.push_back(label + "version " + std::to_string(m.version) +
                              " in memory, " + std::to_string(disk->version) +
                              " in the database");
            for (auto& [who, v] : m.visits)
              if (!disk->visits.count(who) || disk->visits.at(who) != v)
                diffs.push_back(
                    label + "visit " + std::to_string(v.id) +
                    " of participant " + std::to_string(who) +
                    " is open in memory but not so in the database");
            for (auto& [who, v] : disk->visits)
              if (!m.visits.count(who))
                diffs.push_back(label + "visit " + std::to_string(v.id) +
                                " of participant " + std::to_string(who) +
                                " is open in the database but not in memory");
          }
          return json{{"facilities_checked", mem->size()},
                      {"differences", diffs}};
        };
        run_db(self, job, rp,
               [rp](json r) mutable { rp.deliver(std::move(r)); });
      },
      rp);
}

// -- changing facility state
// ------------------------------------------------------

void cmd_close(self_pointer self, const std::string& user, const json& args,
               json_promise rp) {
  auto id = resolve_facility(self->state, args);
  if (!id) {
    rp.deliver(id.error());
    return;
  }
  auto reason = str_arg(args, "reason");
  if (!reason) {
    rp.deliver(reason.error());
    return;
  }
  auto audit =
      audit_for(user, "facility.close", "facility " + std::to_string(*id));
  audit.after = json{{"reason", *reason}}.dump();
  self->request(self->state.ctx.links.registry, actor_timeout,
                close_atom::value, *id, close_reason::admin_close, audit)
      .then(
          [rp](int32_t n) mutable {
            rp.deliver(json{{"closed", n}});
          },
          [rp](caf::error& e) mutable { rp.deliver(e); });
}

void cmd_checkout(self_pointer self, const std::string& user, const json& args,
                  json_promise rp) {
  auto id = resolve_facility(self->state, args);
  if (!id) {
    rp.deliver(id.error());
    return;
  }
  auto p = resolve_participant(self->state, args);
  if (!p) {
    rp.deliver(p.error());
    return;
  }
  auto reason = str_arg(args, "reason");
  if (!reason) {
    rp.deliver(reason.error());
    return;
  }
  auto audit =
      audit_for(user, "visit.checkout", "participant " + std::to_string(p->id));
  audit.after = json{{"facility", *id}, {"reason", *reason}}.dump();
  self->request(self->state.ctx.links.registry, actor_timeout,
                checkout_atom::value, *id, p->id, audit)
      .then(
          [rp](int32_t n) mutable {
            rp.deliver(json{{"closed", n}});
          },
          [rp](caf::error& e) mutable { rp.deliver(e); });
}

// -- changing the directory
// -------------------------------------------------------

// Writes a directory change with `job`, applies it to the service's
// directory with `edit`, and hands the new directory to the registry, whose
// facility actors bring their visits in line; answers the job's result
// with "closed" added. Holds every other message until done, so directory
// changes never overlap.
void change_directory(self_pointer self, admin_job job,
                      std::function<void(directory&, const json&)> edit,
                      audit_entry effect, json_promise rp,
                      const char* wrap_as = nullptr) {
  run_db(self, std::move(job), rp, [=](json result) mutable {
    auto& st = self->state;
    auto next = std::make_shared<directory>(*st.ctx.dir);
    edit(*next, result);
    if (wrap_as != nullptr) result = json{{wrap_as, std::move(result)}};
    st.ctx.dir = next;
    self->request(st.ctx.links.registry, actor_timeout, directory_atom::value,
                  directory_ptr{next}, effect)
        .await(
            [rp, result](int32_t closed) mutable {
              result["closed"] = closed;
              rp.deliver(result);
            },
            [rp](caf::error& e) mutable { rp.deliver(e); });
  });
}

participant from_json(const json& j) {
  return participant{j.at("id").get<int64_t>(), j.at("name").get<std::string>(),
                     j.at("keyholder").get<bool>(),
                     j.at("suspended").get<bool>()};
}

// The participant in a store result, put into the directory as it is now.
void put_participant(directory& d, const json& j) {
  auto p = from_json(j);
  d.add_participant(p);
  for (auto& uid : j.at("badges"))
    d.add_badge(uid.get<std::string>(), p.id);
}

void cmd_set_participant(self_pointer self, const std::string& user,
                         const json& args, const std::string& action,
                         std::optional<bool> keyholder,
                         std::optional<bool> suspended, json_promise rp) {
  auto p = resolve_participant(self->state, args);
  if (!p) {
    rp.deliver(p.error());
    return;
  }
  auto target = "participant " + std::to_string(p->id);
  auto why = audit_for(user, action, target);
  admin_job job = [=, id = p->id](admin_store& a, store&) {
    return a.set_participant(id, keyholder, suspended, why);
  };
  change_directory(
      self, job, [](directory& d, const json& r) { put_participant(d, r); },
      audit_for(user, action + ".effect", target), json_promise{rp},
      "participant");
}

void cmd_participant_add(self_pointer self, const std::string& user,
                         const json& args, json_promise rp) {
  auto name = str_arg(args, "name");
  if (!name) {
    rp.deliver(name.error());
    return;
  }
  bool keyholder = args.value("keyholder", false);
  bool suspended = args.value("suspended", false);
  auto badge = opt_str(args, "badge");
  auto why = audit_for(user, "participant.add", "participant");
  admin_job job = [=](admin_store& a, store&) {
    return a.add_participant(*name, keyholder, suspended, badge, why);
  };
  change_directory(
      self, job, [](directory& d, const json& r) { put_participant(d, r); },
      audit_entry{}, rp, "participant");
}

void cmd_participant_edit(self_pointer self, const std::string& user,
                          const json& args, json_promise rp) {
  auto p = resolve_participant(self->state, args);
  if (!p) {
    rp.deliver(p.error());
    return;
  }
  auto name = str_arg(args, "name");
  if (!name) {
    rp.deliver(name.error());
    return;
  }
  auto why = audit_for(user, "participant.edit",
                       "participant " + std::to_string(p->id));
  admin_job job = [=, id = p->id](admin_store& a, store&) {
    return a.rename_participant(id, *name, why);
  };
  change_directory(
      self, job, [](directory& d, const json& r) { put_participant(d, r); },
      audit_entry{}, rp, "participant");
}

void cmd_participant_remove(self_pointer self, const std::string& user,
                            const json& args, json_promise rp) {
  auto p = resolve_participant(self->state, args);
  if (!p) {
    rp.deliver(p.error());
    return;
  }
  auto target = "participant " + std::to_string(p->id);
  auto why = audit_for(user, "participant.remove", target);
  admin_job job = [=, id = p->id](admin_store& a, store&) {
    return a.remove_participant(id, why);
  };
  change_directory(
      self, job,
      [id = p->id](directory& d, const json&) { d.remove_participant(id); },
      audit_for(user, "participant.remove.effect", target), rp);
}

void cmd_badge(self_pointer self, const std::string& user, const json& args,
               bool add, json_promise rp) {
  auto uid = str_arg(args, "badge");
  if (!uid) {
    rp.deliver(uid.error());
    return;
  }
  if (!add) {
    auto why = audit_for(user, "badge.remove", "badge " + *uid);
    admin_job job = [=](admin_store& a, store&) {
      return a.remove_badge(*uid, why);
    };
    change_directory(
        self, job,
        [uid = *uid](directory& d, const json&) { d.remove_badge(uid); },
        audit_entry{}, rp);
    return;
  }
  auto p = resolve_participant(self->state, args);
  if (!p) {
    rp.deliver(p.error());
    return;
  }
  auto why = audit_for(user, "badge.add", "badge " + *uid);
  admin_job job = [=, id = p->id](admin_store& a, store&) {
    return a.add_badge(*uid, id, why);
  };
  change_directory(
      self, job,
      [uid = *uid, id = p->id](directory& d, const json&) {
        d.add_badge(uid, id);
      },
      audit_entry{}, rp);
}

void cmd_reader(self_pointer self, const std::string& user, const json& args,
                const std::string& verb, json_promise rp) {
  auto reader = str_arg(args, "reader");
  if (!reader) {
    rp.deliver(reader.error());
    return;
  }
  auto why = audit_for(user, "reader." + verb, "reader " + *reader);
  if (verb == "remove") {
    admin_job job = [=](admin_store& a, store&) {
      return a.remove_reader(*reader, why);
    };
    change_directory(
        self, job,
        [r = *reader](directory& d, const json&) { d.remove_reader(r); },
        audit_entry{}, rp);
    return;
  }
  // add: facility and gateway; move: facility; assign: gateway.
  std::optional<facility_id> where;
  if (verb != "assign") {
    auto f = resolve_facility(self->state, args);
    if (!f) {
      rp.deliver(f.error());
      return;
    }
    where = *f;
  }
  std::optional<std::string> gateway;
  if (verb != "move") {
    auto g = str_arg(args, "gateway");
    if (!g) {
      rp.deliver(g.error());
      return;
    }
    gateway = *g;
  }
  bool must_exist = verb != "add";
  admin_job job = [=](admin_store& a, store&) {
    return a.put_reader(*reader, where, gateway, must_exist, why);
  };
  change_directory(
      self, job,
      [](directory& d, const json& now) {
        const auto& g = now.at("gateway");
        d.add_reader(now.at("reader").get<std::string>(),
                     now.at("facility").get<facility_id>(),
                     g.is_null() ? std::string{} : g.get<std::string>());
      },
      audit_entry{}, rp);
}

void cmd_gateway(self_pointer self, const std::string& user, const json& args,
                 const std::string& verb, json_promise rp) {
  auto id = str_arg(args, "gateway");
  if (!id) {
    rp.deliver(id.error());
    return;
  }
  auto why = audit_for(user, "gateway." + verb, "gateway " + *id);
  if (verb == "remove") {
    admin_job job = [=](admin_store& a, store&) {
      return a.remove_gateway(*id, why);
    };
    run_db(self, job, rp, [self, rp, id = *id](json r) mutable {
      auto& st = self->state;
      st.ctx.gateway_tokens.erase(id);
      st.ctx.credentials->replace(st.ctx.gateway_tokens);
      if (st.ctx.links.disconnect_gateway) st.ctx.links.disconnect_gateway(id);
      rp.deliver(std::move(r));
    });
    return;
  }
  auto token = generate_token();
  auto hash = hash_token(token);
  bool must_exist = verb == "rotate-token";
  admin_job job = [=](admin_store& a, store&) {
    return a.put_gateway(*id, hash, must_exist, why);
  };
  run_db(self, job, rp,
         [self, rp, id = *id, token, hash, must_exist](json r) mutable {
           auto& st = self->state;
           st.ctx.gateway_tokens[id] = hash;
           st.ctx.credentials->replace(st.ctx.gateway_tokens);
           // A connection logged in with the old token goes.
           if (must_exist && st.ctx.links.disconnect_gateway)
             st.ctx.links.disconnect_gateway(id);
           r["token"] = token;
           rp.deliver(std::move(r));
         });
}

void cmd_facility_add(self_pointer self, const std::string& user,
                      const json& args, json_promise rp) {
  auto name = str_arg(args, "name");
  if (!name) {
    rp.deliver(name.error());
    return;
  }
  std::optional<int32_t> capacity;
  if (args.contains("capacity") && !args["capacity"].is_null()) {
    if (!args["capacity"].is_number_integer() || args["capacity"] < 0) {
      rp.deliver(bad("capacity must be a whole number of at least 0"));
      return;
    }
    capacity = args["capacity"].get<int32_t>();
  }
  auto why = audit_for(user, "facility.add", "facility");
  admin_job job = [=](admin_store& a, store&) {
    return a.add_facility(*name, capacity, why);
  };
  run_db(self, job, rp, [self, rp](json r) mutable {
    facility_state f;
    f.id = r.at("id").get<int64_t>();
    f.name = r.at("name").get<std::string>();
    if (!r.at("capacity").is_null())
      f.capacity = r.at("capacity").get<int32_t>();
    self->state.ctx.facility_ids[f.name] = f.id;
    self->request(self->state.ctx.links.registry, actor_timeout,
                  put_atom::value, f)
        .await(
            [rp, r](facility_id) mutable {
              rp.deliver(json{{"facility", r}});
            },
            [rp](caf::error& e) mutable { rp.deliver(e); });
  });
}

void cmd_facility_edit(self_pointer self, const std::string& user,
                       const json& args, json_promise rp) {
  auto id = resolve_facility(self->state, args);
  if (!id) {
    rp.deliver(id.error());
    return;
  }
  facility_edit e;
  if (auto name = opt_str(args, "name")) {
    if (name->empty() || self->state.ctx.facility_ids.count(*name) > 0) {
      rp.deliver(make_error(errc::rejected,
                            "a facility named '" + *name + "' exists"));
      return;
    }
    e.name = *name;
  }
  if (args.contains("capacity")) {
    e.set_capacity = true;
    const auto& c = args["capacity"];
    if (!c.is_null()) {
      if (!c.is_number_integer() || c < 0) {
        rp.deliver(bad("capacity must be a whole number of at least 0"));
        return;
      }
      e.capacity = c.get<int32_t>();
    }
  }
  if (!e.name && !e.set_capacity) {
    rp.deliver(bad("facility.edit needs a name or a capacity"));
    return;
  }
  auto audit =
      audit_for(user, "facility.edit", "facility " + std::to_string(*id));
  audit.after = args.dump();
  self->request(self->state.ctx.links.registry, actor_timeout, edit_atom::value,
                *id, e, audit)
      .await(
          [self, rp, e, id = *id](int32_t) mutable {
            auto& ids = self->state.ctx.facility_ids;
            if (e.name) {
              std::erase_if(ids, [&](auto& kv) { return kv.second == id; });
              ids[*e.name] = id;
            }
            self->request(self->state.ctx.links.registry, actor_timeout,
                          state_atom::value, id)
                .then(
                    [rp](facility_state& f) mutable {
                      rp.deliver(json{{"facility", facility_summary(f)}});
                    },
                    [rp](caf::error& err) mutable { rp.deliver(err); });
          },
          [rp](caf::error& err) mutable { rp.deliver(err); });
}

void cmd_facility_remove(self_pointer self, const std::string& user,
                         const json& args, json_promise rp) {
  auto id = resolve_facility(self->state, args);
  if (!id) {
    rp.deliver(id.error());
    return;
  }
  auto audit =
      audit_for(user, "facility.remove", "facility " + std::to_string(*id));
  self->request(self->state.ctx.links.registry, actor_timeout,
                remove_atom::value, *id, audit)
      .await(
          [self, rp, id = *id](int32_t) mutable {
            std::erase_if(self->state.ctx.facility_ids,
                          [&](auto& kv) { return kv.second == id; });
            rp.deliver(json{{"removed", id}});
          },
          [rp](caf::error& err) mutable { rp.deliver(err); });
}

void cmd_import(self_pointer self, const std::string& user, const json& args,
                json_promise rp) {
  auto rows = args.find("rows");
  if (rows == args.end() || !rows->is_array()) {
    rp.deliver(bad("import needs 'rows', a list of participants"));
    return;
  }
  auto why = audit_for(user, "import.participants", "participants");
  admin_job job = [=, rows = *rows](admin_store& a, store&) {
    return a.import_participants(rows, why);
  };
  change_directory(
      self, job,
      [](directory& d, const json& r) {
        for (auto& p : r.at("participants"))
          put_participant(d, p);
      },
      audit_entry{}, rp);
}

// -- watching
// -----------------------------------------------------------------------

json event_json(const scan_event& e) {
  json out{{"event", "scan"},
           {"at", iso_time(e.at_us)},
           {"facility", e.facility ? json(e.facility_name) : json(nullptr)},
           {"facility_id", e.facility ? json(e.facility) : json(nullptr)},
           {"gateway", e.scan.gateway},
           {"seq", e.scan.seq},
           {"reader", e.scan.reader},
           {"outcome", std::string{to_string(e.reply.result)}},
           {"participant", e.who ? json(*e.who) : json(nullptr)},
           {"name", e.reply.name},
           {"visit", e.reply.visit},
           {"closed", e.reply.closed}};
  return out;
}

void add_watcher(self_pointer self, caf::actor who, std::string facility) {
  auto& st = self->state;
  self->monitor(who);
  st.watchers.push_back({std::move(who), std::move(facility)});
  st.ctx.watchers->store(static_cast<int>(st.watchers.size()));
}

void drop_watcher(self_pointer self, const caf::actor_addr& who) {
  auto& st = self->state;
  std::erase_if(st.watchers, [&](const watcher& w) { return w.who == who; });
  st.ctx.watchers->store(static_cast<int>(st.watchers.size()));
}

// -- dispatch
// ---------------------------------------------------------------------

void dispatch(self_pointer self, const std::string& user, const json& req,
              json_promise rp) {
  auto cmd = req.value("cmd", std::string{});
  static const json no_args = json::object();
  const json& args =
      req.contains("args") && req["args"].is_object() ? req["args"] : no_args;
  if (cmd == "status") return cmd_status(self, rp);
  if (cmd == "health") return cmd_health(self, rp);
  if (cmd == "facilities") return cmd_facilities(self, rp);
  if (cmd == "readers") return cmd_readers(self, rp);
  if (cmd == "who") return cmd_who(self, args, rp);
  if (cmd == "where") return cmd_where(self, args, rp);
  if (cmd == "history") return cmd_history(self, args, rp);
  if (cmd == "verify") return cmd_verify(self, rp);
  if (cmd == "close") return cmd_close(self, user, args, rp);
  if (cmd == "checkout") return cmd_checkout(self, user, args, rp);
  if (cmd == "participant.add")
    return cmd_participant_add(self, user, args, rp);
  if (cmd == "participant.edit")
    return cmd_participant_edit(self, user, args, rp);
  if (cmd == "participant.remove")
    return cmd_participant_remove(self, user, args, rp);
  if (cmd == "participant.suspend")
    return cmd_set_participant(self, user, args, cmd, std::nullopt, true, rp);
  if (cmd == "participant.resume")
    return cmd_set_participant(self, user, args, cmd, std::nullopt, false, rp);
  if (cmd == "keyholder.grant")
    return cmd_set_participant(self, user, args, cmd, true, std::nullopt, rp);
  if (cmd == "keyholder.revoke")
    return cmd_set_participant(self, user, args, cmd, false, std::nullopt, rp);
  if (cmd == "badge.add") return cmd_badge(self, user, args, true, rp);
  if (cmd == "badge.remove") return cmd_badge(self, user, args, false, rp);
  for (auto verb : {"add", "move", "assign", "remove"})
    if (cmd == std::string{"reader."} + verb)
      return cmd_reader(self, user, args, verb, rp);
  for (auto verb : {"add", "remove", "rotate-token"})
    if (cmd == std::string{"gateway."} + verb)
      return cmd_gateway(self, user, args, verb, rp);
  if (cmd == "import.participants") return cmd_import(self, user, args, rp);
  if (cmd == "facility.add") return cmd_facility_add(self, user, args, rp);
  if (cmd == "facility.edit") return cmd_facility_edit(self, user, args, rp);
  if (cmd == "facility.remove")
    return cmd_facility_remove(self, user, args, rp);
  rp.deliver(bad(cmd.empty() ? "no 'cmd' in the request"
                             : "unknown command '" + cmd + "'"));
}

caf::behavior admin_service(self_pointer self, admin_context ctx) {
  auto& st = self->state;
  st.ctx = std::move(ctx);
  st.started = std::chrono::steady_clock::now();
  st.db = self->spawn<caf::detached + caf::linked>(admin_db, st.ctx.db);
  self->set_down_handler(
      [self](caf::down_msg& msg) { drop_watcher(self, msg.source); });
  return {
      [self](admin_atom, const std::string& user,
             const json& req) -> caf::result<json> {
        auto rp = self->make_response_promise<json>();
        try {
          dispatch(self, user, req, rp);
        } catch (const std::exception& e) {
          // A JSON value of the wrong type deep inside a request.
          rp.deliver(bad(e.what()));
        }
        return rp;
      },
      [self](admin_links& links) { self->state.ctx.links = std::move(links); },
      [self](watch_atom, caf::actor who, std::string& facility) {
        add_watcher(self, std::move(who), std::move(facility));
      },
      [self](event_atom, const scan_event& e) {
        auto& st = self->state;
        if (st.watchers.empty()) return;
        auto line = event_json(e);
        for (auto& w : st.watchers)
          if (w.facility.empty() || w.facility == e.facility_name ||
              w.facility == std::to_string(e.facility))
            self->send(w.who, event_atom::value, line);
      },
  };
}

}  // namespace

caf::actor spawn_admin_service(caf::actor_system& sys, admin_context ctx) {
  return sys.spawn(admin_service, std::move(ctx));
}

std::string admin_error_message(const caf::error& e) {
  const auto& ctx = e.context();
  if (e.category() == errc_category && ctx.size() == 1 &&
      ctx.match_element<std::string>(0))
    return ctx.get_as<std::string>(0);
  return describe(e);
}

std::string admin_error_code(const caf::error& e) {
  switch (errc_of(e)) {
    case errc::invalid:
      return "bad_request";
    case errc::not_found:
      return "not_found";
    case errc::rejected:
      return "conflict";
    case errc::internal:
      // CAF's own errors (timeouts) land here too.
      return e.category() == errc_category ? "internal" : "unavailable";
    default:
      return "unavailable";
  }
}

}  // namespace facilityd
