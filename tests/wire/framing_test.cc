#include "lib/wire/framing.h"

#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "google/protobuf/util/delimited_message_util.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "mled/v1/wire.pb.h"

namespace mled::wire {
namespace {

using Status = FrameDecoder::Status;
using google::protobuf::util::MessageDifferencer;

std::string RandomName(std::mt19937_64& rng) {
  static constexpr std::string_view kAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789._/-";
  std::string name;
  const size_t length = std::uniform_int_distribution<size_t>(1, 40)(rng);
  for (size_t i = 0; i < length; ++i) {
    name += kAlphabet[std::uniform_int_distribution<size_t>(0, kAlphabet.size() - 1)(rng)];
  }
  return name;
}

// Messages of every kind and of very different sizes, including the empty message (a zero-length
// frame) and payloads whose length needs a 2- or 3-byte varint.
mled::v1::ClientMessage RandomMessage(std::mt19937_64& rng) {
  mled::v1::ClientMessage message;
  std::normal_distribution<double> value(0.0, 1e3);
  switch (std::uniform_int_distribution<int>(0, 4)(rng)) {
    case 0:
      break;  // empty
    case 1: {
      mled::v1::Ingest* ingest = message.mutable_ingest();
      ingest->set_seq(rng());
      const int samples = std::uniform_int_distribution<int>(0, 30)(rng);
      for (int i = 0; i < samples; ++i) {
        mled::v1::Sample* sample = ingest->add_samples();
        sample->set_stream(RandomName(rng));
        const int dim = std::uniform_int_distribution<int>(1, 4)(rng);
        for (int d = 0; d < dim; ++d) sample->add_x(value(rng));
        sample->set_time_unix_nano(static_cast<int64_t>(rng() >> 1));
      }
      if (std::uniform_int_distribution<int>(0, 2)(rng) == 0) {
        mled::v1::StreamBatch* batch = ingest->add_batches();
        batch->set_stream(RandomName(rng));
        const int values = std::uniform_int_distribution<int>(0, 3000)(rng);
        for (int i = 0; i < values; ++i) batch->add_values(value(rng));
      }
      break;
    }
    case 2: {
      mled::v1::Subscribe* subscribe = message.mutable_subscribe();
      subscribe->add_streams(RandomName(rng));
      subscribe->set_interval_ms(static_cast<uint32_t>(rng()));
      subscribe->set_anomalies(true);
      break;
    }
    case 3:
      message.mutable_query()->set_id(rng());
      message.mutable_query()->add_streams(RandomName(rng));
      break;
    default:
      message.mutable_stats()->set_id(rng());
      break;
  }
  return message;
}

struct Stream {
  std::vector<mled::v1::ClientMessage> messages;
  std::string bytes;
};

Stream RandomStream(uint64_t seed, int count) {
  std::mt19937_64 rng(seed);
  Stream stream;
  for (int i = 0; i < count; ++i) {
    stream.messages.push_back(RandomMessage(rng));
    AppendFrame(stream.messages.back(), &stream.bytes);
  }
  return stream;
}

// Takes every complete frame now buffered, parses it, and appends it to `out`.
void Drain(FrameDecoder& decoder, std::vector<mled::v1::ClientMessage>* out) {
  while (true) {
    FrameDecoder::Next next = decoder.NextFrame();
    if (next.status != Status::kFrame) {
      ASSERT_EQ(next.status, Status::kNeedMore);
      return;
    }
    mled::v1::ClientMessage message;
    ASSERT_TRUE(message.ParseFromArray(next.frame.data(), static_cast<int>(next.frame.size())));
    out->push_back(std::move(message));
  }
}

void ExpectSameMessages(const std::vector<mled::v1::ClientMessage>& got,
                        const std::vector<mled::v1::ClientMessage>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_TRUE(MessageDifferencer::Equals(got[i], want[i])) << "message " << i;
  }
}

std::string Varint(uint64_t value) {
  std::string out;
  AppendVarint(value, &out);
  return out;
}

TEST(AppendVarintTest, KnownEncodings) {
  EXPECT_EQ(Varint(0), std::string(1, '\x00'));
  EXPECT_EQ(Varint(1), "\x01");
  EXPECT_EQ(Varint(127), "\x7f");
  EXPECT_EQ(Varint(128), "\x80\x01");
  EXPECT_EQ(Varint(300), "\xac\x02");
  EXPECT_EQ(Varint(16u << 20), "\x80\x80\x80\x08");
  EXPECT_EQ(Varint(UINT64_MAX), std::string(9, '\xff') + "\x01");
  EXPECT_EQ(Varint(UINT64_MAX).size(), kMaxVarintBytes);
}

TEST(AppendFrameTest, AppendsAfterExistingBytes) {
  mled::v1::ClientMessage message;
  message.mutable_query()->set_id(7);
  std::string out = "prefix";
  AppendFrame(message, &out);
  const std::string payload = message.SerializeAsString();
  EXPECT_EQ(out, "prefix" + Varint(payload.size()) + payload);
}

// Our frames are protobuf's delimited format: its own reader parses what we write, and we decode
// what its writer produces.
TEST(AppendFrameTest, InteroperatesWithProtobufDelimitedFormat) {
  const Stream stream = RandomStream(/*seed=*/1, /*count=*/50);
  {
    google::protobuf::io::ArrayInputStream input(stream.bytes.data(),
                                                 static_cast<int>(stream.bytes.size()));
    for (const mled::v1::ClientMessage& want : stream.messages) {
      mled::v1::ClientMessage got;
      bool clean_eof = false;
      ASSERT_TRUE(
          google::protobuf::util::ParseDelimitedFromZeroCopyStream(&got, &input, &clean_eof));
      EXPECT_TRUE(MessageDifferencer::Equals(got, want));
    }
  }
  std::string theirs;
  {
    google::protobuf::io::StringOutputStream output(&theirs);
    for (const mled::v1::ClientMessage& message : stream.messages) {
      ASSERT_TRUE(google::protobuf::util::SerializeDelimitedToZeroCopyStream(message, &output));
    }
  }
  EXPECT_EQ(theirs, stream.bytes);
}

TEST(FrameDecoderTest, RoundTripsManyRandomMessagesInOneAppend) {
  const Stream stream = RandomStream(/*seed=*/2, /*count=*/1000);
  FrameDecoder decoder;
  decoder.Append(stream.bytes);
  std::vector<mled::v1::ClientMessage> got;
  Drain(decoder, &got);
  ExpectSameMessages(got, stream.messages);
  EXPECT_EQ(decoder.buffered(), 0u);
}

TEST(FrameDecoderTest, DecodesOneByteAtATime) {
  const Stream stream = RandomStream(/*seed=*/3, /*count=*/200);
  FrameDecoder decoder;
  std::vector<mled::v1::ClientMessage> got;
  for (char byte : stream.bytes) {
    decoder.Append(std::string_view(&byte, 1));
    Drain(decoder, &got);
  }
  ExpectSameMessages(got, stream.messages);
  EXPECT_EQ(decoder.buffered(), 0u);
}

TEST(FrameDecoderTest, DecodesWhenSplitAtEveryPosition) {
  // Small frames, so that the splits fall in varints, payloads and frame boundaries alike.
  std::vector<mled::v1::ClientMessage> messages(4);
  messages[1].mutable_query()->set_id(1);
  messages[2].mutable_ingest()->add_samples()->set_stream("s");
  messages[2].mutable_ingest()->mutable_samples(0)->add_x(1.5);
  for (int i = 0; i < 40; ++i) messages[3].mutable_ingest()->add_samples()->set_stream("name");
  std::string bytes;
  for (const auto& message : messages) AppendFrame(message, &bytes);
  ASSERT_GE(messages[3].ByteSizeLong(), 128u);  // a 2-byte varint to split

  for (size_t split = 0; split <= bytes.size(); ++split) {
    SCOPED_TRACE(split);
    FrameDecoder decoder;
    std::vector<mled::v1::ClientMessage> got;
    decoder.Append(std::string_view(bytes).substr(0, split));
    Drain(decoder, &got);
    decoder.Append(std::string_view(bytes).substr(split));
    Drain(decoder, &got);
    ExpectSameMessages(got, messages);
    EXPECT_EQ(decoder.buffered(), 0u);
  }
}

TEST(FrameDecoderTest, DecodesRandomChunkingsThroughPrepareAndCommit) {
  const Stream stream = RandomStream(/*seed=*/4, /*count=*/300);
  std::mt19937_64 rng(5);
  for (int trial = 0; trial < 30; ++trial) {
    SCOPED_TRACE(trial);
    FrameDecoder decoder(/*max_frame_bytes=*/1 << 20);
    std::vector<mled::v1::ClientMessage> got;
    const size_t max_chunk = size_t{1} << std::uniform_int_distribution<int>(0, 16)(rng);
    size_t offset = 0;
    while (offset < stream.bytes.size()) {
      // Like a socket read: ask for room, receive fewer bytes than that.
      absl::Span<char> space = decoder.PrepareAppend(max_chunk);
      ASSERT_GE(space.size(), max_chunk);
      const size_t n = std::min(std::uniform_int_distribution<size_t>(0, max_chunk)(rng),
                                stream.bytes.size() - offset);
      std::memcpy(space.data(), stream.bytes.data() + offset, n);
      decoder.CommitAppend(n);
      offset += n;
      Drain(decoder, &got);
    }
    ExpectSameMessages(got, stream.messages);
  }
}

TEST(FrameDecoderTest, ZeroLengthFrameIsAnEmptyFrame) {
  FrameDecoder decoder;
  decoder.Append(std::string("\x00\x00\x02hi\x00", 6));
  for (std::string_view want : {"", "", "hi", ""}) {
    FrameDecoder::Next next = decoder.NextFrame();
    ASSERT_EQ(next.status, Status::kFrame);
    EXPECT_EQ(next.frame, want);
  }
  EXPECT_EQ(decoder.NextFrame().status, Status::kNeedMore);

  // An empty ClientMessage serializes to nothing and still makes a frame.
  std::string bytes;
  AppendFrame(mled::v1::ClientMessage(), &bytes);
  EXPECT_EQ(bytes, std::string(1, '\x00'));
}

TEST(FrameDecoderTest, FramesStayValidUntilTheNextAppend) {
  FrameDecoder decoder;
  decoder.Append(std::string{'\x01', 'a', '\x02', 'b', 'c', '\x03', 'd', 'e', 'f'});
  std::vector<std::string_view> frames;
  for (FrameDecoder::Next next = decoder.NextFrame(); next.status == Status::kFrame;
       next = decoder.NextFrame()) {
    frames.push_back(next.frame);
  }
  EXPECT_EQ(frames, (std::vector<std::string_view>{"a", "bc", "def"}));
}

TEST(FrameDecoderTest, NonMinimalVarintIsAccepted) {
  // Protobuf readers accept redundant continuation bytes; so do we (up to 10 bytes).
  FrameDecoder decoder;
  decoder.Append(std::string(9, '\x80') + std::string(1, '\x00'));
  FrameDecoder::Next next = decoder.NextFrame();
  ASSERT_EQ(next.status, Status::kFrame);
  EXPECT_TRUE(next.frame.empty());
  decoder.Append(std::string{'\x83', '\x00', 'a', 'b', 'c'});
  next = decoder.NextFrame();
  ASSERT_EQ(next.status, Status::kFrame);
  EXPECT_EQ(next.frame, "abc");
}

TEST(FrameDecoderTest, FrameAtTheLimitIsAccepted) {
  constexpr uint64_t kLimit = 300;
  FrameDecoder decoder(kLimit);
  decoder.Append(Varint(kLimit));
  EXPECT_EQ(decoder.NextFrame().status, Status::kNeedMore);
  const std::string payload(kLimit - 1, 'p');
  decoder.Append(payload);
  EXPECT_EQ(decoder.NextFrame().status, Status::kNeedMore);
  decoder.Append("q");
  FrameDecoder::Next next = decoder.NextFrame();
  ASSERT_EQ(next.status, Status::kFrame);
  EXPECT_EQ(next.frame, payload + "q");
}

TEST(FrameDecoderTest, FrameOverTheLimitIsRefusedOnItsLengthAlone) {
  constexpr uint64_t kLimit = 300;
  FrameDecoder decoder(kLimit);
  decoder.Append(Varint(kLimit + 1));  // no payload byte has arrived
  FrameDecoder::Next next = decoder.NextFrame();
  EXPECT_EQ(next.status, Status::kTooLarge);
  EXPECT_EQ(next.announced_length, kLimit + 1);
  EXPECT_TRUE(next.frame.empty());
}

TEST(FrameDecoderTest, DefaultLimitIs16MiB) {
  FrameDecoder decoder;
  EXPECT_EQ(decoder.max_frame_bytes(), 16u << 20);
  decoder.Append(Varint(16u << 20));
  EXPECT_EQ(decoder.NextFrame().status, Status::kNeedMore);
  FrameDecoder over;
  over.Append(Varint((16u << 20) + 1));
  EXPECT_EQ(over.NextFrame().status, Status::kTooLarge);
}

TEST(FrameDecoderTest, ZeroLimitAllowsOnlyEmptyFrames) {
  FrameDecoder decoder(/*max_frame_bytes=*/0);
  decoder.Append(std::string("\x00\x01x", 3));
  EXPECT_EQ(decoder.NextFrame().status, Status::kFrame);
  EXPECT_EQ(decoder.NextFrame().status, Status::kTooLarge);
}

TEST(FrameDecoderTest, HugeAnnouncedLengthAllocatesNothing) {
  FrameDecoder decoder;
  decoder.Append(Varint(uint64_t{1} << 40));
  FrameDecoder::Next next = decoder.NextFrame();
  EXPECT_EQ(next.status, Status::kTooLarge);
  EXPECT_EQ(next.announced_length, uint64_t{1} << 40);
  EXPECT_LE(decoder.buffered(), kMaxVarintBytes);
  EXPECT_LE(decoder.capacity(), 64u << 10);
  // A caller that keeps reading from the dead stream does not grow the buffer either.
  for (int i = 0; i < 100; ++i) decoder.Append(std::string(64 << 10, 'x'));
  EXPECT_LE(decoder.capacity(), 128u << 10);
  EXPECT_EQ(decoder.NextFrame().status, Status::kTooLarge);
}

TEST(FrameDecoderTest, AllowedLengthIsNotPreallocated) {
  // 16 MiB is allowed, but only the bytes that arrive are buffered.
  FrameDecoder decoder;
  decoder.Append(Varint(16u << 20) + std::string(100, 'x'));
  EXPECT_EQ(decoder.NextFrame().status, Status::kNeedMore);
  EXPECT_EQ(decoder.buffered(), 104u);
  EXPECT_LE(decoder.capacity(), 64u << 10);
}

TEST(FrameDecoderTest, LargeFrameGrowsTheBufferGeometricallyAndBoundedly) {
  constexpr size_t kFrame = 5 << 20;
  constexpr size_t kRead = 64 << 10;
  const std::string bytes = Varint(kFrame) + std::string(kFrame, 'f');
  FrameDecoder decoder;
  size_t growths = 0;
  size_t capacity = decoder.capacity();
  for (size_t offset = 0; offset < bytes.size(); offset += kRead) {
    const size_t n = std::min(kRead, bytes.size() - offset);
    absl::Span<char> space = decoder.PrepareAppend(kRead);
    std::memcpy(space.data(), bytes.data() + offset, n);
    decoder.CommitAppend(n);
    if (decoder.capacity() != capacity) ++growths;
    capacity = decoder.capacity();
  }
  FrameDecoder::Next next = decoder.NextFrame();
  ASSERT_EQ(next.status, Status::kFrame);
  EXPECT_EQ(next.frame.size(), kFrame);
  EXPECT_LE(growths, 12u);  // 4 KiB doubling to 8 MiB
  EXPECT_LE(decoder.capacity(), 2 * (bytes.size() + kRead));
}

TEST(FrameDecoderTest, SteadyStreamOfSmallFramesKeepsTheBufferSmall) {
  mled::v1::ClientMessage message;
  message.mutable_query()->set_id(12345);
  std::string chunk;
  for (int i = 0; i < 1000; ++i) AppendFrame(message, &chunk);
  FrameDecoder decoder;
  std::vector<mled::v1::ClientMessage> got;
  // Reads that do not align with frames leave a partial frame behind each time; compaction must
  // reclaim the consumed prefix instead of growing.
  for (int round = 0; round < 200; ++round) {
    for (size_t offset = 0; offset < chunk.size(); offset += 4093) {
      decoder.Append(std::string_view(chunk).substr(offset, 4093));
      got.clear();
      Drain(decoder, &got);
    }
  }
  EXPECT_LE(decoder.capacity(), 16u << 10);
}

TEST(FrameDecoderTest, ElevenContinuationBytesAreCorrupt) {
  FrameDecoder decoder;
  decoder.Append(std::string(11, '\xff'));
  EXPECT_EQ(decoder.NextFrame().status, Status::kCorruptLength);
}

TEST(FrameDecoderTest, TenthByteAboveOneIsCorrupt) {
  for (char tenth : {'\x02', '\x7f', '\x80', '\x81', '\xff'}) {
    FrameDecoder decoder(UINT64_MAX);
    decoder.Append(std::string(9, '\xff') + std::string(1, tenth));
    EXPECT_EQ(decoder.NextFrame().status, Status::kCorruptLength) << int{tenth};
  }
}

TEST(FrameDecoderTest, TenByteVarintWithTopBitIsALength) {
  FrameDecoder decoder(UINT64_MAX - 1);
  decoder.Append(std::string(9, '\xff') + "\x01");  // 2^64 - 1
  FrameDecoder::Next next = decoder.NextFrame();
  EXPECT_EQ(next.status, Status::kTooLarge);
  EXPECT_EQ(next.announced_length, UINT64_MAX);
}

TEST(FrameDecoderTest, IncompleteVarintNeedsMore) {
  FrameDecoder decoder;
  decoder.Append(std::string(9, '\x80'));
  EXPECT_EQ(decoder.NextFrame().status, Status::kNeedMore);
  decoder.Append(std::string(1, '\x00'));
  EXPECT_EQ(decoder.NextFrame().status, Status::kFrame);
}

TEST(FrameDecoderTest, CorruptLengthIsSticky) {
  FrameDecoder decoder;
  decoder.Append(std::string(10, '\xff'));
  EXPECT_EQ(decoder.NextFrame().status, Status::kCorruptLength);
  decoder.Append(std::string("\x01x", 2));
  for (int i = 0; i < 3; ++i) EXPECT_EQ(decoder.NextFrame().status, Status::kCorruptLength);
}

TEST(FrameDecoderTest, TooLargeIsStickyAndKeepsTheAnnouncedLength) {
  FrameDecoder decoder(/*max_frame_bytes=*/10);
  decoder.Append(std::string("\x01x", 2) + Varint(11) + std::string("\x01y", 2));
  EXPECT_EQ(decoder.NextFrame().status, Status::kFrame);  // frames before the bad one decode
  for (int i = 0; i < 3; ++i) {
    FrameDecoder::Next next = decoder.NextFrame();
    EXPECT_EQ(next.status, Status::kTooLarge);
    EXPECT_EQ(next.announced_length, 11u);
  }
  decoder.Append(std::string("\x01z", 2));
  EXPECT_EQ(decoder.NextFrame().status, Status::kTooLarge);
}

}  // namespace
}  // namespace mled::wire
