#include "metrics_service.h"

#include "metrics/collector.h"

namespace xlb {

using Json = nlohmann::json;

MetricsService::MetricsService(const metrics::ListenAddress& at)
    : endpoint_(std::make_unique<metrics::Endpoint>(at)) {}

MetricsService::~MetricsService() {
  bridge_.close();
  endpoint_->stop();
}

void MetricsService::start(std::unique_ptr<MapIo> flows_io) {
  flows_io_ = std::move(flows_io);
  endpoint_->set_handler([this] { return scrape(); });
}

void MetricsService::tick(Api& api) {
  bridge_.serve([&api] {
    // Each view on its own: one that fails (list while the model is out of
    // sync with the maps) leaves its metrics out, not the whole scrape.
    auto view = [](const auto& get) {
      try {
        return get();
      } catch (const std::exception&) {
        return Json(nullptr);
      }
    };
    metrics::Views v;
    v.status = api.status(false);
    v.stats = view([&] { return api.dispatch({{"cmd", "stats"}}); });
    v.vips = view([&] { return api.dispatch({{"cmd", "list"}}).at("vips"); });
    return v;
  });
}

metrics::Reply MetricsService::scrape() {
  metrics::Views v;
  std::string error;
  switch (bridge_.request(std::chrono::milliseconds(kScrapeWaitMs), &v, &error)) {
    case metrics::ScrapeBridge::Outcome::kOk:
      break;
    case metrics::ScrapeBridge::Outcome::kTimeout:
      return {503, "lbd's main loop did not answer within " + std::to_string(kScrapeWaitMs / 1000) +
                       " s (busy, e.g. applying a large config); try again\n"};
    case metrics::ScrapeBridge::Outcome::kClosed:
      return {503, "lbd is stopping\n"};
    case metrics::ScrapeBridge::Outcome::kFailed:
      return {500, "lbd could not read its state: " + error + "\n"};
  }
  if (v.status.is_object()) {
    // Scrapes that shared a build share the count too: one pass over the
    // table per build at most.
    std::lock_guard<std::mutex> lk(flows_mu_);
    auto now = std::chrono::steady_clock::now();
    if (!flows_ || now - flows_at_ >= std::chrono::milliseconds(kScrapeMinIntervalMs)) {
      flows_.reset();
      try {
        uint64_t n = 0;
        flows_io_->for_each_flow([&n](const xlb_flow_key&, const xlb_flow&) {
          n++;
          return true;
        });
        flows_ = n;
        flows_at_ = now;
      } catch (const std::exception&) {
        // Left out (xlb_flow_table_entries missing) rather than failing the scrape.
      }
    }
    if (flows_) v.status["flows"] = *flows_;
  }
  try {
    return {200, metrics::render(v)};
  } catch (const std::exception& e) {
    return {500, std::string("internal error: ") + e.what() + "\n"};
  }
}

}  // namespace xlb
