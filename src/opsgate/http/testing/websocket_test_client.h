// File: opsgate/http/testing/websocket_test_client.h
//
// A test-only WebSocket client (Beast over TLS or plain TCP) for tests of WebSocket
// routes: the server's own tests and the web chat's. No Beast types appear here.
//
//   auto c = WebSocketTestClient::Connect("wss://localhost:" + std::to_string(port) + "/chat",
//                                         {.headers = {{"Cookie", "s=..."},
//                                                      {"Origin", "https://localhost:8443"}}});
//   ASSERT_TRUE(c.client) << c.error << " " << c.status << " " << c.body;
//   c.client->Send("hi");
//   auto m = c.client->Receive();   // m.kind == kText, m.text == "..."
//
// The certificate is not verified (tests use throw-away self-signed ones); SNI and Host
// are the URL's host. Every operation has a timeout, so no test hangs on a server bug.
// Keepalive pings from the server are answered only while a Receive() is waiting, which
// lets a test play a client that has stopped reading (or gone silent).
//
// Thread-safety: one object is used by one thread at a time.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "opsgate/http/testing/tls_test_client.h"

namespace opsgate::http::testing {

class WebSocketTestClient;

struct WebSocketConnectOptions {
  // Extra upgrade request headers, e.g. {"Cookie", "session=..."}, {"Origin", "..."}.
  std::vector<std::pair<std::string, std::string>> headers;
  // Connect + TLS + upgrade handshake must finish within this.
  std::chrono::milliseconds timeout = kIoTimeout;
};

struct WebSocketConnectResult {
  // Set when the server answered 101 and the connection is open.
  std::unique_ptr<WebSocketTestClient> client;
  // The handshake response's status (101 on success, 403/426/... when refused); 0 when
  // no response arrived (connection refused, TLS failure, timeout).
  int status = 0;
  // The refused response's body and headers (names lower-cased).
  std::string body;
  std::multimap<std::string, std::string> headers;
  // Empty on success; what failed otherwise.
  std::string error;

  std::string Header(const std::string& name) const;
};

class WebSocketTestClient {
 public:
  // `url`: "wss://host:port/path?query" (TLS) or "ws://host:port/path". The host must
  // resolve (use "localhost" or "127.0.0.1").
  static WebSocketConnectResult Connect(const std::string& url,
                                        const WebSocketConnectOptions& options = {});

  ~WebSocketTestClient();
  WebSocketTestClient(const WebSocketTestClient&) = delete;
  WebSocketTestClient& operator=(const WebSocketTestClient&) = delete;

  // Sends one text (or binary) message. False when the write fails or times out.
  // Text is not checked for UTF-8, so a test can send invalid text.
  bool Send(const std::string& text, std::chrono::milliseconds timeout = kIoTimeout);
  bool SendBinary(const std::string& bytes, std::chrono::milliseconds timeout = kIoTimeout);

  struct Message {
    enum class Kind {
      kText,     // `data` holds a text message
      kBinary,   // `data` holds a binary message
      kClosed,   // the server closed: close_code/close_reason from its close frame (0 when
                 // the connection ended without one, e.g. dropped)
      kTimeout,  // nothing within the timeout; the read stays pending for the next call
      kError,    // the connection failed: `data` holds the error
    };
    Kind kind = Kind::kError;
    std::string data;
    int close_code = 0;
    std::string close_reason;
  };
  // The next message, or why there is none. After kClosed/kError every call returns the
  // same again.
  Message Receive(std::chrono::milliseconds timeout = kIoTimeout);

  // Sends a close frame and waits for the server's (or the timeout). True when the
  // close handshake completed.
  bool Close(int code = 1000, const std::string& reason = {},
             std::chrono::milliseconds timeout = kIoTimeout);

  // Hard-closes the TCP connection without a close frame (a client that vanished).
  void Drop();

  class Transport;  // Beast-typed, in the .cc

 private:
  explicit WebSocketTestClient(std::unique_ptr<Transport> transport);
  std::unique_ptr<Transport> transport_;
};

}  // namespace opsgate::http::testing
