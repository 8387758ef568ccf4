#pragma once

// Asio's TLS streams over OpenSSL. Kept apart from net/asio.hpp so that only
// the code that speaks TLS pays for OpenSSL's headers.
#include "net/asio.hpp"

#include <boost/asio/ssl.hpp>
