-- POST /jobs/{id}/proposals: each thread is a freelancer of its own (line WRK_SLOT + index + 1 of tokens.txt)
-- walking through the jobs, so every request is a new (job, freelancer) pair: a second live proposal of the
-- same freelancer on the same job would be a 409. Each body is priced for its job (line for line): an amount on a
-- fixed-price job, a rate on an hourly one. The URL's path ends in "/jobs/".
require "common"

local ids = lines("jobs.txt")
local bodies = lines("proposals.txt")
local tokens = lines("tokens.txt")
local at

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"

function init()
   wrk.headers["Authorization"] = "Bearer " .. tokens[tonumber(os.getenv("WRK_SLOT")) + index + 1]
   at = start(ids)
end

function request()
   at = at % #ids + 1
   return wrk.format(nil, wrk.path .. ids[at] .. "/proposals", nil, bodies[at])
end
