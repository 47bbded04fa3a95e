// Readable text for lbd's answers (docs/api.md). The read commands' renderers
// take the fields they show with Json::at, so an answer lacking one throws a
// nlohmann::json::exception: the caller reports it as a malformed answer.
#pragma once
#include <ostream>
#include <string>

#include "lbctl/client.h"

namespace xlb::lbctl {

// --json: the answer without "ok", pretty-printed.
void render_json(const Json& answer, std::ostream& out);

void render_status(const Json& answer, std::ostream& out);  // key: value lines, nested keys dotted
// status's "announce" on one line: "table 100, 198.18.100.1 fd00::1",
// "table 100, node drained: nothing announced", "off (no --announce-table)".
std::string announce_text(const Json& announce);
void render_list(const Json& answer, std::ostream& out);    // each VIP with a table of its backends and their counts
void render_stats(const Json& answer, std::ostream& out);   // VIP/backend table, non-zero global counters
void render_flows(const Json& answer, std::ostream& out);   // one table row per flow
void render_doctor(const Json& answer, std::ostream& out);  // each check's status, then findings with fixes
void render_pick(const Json& answer, std::ostream& out);    // the tuple, the new flow's backend, the existing flow

// Write commands: by the time they are rendered the change is made, so a
// missing informational field is skipped rather than turned into a failure.
void render_flows_removed(const Json& answer, std::ostream& out);  // del-vip, del-backend
void render_apply(const Json& answer, std::ostream& out);
void render_dry_run(const Json& answer, std::ostream& out);  // apply --dry-run: the changes, then the counts

}  // namespace xlb::lbctl
