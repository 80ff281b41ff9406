// mlectl send: read samples from a file or stdin and ingest them.
//
// Samples are grouped into Ingest messages of --batch samples (and never more bytes than one
// frame, or one datagram with --udp, may carry); a message goes out as soon as it is full, and
// whenever the input pauses. Over TCP every message has a seq, up to --window of them are in
// flight before the first is acknowledged (all are awaited whenever the input pauses, so that a
// live source sees its answers at once), and each Ack's rejections are mapped back to the input
// lines of the samples they name. With --scores every Ingest asks for the scores of its rows
// (`Ingest.return_scores`), and each Ack's scores are printed as it arrives, mapped back to the
// stream and values of the rows they name (score_lines.h).
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <deque>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "google/protobuf/io/coded_stream.h"
#include "lib/wire/framing.h"
#include "tools/mlectl/client.h"
#include "tools/mlectl/commands.h"
#include "tools/mlectl/common_flags.h"
#include "tools/mlectl/datagram_sender.h"
#include "tools/mlectl/sample_reader.h"
#include "tools/mlectl/score_lines.h"

ABSL_FLAG(std::string, format, "auto",
          "input format: lines ('stream v1 v2 ...'), csv ('stream,v1,v2,...'), or auto (per\n"
          "line: CSV when the line has a comma)");
ABSL_FLAG(bool, scores, false,
          "ask mled for the score of every accepted sample and print one line per sample as\n"
          "the acknowledgements arrive (TCP only; with --json one JSON object per sample)");

namespace mled::mlectl {
namespace {

// Room for the Ingest's own fields (the seq) within the byte limit of one message.
constexpr size_t kIngestOverheadBytes = 16;

// One Ingest being filled, or sent and awaiting its Ack.
struct Batch {
  mled::v1::Ingest ingest;
  size_t bytes = kIngestOverheadBytes;  // serialized size, for the message size limit
  std::vector<int64_t> lines;           // input line of each sample, for rejections
};

// Where full batches go: TCP with acknowledgements, or UDP datagrams.
class BatchSink {
 public:
  virtual ~BatchSink() = default;
  // The largest serialized Ingest the transport carries.
  virtual size_t max_message_bytes() const = 0;
  virtual absl::Status Send(Batch batch) = 0;
  // Waits for what is still unacknowledged (at the end, and whenever the input pauses); sending
  // may go on afterwards.
  virtual absl::Status Finish() = 0;
  // The summary line, and whether anything was rejected.
  virtual std::string Summary() const = 0;
  virtual bool rejected_any() const = 0;
};

// Where a rejection points to: the input line when it names one of our samples.
std::string RejectionPlace(const mled::v1::Rejection& rejection, const Batch& sent,
                           const std::string& input) {
  if (!rejection.batch() && rejection.index() < sent.lines.size()) {
    return absl::StrCat(input, ":", sent.lines[rejection.index()]);
  }
  return absl::StrCat("message seq ", sent.ingest.seq(),
                      rejection.batch() ? ", batch " : ", sample ", rejection.index());
}

void ReportRejections(const mled::v1::Ack& ack, const Batch& sent, const std::string& input) {
  uint64_t itemized = 0;
  for (const mled::v1::Rejection& rejection : ack.rejections()) {
    absl::FPrintF(stderr, "%s: rejected stream \"%s\": %s: %s\n",
                  RejectionPlace(rejection, sent, input), rejection.stream(),
                  mled::v1::Code_Name(rejection.code()), rejection.message());
    itemized += rejection.rows() == 0 ? 1 : rejection.rows();
  }
  if (ack.rejected() > itemized) {
    absl::FPrintF(stderr, "... and %d more rejected samples in message seq %d\n",
                  ack.rejected() - itemized, ack.seq());
  }
}

// What to print of the scores that Acks return: nothing (and none are asked for), a line of text
// or of JSON per row.
enum class ScoreOutput { kNone, kText, kJson };

// Prints the score of every row that `ack` scores, as its line; DATA_LOSS when a score names no
// row of `sent`.
absl::Status PrintScores(const mled::v1::Ack& ack, const mled::v1::Ingest& sent,
                         ScoreOutput output) {
  for (const mled::v1::RowScore& score : ack.scores()) {
    const absl::StatusOr<IngestRow> row = FindScoredRow(sent, score);
    if (!row.ok()) return absl::DataLossError(row.status().message());
    const std::string line = output == ScoreOutput::kJson ? RowScoreJson(sent.seq(), *row, score)
                                                          : FormatRowScore(*row, score);
    std::fwrite(line.data(), 1, line.size(), stdout);
    std::fputc('\n', stdout);
  }
  std::fflush(stdout);
  return absl::OkStatus();
}

// TCP: every batch gets a seq; at most `window` are unacknowledged at a time.
class AckedSink : public BatchSink {
 public:
  AckedSink(std::unique_ptr<Client> client, size_t window, absl::Duration timeout,
            std::string input, ScoreOutput scores)
      : client_(std::move(client)),
        window_(window),
        timeout_(timeout),
        input_(std::move(input)),
        scores_(scores) {}

  size_t max_message_bytes() const override {
    return wire::kDefaultMaxFrameBytes - 2 * wire::kMaxVarintBytes;  // room for the framing
  }

  absl::Status Send(Batch batch) override {
    while (in_flight_.size() >= window_) {
      absl::Status status = AwaitAck();
      if (!status.ok()) return status;
    }
    batch.ingest.set_seq(++last_seq_);
    batch.ingest.set_return_scores(scores_ != ScoreOutput::kNone);
    samples_ += batch.lines.size();
    // Lend the Ingest to a ClientMessage for framing, then take it back for the Ack.
    mled::v1::ClientMessage message;
    message.mutable_ingest()->Swap(&batch.ingest);
    absl::Status status = client_->Send(message, DeadlineAfter(timeout_));
    message.mutable_ingest()->Swap(&batch.ingest);
    if (status.ok()) in_flight_.push_back(std::move(batch));
    return status;
  }

  absl::Status Finish() override {
    while (!in_flight_.empty()) {
      absl::Status status = AwaitAck();
      if (!status.ok()) return status;
    }
    return absl::OkStatus();
  }

  std::string Summary() const override {
    std::string summary = absl::StrFormat("sent %d samples: accepted %d, rejected %d", samples_,
                                          accepted_, rejected_);
    if (scores_ != ScoreOutput::kNone) {
      absl::StrAppendFormat(&summary, "; scored %d, anomalies %d", scored_, anomalies_);
    }
    return summary;
  }
  bool rejected_any() const override { return rejected_ > 0; }

 private:
  absl::Status AwaitAck() {
    const absl::Time deadline = DeadlineAfter(timeout_);
    do {
      absl::Status status = client_->Receive(deadline, &reply_);
      if (status.code() == absl::StatusCode::kDeadlineExceeded) {
        return absl::DeadlineExceededError(
            absl::StrCat("no acknowledgement of message seq ", in_flight_.front().ingest.seq(),
                         " from mled within --timeout=", absl::FormatDuration(timeout_)));
      }
      if (!status.ok()) return status;
    } while (!reply_.has_ack());
    const Batch& sent = in_flight_.front();
    if (reply_.ack().seq() != sent.ingest.seq()) {
      return absl::DataLossError(absl::StrCat("mled acknowledged seq ", reply_.ack().seq(),
                                              " while seq ", sent.ingest.seq(),
                                              " was the oldest unacknowledged"));
    }
    accepted_ += reply_.ack().accepted();
    rejected_ += reply_.ack().rejected();
    ReportRejections(reply_.ack(), sent, input_);
    if (scores_ != ScoreOutput::kNone) {
      absl::Status status = PrintScores(reply_.ack(), sent.ingest, scores_);
      if (!status.ok()) return status;
      for (const mled::v1::RowScore& score : reply_.ack().scores()) {
        scored_ += score.scored();
        anomalies_ += score.anomaly();
      }
      if (reply_.ack().accepted() > 0 && reply_.ack().scores().empty() && !warned_no_scores_) {
        warned_no_scores_ = true;
        absl::FPrintF(stderr,
                      "mlectl: mled at %s returned no scores (is it older than --scores?)\n",
                      client_->address());
      }
    }
    in_flight_.pop_front();
    return absl::OkStatus();
  }

  std::unique_ptr<Client> client_;
  size_t window_;
  absl::Duration timeout_;
  std::string input_;
  ScoreOutput scores_;
  uint64_t last_seq_ = 0;
  uint64_t samples_ = 0;
  uint64_t accepted_ = 0;
  uint64_t rejected_ = 0;
  uint64_t scored_ = 0;     // rows mled scored (with --scores)
  uint64_t anomalies_ = 0;  // and of those, flagged as anomalies
  bool warned_no_scores_ = false;
  std::deque<Batch> in_flight_;
  mled::v1::ServerMessage reply_;
};

// UDP: one datagram per batch, nothing comes back.
class DatagramSink : public BatchSink {
 public:
  explicit DatagramSink(std::unique_ptr<DatagramSender> sender) : sender_(std::move(sender)) {}

  size_t max_message_bytes() const override { return DatagramSender::kMaxDatagramBytes; }

  absl::Status Send(Batch batch) override {
    batch.ingest.set_seq(++datagrams_);
    samples_ += batch.lines.size();
    const std::string bytes = batch.ingest.SerializeAsString();
    const absl::string_view piece = bytes;
    return sender_->Send(absl::MakeConstSpan(&piece, 1));
  }

  absl::Status Finish() override { return absl::OkStatus(); }

  std::string Summary() const override {
    return absl::StrFormat("sent %d samples in %d datagrams over UDP (not acknowledged)", samples_,
                           datagrams_);
  }
  bool rejected_any() const override { return false; }

 private:
  std::unique_ptr<DatagramSender> sender_;
  uint64_t datagrams_ = 0;
  uint64_t samples_ = 0;
};

// Reads every sample, groups them into batches of at most `batch_samples` samples and
// `sink.max_message_bytes()` bytes, and sends each batch as soon as it is full. Whenever the input
// pauses (a live source: a terminal, a pipe, `tail -f`), the batch so far is sent and every answer
// awaited, so that rejections and scores show at once rather than with the next input. A bad
// input line stops the reading; it is returned in `input_error`, after what came before it was
// sent. The status is the sink's.
absl::Status SendAll(SampleReader& reader, const std::string& input, size_t batch_samples,
                     BatchSink& sink, absl::Status* input_error) {
  const size_t max_bytes = sink.max_message_bytes();
  ParsedSample parsed;
  mled::v1::Sample sample;
  Batch batch;
  const auto send_batch = [&]() -> absl::Status {
    return batch.lines.empty() ? absl::OkStatus() : sink.Send(std::exchange(batch, Batch{}));
  };
  while (true) {
    if (!reader.InputAtHand()) {
      absl::Status status = send_batch();
      if (status.ok()) status = sink.Finish();
      if (!status.ok()) return status;
    }
    absl::StatusOr<bool> more = reader.Next(&parsed);
    if (!more.ok()) *input_error = more.status();
    if (!more.ok() || !*more) break;
    sample.set_stream(parsed.stream);
    sample.mutable_x()->Assign(parsed.values.begin(), parsed.values.end());
    const size_t sample_bytes = sample.ByteSizeLong();
    const size_t entry_bytes =  // tag, length, sample
        1 + google::protobuf::io::CodedOutputStream::VarintSize64(sample_bytes) + sample_bytes;
    if (kIngestOverheadBytes + entry_bytes > max_bytes) {
      *input_error = absl::InvalidArgumentError(
          absl::StrFormat("%s:%d: the sample takes %d bytes, more than one message can carry (%d)",
                          input, reader.line(), entry_bytes, max_bytes));
      break;
    }
    if (batch.bytes + entry_bytes > max_bytes) {
      absl::Status status = send_batch();
      if (!status.ok()) return status;
    }
    *batch.ingest.add_samples() = sample;
    batch.bytes += entry_bytes;
    batch.lines.push_back(reader.line());
    if (batch.lines.size() == batch_samples) {
      absl::Status status = send_batch();
      if (!status.ok()) return status;
    }
  }
  absl::Status status = send_batch();
  return status.ok() ? sink.Finish() : status;
}

int RunSend(const std::vector<std::string>& positional) {
  const Command& command = SendCommand();
  if (positional.size() > 1) return UsageError(command, "takes at most one input file");
  const absl::StatusOr<SampleFormat> format = ParseSampleFormat(absl::GetFlag(FLAGS_format));
  if (!format.ok()) return UsageError(command, format.status().message());
  const int32_t batch_samples = absl::GetFlag(FLAGS_batch);
  const int32_t window = absl::GetFlag(FLAGS_window);
  if (batch_samples < 1 || window < 1) {
    return UsageError(command, "--batch and --window must be at least 1");
  }
  const bool json = absl::GetFlag(FLAGS_json);
  const ScoreOutput scores = !absl::GetFlag(FLAGS_scores) ? ScoreOutput::kNone
                             : json                       ? ScoreOutput::kJson
                                                          : ScoreOutput::kText;
  if (scores != ScoreOutput::kNone && absl::GetFlag(FLAGS_udp)) {
    return UsageError(command, "--scores needs acknowledgements, which UDP does not have");
  }
  if (json && scores == ScoreOutput::kNone) {
    return UsageError(command, "--json prints the scores: it needs --scores");
  }

  const std::string path = positional.empty() ? "-" : positional[0];
  const std::string input = path == "-" ? "stdin" : path;
  std::ifstream file;
  if (path != "-") {
    file.open(path);
    if (!file) {
      return Fail(
          absl::NotFoundError(absl::StrCat("cannot open ", path, ": ", std::strerror(errno))));
    }
  }
  std::ios::sync_with_stdio(false);
  SampleReader reader(path == "-" ? &std::cin : &file, input, *format);

  std::unique_ptr<BatchSink> sink;
  const std::string address = absl::GetFlag(FLAGS_addr);
  if (absl::GetFlag(FLAGS_udp)) {
    absl::StatusOr<std::unique_ptr<DatagramSender>> sender = DatagramSender::Open(address);
    if (!sender.ok()) return Fail(sender.status());
    sink = std::make_unique<DatagramSink>(std::move(*sender));
  } else {
    const absl::Duration timeout = absl::GetFlag(FLAGS_timeout);
    absl::StatusOr<std::unique_ptr<Client>> client = Client::Connect(address, timeout);
    if (!client.ok()) return Fail(client.status());
    sink = std::make_unique<AckedSink>(std::move(*client), static_cast<size_t>(window), timeout,
                                       input, scores);
  }

  absl::Status input_error;
  const absl::Status status =
      SendAll(reader, input, static_cast<size_t>(batch_samples), *sink, &input_error);
  // With --json stdout carries only JSON lines; the summary goes to stderr.
  absl::FPrintF(json ? stderr : stdout, "%s\n", sink->Summary());
  std::fflush(stdout);
  if (!status.ok()) return Fail(status);
  if (!input_error.ok()) {
    return Fail(absl::InvalidArgumentError(
        absl::StrCat(input_error.message(), " (stopped there; the samples before it were sent)")));
  }
  return sink->rejected_any() ? kExitFailure : kExitOk;
}

}  // namespace

const Command& SendCommand() {
  static const Command command{
      .name = "send",
      .arguments = "[FILE|-]",
      .summary = "send samples read from a file or stdin",
      .description =
          "Reads samples from FILE, or stdin when FILE is '-' or missing, one per line:\n"
          "\n"
          "  cpu.load 0.75            stream name and its values, separated by blanks\n"
          "  pos/robot1,1.5,-2,0.25   or CSV; D values make a D-dimensional sample\n"
          "\n"
          "Lines starting with '#' and blank lines are skipped. Values take any strtod\n"
          "form (1e-3, 0x1p4); nan and inf are sent as they are and rejected by mled.\n"
          "Reading stops at the first line that does not parse; the samples before it are\n"
          "still sent.\n"
          "\n"
          "Samples go out in Ingest messages of --batch samples. Over TCP each message is\n"
          "acknowledged; every rejected sample is reported on stderr with its input line,\n"
          "code and reason. Prints 'sent N samples: accepted A, rejected R' and exits 1 if\n"
          "anything was rejected. A message goes out when it is full, at the end of the\n"
          "input, and whenever the input pauses (a live source such as 'tail -f'), when\n"
          "send also waits for the answers to what it sent, so that they are reported at\n"
          "once.\n"
          "\n"
          "With --scores (TCP only) every message asks mled to return the score of each\n"
          "sample it accepted, and one line per accepted sample is printed as soon as its\n"
          "message is acknowledged, in input order:\n"
          "\n"
          "  STREAM x=X warm-up                          not scored (the stream warms up,\n"
          "                                              its model is degenerate, or its\n"
          "                                              rule does not score)\n"
          "  STREAM x=X score=S threshold=T p=P d2=D2 [ANOMALY]\n"
          "\n"
          "X is the sample as sent (\"[x1,x2,...]\" for D > 1), S = -log p(x) in nats under\n"
          "the model before the sample, T the score at which it would be an anomaly, P its\n"
          "p-value and D2 its squared Mahalanobis distance; ANOMALY marks a flagged\n"
          "sample. The summary adds '; scored N, anomalies K'. With --json each line is\n"
          "instead one JSON object, the mled.v1.RowScore with the message's \"seq\" and the\n"
          "sample's \"stream\" and \"x\", and the summary goes to stderr. Anomalies do not\n"
          "change the exit status.\n",
      .flags = {kAddrFlag,
                {"format"},
                {"batch"},
                {"window", "16"},
                {"udp"},
                {"scores"},
                {"json"},
                {"timeout"}},
      .run = RunSend,
  };
  return command;
}

}  // namespace mled::mlectl
