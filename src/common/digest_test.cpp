#include "common/digest.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>

#include "common/error.hpp"

namespace user_export {
namespace {

TEST(Digest, Sha256AndMd5OfKnownInputs) {
  Digest sha;
  sha.update("ab");
  sha.update("c");
  EXPECT_EQ(to_hex(sha.finish()),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  Digest md5(Digest::Kind::kMd5);
  md5.update("abc");
  EXPECT_EQ(to_base64(md5.finish()), "kAFQmDzST7DWlj99KOF/cg==");
}

TEST(Digest, HexRoundTripAndBase64Padding) {
  EXPECT_EQ(from_hex("00ff7F"), std::string("\x00\xff\x7f", 3));
  EXPECT_EQ(to_hex(from_hex("00ff7f")), "00ff7f");
  EXPECT_EQ(to_base64("a"), "YQ==");
  EXPECT_EQ(to_base64(""), "");
  EXPECT_THROW(from_hex("0g"), Error);
  EXPECT_THROW(from_hex("abc"), Error);
}

TEST(Digest, OfAnOpenDescriptorReadsFromTheStartWithoutMovingTheOffset) {
  std::FILE* f = std::tmpfile();
  ASSERT_NE(f, nullptr);
  std::fputs("abc", f);
  std::fflush(f);
  const int fd = fileno(f);
  const off_t before = ::lseek(fd, 0, SEEK_CUR);
  FdDigest d = sha256_of_fd(fd, "the test file");
  EXPECT_EQ(d.bytes, 3);
  EXPECT_EQ(d.sha256, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(::lseek(fd, 0, SEEK_CUR), before);
  std::fclose(f);
}

}  // namespace
}  // namespace user_export
