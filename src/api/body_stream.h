// BodyStream: a std::ostream whose text goes to a BodySink (http_message.h) in pieces of a fixed
// size, so writers made for streams (the export writers) can produce a streamed HTTP body in
// constant memory. A piece is handed over when the buffer is full and on flush(); when the sink
// refuses a piece, the stream goes bad (writers then report Unavailable) and stays so.
//
// The sink must outlive the stream. Not thread-safe.
#pragma once

#include <cstddef>
#include <ostream>
#include <streambuf>
#include <vector>

#include "api/http_message.h"

namespace tally::api {

// Bytes per piece: large enough for few chunks and syscalls, small enough not to matter.
inline constexpr size_t kBodyPieceSize = size_t{64} << 10;

class SinkStreamBuffer : public std::streambuf {
 public:
  explicit SinkStreamBuffer(const BodySink& sink, size_t piece_size = kBodyPieceSize);
  // Whether the sink refused a piece.
  bool failed() const { return failed_; }

 protected:
  int_type overflow(int_type ch) override;
  int sync() override;

 private:
  bool Flush();

  const BodySink& sink_;
  std::vector<char> buffer_;
  bool failed_ = false;
};

class BodyStream : public std::ostream {
 public:
  explicit BodyStream(const BodySink& sink, size_t piece_size = kBodyPieceSize)
      : std::ostream(nullptr), buffer_(sink, piece_size) {
    rdbuf(&buffer_);
  }

 private:
  SinkStreamBuffer buffer_;
};

// Runs the producer of a streamed response into `response.body` and clears the stream (for
// tests and in-process callers, which want the whole body). Returns the producer's Status; a
// response without a stream is left unchanged (OK).
Status CollectStreamedBody(HttpResponse& response);

}  // namespace tally::api
