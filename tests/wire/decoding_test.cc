#include "lib/wire/decoding.h"

#include <random>
#include <string>
#include <vector>

#include "google/protobuf/stubs/logging.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"

namespace mled::wire {
namespace {

using google::protobuf::util::MessageDifferencer;

mled::v1::ClientMessage IngestOf(int samples, const std::string& prefix, uint64_t seq = 1) {
  mled::v1::ClientMessage message;
  message.mutable_ingest()->set_seq(seq);
  for (int i = 0; i < samples; ++i) {
    mled::v1::Sample* sample = message.mutable_ingest()->add_samples();
    sample->set_stream(prefix + std::to_string(i));
    for (int d = 0; d <= i % 3; ++d) sample->add_x(i + 0.25 * d);
    if (i % 2) sample->set_time_unix_nano(i);
  }
  if (samples % 2) {
    mled::v1::StreamBatch* batch = message.mutable_ingest()->add_batches();
    batch->set_stream(prefix + "batch");
    for (int i = 0; i < samples; ++i) batch->add_values(i);
  }
  return message;
}

// Payloads of every kind, including ones that exercise the oneof's last-one-wins rule, unknown
// fields and an explicitly empty Ingest.
std::vector<std::string> Payloads() {
  std::vector<std::string> payloads;
  for (int n : {0, 1, 5, 40, 3, 200, 2}) {
    payloads.push_back(IngestOf(n, "s/" + std::to_string(n) + "/").SerializeAsString());
  }
  mled::v1::ClientMessage subscribe;
  subscribe.mutable_subscribe()->add_streams("cpu/*");
  mled::v1::ClientMessage query;
  query.mutable_query()->set_id(9);
  payloads.push_back(subscribe.SerializeAsString());
  payloads.push_back(query.SerializeAsString());
  payloads.push_back("");                          // empty frame: no kind
  payloads.push_back(std::string("\x0a\x00", 2));  // an explicitly empty Ingest
  payloads.push_back(IngestOf(3, "a").SerializeAsString() + subscribe.SerializeAsString());
  payloads.push_back(subscribe.SerializeAsString() + IngestOf(3, "b").SerializeAsString());
  payloads.push_back(IngestOf(2, "c").SerializeAsString() +
                     IngestOf(2, "d", 7).SerializeAsString());
  payloads.push_back(IngestOf(4, "e").SerializeAsString() + std::string("\xf8\x01\x05", 3));
  payloads.push_back(std::string("\xf8\x01\x05", 3) + IngestOf(4, "f").SerializeAsString());
  payloads.push_back(std::string("\x08\x01", 2));  // field 1 with the wrong wire type: unknown
  return payloads;
}

// Parse must give exactly what ParseFromArray into a fresh message gives, whatever came before.
void ExpectSameAsParseFromArray(ClientMessageDecoder& decoder, const std::string& payload) {
  mled::v1::ClientMessage want;
  const bool want_ok = want.ParseFromArray(payload.data(), static_cast<int>(payload.size()));
  ASSERT_EQ(decoder.Parse(payload), want_ok);
  if (!want_ok) return;
  EXPECT_EQ(decoder.message().kind_case(), want.kind_case());
  EXPECT_TRUE(MessageDifferencer::Equals(decoder.message(), want))
      << decoder.message().DebugString() << "\nwant:\n"
      << want.DebugString();
  EXPECT_EQ(decoder.message().SerializeAsString(), want.SerializeAsString());
}

TEST(ClientMessageDecoderTest, EveryPairOfPayloadsParsesLikeParseFromArray) {
  const std::vector<std::string> payloads = Payloads();
  for (size_t i = 0; i < payloads.size(); ++i) {
    for (size_t j = 0; j < payloads.size(); ++j) {
      SCOPED_TRACE(testing::Message() << i << " then " << j);
      ClientMessageDecoder decoder;
      ExpectSameAsParseFromArray(decoder, payloads[i]);
      ExpectSameAsParseFromArray(decoder, payloads[j]);
    }
  }
}

TEST(ClientMessageDecoderTest, RandomSequencesWithCorruptPayloadsParseLikeParseFromArray) {
  google::protobuf::LogHandler* old_handler = google::protobuf::SetLogHandler(nullptr);
  const std::vector<std::string> payloads = Payloads();
  std::mt19937_64 rng(3);
  ClientMessageDecoder decoder;
  ClientMessageDecoder small(/*max_retained_bytes=*/64);
  for (int step = 0; step < 5000; ++step) {
    std::string payload = payloads[rng() % payloads.size()];
    if (!payload.empty() && rng() % 3 == 0) {
      payload[rng() % payload.size()] = static_cast<char>(rng());  // often a failed parse
    }
    ExpectSameAsParseFromArray(decoder, payload);
    ExpectSameAsParseFromArray(small, payload);
    if (testing::Test::HasFailure()) break;
  }
  google::protobuf::SetLogHandler(old_handler);
}

TEST(ClientMessageDecoderTest, ReusesTheSamplesOfThePreviousIngest) {
  ClientMessageDecoder decoder;
  ASSERT_TRUE(decoder.Parse(IngestOf(100, "first/").SerializeAsString()));
  const mled::v1::Sample* first = &decoder.message().ingest().samples(0);
  ASSERT_TRUE(decoder.Parse(IngestOf(100, "second/").SerializeAsString()));
  EXPECT_EQ(&decoder.message().ingest().samples(0), first);
  EXPECT_EQ(decoder.message().ingest().samples(0).stream(), "second/0");
}

TEST(ClientMessageDecoderTest, ReleasesTheMemoryOfALargeMessage) {
  const std::string big = IngestOf(10000, "big/").SerializeAsString();
  const std::string tiny = IngestOf(1, "t").SerializeAsString();
  {
    ClientMessageDecoder decoder;  // 1 MiB retained: the big message stays
    ASSERT_TRUE(decoder.Parse(big));
    ASSERT_TRUE(decoder.Parse(tiny));
    EXPECT_GE(decoder.message().ingest().samples().Capacity(), 10000);
  }
  {
    ClientMessageDecoder decoder(/*max_retained_bytes=*/big.size() - 1);
    ASSERT_TRUE(decoder.Parse(big));
    ASSERT_TRUE(decoder.Parse(tiny));
    EXPECT_LT(decoder.message().ingest().samples().Capacity(), 100);
    EXPECT_EQ(decoder.message().ingest().samples(0).stream(), "t0");
  }
}

}  // namespace
}  // namespace mled::wire
