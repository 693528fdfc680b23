#include "api/body_stream.h"

#include <string_view>

namespace tally::api {

SinkStreamBuffer::SinkStreamBuffer(const BodySink& sink, size_t piece_size)
    : sink_(sink), buffer_(piece_size == 0 ? 1 : piece_size) {
  setp(buffer_.data(), buffer_.data() + buffer_.size());
}

bool SinkStreamBuffer::Flush() {
  if (failed_) return false;
  const std::string_view piece(pbase(), static_cast<size_t>(pptr() - pbase()));
  if (!piece.empty() && !sink_(piece)) failed_ = true;
  setp(buffer_.data(), buffer_.data() + buffer_.size());
  return !failed_;
}

SinkStreamBuffer::int_type SinkStreamBuffer::overflow(int_type ch) {
  if (!Flush()) return traits_type::eof();
  if (traits_type::eq_int_type(ch, traits_type::eof())) return traits_type::not_eof(ch);
  *pptr() = traits_type::to_char_type(ch);
  pbump(1);
  return ch;
}

int SinkStreamBuffer::sync() { return Flush() ? 0 : -1; }

Status CollectStreamedBody(HttpResponse& response) {
  if (!response.stream) return Status::Ok();
  BodyProducer producer = std::move(response.stream);
  response.stream = nullptr;
  response.body.clear();
  const BodySink sink = [&response](std::string_view piece) {
    response.body.append(piece);
    return true;
  };
  return producer(sink);
}

}  // namespace tally::api
