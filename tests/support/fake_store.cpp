#include "tests/support/fake_store.hpp"

namespace facilityd::test {

namespace {

// The handle each database worker owns: forwards to the shared state.
class fake_handle final : public store {
 public:
  explicit fake_handle(fake_store* f) : f_(f) {}

  caf::expected<recorded_scan> record_scan(const scan_request& s,
                                           const decision& d) override {
    return f_->record_scan(s, d);
  }

  caf::expected<facility_state> load_facility(facility_id id) override {
    return f_->load_facility(id);
  }

  caf::expected<commit> change_visits(const visit_change& c,
                                      const audit_entry&) override {
    return f_->change_visits(c);
  }

  caf::expected<commit> edit_facility(const facility_state&,
                                      const facility_edit&,
                                      const audit_entry&) override {
    return make_error(errc::internal, "not supported by the fake store");
  }

  caf::expected<commit> remove_facility(const facility_state&,
                                        const audit_entry&) override {
    return make_error(errc::internal, "not supported by the fake store");
  }

  caf::expected<world> load_world() override {
    return make_error(errc::internal, "not supported by the fake store");
  }

 private:
  fake_store* f_;
};

}  // namespace

fake_store::fake_store(std::vector<facility_state> facilities) {
  for (auto& f : facilities)
    facilities_.emplace(f.id, std::move(f));
}

void fake_store::script(step s, errc code) {
  std::lock_guard<std::mutex> guard{mtx_};
  script_.emplace_back(s, code);
}

void fake_store::clear_script() {
  std::lock_guard<std::mutex> guard{mtx_};
  script_.clear();
}

void fake_store::release() {
  std::lock_guard<std::mutex> guard{mtx_};
  released_ = true;
  cv_.notify_all();
}

void fake_store::wait_until_held() {
  std::unique_lock<std::mutex> guard{mtx_};
  cv_.wait(guard, [this] { return held_ > 0; });
}

void fake_store::change_behind_the_back(
    facility_id id, const std::function<void(facility_state&)>& f) {
  std::lock_guard<std::mutex> guard{mtx_};
  auto& st = facilities_.at(id);
  f(st);
  ++st.version;
}

store_factory fake_store::factory() {
  return [this] { return std::make_unique<fake_handle>(this); };
}

facility_state fake_store::facility(facility_id id) {
  std::lock_guard<std::mutex> guard{mtx_};
  return facilities_.at(id);
}

size_t fake_store::scans_recorded() {
  std::lock_guard<std::mutex> guard{mtx_};
  return scans_.size();
}

caf::expected<recorded_scan> fake_store::record_scan(const scan_request& s,
                                                     const decision& d) {
  std::unique_lock<std::mutex> guard{mtx_};
  std::optional<std::pair<step, errc>> next;
  if (!script_.empty()) {
    next = script_.front();
    script_.pop_front();
  }
  if (next && next->first == step::hold) {
    ++held_;
    cv_.notify_all();
    cv_.wait(guard, [this] { return released_; });
  }
  if (next && next->first == step::fail_before)
    return make_error(next->second, "scripted failure");
  auto key = std::make_pair(s.gateway, s.seq);
  if (auto i = scans_.find(key); i != scans_.end()) {
    auto out = i->second;
    out.replayed = true;
    return out;
  }
  recorded_scan r;
  r.result = d.result;
  r.who = d.who;
  if (d.facility) {
    auto& f = facilities_.at(*d.facility);
    if (f.version != d.expected_version)
      return make_error(errc::conflict, "fence");
    commit c{d.result == outcome::checked_in ? next_visit_++ : d.closes,
             ++clock_us_, f.version + 1};
    apply(f, d, c);
    r.committed = c;
    r.visit = c.visit;
    r.closed = static_cast<int32_t>(d.force_closed.size());
  }
  scans_.emplace(key, r);
  if (next && next->first == step::commit_then_lose)
    return make_error(errc::outcome_unknown, "scripted lost commit");
  return r;
}

caf::expected<commit> fake_store::change_visits(const visit_change& c) {
  std::lock_guard<std::mutex> guard{mtx_};
  auto& f = facilities_.at(c.facility);
  if (f.version != c.expected_version)
    return make_error(errc::conflict, "fence");
  commit out{0, ++clock_us_, f.version + 1};
  apply(f, c, out.version);
  return out;
}

caf::expected<facility_state> fake_store::load_facility(facility_id id) {
  std::lock_guard<std::mutex> guard{mtx_};
  auto i = facilities_.find(id);
  if (i == facilities_.end()) return make_error(errc::rejected, "no facility");
  return i->second;
}

}  // namespace facilityd::test
