#include "lib/wire/validation.h"

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <new>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

// Counts heap allocations, so that the tests can check the ingest hot path allocates nothing on
// success. Replacing the global operator new is the one portable hook; it only counts. Not
// inlined, so that GCC does not see malloc and free meet across new/delete and warn about it.
namespace {
size_t allocations = 0;
}  // namespace

[[gnu::noinline]] void* operator new(size_t size) {
  ++allocations;
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
[[gnu::noinline]] void operator delete(void* p) noexcept { std::free(p); }
[[gnu::noinline]] void operator delete(void* p, size_t) noexcept { std::free(p); }

namespace mled::wire {
namespace {

using ::testing::HasSubstr;

const IngestLimits kLimits;

void ExpectInvalid(const absl::Status& status, const std::string& message_part) {
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  EXPECT_THAT(std::string(status.message()), HasSubstr(message_part));
}

// ---------------------------------------------------------------------------------------------
// Stream names

TEST(ValidateStreamNameTest, AcceptsOrdinaryNames) {
  for (std::string name :
       {"a", "cpu.load", "host-1/disk/sda", "with space", "~tilde~", "Temperatur in °C",
        "温度/上海", "emoji 😀", "\xc2\xa0nbsp", "\xed\x9f\xbf" /* U+D7FF */,
        "\xee\x80\x80" /* U+E000 */, "\xe0\xa0\x80" /* U+0800 */, "\xf0\x90\x80\x80" /* U+10000 */,
        "\xf4\x8f\xbf\xbf" /* U+10FFFF */, "\xef\xbf\xbd" /* U+FFFD */}) {
    EXPECT_TRUE(ValidateStreamName(name, kLimits).ok()) << name;
  }
}

TEST(ValidateStreamNameTest, Empty) {
  const absl::Status status = ValidateStreamName("", kLimits);
  ExpectInvalid(status, "stream name is empty");
}

TEST(ValidateStreamNameTest, LengthBoundaries) {
  EXPECT_TRUE(ValidateStreamName(std::string(256, 'n'), kLimits).ok());
  // The limit counts bytes, not characters: 128 two-byte characters fit exactly.
  std::string two_byte;
  for (int i = 0; i < 128; ++i) two_byte += "é";
  EXPECT_TRUE(ValidateStreamName(two_byte, kLimits).ok());
  ExpectInvalid(ValidateStreamName(two_byte + "x", kLimits), "257 bytes");

  const absl::Status status = ValidateStreamName(std::string(300, 'n'), kLimits);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(), "stream name is 300 bytes; the limit is 256 (max_name_bytes)");

  IngestLimits small;
  small.max_name_bytes = 4;
  EXPECT_TRUE(ValidateStreamName("abcd", small).ok());
  EXPECT_EQ(ValidateStreamName("abcde", small).message(),
            "stream name is 5 bytes; the limit is 4 (max_name_bytes)");
}

TEST(ValidateStreamNameTest, RejectsInvalidUtf8AtTheRightByte) {
  struct Case {
    std::string name;
    size_t at;
  };
  const Case cases[] = {
      {"abc\x80", 3},                             // stray continuation byte
      {"\xbf", 0},                                //
      {"\xc0\xaf", 0},                            // overlong '/'
      {"\xc1\xbf", 0},                            // overlong U+007F
      {"\xe0\x80\xaf", 0},                        // overlong, 3 bytes
      {"\xe0\x9f\xbf", 0},                        // overlong U+07FF
      {"\xf0\x80\x80\xaf", 0},                    // overlong, 4 bytes
      {"\xf0\x8f\xbf\xbf", 0},                    // overlong U+FFFF
      {"ok\xed\xa0\x80", 2},                      // surrogate U+D800
      {"\xed\xbf\xbf", 0},                        // surrogate U+DFFF
      {"\xf4\x90\x80\x80", 0},                    // U+110000
      {"\xf5\x80\x80\x80", 0},                    // lead byte above F4
      {"\xfe", 0},                                //
      {"\xff", 0},                                //
      {"ab\xe2\x82", 2},                          // truncated at the end
      {"x\xc3", 1},                               //
      {"\xf0\x9f\x98", 0},                        //
      {"\xe2\x82z", 0},                           // truncated by an ASCII byte
      {"\xc3\xc3\xa9", 0},                        // lead byte where a continuation belongs
      {"abcdefgh\x80", 8},                        // after one 8-byte ASCII block
      {"abcdefghijklmnopq\xc0\x80", 17},          // after two blocks
      {std::string("abc\xff") + "defghijkl", 3},  // inside the first block
  };
  for (const Case& c : cases) {
    const absl::Status status = ValidateStreamName(c.name, kLimits);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << c.name;
    EXPECT_THAT(std::string(status.message()),
                HasSubstr("stream name is not valid UTF-8 at byte " + std::to_string(c.at)))
        << status;
  }
}

TEST(ValidateStreamNameTest, RejectsControlCharacters) {
  struct Case {
    std::string name;
    std::string message;
  };
  const Case cases[] = {
      {"hello\nworld", "control character U+000A at byte 5"},
      {std::string("a\0b", 3), "control character U+0000 at byte 1"},
      {"\x1f", "control character U+001F at byte 0"},
      {"tab\there", "control character U+0009 at byte 3"},
      {"del\x7f", "control character U+007F at byte 3"},
      {"abcdefgh\x7fz", "control character U+007F at byte 8"},
      {std::string("abc\x01") + "efghijkl", "control character U+0001 at byte 3"},
      {"c1\xc2\x80", "control character U+0080 at byte 2"},
      {"\xc2\x9f", "control character U+009F at byte 0"},
      {"\xc2\x85next-line", "control character U+0085 at byte 0"},
  };
  for (const Case& c : cases) {
    const absl::Status status = ValidateStreamName(c.name, kLimits);
    ExpectInvalid(status, "stream name contains " + c.message);
  }
}

TEST(ValidateStreamNameTest, AsciiBoundariesInEveryPositionOfABlock) {
  // The fast path looks at 8 bytes at once; check each byte lane at the edges of the printable
  // range.
  for (size_t lane = 0; lane < 16; ++lane) {
    for (int byte = 0; byte < 0x80; ++byte) {
      std::string name(16, 'm');
      name[lane] = static_cast<char>(byte);
      const bool printable = byte >= 0x20 && byte != 0x7f;
      EXPECT_EQ(ValidateStreamName(name, kLimits).ok(), printable) << lane << " " << byte;
    }
  }
}

// A decoder written the other way round from the one under test: decode the code point first,
// then judge it, to cross-check the table-driven version on many byte strings.
std::optional<size_t> ReferenceFirstError(const std::string& name) {
  const auto* p = reinterpret_cast<const unsigned char*>(name.data());
  size_t i = 0;
  while (i < name.size()) {
    const unsigned char b = p[i];
    size_t length;
    uint32_t cp;
    if (b < 0x80) {
      length = 1;
      cp = b;
    } else if ((b & 0xe0) == 0xc0) {
      length = 2;
      cp = b & 0x1f;
    } else if ((b & 0xf0) == 0xe0) {
      length = 3;
      cp = b & 0x0f;
    } else if ((b & 0xf8) == 0xf0) {
      length = 4;
      cp = b & 0x07;
    } else {
      return i;
    }
    if (i + length > name.size()) return i;
    for (size_t k = 1; k < length; ++k) {
      if ((p[i + k] & 0xc0) != 0x80) return i;
      cp = (cp << 6) | (p[i + k] & 0x3f);
    }
    const uint32_t min_for_length[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < min_for_length[length]) return i;              // overlong
    if (cp >= 0xd800 && cp <= 0xdfff) return i;             // surrogate
    if (cp > 0x10ffff) return i;                            // beyond Unicode
    if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f)) return i;  // control
    i += length;
  }
  return std::nullopt;
}

TEST(ValidateStreamNameTest, AgreesWithAReferenceDecoder) {
  // Every 1- and 2-byte string, then random strings drawn mostly from the interesting bytes.
  auto check = [](const std::string& name) {
    const std::optional<size_t> want = ReferenceFirstError(name);
    const absl::Status got = ValidateStreamName(name, kLimits);
    ASSERT_EQ(got.ok(), !want.has_value()) << ::testing::PrintToString(name) << " " << got;
    if (want) {
      EXPECT_THAT(std::string(got.message()), HasSubstr("at byte " + std::to_string(*want)));
    }
  };
  for (int a = 0; a < 256; ++a) {
    check(std::string(1, static_cast<char>(a)));
    for (int b = 0; b < 256; ++b) {
      check(std::string{static_cast<char>(a), static_cast<char>(b)});
    }
  }
  const unsigned char interesting[] = {'a',  0x00, 0x1f, 0x20, 0x7e, 0x7f, 0x80, 0x8f, 0x90, 0x9f,
                                       0xa0, 0xbf, 0xc0, 0xc1, 0xc2, 0xdf, 0xe0, 0xe1, 0xec, 0xed,
                                       0xee, 0xef, 0xf0, 0xf1, 0xf3, 0xf4, 0xf5, 0xff};
  std::mt19937_64 rng(11);
  for (int trial = 0; trial < 200000; ++trial) {
    std::string name(std::uniform_int_distribution<size_t>(1, 12)(rng), 'x');
    for (char& c : name) {
      c = static_cast<char>(rng() % 4 == 0 ? rng() % 256 : interesting[rng() % sizeof interesting]);
    }
    check(name);
  }
}

// ---------------------------------------------------------------------------------------------
// Values

TEST(ValidateValuesTest, AcceptsFiniteValuesWithinTheLimit) {
  const std::vector<double> values = {
      0.0, -0.0, 1.0, -1e100, 1e100, 5e-324, -2.2250738585072014e-308};
  EXPECT_TRUE(ValidateValues(values, kLimits).ok());
  EXPECT_TRUE(ValidateValues({}, kLimits).ok());
}

TEST(ValidateValuesTest, NamesTheFirstNonFiniteValue) {
  std::vector<double> values = {1.0, 2.0, std::nan(""), std::numeric_limits<double>::infinity()};
  absl::Status status = ValidateValues(values, kLimits);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(), "value 2 is NaN; values must be finite");

  values = {1.0, std::numeric_limits<double>::infinity()};
  ExpectInvalid(ValidateValues(values, kLimits), "value 1 is +Inf; values must be finite");
  values = {-std::numeric_limits<double>::infinity()};
  ExpectInvalid(ValidateValues(values, kLimits), "value 0 is -Inf; values must be finite");
}

TEST(ValidateValuesTest, RejectsValuesBeyondMaxAbsValue) {
  std::vector<double> values = {1.0, -1.0000001e100};
  const absl::Status status = ValidateValues(values, kLimits);
  ExpectInvalid(status, "value 1 is -1e+100");
  EXPECT_THAT(std::string(status.message()), HasSubstr("max_abs_value"));

  IngestLimits small;
  small.max_abs_value = 10.0;
  values = {10.0, -10.0};
  EXPECT_TRUE(ValidateValues(values, small).ok());
  values = {10.5};
  ExpectInvalid(ValidateValues(values, small), "value 0 is 10.5; the limit is |value| <= 10");
}

TEST(ValidateValuesTest, InfiniteLimitStillRejectsNonFiniteValues) {
  IngestLimits unlimited;
  unlimited.max_abs_value = std::numeric_limits<double>::infinity();
  std::vector<double> values = {1e300, -std::numeric_limits<double>::max()};
  EXPECT_TRUE(ValidateValues(values, unlimited).ok());
  values = {std::numeric_limits<double>::infinity()};
  ExpectInvalid(ValidateValues(values, unlimited), "+Inf");
  values = {std::nan("")};
  ExpectInvalid(ValidateValues(values, unlimited), "NaN");
}

TEST(ValidateValuesTest, FindsTheFirstBadValueAtEveryPosition) {
  // The values are checked in vectorized chunks before the index is looked for; try every
  // position around vector and chunk boundaries, with a later bad value that must not be
  // reported.
  for (size_t size : {1, 3, 4, 5, 7, 8, 9, 16, 17, 33, 255, 256, 257, 600}) {
    for (size_t bad = 0; bad < size; ++bad) {
      std::vector<double> values(size, 1.0);
      values[bad] = std::nan("");
      if (bad + 3 < size) values[bad + 3] = std::numeric_limits<double>::infinity();
      ExpectInvalid(ValidateValues(values, kLimits), "value " + std::to_string(bad) + " is NaN");
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Samples

mled::v1::Sample MakeSample(const std::string& name, std::vector<double> x) {
  mled::v1::Sample sample;
  sample.set_stream(name);
  for (double v : x) sample.add_x(v);
  return sample;
}

TEST(ValidateSampleTest, AcceptsAValidSample) {
  EXPECT_TRUE(ValidateSample(MakeSample("cpu", {0.5}), kLimits).ok());
  EXPECT_TRUE(ValidateSample(MakeSample("xyz", std::vector<double>(256, 1.0)), kLimits).ok());
}

TEST(ValidateSampleTest, ChecksTheNameFirst) {
  ExpectInvalid(ValidateSample(MakeSample("", {std::nan("")}), kLimits), "stream name is empty");
  ExpectInvalid(ValidateSample(MakeSample("a\nb", {}), kLimits), "U+000A");
}

TEST(ValidateSampleTest, RejectsNoValues) {
  const absl::Status status = ValidateSample(MakeSample("cpu", {}), kLimits);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(), "sample has no values");
}

TEST(ValidateSampleTest, TooManyValuesIsResourceExhausted) {
  const absl::Status status =
      ValidateSample(MakeSample("cpu", std::vector<double>(300, 1.0)), kLimits);
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(status.message(), "sample has 300 values; max_dim is 256");
  EXPECT_EQ(ValidateSample(MakeSample("cpu", std::vector<double>(257, 1.0)), kLimits).code(),
            absl::StatusCode::kResourceExhausted);
}

TEST(ValidateSampleTest, RejectsBadValues) {
  ExpectInvalid(ValidateSample(MakeSample("cpu", {1.0, 2.0, std::nan("")}), kLimits),
                "value 2 is NaN; values must be finite");
  ExpectInvalid(ValidateSample(MakeSample("cpu", {1e200}), kLimits), "max_abs_value");
}

// ---------------------------------------------------------------------------------------------
// Batches

mled::v1::StreamBatch MakeBatch(const std::string& name, uint32_t dim, size_t values,
                                size_t times) {
  mled::v1::StreamBatch batch;
  batch.set_stream(name);
  batch.set_dim(dim);
  for (size_t i = 0; i < values; ++i) batch.add_values(static_cast<double>(i));
  for (size_t i = 0; i < times; ++i) batch.add_time_unix_nano(static_cast<int64_t>(i + 1));
  return batch;
}

TEST(ValidateBatchShapeTest, AcceptsWellFormedBatches) {
  EXPECT_TRUE(ValidateBatchShape(MakeBatch("b", 1, 5, 0), kLimits).ok());
  EXPECT_TRUE(ValidateBatchShape(MakeBatch("b", 1, 5, 5), kLimits).ok());
  EXPECT_TRUE(ValidateBatchShape(MakeBatch("b", 3, 6, 0), kLimits).ok());
  EXPECT_TRUE(ValidateBatchShape(MakeBatch("b", 3, 6, 2), kLimits).ok());
  EXPECT_TRUE(ValidateBatchShape(MakeBatch("b", 256, 512, 2), kLimits).ok());
}

TEST(ValidateBatchShapeTest, DimZeroMeansOne) {
  const mled::v1::StreamBatch batch = MakeBatch("b", 0, 7, 7);
  EXPECT_EQ(BatchDim(batch), 1u);
  EXPECT_TRUE(ValidateBatchShape(batch, kLimits).ok());
  ExpectInvalid(ValidateBatchShape(MakeBatch("b", 0, 7, 6), kLimits), "7 rows but 6 times");
  EXPECT_EQ(BatchDim(MakeBatch("b", 4, 0, 0)), 4u);
}

TEST(ValidateBatchShapeTest, ChecksTheNameFirst) {
  ExpectInvalid(ValidateBatchShape(MakeBatch("", 3, 7, 0), kLimits), "stream name is empty");
  ExpectInvalid(ValidateBatchShape(MakeBatch("\xff", 1, 1, 0), kLimits), "not valid UTF-8");
}

TEST(ValidateBatchShapeTest, DimAboveMaxDimIsResourceExhausted) {
  const absl::Status status = ValidateBatchShape(MakeBatch("b", 257, 257, 0), kLimits);
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(std::string(status.message()), HasSubstr("257"));
  EXPECT_THAT(std::string(status.message()), HasSubstr("max_dim is 256"));
}

TEST(ValidateBatchShapeTest, RejectsMalformedShapes) {
  ExpectInvalid(ValidateBatchShape(MakeBatch("b", 1, 0, 0), kLimits), "no values");
  ExpectInvalid(ValidateBatchShape(MakeBatch("b", 3, 7, 0), kLimits),
                "7 values, not a multiple of dim 3");
  ExpectInvalid(ValidateBatchShape(MakeBatch("b", 3, 6, 1), kLimits), "2 rows but 1 times");
  ExpectInvalid(ValidateBatchShape(MakeBatch("b", 3, 6, 3), kLimits), "2 rows but 3 times");
}

TEST(ValidateBatchShapeTest, DoesNotLookAtValues) {
  mled::v1::StreamBatch batch = MakeBatch("b", 1, 3, 0);
  batch.set_values(1, std::nan(""));
  EXPECT_TRUE(ValidateBatchShape(batch, kLimits).ok());
  ExpectInvalid(ValidateValues(batch.values(), kLimits), "value 1 is NaN");
}

// ---------------------------------------------------------------------------------------------
// The hot path

TEST(ValidationTest, SuccessAllocatesNothing) {
  const mled::v1::Sample sample = MakeSample("sensors/温度/host-0042", {1.0, 2.0, 3.0});
  const mled::v1::StreamBatch batch = MakeBatch("batch/stream", 2, 1000, 500);
  const std::string long_name(256, 'q');
  const size_t before = allocations;
  for (int i = 0; i < 100; ++i) {
    EXPECT_TRUE(ValidateSample(sample, kLimits).ok());
    EXPECT_TRUE(ValidateBatchShape(batch, kLimits).ok());
    EXPECT_TRUE(ValidateValues(batch.values(), kLimits).ok());
    EXPECT_TRUE(ValidateStreamName(long_name, kLimits).ok());
  }
  EXPECT_EQ(allocations, before);
  // The counter works: a failure builds its message on the heap.
  EXPECT_FALSE(ValidateStreamName(std::string(300, 'q'), kLimits).ok());
  EXPECT_GT(allocations, before);
}

}  // namespace
}  // namespace mled::wire
