#include "tools/mlectl/json_line.h"

#include "google/protobuf/util/json_util.h"

namespace mled::mlectl {

std::string ToJsonLine(const google::protobuf::Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = false;
  options.always_print_primitive_fields = true;
  std::string json;
  // Serializing a valid message with a generated descriptor cannot fail.
  (void)google::protobuf::util::MessageToJsonString(message, &json, options);
  return json;
}

}  // namespace mled::mlectl
