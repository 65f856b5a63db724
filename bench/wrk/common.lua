-- What every script shares: the run's data files, a count of response statuses per thread, and the results as
-- one JSON line ("wrk-result {...}") for bench/http.py. Scripts `require "common"` (wrk runs in bench/wrk).
--
-- The environment: WRK_DATA, the folder of data files the Python side wrote; WRK_THREADS, wrk's -t.

local threads = {}
statuses = {}

function setup(thread)
   thread:set("index", #threads)
   table.insert(threads, thread)
end

-- Defining response() makes wrk parse every response (a little slower), but counts each status exactly:
-- wrk's own summary.errors.status would miss a 200 where a 201 is due.
function response(status)
   statuses[status] = (statuses[status] or 0) + 1
end

function lines(name)
   local found = {}
   for line in io.lines(os.getenv("WRK_DATA") .. "/" .. name) do
      found[#found + 1] = line
   end
   return found
end

-- Where this thread starts in a list all threads walk: apart from the others, so they share no row.
function start(list)
   return math.floor(#list * index / tonumber(os.getenv("WRK_THREADS")))
end

function done(summary, latency, requests)
   local counts = {}
   for _, thread in ipairs(threads) do
      for status, n in pairs(thread:get("statuses")) do
         counts[status] = (counts[status] or 0) + n
      end
   end
   local fields = {}
   for status, n in pairs(counts) do
      fields[#fields + 1] = string.format('"%d": %d', status, n)
   end
   local errors = summary.errors
   io.write(string.format(
      'wrk-result {"requests": %d, "duration_us": %d, "connect": %d, "read": %d, "write": %d, "timeout": %d, '
         .. '"p50_us": %d, "p99_us": %d, "statuses": {%s}}\n',
      summary.requests, summary.duration, errors.connect, errors.read, errors.write, errors.timeout,
      latency:percentile(50), latency:percentile(99), table.concat(fields, ", ")))
end
