-- Constant-rate (open-loop) pacing for wrk, used by bench/wrk.ts: each thread sends one request
-- every `interval` ms (the first argument, threads * 1000 / rate; the second is the thread count)
-- on a fixed schedule, the threads' schedules staggered so that they interleave, on
-- whichever of its connections is free. A request sent after its slot (all connections busy) is
-- counted as late: wrk times from the send, so such waits would be missing from its latency.
local ffi = require("ffi")
ffi.cdef [[
  typedef struct { long tv_sec; long tv_nsec; } wrk_pacing_timespec;
  int clock_gettime(int clk_id, wrk_pacing_timespec *tp);
]]
local CLOCK_MONOTONIC = 1
local ts = ffi.new("wrk_pacing_timespec")
local function now_ms()
  ffi.C.clock_gettime(CLOCK_MONOTONIC, ts)
  return tonumber(ts.tv_sec) * 1000 + tonumber(ts.tv_nsec) / 1e6
end

local interval, offset, next_at
late = 0 -- global, so done() can read it from each thread
index = 0 -- set by setup() in the main state before init() runs in the thread's own

function init(args)
  interval = tonumber(args[1])
  local threads = tonumber(args[2])
  if not interval or interval <= 0 or not threads then
    error("wrk-constant-rate.lua: interval (ms) and thread count required")
  end
  offset = index * interval / threads
end

function delay()
  local t = now_ms()
  if next_at == nil then next_at = t + offset end
  local d = next_at - t
  next_at = next_at + interval
  if d < -1 then
    late = late + 1
    return 0
  end
  return math.max(0, math.floor(d + 0.5))
end

local threads = {}
function setup(thread)
  thread:set("index", #threads)
  table.insert(threads, thread)
end

function done()
  local n = 0
  for _, t in ipairs(threads) do n = n + t:get("late") end
  io.write(string.format("paced-late: %d\n", n))
end
