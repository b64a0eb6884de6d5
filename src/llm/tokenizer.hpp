// tokenizer.hpp: the GGUF's byte-level BPE (GPT-2 byte alphabet, ranked merges, special tokens),
// the "smollm" pre-tokenizer (Digits(individual) then the GPT-2 regex) and the ChatML template.
#pragma once
#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/error.hpp"
#include "llm/gguf.hpp"

namespace pxos::llm {

// tokenizer.ggml.token_type values (llama.cpp's llama_token_type).
enum class TokenType : int32_t { Undefined = 0, Normal = 1, Unknown = 2, Control = 3, UserDefined = 4, Unused = 5, Byte = 6 };

struct EncodeOptions {
  // Prepend BOS / append EOS where the model's tokenizer.ggml.add_bos_token / add_eos_token ask.
  bool add_special = false;
  // Match CONTROL tokens ("<|im_start|>") written in the text. USER_DEFINED tokens always match:
  // they are ordinary vocabulary that the pre-tokenizer could not produce (llama.cpp does the same).
  bool parse_special = true;
};

struct DecodeOptions {
  bool render_special = true;  // CONTROL tokens as their text; false: they decode to nothing
};

struct ChatMessage {
  std::string role, content;
};

// What the model's tokenizer.chat_template says, reduced to the one family the engine renders.
struct ChatTemplate {
  bool from_metadata = false;  // false: the GGUF has no template; plain ChatML is assumed
  bool chatml = true;          // false: a template that is not ChatML (format_chat refuses it)
  std::string default_system;  // said when the first message is not "system" (SmolLM2's template)
};

class Tokenizer {
 public:
  // Reads tokenizer.ggml.{model,pre,tokens,token_type,merges,*_token_id,add_*_token} and
  // tokenizer.chat_template. `what` names the file in errors (ModelInvalid / Unsupported).
  static Result<Tokenizer> from_gguf(const Gguf& g, const std::string& what);

  // Empty text gives no ids. Invalid UTF-8 is TextInvalid naming the byte offset.
  Result<std::vector<int32_t>> encode(std::string_view text, const EncodeOptions& o = {}) const;
  // The bytes the ids stand for (not necessarily whole UTF-8 characters: a generation can stop
  // inside one). An id outside the vocabulary is TokenInvalid.
  Result<std::string> decode(std::span<const int32_t> ids, const DecodeOptions& o = {}) const;
  // One token's bytes (the byte-level alphabet undone; CONTROL tokens: their text).
  const std::string& token_bytes(int32_t id) const { return bytes_[size_t(id)]; }

  size_t n_vocab() const { return text_.size(); }
  const std::string& token_text(int32_t id) const { return text_[size_t(id)]; }
  TokenType token_type(int32_t id) const { return type_[size_t(id)]; }
  int32_t find(std::string_view token_text) const;  // -1: not in the vocabulary
  int32_t bos() const { return bos_; }  // -1 when the model names none
  int32_t eos() const { return eos_; }
  int32_t pad() const { return pad_; }
  int32_t unk() const { return unk_; }
  const ChatTemplate& chat_template() const { return chat_; }
  size_t n_merges() const { return merges_.size(); }
  // The token of one byte's byte-level character; -1 when the vocabulary has none (encode then
  // drops the byte, so decode(encode(s)) == s holds for texts without such bytes).
  int32_t byte_token(uint8_t b) const { return byte_token_[b]; }

  // The pre-tokenizer alone: byte ranges [begin, end) of TEXT (valid UTF-8, no special tokens).
  static std::vector<std::pair<size_t, size_t>> pre_tokenize(std::string_view text);

 private:
  struct Merge { uint32_t rank; int32_t id; };
  void bpe(std::string_view piece, std::vector<int32_t>& out) const;
  std::vector<std::string> text_, bytes_;
  std::vector<TokenType> type_;
  std::unordered_map<std::string, int32_t> by_text_;
  std::unordered_map<uint64_t, Merge> merges_;             // (left id << 32 | right id)
  int32_t byte_token_[256] = {};
  std::array<std::vector<int32_t>, 256> specials_by_byte_;  // CONTROL/USER_DEFINED ids by first byte, longest first
  int32_t bos_ = -1, eos_ = -1, pad_ = -1, unk_ = -1;
  bool add_bos_ = false, add_eos_ = false;
  ChatTemplate chat_;
};

// ChatML: "<|im_start|>ROLE\nCONTENT<|im_end|>\n" per message (after the template's default system
// message when the first is not "system"), then "<|im_start|>assistant\n" when asked. A
// template that is not ChatML is Unsupported.
Result<std::string> format_chat(const ChatTemplate& t, std::span<const ChatMessage> messages, bool add_generation_prompt);

// Byte offset of the first invalid UTF-8 sequence, or npos when TEXT is valid UTF-8
// (overlong forms, surrogates and code points past U+10FFFF are invalid).
size_t utf8_invalid_at(std::string_view text);

}  // namespace pxos::llm
