// SPDX-License-Identifier: MIT
// weft: stackful fibers whose blocking-looking calls yield to a round-robin
// scheduler. Include this one header for everything (but weft/net/beast_stream.hpp,
// which brings Boost.Asio's headers along).
#pragma once

#include "weft/channel.hpp"
#include "weft/condition_variable.hpp"
#include "weft/dns/resolve.hpp"
#include "weft/errors.hpp"
#include "weft/http/client.hpp"
#include "weft/http/errors.hpp"
#include "weft/http/message.hpp"
#include "weft/http/server.hpp"
#include "weft/http/url.hpp"
#include "weft/mutex.hpp"
#include "weft/net/address.hpp"
#include "weft/net/tcp_listener.hpp"
#include "weft/net/tcp_stream.hpp"
#include "weft/net/udp_socket.hpp"
#include "weft/net/wait.hpp"
#include "weft/run.hpp"
#include "weft/semaphore.hpp"
#include "weft/task.hpp"
#include "weft/this_fiber.hpp"
#include "weft/timeout.hpp"
#include "weft/to_thread.hpp"
#include "weft/tls/context.hpp"
#include "weft/tls/errors.hpp"
#include "weft/tls/stream.hpp"
#include "weft/wait_group.hpp"
