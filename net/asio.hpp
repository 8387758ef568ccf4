#pragma once

// Boost 1.74's Asio uses std::exchange without including <utility>, which
// g++ 12 in C++20 mode no longer pulls in by accident. Include Asio through
// this header only.
#include <utility>

#include <boost/asio.hpp>
