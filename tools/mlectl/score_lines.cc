#include "tools/mlectl/score_lines.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/wrappers.pb.h"
#include "tools/mlectl/json_line.h"
#include "tools/mlectl/value_text.h"

namespace mled::mlectl {
namespace {

// "score=S threshold=T p=P d2=D", shared by both lines so that they read alike.
std::string ScoreWords(double score, double threshold, double p_value, double mahalanobis2) {
  return absl::StrCat("score=", FormatNumber(score), " threshold=", FormatNumber(threshold),
                      " p=", FormatPValue(p_value), " d2=", FormatNumber(mahalanobis2));
}

// z = sign(x - mean)·sqrt(d²) for a univariate anomaly; empty when it cannot be told.
std::string ZWord(const mled::v1::Anomaly& anomaly) {
  if (anomaly.x_size() != 1 || anomaly.mean_size() != 1) return "";
  const double d2 = anomaly.mahalanobis2();
  const double z = std::copysign(std::sqrt(d2), anomaly.x(0) - anomaly.mean(0));
  if (!(d2 >= 0) || !std::isfinite(z)) return " z=-";
  return absl::StrFormat(" z=%+.6g", z);
}

// A JSON string with the text of `text`, escaped by protobuf's own JSON printer.
std::string JsonString(absl::string_view text) {
  google::protobuf::StringValue value;
  value.set_value(std::string(text));
  std::string json;
  (void)google::protobuf::util::MessageToJsonString(value, &json);
  return json;
}

}  // namespace

std::string FormatAnomaly(const mled::v1::Anomaly& anomaly, absl::TimeZone zone) {
  std::string line = absl::StrCat(
      FormatLocalTime(anomaly.time_unix_nano(), zone), " anomaly ", anomaly.stream(),
      " rule=", anomaly.rule().empty() ? "-" : anomaly.rule(),
      " x=", FormatList(anomaly.x(), FormatValue),
      " mean=", FormatList(anomaly.mean(), FormatNumber), " ",
      ScoreWords(anomaly.score(), anomaly.threshold(), anomaly.p_value(), anomaly.mahalanobis2()),
      ZWord(anomaly));
  if (anomaly.suppressed() > 0) absl::StrAppend(&line, " (+", anomaly.suppressed(), " suppressed)");
  return line;
}

absl::StatusOr<IngestRow> FindScoredRow(const mled::v1::Ingest& ingest,
                                        const mled::v1::RowScore& score) {
  const auto missing = [&] {
    return absl::OutOfRangeError(
        absl::StrCat("mled scored ", score.batch() ? "batch " : "sample ", score.index(),
                     score.batch() ? absl::StrCat(" row ", score.row()) : "", " of message seq ",
                     ingest.seq(), ", which has no such row"));
  };
  if (!score.batch()) {
    if (score.index() >= static_cast<uint32_t>(ingest.samples_size()) || score.row() != 0) {
      return missing();
    }
    const mled::v1::Sample& sample = ingest.samples(static_cast<int>(score.index()));
    return IngestRow{sample.stream(), sample.x()};
  }
  if (score.index() >= static_cast<uint32_t>(ingest.batches_size())) return missing();
  const mled::v1::StreamBatch& batch = ingest.batches(static_cast<int>(score.index()));
  const size_t dim = batch.dim() == 0 ? 1 : batch.dim();
  const size_t begin = static_cast<size_t>(score.row()) * dim;
  if (begin + dim > static_cast<size_t>(batch.values_size())) return missing();
  return IngestRow{batch.stream(), absl::MakeConstSpan(batch.values()).subspan(begin, dim)};
}

std::string FormatRowScore(const IngestRow& row, const mled::v1::RowScore& score) {
  std::string line = absl::StrCat(row.stream, " x=", FormatList(row.values, FormatValue), " ");
  if (!score.scored()) return line + "warm-up";
  absl::StrAppend(
      &line, ScoreWords(score.score(), score.threshold(), score.p_value(), score.mahalanobis2()));
  if (score.anomaly()) line += " ANOMALY";
  return line;
}

std::string RowScoreJson(uint64_t seq, const IngestRow& row, const mled::v1::RowScore& score) {
  const std::string fields = ToJsonLine(score);  // "{...}", never empty: zeros are printed
  return absl::StrCat("{\"seq\":\"", seq, "\",\"stream\":", JsonString(row.stream), ",\"x\":[",
                      absl::StrJoin(row.values, ",",
                                    [](std::string* out, double v) {
                                      out->append(std::isfinite(v) ? FormatValue(v) : "null");
                                    }),
                      "],", absl::string_view(fields).substr(1));
}

}  // namespace mled::mlectl
