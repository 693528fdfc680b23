#include "export/usage_summary_csv.h"

namespace tally::exports {

std::string_view ResourceUriSegment(std::string_view resource_uri, size_t index) {
  size_t start = 0;
  for (size_t i = 0; i < index; ++i) {
    const size_t slash = resource_uri.find('/', start);
    if (slash == std::string_view::npos) return {};
    start = slash + 1;
  }
  const size_t end = resource_uri.find('/', start);
  return resource_uri.substr(start, end == std::string_view::npos ? end : end - start);
}

namespace {

// "null" is how instanceData spells an absent object; the script prints nothing for it.
std::string_view JsonOrEmpty(std::string_view json) { return json == "null" ? "" : json; }

}  // namespace

UsageSummaryCsvWriter::UsageSummaryCsvWriter(std::ostream& out, const domain::MeterCatalog& catalog)
    : out_(out), catalog_(catalog) {}

Status UsageSummaryCsvWriter::WriteHeader() {
  record_.Clear();
  for (std::string_view column : kUsageSummaryColumns) record_.Field(column);
  record_.End();
  header_written_ = true;
  return WriteText(out_, record_.text());
}

Status UsageSummaryCsvWriter::WriteRow(const UsageSummaryRow& row) {
  if (!header_written_) TALLY_RETURN_IF_ERROR(WriteHeader());
  if (last_meter_id_.empty() || row.meter_id != last_meter_id_) {
    last_meter_ = catalog_.Find(row.meter_id);
    last_meter_id_.assign(row.meter_id);
  }
  const domain::Meter* meter = last_meter_;
  record_.Clear();
  scratch_.clear();
  AppendUtcTime(scratch_, row.usage_start);
  record_.Field(scratch_);
  scratch_.clear();
  AppendUtcTime(scratch_, row.usage_end);
  record_.Field(scratch_);
  record_.Field(meter != nullptr ? std::string_view(meter->name) : std::string_view());
  scratch_.clear();
  row.quantity.AppendTo(scratch_);
  record_.Field(scratch_);
  record_.Field(ResourceUriSegment(row.resource_uri, 7));
  record_.Field(row.location);
  record_.Field(ResourceUriSegment(row.resource_uri, 4));
  record_.Field(ResourceUriSegment(row.resource_uri, 8));
  record_.Field(row.subscription_owner);
  record_.Field(JsonOrEmpty(row.tags_json));
  record_.Field(row.meter_id);
  record_.Field(JsonOrEmpty(row.additional_info_json));
  record_.Field(row.subscription_id);
  record_.Field(row.resource_uri);
  record_.End();
  TALLY_RETURN_IF_ERROR(WriteText(out_, record_.text()));
  ++rows_written_;
  return Status::Ok();
}

Status UsageSummaryCsvWriter::Finish() {
  if (!header_written_) TALLY_RETURN_IF_ERROR(WriteHeader());
  out_.flush();
  if (!out_) return Unavailable("writing the export failed (the output stream reported an error)");
  return Status::Ok();
}

}  // namespace tally::exports
