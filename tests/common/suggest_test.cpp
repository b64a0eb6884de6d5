// suggest_test.cpp: the "did you mean" names (common/suggest.hpp) every refusal of a name uses.
#include <gtest/gtest.h>

#include "common/suggest.hpp"

namespace pxos {
namespace {

const std::vector<std::string> kCommands = {"asm", "disasm", "run", "inspect", "pack", "unpack", "gpu", "god", "hv"};

TEST(Suggest, TranspositionIsOneEdit) { EXPECT_EQ(nearest("rnu", kCommands), std::vector<std::string>{"run"}); }
TEST(Suggest, DeletionAndInsertion) {
  EXPECT_EQ(nearest("dissasm", kCommands), std::vector<std::string>{"disasm"});
  EXPECT_EQ(nearest("inspec", kCommands), std::vector<std::string>{"inspect"});
}
TEST(Suggest, CaseInsensitive) { EXPECT_EQ(nearest("PRNT", {"PRINT", "PRINTN", "POP"}), std::vector<std::string>{"PRINT"}); }
TEST(Suggest, FarWordsGetNothing) {
  EXPECT_TRUE(nearest("frobnicate", kCommands).empty());
  EXPECT_TRUE(nearest("x", {"y"}).empty());  // one edit, but it would replace the whole word
}
TEST(Suggest, TiesAreAllOfferedBestFirst) {
  auto n = nearest("gox", kCommands);  // god and gpu? only god is one edit away
  EXPECT_EQ(n, std::vector<std::string>{"god"});
  EXPECT_EQ(nearest("pak", kCommands), std::vector<std::string>{"pack"});
}
TEST(Suggest, Wording) {
  EXPECT_EQ(did_you_mean({}), "");
  EXPECT_EQ(did_you_mean({"run"}), " (did you mean 'run'?)");
  EXPECT_EQ(did_you_mean({"a", "b", "c"}), " (did you mean 'a', 'b' or 'c'?)");
}

}  // namespace
}  // namespace pxos
