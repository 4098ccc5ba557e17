#pragma once
/// \file flyshard.hpp
/// Umbrella header: everything a user of flyshard needs.

#include "flyshard/args.hpp"
#include "flyshard/client.hpp"
#include "flyshard/distribution.hpp"
#include "flyshard/durability.hpp"
#include "flyshard/error.hpp"
#include "flyshard/options.hpp"
#include "flyshard/reply.hpp"
#include "flyshard/result.hpp"
#include "flyshard/scan.hpp"
#include "flyshard/script.hpp"
#include "flyshard/server_error.hpp"
#include "flyshard/stats.hpp"
#include "flyshard/streams.hpp"
#include "flyshard/topology.hpp"
