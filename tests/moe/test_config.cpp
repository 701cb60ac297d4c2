// MoeConfig validation (one message per field, naming the field, the range and the value) and the
// enum names.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>

#include "common/configs.h"
#include "common/expect_error.h"
#include "fp4moe/moe/config.h"

namespace fp4moe {
namespace {

using testing::expect_error;

MoeConfig valid() { return testing::make_config(8, 256, 512, 2, 64); }

void expect_invalid(const std::function<void(MoeConfig&)>& edit, std::string_view message) {
  MoeConfig c = valid();
  edit(c);
  expect_error([&] { validate(c); }, message);
}

TEST(MoeConfig, ValidConfigPasses) {
  validate(valid());
  MoeConfig c = valid();
  c.local_expert_start = 6;
  c.local_experts = 2;
  validate(c);
  EXPECT_EQ(c.num_local_experts(), 2);
  c.local_experts = -1;
  EXPECT_EQ(c.num_local_experts(), 2);
}

TEST(MoeConfig, EachFieldIsChecked) {
  expect_invalid([](MoeConfig& c) { c.num_experts = 0; },
                 "fp4moe: MoeConfig: num_experts: expected a positive count, got 0");
  expect_invalid([](MoeConfig& c) { c.hidden = 100; },
                 "fp4moe: MoeConfig: hidden: expected a positive multiple of 16, got 100");
  expect_invalid([](MoeConfig& c) { c.hidden = 0; },
                 "fp4moe: MoeConfig: hidden: expected a positive multiple of 16, got 0");
  expect_invalid([](MoeConfig& c) { c.intermediate = 40; },
                 "fp4moe: MoeConfig: intermediate: expected a positive multiple of 16, got 40");
  expect_invalid([](MoeConfig& c) { c.hidden = kMaxMoeWidth + 16; },
                 "fp4moe: MoeConfig: hidden: expected at most 1048576, got 1048592");
  expect_invalid([](MoeConfig& c) { c.intermediate = kMaxMoeWidth + 16; },
                 "fp4moe: MoeConfig: intermediate: expected at most 1048576, got 1048592");
  expect_invalid([](MoeConfig& c) { c.top_k = 9; }, "fp4moe: MoeConfig: top_k: expected 1..num_experts (8), got 9");
  expect_invalid([](MoeConfig& c) { c.top_k = 0; }, "fp4moe: MoeConfig: top_k: expected 1..num_experts (8), got 0");
  expect_invalid([](MoeConfig& c) { c.activation.kind = Activation(7); },
                 "fp4moe: MoeConfig: activation.kind: expected one of silu, silu_clamped, swiglu_oai, gelu_tanh, "
                 "got 7");
  expect_invalid([](MoeConfig& c) { c.activation.limit = -1; },
                 "fp4moe: MoeConfig: activation.limit: expected a finite positive value, got -1");
  expect_invalid([](MoeConfig& c) { c.activation.alpha = NAN; },
                 "fp4moe: MoeConfig: activation.alpha: expected a finite value, got nan");
  expect_invalid([](MoeConfig& c) { c.mode = QuantMode(3); },
                 "fp4moe: MoeConfig: mode: expected one of w4a16, w4a4, got 3");
  expect_invalid([](MoeConfig& c) { c.local_expert_start = 8; },
                 "fp4moe: MoeConfig: local_expert_start: expected 0..num_experts - 1 (7), got 8");
  expect_invalid([](MoeConfig& c) { c.local_expert_start = -1; },
                 "fp4moe: MoeConfig: local_expert_start: expected 0..num_experts - 1 (7), got -1");
  expect_invalid([](MoeConfig& c) { c.local_expert_start = 4, c.local_experts = 5; },
                 "fp4moe: MoeConfig: local_experts: expected -1 or 1..num_experts - local_expert_start (4), got 5");
  expect_invalid([](MoeConfig& c) { c.local_experts = 0; },
                 "fp4moe: MoeConfig: local_experts: expected -1 or 1..num_experts - local_expert_start (8), got 0");
  expect_invalid([](MoeConfig& c) { c.max_tokens = 0; }, "fp4moe: MoeConfig: max_tokens: expected a positive count");
  expect_invalid([](MoeConfig& c) { c.max_tokens = 1 << 30, c.top_k = 4; },
                 "fp4moe: MoeConfig: max_tokens: expected a positive count with max_tokens * top_k <= 2147483647, "
                 "got 1073741824");
}

TEST(MoeConfig, NamesRoundTrip) {
  for (const Activation a :
       {Activation::kSilu, Activation::kSiluClamped, Activation::kSwigluOai, Activation::kGeluTanh})
    EXPECT_EQ(parse_activation(to_string(a)), a);
  for (const QuantMode m : {QuantMode::kW4A16, QuantMode::kW4A4}) EXPECT_EQ(parse_quant_mode(to_string(m)), m);
  EXPECT_EQ(to_string(Activation::kSwigluOai), "swiglu_oai");
  EXPECT_EQ(to_string(QuantMode::kW4A4), "w4a4");
  expect_error([] { parse_activation("relu"); },
               "fp4moe: parse_activation: name: expected one of silu, silu_clamped, swiglu_oai, gelu_tanh, got 'relu'");
  expect_error([] { parse_quant_mode("fp8"); },
               "fp4moe: parse_quant_mode: name: expected one of w4a16, w4a4, got 'fp8'");
}

}  // namespace
}  // namespace fp4moe
