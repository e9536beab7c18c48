#include "opsgate/http/testing/websocket_test_client.h"

#include <openssl/ssl.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <boost/beast/websocket/stream.hpp>
#include <algorithm>
#include <cctype>
#include <optional>
#include <type_traits>

namespace opsgate::http::testing {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = boost::beast::websocket;
using tcp = boost::asio::ip::tcp;
using Message = WebSocketTestClient::Message;

namespace {

struct Url {
  bool tls = true;
  std::string host;
  std::string port;
  std::string target;  // path and query
};

std::optional<Url> ParseUrl(const std::string& url, std::string* error) {
  Url u;
  std::string_view rest(url);
  if (rest.starts_with("wss://")) {
    rest.remove_prefix(6);
  } else if (rest.starts_with("ws://")) {
    u.tls = false;
    rest.remove_prefix(5);
  } else {
    *error = "URL must start with wss:// or ws://: " + url;
    return std::nullopt;
  }
  size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  u.target = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
  size_t colon = authority.rfind(':');
  if (colon == std::string_view::npos) {
    u.host = std::string(authority);
    u.port = u.tls ? "443" : "80";
  } else {
    u.host = std::string(authority.substr(0, colon));
    u.port = std::string(authority.substr(colon + 1));
  }
  if (u.host.empty() || u.port.empty()) {
    *error = "URL has no host or port: " + url;
    return std::nullopt;
  }
  return u;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

// Errors that mean "the server ended the connection" rather than a client failure.
bool IsConnectionEnd(const beast::error_code& ec) {
  return ec == asio::error::eof || ec == asio::ssl::error::stream_truncated ||
         ec == asio::error::connection_reset || ec == asio::error::connection_aborted ||
         ec == asio::error::broken_pipe || ec == beast::error::timeout ||
         ec == asio::error::operation_aborted || ec == asio::error::bad_descriptor;
}

}  // namespace

class WebSocketTestClient::Transport {
 public:
  virtual ~Transport() = default;
  virtual bool Write(const std::string& data, bool text, std::chrono::milliseconds timeout) = 0;
  virtual Message Read(std::chrono::milliseconds timeout) = 0;
  virtual bool CloseHandshake(int code, const std::string& reason,
                              std::chrono::milliseconds timeout) = 0;
  virtual void Drop() = 0;
};

namespace {

template <bool kTls>
class BeastTransport final : public WebSocketTestClient::Transport {
 public:
  using Inner =
      std::conditional_t<kTls, beast::ssl_stream<beast::tcp_stream>, beast::tcp_stream>;

  BeastTransport() : ssl_(asio::ssl::context::tls_client), ws_(MakeInner()) {}

  ~BeastTransport() override {
    Drop();
    // Let cancelled operations complete while the members they write to still exist.
    ioc_.restart();
    ioc_.run_for(std::chrono::seconds(1));
  }

  void Handshake(const Url& url, const WebSocketConnectOptions& options,
                 WebSocketConnectResult* result) {
    auto deadline = std::chrono::steady_clock::now() + options.timeout;
    beast::error_code ec;
    tcp::resolver resolver(ioc_);
    auto endpoints = resolver.resolve(url.host, url.port, ec);
    if (ec) {
      result->error = "resolve " + url.host + ": " + ec.message();
      return;
    }
    bool done = false;
    beast::get_lowest_layer(ws_).async_connect(endpoints, [&](beast::error_code e, auto) {
      ec = e;
      done = true;
    });
    if (!RunUntil(done, deadline) || ec) {
      result->error = "connect: " + (done ? ec.message() : std::string("timed out"));
      return;
    }
    if constexpr (kTls) {
      beast::error_code not_ip;
      (void)asio::ip::make_address(url.host, not_ip);
      if (not_ip) {
        // SSL_set_tlsext_host_name() without its C cast.
        SSL_ctrl(ws_.next_layer().native_handle(), SSL_CTRL_SET_TLSEXT_HOSTNAME,
                 TLSEXT_NAMETYPE_host_name, const_cast<char*>(url.host.c_str()));
      }
      done = false;
      ws_.next_layer().async_handshake(asio::ssl::stream_base::client, [&](beast::error_code e) {
        ec = e;
        done = true;
      });
      if (!RunUntil(done, deadline) || ec) {
        result->error = "TLS handshake: " + (done ? ec.message() : std::string("timed out"));
        return;
      }
    }
    ws_.set_option(websocket::stream_base::decorator(
        [headers = options.headers](websocket::request_type& req) {
          for (const auto& [name, value] : headers) {
            req.set(name, value);
          }
        }));
    websocket::response_type response;
    done = false;
    ws_.async_handshake(response, url.host + ":" + url.port, url.target,
                        [&](beast::error_code e) {
                          ec = e;
                          done = true;
                        });
    bool finished = RunUntil(done, deadline);
    result->status = static_cast<int>(response.result_int());
    result->body = response.body();
    for (const auto& field : response) {
      result->headers.emplace(Lower(field.name_string()), std::string(field.value()));
    }
    if (!finished) {
      result->status = 0;
      result->error = "WebSocket handshake timed out";
      return;
    }
    if (ec) {
      result->error = "WebSocket handshake: " + ec.message();
      if (result->headers.empty()) {
        result->status = 0;  // no response arrived (a default response reads 200)
      }
      return;
    }
    ws_.read_message_max(0);  // the client takes whatever the server sends
  }

  bool Write(const std::string& data, bool text, std::chrono::milliseconds timeout) override {
    if (broken_) {
      return false;
    }
    ws_.text(text);
    bool done = false;
    beast::error_code ec;
    ws_.async_write(asio::buffer(data), [&](beast::error_code e, size_t) {
      ec = e;
      done = true;
    });
    if (!RunUntil(done, std::chrono::steady_clock::now() + timeout)) {
      broken_ = true;  // the write is still pending; no other may start
      return false;
    }
    return !ec;
  }

  Message Read(std::chrono::milliseconds timeout) override {
    if (final_) {
      return *final_;
    }
    if (!read_result_ && !reading_) {
      reading_ = true;
      ws_.async_read(buffer_, [this](beast::error_code e, size_t) { OnRead(e); });
    }
    if (!read_result_) {
      bool ready = false;
      auto deadline = std::chrono::steady_clock::now() + timeout;
      while (!read_result_) {
        ready = RunOne(deadline);
        if (!ready) {
          break;
        }
      }
    }
    if (!read_result_) {
      return Message{Message::Kind::kTimeout, {}, 0, {}};
    }
    Message m = std::move(*read_result_);
    read_result_.reset();
    if (m.kind == Message::Kind::kClosed || m.kind == Message::Kind::kError) {
      final_ = m;
    }
    return m;
  }

  bool CloseHandshake(int code, const std::string& reason,
                      std::chrono::milliseconds timeout) override {
    if (final_ || broken_) {
      return false;
    }
    bool done = false;
    beast::error_code ec;
    websocket::close_reason close(static_cast<uint16_t>(code));
    close.reason.assign(reason.data(), std::min<size_t>(reason.size(), close.reason.max_size()));
    ws_.async_close(close,
                    [&](beast::error_code e) {
                      ec = e;
                      done = true;
                    });
    if (!RunUntil(done, std::chrono::steady_clock::now() + timeout)) {
      broken_ = true;
      return false;
    }
    return !ec;
  }

  void Drop() override {
    beast::error_code ignored;
    beast::get_lowest_layer(ws_).socket().shutdown(tcp::socket::shutdown_both, ignored);
    beast::get_lowest_layer(ws_).close();
  }

 private:
  Inner MakeInner() {
    if constexpr (kTls) {
      ssl_.set_verify_mode(asio::ssl::verify_none);
      return Inner(ioc_, ssl_);
    } else {
      return Inner(ioc_);
    }
  }

  void OnRead(beast::error_code ec) {
    reading_ = false;
    Message m;
    if (!ec) {
      m.kind = ws_.got_text() ? Message::Kind::kText : Message::Kind::kBinary;
      m.data = beast::buffers_to_string(buffer_.data());
      buffer_.clear();
    } else if (ec == websocket::error::closed) {
      m.kind = Message::Kind::kClosed;
      m.close_code = ws_.reason().code;
      m.close_reason = std::string(ws_.reason().reason.data(), ws_.reason().reason.size());
    } else if (IsConnectionEnd(ec)) {
      m.kind = Message::Kind::kClosed;
      m.data = ec.message();
    } else {
      m.kind = Message::Kind::kError;
      m.data = ec.message();
    }
    read_result_ = std::move(m);
  }

  // Runs handlers until `done` or `deadline`; false on timeout.
  bool RunUntil(const bool& done, std::chrono::steady_clock::time_point deadline) {
    while (!done) {
      if (!RunOne(deadline)) {
        return done;
      }
    }
    return true;
  }

  bool RunOne(std::chrono::steady_clock::time_point deadline) {
    if (ioc_.stopped()) {
      ioc_.restart();
    }
    return ioc_.run_one_until(deadline) != 0;
  }

  asio::io_context ioc_;
  asio::ssl::context ssl_;
  websocket::stream<Inner> ws_;
  beast::flat_buffer buffer_;
  bool reading_ = false;
  bool broken_ = false;
  std::optional<Message> read_result_;
  std::optional<Message> final_;
};

template <bool kTls>
void ConnectWith(const Url& url, const WebSocketConnectOptions& options,
                 WebSocketConnectResult* result,
                 std::unique_ptr<WebSocketTestClient::Transport>* out) {
  auto transport = std::make_unique<BeastTransport<kTls>>();
  transport->Handshake(url, options, result);
  if (result->error.empty()) {
    *out = std::move(transport);
  }
}

}  // namespace

std::string WebSocketConnectResult::Header(const std::string& name) const {
  auto it = headers.find(Lower(name));
  return it == headers.end() ? std::string() : it->second;
}

WebSocketConnectResult WebSocketTestClient::Connect(const std::string& url,
                                                    const WebSocketConnectOptions& options) {
  WebSocketConnectResult result;
  std::optional<Url> parsed = ParseUrl(url, &result.error);
  if (!parsed) {
    return result;
  }
  std::unique_ptr<Transport> transport;
  try {
    if (parsed->tls) {
      ConnectWith<true>(*parsed, options, &result, &transport);
    } else {
      ConnectWith<false>(*parsed, options, &result, &transport);
    }
  } catch (const std::exception& e) {
    result.error = std::string("connect threw: ") + e.what();
    return result;
  }
  if (transport) {
    result.client.reset(new WebSocketTestClient(std::move(transport)));
  }
  return result;
}

WebSocketTestClient::WebSocketTestClient(std::unique_ptr<Transport> transport)
    : transport_(std::move(transport)) {}

WebSocketTestClient::~WebSocketTestClient() = default;

bool WebSocketTestClient::Send(const std::string& text, std::chrono::milliseconds timeout) {
  return transport_->Write(text, true, timeout);
}

bool WebSocketTestClient::SendBinary(const std::string& bytes, std::chrono::milliseconds timeout) {
  return transport_->Write(bytes, false, timeout);
}

Message WebSocketTestClient::Receive(std::chrono::milliseconds timeout) {
  return transport_->Read(timeout);
}

bool WebSocketTestClient::Close(int code, const std::string& reason,
                                std::chrono::milliseconds timeout) {
  return transport_->CloseHandshake(code, reason, timeout);
}

void WebSocketTestClient::Drop() { transport_->Drop(); }

}  // namespace opsgate::http::testing
