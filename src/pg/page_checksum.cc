#include "pg/page_checksum.h"

#include <cstring>

namespace pgvault {

namespace {

constexpr int kLanes = 32;
constexpr uint32_t kFnvPrime = 16777619;

// The lane seeds are part of PostgreSQL's on-disk format.
constexpr uint32_t kBaseOffsets[kLanes] = {
    0x5B1F36E9, 0xB8525960, 0x02AB50AA, 0x1DE66D2A, 0x79FF467A, 0x9BB9F8A3, 0x217E7CD2, 0x83E13D2C,
    0xF8D4474F, 0xE39EB970, 0x42C6AE16, 0x993216FA, 0x7B093B5D, 0x98DAFF3C, 0xF718902A, 0x0B1C9CDB,
    0xE58F764B, 0x187636BC, 0x5D7B3BB1, 0xE73DE7DE, 0x92BEC979, 0xCCA6C0B2, 0x304A0979, 0x85AA43D4,
    0x783125BB, 0x6CA8EAA2, 0xE407EAC6, 0x4B5CFC3E, 0x9FBF8C76, 0x15CA20BE, 0xF2CA9FD3, 0x959BD756};

inline uint32_t Mix(uint32_t sum, uint32_t value) {
  uint32_t tmp = sum ^ value;
  return tmp * kFnvPrime ^ (tmp >> 17);
}

constexpr size_t kChecksumOffset = 8;  // PageHeaderData.pd_checksum

}  // namespace

uint16_t PageChecksum(const uint8_t* page, uint32_t block) {
  uint32_t words[kPageSize / 4];
  std::memcpy(words, page, kPageSize);
  // The checksum is computed with pd_checksum zeroed (low half of word 2).
  reinterpret_cast<uint8_t*>(words)[kChecksumOffset] = 0;
  reinterpret_cast<uint8_t*>(words)[kChecksumOffset + 1] = 0;
  uint32_t sums[kLanes];
  std::memcpy(sums, kBaseOffsets, sizeof sums);
  // Written lane-wise so the compiler vectorizes it, as PostgreSQL intends.
  for (size_t i = 0; i < kPageSize / 4 / kLanes; ++i)
    for (int j = 0; j < kLanes; ++j) sums[j] = Mix(sums[j], words[i * kLanes + j]);
  for (int round = 0; round < 2; ++round)
    for (int j = 0; j < kLanes; ++j) sums[j] = Mix(sums[j], 0);
  uint32_t result = 0;
  for (int j = 0; j < kLanes; ++j) result ^= sums[j];
  result ^= block;
  return static_cast<uint16_t>(result % 65535 + 1);
}

uint64_t PageLsn(const uint8_t* page) {
  uint32_t hi, lo;
  std::memcpy(&hi, page, 4);
  std::memcpy(&lo, page + 4, 4);
  return static_cast<uint64_t>(hi) << 32 | lo;
}

PageState CheckPage(const uint8_t* page, uint32_t block) {
  uint16_t upper;
  std::memcpy(&upper, page + 14, 2);  // pd_upper
  if (upper == 0) {
    // PageIsNew: valid only if entirely zero, as PostgreSQL checks.
    for (size_t i = 0; i < kPageSize; ++i)
      if (page[i] != 0) goto check;
    return PageState::kNew;
  }
check:
  uint16_t stored;
  std::memcpy(&stored, page + kChecksumOffset, 2);
  return stored == PageChecksum(page, block) ? PageState::kValid : PageState::kInvalid;
}

}  // namespace pgvault
